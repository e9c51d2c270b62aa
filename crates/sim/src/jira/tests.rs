//! Tests for the Jira Service Management simulator. This file holds the
//! shared helpers and the read-side HTTP tests (auth, paging, filters, the
//! shape of a request, dates), run with reqwest against a spawned simulator;
//! `tests/writes.rs` covers the write endpoints, faults, hooks and seed data.

mod request_types;
mod writes;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::model::friendly;
use super::{JiraSim, SimConfig, SimHandle};

const NOW: i64 = 1_717_243_200; // 2024-06-01 12:00:00 UTC, a Saturday

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).single().unwrap_or_default()
}

async fn start(requests: usize) -> SimHandle {
    let config = SimConfig {
        requests,
        ..SimConfig::default()
    };
    JiraSim::with_clock(config, now())
        .serve()
        .await
        .expect("bind simulator")
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

const LIST: &str = "/rest/servicedeskapi/request";
const ALL: (&str, &str) = ("requestOwnership", "ALL_REQUESTS");

async fn get(h: &SimHandle, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
    client()
        .get(format!("{}{path}", h.base_url))
        .basic_auth("switchboard@example.com", Some("sim-api-token"))
        .query(query)
        .send()
        .await
        .expect("request")
}

async fn body(resp: reqwest::Response) -> Value {
    resp.json().await.expect("json body")
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn ids(page: &Value) -> Vec<String> {
    page["values"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|r| r["issueId"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn rejects_missing_or_wrong_credentials() {
    let h = start(3).await;
    let url = format!("{}{LIST}", h.base_url);
    let no_auth = client().get(&url).send().await.expect("request");
    let wrong = client()
        .get(&url)
        .basic_auth("switchboard@example.com", Some("revoked-token"))
        .send()
        .await
        .expect("request");
    for resp in [no_auth, wrong] {
        assert_eq!(resp.status(), 401);
        assert_eq!(header(&resp, "content-type"), "text/html;charset=UTF-8");
        assert_eq!(
            resp.text().await.expect("body"),
            "Client must be authenticated to access this resource."
        );
    }
    let log = h.sim.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str(), log[0].status),
        ("GET", LIST, 401)
    );
    h.shutdown().await;
}

#[tokio::test]
async fn pages_by_start_and_limit_until_is_last_page() {
    let h = start(25).await;
    let first = body(get(&h, LIST, &[ALL, ("limit", "10")]).await).await;
    assert_eq!(
        (
            &first["size"],
            &first["start"],
            &first["limit"],
            &first["isLastPage"]
        ),
        (&json!(10), &json!(0), &json!(10), &json!(false))
    );
    assert_eq!(
        first["_links"]["next"],
        json!(format!(
            "{}{LIST}?requestOwnership=ALL_REQUESTS&start=10&limit=10",
            h.base_url
        ))
    );
    assert_eq!(first["_links"].get("prev"), None);
    assert_eq!(
        first["_links"]["base"],
        json!(format!("{}/rest/servicedeskapi", h.base_url))
    );

    let mut seen = Vec::new();
    let mut start_at = 0;
    loop {
        let at = start_at.to_string();
        let page = body(get(&h, LIST, &[ALL, ("limit", "10"), ("start", &at)]).await).await;
        seen.extend(ids(&page));
        if page["isLastPage"] == json!(true) {
            assert_eq!(page["size"], json!(5));
            assert!(page["_links"].get("next").is_none());
            assert!(
                page["_links"]["prev"]
                    .as_str()
                    .is_some_and(|p| p.contains("start=10"))
            );
            break;
        }
        start_at += 10;
    }
    assert_eq!(seen.len(), 25);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 25, "every request exactly once");

    // Newest activity first.
    let by_activity: Vec<String> = {
        let mut all = h.sim.records();
        all.sort_by(|a, b| {
            b.last_activity
                .cmp(&a.last_activity)
                .then(b.issue_id.cmp(&a.issue_id))
        });
        all.iter().map(|r| r.issue_id.to_string()).collect()
    };
    assert_eq!(seen, by_activity);

    // Any start works, not only multiples of the limit; past the end is an empty last page.
    let odd = body(get(&h, LIST, &[ALL, ("limit", "3"), ("start", "9")]).await).await;
    assert_eq!(ids(&odd), by_activity[9..12].to_vec());
    let past = body(get(&h, LIST, &[ALL, ("start", "40")]).await).await;
    assert_eq!(
        (&past["size"], &past["isLastPage"]),
        (&json!(0), &json!(true))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn caps_the_page_size_and_rejects_malformed_paging() {
    let h = start(120).await;
    let page = body(get(&h, LIST, &[ALL, ("limit", "500")]).await).await;
    assert_eq!((&page["size"], &page["limit"]), (&json!(100), &json!(100)));
    let default = body(get(&h, LIST, &[ALL]).await).await;
    assert_eq!(
        (&default["size"], &default["limit"]),
        (&json!(50), &json!(50))
    );
    let bad = get(&h, LIST, &[ALL, ("start", "-1")]).await;
    assert_eq!(bad.status(), 400);
    assert!(body(bad).await["errorMessage"].as_str().is_some());
    h.shutdown().await;
}

#[tokio::test]
async fn without_request_ownership_only_the_accounts_own_requests_show() {
    let h = start(10).await;
    let mine = body(get(&h, LIST, &[]).await).await;
    assert_eq!(
        mine["size"],
        json!(0),
        "seeded requests belong to customers"
    );
    let mut own = h.sim.template("1", "Raised by the integration account");
    own.reporter = h.sim.me();
    let id = h.sim.insert(own);
    let mine = body(get(&h, LIST, &[]).await).await;
    assert_eq!(ids(&mine), vec![id.clone()]);
    // Repeated and comma-separated values are both accepted.
    let both = body(
        get(
            &h,
            LIST,
            &[("requestOwnership", "OWNED_REQUESTS,PARTICIPATED_REQUESTS")],
        )
        .await,
    )
    .await;
    assert_eq!(ids(&both), vec![id]);
    let all = body(get(&h, LIST, &[ALL]).await).await;
    assert_eq!(all["size"], json!(11));
    let wrong = get(&h, LIST, &[("requestOwnership", "EVERYTHING")]).await;
    assert_eq!(wrong.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn filters_by_status_desk_type_and_search_term() {
    let h = start(40).await;
    let records = h.sim.records();
    let done = records
        .iter()
        .filter(|r| super::model::category(r.status()) == "DONE")
        .count();
    let closed = body(get(&h, LIST, &[ALL, ("requestStatus", "CLOSED_REQUESTS")]).await).await;
    let open = body(get(&h, LIST, &[ALL, ("requestStatus", "OPEN_REQUESTS")]).await).await;
    assert_eq!(closed["size"], json!(done));
    assert_eq!(open["size"], json!(records.len() - done));
    assert!(done > 0 && done < records.len(), "the seed has both");

    let problems = records.iter().filter(|r| r.request_type_id == "2").count();
    let typed = body(
        get(
            &h,
            LIST,
            &[ALL, ("serviceDeskId", "1"), ("requestTypeId", "2")],
        )
        .await,
    )
    .await;
    assert_eq!(typed["size"], json!(problems));
    let without_desk = get(&h, LIST, &[ALL, ("requestTypeId", "2")]).await;
    assert_eq!(without_desk.status(), 400);

    let vpn = records
        .iter()
        .filter(|r| r.summary.to_lowercase().contains("vpn"))
        .count();
    let found = body(get(&h, LIST, &[ALL, ("searchTerm", "VPN")]).await).await;
    assert_eq!(found["size"], json!(vpn));
    h.shutdown().await;
}

#[tokio::test]
async fn a_request_has_the_documented_shape() {
    let h = start(0).await;
    let mut r = h.sim.template("2", "ERP down");
    r.description = Some("Nothing loads <at all>".into());
    r.priority = Some("High".into());
    let id = h.sim.insert(r);
    let one = body(get(&h, &format!("{LIST}/{id}"), &[]).await).await;
    assert_eq!(one["issueId"], json!(id));
    assert_eq!(one["issueKey"], json!("IT-1"));
    assert_eq!(
        (&one["requestTypeId"], &one["serviceDeskId"]),
        (&json!("2"), &json!("1"))
    );
    // 12:00 UTC is 14:00 in Amsterdam in June.
    assert_eq!(
        one["createdDate"],
        json!({
            "iso8601": "2024-06-01T14:00:00+0200",
            "jira": "2024-06-01T14:00:00.000+0200",
            "friendly": "Today 2:00 PM",
            "epochMillis": NOW * 1000,
        })
    );
    assert_eq!(one["currentStatus"]["status"], json!("Waiting for support"));
    assert_eq!(one["currentStatus"]["statusCategory"], json!("NEW"));
    let fields = one["requestFieldValues"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ids: Vec<&str> = fields
        .iter()
        .filter_map(|f| f["fieldId"].as_str())
        .collect();
    assert_eq!(ids, vec!["summary", "description", "priority"]);
    assert_eq!(fields[0]["value"], json!("ERP down"));
    assert_eq!(
        fields[1]["renderedValue"]["html"],
        json!("<p>Nothing loads &lt;at all&gt;</p>")
    );
    assert_eq!(
        (&fields[2]["value"]["name"], &fields[2]["value"]["id"]),
        (&json!("High"), &json!("2"))
    );
    let reporter = &one["reporter"];
    assert!(
        reporter["accountId"]
            .as_str()
            .is_some_and(|a| a.starts_with("712020:"))
    );
    assert_eq!(
        one["_links"]["agent"],
        json!(format!("{}/browse/IT-1", h.base_url))
    );
    assert_eq!(one.get("requestType"), None, "not expanded");
    assert_eq!(
        body(get(&h, &format!("{LIST}/IT-1"), &[]).await).await["issueId"],
        json!(id),
        "the key works as well as the id"
    );
    let missing = get(&h, &format!("{LIST}/IT-999"), &[]).await;
    assert_eq!(missing.status(), 404);
    assert!(body(missing).await["errorMessage"].as_str().is_some());
    h.shutdown().await;
}

#[tokio::test]
async fn hidden_fields_are_left_out_and_expansions_added() {
    let h = start(0).await;
    let mut reset = h.sim.template("5", "Password reset");
    reset.description = Some("Locked out".into());
    let id = h.sim.insert(reset);
    h.sim.set_now(now() + chrono::Duration::hours(30));
    assert!(h.sim.transition(&id, "In progress"));
    let one = body(
        get(
            &h,
            &format!("{LIST}/{id}"),
            &[("expand", "requestType,status"), ("expand", "serviceDesk")],
        )
        .await,
    )
    .await;
    let fields: Vec<&str> = one["requestFieldValues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["fieldId"].as_str())
        .collect();
    assert_eq!(
        fields,
        vec!["description"],
        "the summary is hidden on this form"
    );
    assert_eq!(one["requestType"]["name"], json!("Reset my password"));
    assert_eq!(one["serviceDesk"]["projectKey"], json!("IT"));
    let history = &one["status"];
    assert_eq!(history["isLastPage"], json!(true));
    let names: Vec<&str> = history["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["status"].as_str())
        .collect();
    assert_eq!(names, vec!["Waiting for support", "In progress"]);
    assert_eq!(
        history["values"][0]["statusDate"]["friendly"],
        json!("Yesterday 2:00 PM")
    );
    assert_eq!(
        one["currentStatus"]["statusCategory"],
        json!("INDETERMINATE")
    );
    h.shutdown().await;
}

#[test]
fn friendly_dates_are_relative_to_the_clock() {
    let tz = chrono_tz::Europe::Amsterdam;
    let at = |h: i64| now() - chrono::Duration::hours(h);
    assert_eq!(friendly(at(0), tz, now()), "Today 2:00 PM");
    assert_eq!(friendly(at(20), tz, now()), "Yesterday 6:00 PM");
    assert_eq!(friendly(at(72), tz, now()), "Wednesday 2:00 PM");
    assert_eq!(friendly(at(24 * 30), tz, now()), "02/May/24 2:00 PM");
}
