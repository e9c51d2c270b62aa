//! Comments and progress between linked records: a target's status and
//! public comments go back to the origin, an origin's later public comments
//! go on to its targets, each once, and never a comment the hub wrote there
//! itself (`routing::echo`, with the notes the writers kept). Internal
//! notes stay where they were written; the origin's journey keeps them, as
//! internal, for the agents.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Change, Plan, Router};
use crate::model::{Activity, Canonical};
use crate::routing::echo;
use crate::routing::message::{Origin, Routed};
use crate::routing::{Event, Routing, Target};
use crate::store::{Effect, HUB, LinkedTarget, Progress, TASKS};

/// How far before its routing an origin's comment still counts as news
/// for the target.
const CLOCK_SKEW_SECS: i64 = 60;

/// A linked target's change, as progress sees it.
pub(super) struct Seen<'a> {
    pub(super) here: Origin<'a>,
    pub(super) record: &'a Value,
    pub(super) event: &'a Event,
    pub(super) activities: &'a [crate::model::Activity],
    pub(super) sent: &'a [String],
}

impl Seen<'_> {
    /// The record's public comments with text, written by people rather
    /// than read back from a writer: each with its text.
    fn own_comments(&self, public_only: bool) -> impl Iterator<Item = (&Activity, &str)> {
        self.activities.iter().filter_map(move |a| {
            let text = a.body.as_deref().filter(|b| !b.trim().is_empty())?;
            let public = a.visibility.as_deref() == Some("public");
            let wanted = a.kind == "comment" && (public || !public_only);
            (wanted && !echo::is_echo(text, self.sent)).then_some((a, text))
        })
    }
}

pub(super) fn activities<'a>(c: &Change<'a>) -> &'a [Activity] {
    match c.canonical {
        Canonical::WorkItem(w) => w.activities.as_deref().unwrap_or_default(),
        _ => &[],
    }
}

impl Router {
    /// A record a writer created moved, or has new comments: note it on
    /// the origin, and post it to the origin system when `[progress]` names
    /// an action for it.
    pub(super) fn progress(
        &self,
        routing: &Routing,
        plan: &mut Plan,
        seen: &Seen,
        back: (&str, &str, &str),
        now: DateTime<Utc>,
    ) {
        let (origin_system, origin_stream, origin_id) = back;
        let Seen {
            here,
            record,
            event,
            ..
        } = seen;
        let number = display_number(record);
        let note = |note_id: String, body: String, status: Option<&str>, public: bool| {
            Effect::Progress(Progress {
                origin_system: origin_system.into(),
                origin_stream: origin_stream.into(),
                origin_id: origin_id.into(),
                note_id,
                body,
                status: status
                    .filter(|_| origin_system == HUB && origin_stream == TASKS)
                    .map(str::to_string),
                at: now,
                public,
            })
        };
        // The first sight of the record counts: it may have moved before
        // the target's first poll after the writer created it.
        if matches!(event.kind.as_str(), "created" | "status_changed") {
            let status = record.get("status").and_then(Value::as_str).unwrap_or("?");
            let body = progress_text(here.system, record, &number, status);
            let note_id = format!(
                "progress:{}:{}:{}:{}",
                here.system, here.stream, here.external_id, status
            );
            plan.effects.push(note(note_id, body, Some(status), true));
            // The origin's comment mappings name the work by
            // `attributes.number`; not every system calls its number that.
            let mut record = (*record).clone();
            if let Some(attrs) = record.get_mut("attributes").and_then(Value::as_object_mut) {
                attrs.entry("number").or_insert_with(|| json!(number));
            }
            self.post_back(routing, plan, (here, &record, event, "progress"), back, now);
        }
        // The target's comments go back one by one. Each note and message
        // is keyed by the comment, so a comment seen on every later poll is
        // posted once.
        for (a, text) in seen.own_comments(false) {
            let author = a.author_ref.as_deref().unwrap_or("someone");
            let body = format!(
                "{} {number} in {}, {author}: {text}",
                record
                    .pointer("/department")
                    .and_then(Value::as_str)
                    .unwrap_or(here.system),
                here.system
            );
            let key = format!(
                "{}:{}:{}:{}",
                here.system, here.stream, here.external_id, a.key
            );
            // A work note stays the departments' business on the origin too.
            let public = a.visibility.as_deref() == Some("public");
            plan.effects
                .push(note(format!("comment:{key}"), body.clone(), None, public));
            let (message, comment) = comment_message(here, record, &number, &body);
            // An internal note stays where it was written: the hub keeps
            // it for the agents' view of the journey, the origin system
            // gets only what its requester may read.
            if !public {
                continue;
            }
            let by = format!("comment:{}", a.key);
            self.post_back(routing, plan, (here, &message, &comment, &by), back, now);
        }
    }

