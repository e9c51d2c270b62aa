use serde_json::json;

use super::*;
use crate::Manifest;

pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn hook(extra: &str) -> Arc<dyn Connector> {
    let text = format!(
        "version = 1\nsystem = \"jira-hooks\"\nkind = \"webhook\"\ndepartment = \"it\"\nsecret = \"s3cret\"\nsignature_header = \"X-Hub-Signature\"\nsignature_prefix = \"sha256=\"\n{extra}\n[stream]\nname = \"issue\"\nrecords = \"issue\"\nkey = \"id\"\n"
    );
    let m = Manifest::from_source(&SourceFile::new("connectors/jira-hooks.toml", text))
        .unwrap_or_else(|d| panic!("{d}"));
    m.config.build(&m.header).unwrap()
}

#[test]
fn signatures_are_checked() {
    let c = hook("");
    let wh = c.as_webhook().unwrap();
    let body = br#"{"issue": {"id": "10001"}}"#;
    assert!(wh.verify(Some(&sign("s3cret", body)), body).is_ok());
    assert!(matches!(
        wh.verify(Some(&sign("other", body)), body),
        Err(Refused::BadSignature)
    ));
    assert!(matches!(
        wh.verify(Some("sha256=zz"), body),
        Err(Refused::BadSignature)
    ));
    assert!(
        matches!(wh.verify(None, body), Err(Refused::NoSignature(h)) if h == "X-Hub-Signature")
    );
    // One changed byte of the body.
    assert!(
        wh.verify(
            Some(&sign("s3cret", body)),
            br#"{"issue": {"id": "10002"}}"#
        )
        .is_err()
    );
}

#[test]
fn delivery_ids_come_from_the_header_the_body_or_the_content() {
    let body = json!({"webhookEvent": "jira:issue_updated", "timestamp": 1700000000, "issue": {"id": "1"}});
    let raw = body.to_string();
    let by_header = hook("delivery_id_header = \"X-Atlassian-Webhook-Identifier\"\n");
    let wh = by_header.as_webhook().unwrap();
    assert_eq!(
        wh.delivery_id(Some("abc-1"), &body, raw.as_bytes()),
        "abc-1"
    );
    let by_path = hook("delivery_id_path = \"timestamp\"\n");
    let wh = by_path.as_webhook().unwrap();
    assert_eq!(wh.delivery_id(None, &body, raw.as_bytes()), "1700000000");
    let by_hash = hook("");
    let wh = by_hash.as_webhook().unwrap();
    let id = wh.delivery_id(None, &body, raw.as_bytes());
    assert!(id.starts_with("sha256:") && id == wh.delivery_id(None, &body, raw.as_bytes()));
    assert_eq!(wh.records(&body).len(), 1);
}
