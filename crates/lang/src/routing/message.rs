//! Routed work as it travels to a target: a CloudEvents 1.0 JSON event
//! with a stable id (the consumers' idempotency key), published under the
//! routing key `<department>.<connector>.<action>`.
//!
//! Confidentiality is applied here, once, before anything leaves the hub:
//! a field the mapping classified (`confidential = "hr"`) goes only to a
//! department cleared for its class, and the message says which fields
//! were withheld, never their values.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use serde::Serialize;

use super::{Event, Target};

/// Where the routed record lives.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Origin<'a> {
    pub system: &'a str,
    pub stream: &'a str,
    pub external_id: &'a str,
}

/// One routing decision, ready to become a message.
#[derive(Debug, Clone)]
pub struct Routed<'a> {
    pub origin: Origin<'a>,
    /// The canonical record as `switchboard map` prints it.
    pub record: &'a Value,
    pub event: &'a Event,
    /// What chose the target: a rule's name, `default`, a value stream's
    /// `<stream>/<task>`, or `progress`.
    pub by: &'a str,
    pub target: &'a Target,
    /// The target system's id of the record the action changes; `None`
    /// when the action creates one.
    pub target_id: Option<&'a str>,
    pub priority: Option<i64>,
    pub sla_hours: Option<u32>,
    /// Values the target needs that the record lacks, by dotted path.
    pub set: &'a BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkMessage {
    /// Stable for the same change routed to the same target: a redelivery
    /// or a second publish carries the same id.
    pub id: String,
    pub routing_key: String,
    pub body: Value,
}

/// The CloudEvents `type` of routed work.
pub const EVENT_TYPE: &str = "io.switchboard.work.routed";

impl Routed<'_> {
    /// The CloudEvents message, with classified fields the target's
    /// department is not cleared for left out.
    pub fn message(
        &self,
        clearance: &BTreeMap<String, Vec<String>>,
        now: DateTime<Utc>,
    ) -> WorkMessage {
        let cleared = clearance
            .get(&self.target.department)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (mut data_record, withheld) = withhold(self.record, cleared);
        for (path, value) in self.set {
            let path: Vec<&str> = path.split('.').collect();
            put(&mut data_record, &path, value.clone());
        }
        if let (Some(p), Value::Object(m)) = (self.priority, &mut data_record) {
            m.insert("priority".into(), json!(p));
        }
        let id = self.stable_id();
        let body = json!({
            "specversion": "1.0",
            "id": id,
            "source": format!("/switchboard/{}/{}", self.origin.system, self.origin.stream),
            "type": EVENT_TYPE,
            "subject": self.origin.external_id,
            "time": now.to_rfc3339_opts(SecondsFormat::Millis, true),
            "datacontenttype": "application/json",
            // Extension attributes: lower-case letters and digits only.
            "sbrule": self.by,
            "sbtarget": routing_key(self.target),
            "data": {
                "origin": self.origin,
                "event": self.event,
                "target": self.target,
                "target_id": self.target_id,
                "sla_hours": self.sla_hours,
                "record": data_record,
                "withheld": withheld,
            },
        });
        WorkMessage {
            id,
            routing_key: routing_key(self.target),
            body,
        }
    }

    /// The same change of the same record to the same target gives the
    /// same id; any other change, or another target, a different one.
    fn stable_id(&self) -> String {
        let mut h = Sha256::new();
        let key = routing_key(self.target);
        for part in [
            self.origin.system,
            self.origin.stream,
            self.origin.external_id,
            &self.event.kind,
            self.by,
            &key,
            self.target_id.unwrap_or_default(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(self.record.to_string().as_bytes());
        hex::encode(&h.finalize()[..16])
    }
}

/// The CloudEvents `type` of a change routing could not decide: a rule's
/// or value stream's condition failed on it.
pub const FAILED_TYPE: &str = "io.switchboard.routing.failed";

/// The routing key of such a change: it goes to no writer, only to the
/// dead letters, where a replay routes it again.
pub const UNROUTED_KEY: &str = "unrouted";

/// A change whose routing failed, on its way to the dead letters.
#[derive(Debug, Clone)]
pub struct Unrouted<'a> {
    pub origin: Origin<'a>,
    pub record: &'a Value,
    pub event: &'a Event,
    /// `rule <name>` or `value stream <name>`.
    pub failed: &'a str,
    pub error: &'a str,
}

impl Unrouted<'_> {
    /// Why it was not routed, as `dlq list` shows it.
    pub fn reason(&self) -> String {
        format!(
            "{} failed, so nothing was routed: {}; fix routing.toml, then replay",
            self.failed, self.error
        )
    }

    /// The dead letter. It carries no record: a replay maps the raw
    /// payload the store kept again, with the files in force then.
    pub fn message(&self, now: DateTime<Utc>) -> WorkMessage {
        let mut h = Sha256::new();
        for part in [
            UNROUTED_KEY,
            self.origin.system,
            self.origin.stream,
            self.origin.external_id,
            &self.event.kind,
            self.failed,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(self.record.to_string().as_bytes());
        let id = hex::encode(&h.finalize()[..16]);
        let body = json!({
            "specversion": "1.0",
            "id": id,
            "source": format!("/switchboard/{}/{}", self.origin.system, self.origin.stream),
            "type": FAILED_TYPE,
            "subject": self.origin.external_id,
            "time": now.to_rfc3339_opts(SecondsFormat::Millis, true),
            "datacontenttype": "application/json",
            "sbrule": self.failed,
            "data": {
                "origin": self.origin,
                "event": self.event,
                "failed": self.failed,
                "error": self.error,
            },
        });
        WorkMessage {
            id,
            routing_key: UNROUTED_KEY.to_string(),
            body,
        }
    }
}