    /// An origin's public comments written since its work was routed go
    /// on to each target whose system has a `[progress]` action: once each
    /// (the message is keyed by the comment and the target), and never one
    /// the hub wrote there itself. A comment without a time cannot say it
    /// is new, so it goes too: once, rather than lost.
    pub(super) fn forward(
        &self,
        routing: &Routing,
        plan: &mut Plan,
        seen: &Seen,
        targets: &[LinkedTarget],
        now: DateTime<Utc>,
    ) {
        if !routing.forward_comments {
            return;
        }
        let here = &seen.here;
        let number = display_number(seen.record);
        for t in targets {
            let (Some(action), Some(department)) = (
                routing.progress.get(&t.system),
                self.departments.get(&t.system),
            ) else {
                continue;
            };
            let target = Target {
                department: department.clone(),
                connector: t.system.clone(),
                action: action.clone(),
            };
            for (a, text) in seen.own_comments(true) {
                // Two systems' clocks never quite agree, and some keep only
                // seconds: a comment made in the minute before routing goes
                // too, rather than one just after it being taken for old.
                let since = t.routed_at - chrono::Duration::seconds(CLOCK_SKEW_SECS);
                if a.occurred_at.is_some_and(|at| at < since) {
                    continue;
                }
                let author = a.author_ref.as_deref().unwrap_or("someone");
                let body = format!("{} {number}, {author}: {text}", here.system);
                let (message, comment) = comment_message(here, seen.record, &number, &body);
                let by = format!("forward:{}", a.key);
                let routed = Routed {
                    origin: *here,
                    record: &message,
                    event: &comment,
                    by: &by,
                    target: &target,
                    target_id: Some(&t.external_id),
                    priority: None,
                    sla_hours: None,
                    set: &BTreeMap::new(),
                };
                self.enqueue(routing, plan, &routed, now, None);
                // The agents' view of the journey says where it went.
                plan.effects.push(Effect::Progress(Progress {
                    origin_system: here.system.into(),
                    origin_stream: here.stream.into(),
                    origin_id: here.external_id.into(),
                    note_id: format!("forward:{}:{}:{}", a.key, t.system, t.external_id),
                    body: format!(
                        "Comment forwarded to {} {}: {text}",
                        t.system, t.external_id
                    ),
                    status: None,
                    at: now,
                    public: false,
                }));
            }
        }
    }

    /// Route `record` to the origin system's `[progress]` action, if any.
    pub(super) fn post_back(
        &self,
        routing: &Routing,
        plan: &mut Plan,
        (here, record, event, by): (&Origin, &Value, &Event, &str),
        (origin_system, _, origin_id): (&str, &str, &str),
        now: DateTime<Utc>,
    ) {
        let (Some(action), Some(department)) = (
            routing.progress.get(origin_system),
            self.departments.get(origin_system),
        ) else {
            return;
        };
        let target = Target {
            department: department.clone(),
            connector: origin_system.to_string(),
            action: action.clone(),
        };
        let routed = Routed {
            origin: *here,
            record,
            event,
            by,
            target: &target,
            target_id: Some(origin_id),
            priority: None,
            sla_hours: None,
            set: &BTreeMap::new(),
        };
        self.enqueue(routing, plan, &routed, now, None);
    }
}

/// A comment on its way to another system: only what the comment says
/// (so its message id stays the same whatever else changes on the
/// record), posted as `attributes.progress_note` by a `comment` event.
fn comment_message(here: &Origin, record: &Value, number: &str, body: &str) -> (Value, Event) {
    let message = json!({
        "entity": "work_item", "kind": record.get("kind"),
        "department": record.get("department"),
        "attributes": {"number": number, "progress_note": body}, "classified": {},
    });
    let event = Event {
        kind: "comment".into(),
        system: here.system.into(),
        stream: here.stream.into(),
        from_status: None,
        to_status: None,
    };
    (message, event)
}

/// The number people know the work by: a ticket number, Maximo's work
/// order number, a key, else the system's id.
pub(super) fn display_number(record: &Value) -> String {
    [
        "/attributes/number",
        "/attributes/wonum",
        "/attributes/key",
        "/external_id",
    ]
    .iter()
    .find_map(|p| {
        record
            .pointer(p)
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
    })
    .unwrap_or_default()
}

/// "facilities work order 1042 (Radiator cold) in maximo: in progress".
fn progress_text(system: &str, record: &Value, number: &str, status: &str) -> String {
    let text = |p: &str| record.pointer(p).and_then(Value::as_str);
    let kind = match text("/kind") {
        Some("work_order") => "work order",
        Some(k) => k,
        None => "record",
    };
    format!(
        "{} {kind} {number} ({}) in {system}: {}",
        text("/department").unwrap_or(system),
        text("/title").unwrap_or("untitled"),
        status.replace('_', " ")
    )
}
