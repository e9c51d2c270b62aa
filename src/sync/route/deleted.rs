//! The `deleted` event: a work item tombstoned by a sync (see
//! `sync/deletions.rs`) is routed like any change, with `kind = "deleted"`,
//! `from_status` its last status and no `to_status`, so rules with
//! `on = ["deleted"]` fire. A deleted link target (work a writer created)
//! sends progress back to its origin instead, as a status change does: a
//! note "… was deleted in <system>", posted through `[progress]`. A
//! deleted origin routes nothing more: its work went out already.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Plan, Router, Scope, display_number, routed_record};
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
                Some(LinkEnd::Target {
                    origin_system,
                    origin_stream,
                    origin_id,
                    ..
                }) => {
                    let back = (
                        origin_system.as_str(),
                        origin_stream.as_str(),
                        origin_id.as_str(),
                    );
                    self.deleted_back(&routing, &mut plan, (&origin, &record, &event), back, now);
                }
                Some(_) => {}
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
