//! The `deleted` event: a work item tombstoned by a sync (see
//! `sync/deletions.rs`) is routed like any change, with `kind = "deleted"`,
//! `from_status` its last status and no `to_status`, so rules with
//! `on = ["deleted"]` fire. A deleted link target (work a writer created)
//! sends progress back to its origin instead, as a status change does: a
//! note "… was deleted in <system>", posted through `[progress]`. A
//! deleted origin routes nothing more: its work went out already.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::comments::display_number;
use super::{Plan, Router, Scope, routed_record};
use crate::model::Canonical;
use crate::routing::message::Origin;
use crate::routing::{Event, Routing};
use crate::store::{Effect, LinkEnd, Progress};

/// One record a run tombstoned, as routing sees it.
pub struct Gone<'a> {
    pub external_id: &'a str,
    /// The stored record, mapped again from its raw payload.
    pub canonical: &'a Canonical,
    /// Its status when it was deleted.
    pub state: Option<&'a str>,
    pub link: Option<&'a LinkEnd>,
}

impl Router {
    /// The routed work and progress of a page of tombstoned records. Only
    /// work items carry the event: a person leaves through `active`, and
    /// reference data has no events.
    pub fn plan_deleted(
        &self,
        system: &str,
        stream: &str,
        gone: &[Gone],
        now: DateTime<Utc>,
    ) -> Plan {
        let routing = self.routing.current();
        let mut plan = Plan::default();
        for g in gone {
            if !matches!(g.canonical, Canonical::WorkItem(_)) {
                continue;
            }
            let event = Event {
                kind: "deleted".into(),
                system: system.into(),
                stream: stream.into(),
                from_status: g.state.map(str::to_string),
                to_status: None,
            };
            let record = routed_record(g.canonical, g.external_id);
            let origin = Origin {
                system,
                stream,
                external_id: g.external_id,
            };
            match g.link {
                // A deleted origin routes nothing more: its work went out.
                Some(link) => {
                    if let Some(back) = link.origin() {
                        let seen = (&origin, &record, &event);
                        self.deleted_back(&routing, &mut plan, seen, back, now);
                    }
                }
                None => self.route(
                    &routing,
                    &mut plan,
                    &origin,
                    &record,
                    &event,
                    Scope::Everything,
                    now,
                ),
            }
        }
        plan
    }

    /// A target's deletion noted on its origin and posted to the origin
    /// system, once (the note and the message are keyed by the record).
    fn deleted_back(
        &self,
        routing: &Routing,
        plan: &mut Plan,
        (here, record, event): (&Origin, &Value, &Event),
        back: (&str, &str, &str),
        now: DateTime<Utc>,
    ) {
        let (origin_system, origin_stream, origin_id) = back;
        let number = display_number(record);
        let text = |p: &str| record.pointer(p).and_then(Value::as_str);
        let kind = match text("/kind") {
            Some("work_order") => "work order",
            Some(k) => k,
            None => "record",
        };
        let body = format!(
            "{} {kind} {number} ({}) was deleted in {}",
            text("/department").unwrap_or(here.system),
            text("/title").unwrap_or("untitled"),
            here.system
        );
        plan.effects.push(Effect::Progress(Progress {
            origin_system: origin_system.into(),
            origin_stream: origin_stream.into(),
            origin_id: origin_id.into(),
            note_id: format!(
                "deleted:{}:{}:{}",
                here.system, here.stream, here.external_id
            ),
            body: body.clone(),
            status: None,
            at: now,
            public: true,
        }));
        // The origin's comment mappings post `attributes.progress_note` as
        // it is, and name the work by `attributes.number`.
        let mut record = record.clone();
        if let Some(attrs) = record.get_mut("attributes").and_then(Value::as_object_mut) {
            attrs.entry("number").or_insert_with(|| json!(number));
            attrs.insert("progress_note".into(), json!(body));
        }
        self.post_back(routing, plan, (here, &record, event, "deleted"), back, now);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::diag::SourceFile;
    use crate::model::WorkItem;
    use crate::routing::{Routing, RoutingSlot};

    fn router(body: &str) -> Router {
        let text = format!("version = 1\n{body}");
        let routing = Routing::from_source(&SourceFile::new("routing.toml", text))
            .unwrap_or_else(|d| panic!("{d}"));
        Router {
            routing: RoutingSlot::new(Arc::new(routing)),
            departments: BTreeMap::from([
                ("servicenow".to_string(), "it".to_string()),
                ("maximo".to_string(), "facilities".to_string()),
            ]),
        }
    }

    fn order() -> Canonical {
        let mut w = WorkItem {
            kind: "work_order".into(),
            title: "Radiator cold".into(),
            status: "in_progress".into(),
            department: Some("facilities".into()),
            ..WorkItem::default()
        };
        w.attributes.insert("wonum".into(), json!("1042"));
        Canonical::WorkItem(w)
    }

    fn plan(r: &Router, link: Option<&LinkEnd>) -> Plan {
        let canonical = order();
        let gone = Gone {
            external_id: "WO-1042",
            canonical: &canonical,
            state: Some("in_progress"),
            link,
        };
        r.plan_deleted("maximo", "workorders", &[gone], Utc::now())
    }

    const TO_IT: &str =
        "to = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }";

    #[test]
    fn only_rules_that_name_it_see_a_deletion() {
        let every = router(&format!(
            "[[rules]]\nname = \"all\"\n{TO_IT}\n[default]\n{TO_IT}\n"
        ));
        assert!(plan(&every, None).outbox.is_empty(), "nor the default");
        let named = router(&format!(
            "[[rules]]\nname = \"gone\"\non = [\"deleted\"]\n{TO_IT}\n[default]\n"
        ));
        let p = plan(&named, None);
        assert_eq!(p.outbox.len(), 1);
        let event = &p.outbox[0].payload["data"]["event"];
        assert_eq!(event["kind"], "deleted");
        assert_eq!(event["from_status"], "in_progress");
        assert!(event["to_status"].is_null());
        // Work routed from it went out already: an origin routes no more.
        assert!(
            plan(&named, Some(&LinkEnd::Origin { targets: vec![] }))
                .outbox
                .is_empty()
        );
    }

    #[test]
    fn a_deleted_target_tells_its_origin() {
        let r = router("[progress]\nservicenow = \"comment_incident\"\n[default]\n");
        let link = LinkEnd::Target {
            origin_system: "servicenow".into(),
            origin_stream: "incident".into(),
            origin_id: "abc".into(),
            relation: "routed".into(),
        };
        let p = plan(&r, Some(&link));
        let [Effect::Progress(note)] = p.effects.as_slice() else {
            panic!("one progress note: {:?}", p.effects);
        };
        assert_eq!(note.origin_id, "abc");
        assert_eq!(
            note.body,
            "facilities work order 1042 (Radiator cold) was deleted in maximo"
        );
        assert_eq!(p.outbox.len(), 1, "posted to the origin system");
        let m = &p.outbox[0].payload["data"];
        assert_eq!(
            m["record"]["attributes"]["progress_note"],
            note.body.as_str()
        );
        assert!(
            p.outbox[0]
                .routing_key
                .ends_with("servicenow.comment_incident"),
            "{}",
            p.outbox[0].routing_key
        );
    }
}