pub fn routing_key(target: &Target) -> String {
    format!(
        "{}.{}.{}",
        target.department, target.connector, target.action
    )
}

/// Set `path` in `value`, making objects on the way.
pub fn put(value: &mut Value, path: &[&str], new: Value) {
    let Value::Object(m) = value else { return };
    match path {
        [last] => {
            m.insert((*last).to_string(), new);
        }
        [head, rest @ ..] => {
            let child = m
                .entry((*head).to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            if !child.is_object() {
                *child = Value::Object(Default::default());
            }
            put(child, rest, new);
        }
        [] => {}
    }
}

/// The record without any classified field: what a template that may
/// reach any department can safely read.
pub fn unclassified(record: &Value) -> Value {
    withhold(record, &[]).0
}

/// The record without the fields whose class `cleared` lacks, and the
/// names of those fields.
pub fn withhold(record: &Value, cleared: &[String]) -> (Value, Vec<String>) {
    let mut out = record.clone();
    let mut withheld = Vec::new();
    let classes: Vec<(String, String)> = record
        .get("classified")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(f, c)| Some((f.clone(), c.as_str()?.to_string())))
        .collect();
    for (field, class) in classes {
        if cleared.contains(&class) {
            continue;
        }
        let path: Vec<&str> = field.split('.').collect();
        // A reference field is serialised with its `_ref` suffix.
        let removed = remove(&mut out, &path)
            || path
                .split_last()
                .map(|(last, head)| {
                    let with_ref = format!("{last}_ref");
                    let mut p = head.to_vec();
                    p.push(&with_ref);
                    remove(&mut out, &p)
                })
                .unwrap_or(false);
        if removed {
            withheld.push(field);
        }
    }
    withheld.sort();
    (out, withheld)
}

fn remove(value: &mut Value, path: &[&str]) -> bool {
    match (path, value) {
        ([last], Value::Object(m)) => m.remove(*last).is_some(),
        ([head, rest @ ..], Value::Object(m)) => m.get_mut(*head).is_some_and(|v| remove(v, rest)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(department: &str) -> Target {
        Target {
            department: department.into(),
            connector: "maximo".into(),
            action: "create_workorder".into(),
        }
    }

    fn event() -> Event {
        Event {
            kind: "created".into(),
            system: "servicenow".into(),
            stream: "incident".into(),
            from_status: None,
            to_status: Some("new".into()),
        }
    }

    fn record() -> Value {
        json!({"entity": "work_item", "kind": "incident", "title": "No heating",
            "description": "Salary dispute makes me cold", "priority": 3,
            "requester_ref": "u1",
            "attributes": {"salary": 52000, "number": "INC1"},
            "classified": {"description": "hr", "attributes.salary": "hr", "requester": "hr"}})
    }

    const ORIGIN: Origin = Origin {
        system: "servicenow",
        stream: "incident",
        external_id: "abc",
    };

    fn work_message(
        origin: &Origin,
        record: &Value,
        event: &Event,
        _rule: Option<()>,
        target: &Target,
        clearance: &BTreeMap<String, Vec<String>>,
        now: DateTime<Utc>,
    ) -> WorkMessage {
        let none = BTreeMap::new();
        Routed {
            origin: *origin,
            record,
            event,
            by: "default",
            target,
            target_id: None,
            priority: None,
            sla_hours: None,
            set: &none,
        }
        .message(clearance, now)
    }

    fn clearance() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([("hr".to_string(), vec!["hr".to_string()])])
    }

    #[test]
    fn classified_fields_never_reach_an_uncleared_department() {
        let now = Utc::now();
        let m = work_message(
            &ORIGIN,
            &record(),
            &event(),
            None,
            &target("facilities"),
            &clearance(),
            now,
        );
        let text = m.body.to_string();
        assert!(
            !text.contains("52000") && !text.contains("Salary dispute") && !text.contains("\"u1\""),
            "{text}"
        );
        assert_eq!(
            m.body["data"]["withheld"],
            json!(["attributes.salary", "description", "requester"])
        );
        assert_eq!(m.body["data"]["record"]["attributes"]["number"], "INC1");
        assert_eq!(m.routing_key, "facilities.maximo.create_workorder");
        assert_eq!(m.body["specversion"], "1.0");
        assert_eq!(m.body["sbrule"], "default");

        let hr = work_message(
            &ORIGIN,
            &record(),
            &event(),
            None,
            &target("hr"),
            &clearance(),
            now,
        );
        assert_eq!(hr.body["data"]["record"]["attributes"]["salary"], 52000);
        assert_eq!(hr.body["data"]["withheld"], json!([]));
    }

    #[test]
    fn the_id_is_stable_for_one_change_and_target_only() {
        let (a, b) = (Utc::now(), Utc::now() + chrono::TimeDelta::hours(1));
        let c = &clearance();
        let one = work_message(
            &ORIGIN,
            &record(),
            &event(),
            None,
            &target("facilities"),
            c,
            a,
        );
        let again = work_message(
            &ORIGIN,
            &record(),
            &event(),
            None,
            &target("facilities"),
            c,
            b,
        );
        assert_eq!(
            one.id, again.id,
            "the time of publishing is not part of the id"
        );
        let mut changed = record();
        changed["status"] = json!("in_progress");
        let other = work_message(
            &ORIGIN,
            &changed,
            &event(),
            None,
            &target("facilities"),
            c,
            a,
        );
        assert_ne!(one.id, other.id);
        let elsewhere = work_message(&ORIGIN, &record(), &event(), None, &target("hr"), c, a);
        assert_ne!(one.id, elsewhere.id);
        assert_eq!(one.id.len(), 32);
    }
}
