//! `GET /servicedesk/{serviceDeskId}/requesttype`: the service desk's
//! request types, paged by `start` and `limit`, a 404 for a desk the site
//! does not have, and the same auth and faults as every other route.

use serde_json::Value;

use super::super::Fault;
use super::{body, client, get, start};

const TYPES: &str = "/rest/servicedeskapi/servicedesk/1/requesttype";

fn type_ids(page: &Value) -> Vec<String> {
    page["values"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|t| t["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn pages_the_request_types_until_is_last_page() {
    let h = start(0).await;
    let first = body(get(&h, TYPES, &[("start", "0"), ("limit", "2")]).await).await;
    assert_eq!(type_ids(&first), ["1", "2"]);
    assert_eq!(first["size"], 2);
    assert_eq!(first["start"], 0);
    assert_eq!(first["limit"], 2);
    assert_eq!(first["isLastPage"], false);
    let next = first["_links"]["next"].as_str().unwrap_or_default();
    assert!(
        next.ends_with("/servicedesk/1/requesttype?start=2&limit=2"),
        "{next}"
    );

    let mut all = type_ids(&first);
    let mut at = 2;
    loop {
        let start = at.to_string();
        let page = body(get(&h, TYPES, &[("start", &start), ("limit", "2")]).await).await;
        all.extend(type_ids(&page));
        at += 2;
        if page["isLastPage"] == true {
            assert!(page["_links"].get("next").is_none());
            break;
        }
        assert!(at < 20, "the list never ends");
    }
    assert_eq!(all, ["1", "2", "3", "4", "5"]);
}

#[tokio::test]
async fn a_request_type_has_the_documented_shape() {
    let h = start(0).await;
    let page = body(get(&h, TYPES, &[]).await).await;
    assert_eq!(page["isLastPage"], true);
    let t = &page["values"][2];
    assert_eq!(t["id"], "3");
    assert_eq!(t["name"], "Request new hardware");
    assert_eq!(t["serviceDeskId"], "1");
    assert_eq!(t["issueTypeId"], "10003");
    assert_eq!(t["groupIds"], serde_json::json!(["2"]));
    assert!(t["description"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(t.get("helpText").is_some());
    assert_eq!(
        t["_links"]["self"],
        format!(
            "{}/rest/servicedeskapi/servicedesk/1/requesttype/3",
            h.base_url
        )
    );
}

#[tokio::test]
async fn an_unknown_service_desk_is_not_found() {
    let h = start(0).await;
    let resp = get(&h, "/rest/servicedeskapi/servicedesk/99/requesttype", &[]).await;
    assert_eq!(resp.status(), 404);
    let problem = body(resp).await;
    assert!(problem["errorMessage"].as_str().is_some());
}

#[tokio::test]
async fn needs_credentials_and_answers_faults() {
    let h = start(0).await;
    let anonymous = client()
        .get(format!("{}{TYPES}", h.base_url))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    h.sim.inject(Fault::ServerError, 1);
    assert_eq!(get(&h, TYPES, &[]).await.status(), 500);
    assert_eq!(get(&h, TYPES, &[]).await.status(), 200);
}
