//! The canonical records Maximo work orders become: fields, times,
//! location, requester, work logs as activities, and the quarantine of a
//! status the shipped mapping does not know.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use switchboard::store::{CountedTable, Store};

use super::common::{Backend, TestStore};
use super::{activities, id_of, job, key_of, sim, sync, time};

/// A work order as Maximo stores it, with `fields` set.
fn work_order(fields: Value) -> Map<String, Value> {
    fields.as_object().cloned().expect("an object")
}

type Times = (
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

async fn times_and_location(store: &Store, workorderid: &str) -> Times {
    let sql = format!(
        "SELECT opened_at, updated_at, resolved_at, closed_at, due_at, location_ref FROM work_items \
         WHERE source_system = 'maximo' AND external_id = '{workorderid}'"
    );
    match store {
        Store::Postgres(pool) => sqlx::query_as(&sql).fetch_one(pool).await,
        Store::Sqlite(pool) => sqlx::query_as(&sql).fetch_one(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn at(s: &str) -> Option<DateTime<Utc>> {
    Some(time(s))
}

pub(super) async fn canonical_records_land(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let mx = sim(0).await;
    let s = &mx.sim;
    let in_progress = s.insert(work_order(json!({
        "siteid": "BEDFORD", "description": "Elevator B stops between floors",
        "description_longdescription": "<p>Stopped twice this week.</p><p>Nobody trapped.</p>",
        "status": "INPRG", "worktype": "EM", "wopriority": 1, "location": "BR430", "assetnum": "ELEV-102",
        "reportedby": "WILSON", "reportdate": "2024-03-04T08:55:00-05:00",
        "targcompdate": "2024-03-05T17:00:00-05:00", "actstart": "2024-03-04T10:00:00-05:00",
        "changedate": "2024-03-04T10:15:00-05:00",
        "worklog": [
            {"worklogid": 1, "logtype": "CLIENTNOTE", "description": "Happened again", "description_longdescription": "At 9:40, floor 2.", "createby": "WILSON", "createdate": "2024-03-04T09:45:00-05:00"},
            {"worklogid": 2, "logtype": "WORK", "description": "Technician on site", "createby": "SMITH", "createdate": "2024-03-04T10:05:00-05:00"},
        ],
    })));
    let closed = s.insert(work_order(json!({
        "siteid": "TEXAS", "description": "Generator load test", "status": "CLOSE", "historyflag": true,
        "worktype": "PM", "wopriority": 5, "location": "TX-DOCK", "reportedby": "GARCIA",
        "reportdate": "2024-02-01T07:00:00-05:00", "actfinish": "2024-02-02T11:00:00-05:00",
        "statusdate": "2024-02-05T09:00:00-05:00", "changedate": "2024-02-05T09:00:00-05:00",
    })));
    // Just reported: no priority, no location, no work logs.
    let fresh = s.insert(work_order(json!({
        "siteid": "NASHUA", "description": "Restroom hand dryer not working", "status": "WAPPR",
        "reportedby": "NGUYEN", "reportdate": "2024-03-04T11:00:00-05:00", "changedate": "2024-03-04T11:00:00-05:00",
    })));
    let report = sync(&job(&mx, &[]), &ts).await;
    assert_eq!((report.stored, report.quarantined), (3, 0), "{report:?}");

    let by_rest_id = |id: &str| key_of(&s.get(id).expect("stored in the simulator"));
    let summary = |id: String| {
        let store = &ts.store;
        async move {
            store
                .work_item_summary("maximo", "workorder", &id)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let id = by_rest_id(&in_progress);
    let w = summary(id.clone()).await;
    assert_eq!(
        (
            w.title.as_str(),
            w.status.as_str(),
            w.native_status.as_deref(),
            w.priority,
            w.requester_ref.as_deref()
        ),
        (
            "Elevator B stops between floors",
            "in_progress",
            Some("INPRG"),
            Some(1),
            Some("WILSON")
        )
    );
    assert_eq!(w.department.as_deref(), Some("facilities"));
    assert_eq!(
        times_and_location(&ts.store, &id).await,
        (
            at("2024-03-04T13:55:00Z"),
            at("2024-03-04T15:15:00Z"),
            None,
            None,
            at("2024-03-05T22:00:00Z"),
            Some("BR430".into())
        )
    );
    assert_eq!(
        activities(&ts.store, &id).await,
        vec![
            (
                "comment".into(),
                Some("WILSON".into()),
                Some("Happened again\nAt 9:40, floor 2.".into())
            ),
            (
                "comment".into(),
                Some("SMITH".into()),
                Some("Technician on site".into())
            ),
        ]
    );

    let id = by_rest_id(&closed);
    let w = summary(id.clone()).await;
    assert_eq!(
        (w.title.as_str(), w.status.as_str(), w.priority),
        ("Generator load test", "closed", Some(4))
    );
    assert_eq!(
        times_and_location(&ts.store, &id).await,
        (
            at("2024-02-01T12:00:00Z"),
            at("2024-02-05T14:00:00Z"),
            at("2024-02-02T16:00:00Z"),
            at("2024-02-05T14:00:00Z"),
            None,
            Some("TX-DOCK".into())
        )
    );
    assert!(activities(&ts.store, &id).await.is_empty());

    let id = by_rest_id(&fresh);
    let w = summary(id.clone()).await;
    assert_eq!((w.status.as_str(), w.priority), ("new", None));
    assert_eq!(times_and_location(&ts.store, &id).await.5, None);
    // The three reporters became placeholder people, found by Maximo person id.
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 3);
}

pub(super) async fn unknown_status_is_quarantined(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let mx = sim(12).await;
    let rec = mx.sim.records()[0].clone();
    // A status outside the shipped WOSTATUS domain, as a customised server might hold.
    let mut fields = Map::new();
    fields.insert("status".into(), json!("ONHOLD"));
    assert!(mx.sim.set_raw(&id_of(&rec), fields));
    let report = sync(&job(&mx, &[]), &ts).await;
    assert_eq!((report.stored, report.quarantined), (11, 1), "{report:?}");
    let q = ts.store.quarantined().await.unwrap();
    assert_eq!(q[0].external_id, key_of(&rec));
    assert!(
        q[0].reason.contains("maximo-workorders.toml")
            && q[0].reason.contains("fields.status")
            && q[0].reason.contains("ONHOLD"),
        "{}",
        q[0].reason
    );
}
