//! Replays: routing a stored record again with the files in force now
//! (`switchboard route --replay`), and rendering a dead letter again once
//! its cause is fixed (`switchboard dlq replay`).
//!
//! A replay maps the raw payload the store kept with the current mapping
//! and routes it with the current rules, so a fix to either takes effect.
//! It never asks the source. Routing the same change of the same record
//! gives the same message ids, so replaying twice, or replaying what was
//! already applied, applies nothing twice: the outbox ignores an id it
//! has, and the writers' `deliveries` table an id they applied. A value
//! stream whose case already exists for the record is not started again.

use chrono::Utc;
use serde_json::Value;

use super::route::Scope;
use super::{Plan, SyncJob, map_record};
use crate::model::Canonical;
use crate::routing::message::{EVENT_TYPE, FAILED_TYPE, Origin, Routed};
use crate::routing::{Event, Routing};
use crate::store::{CASES, Effect, HUB, LinkEnd, Store, StoreError, TASKS};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{system}/{stream}: the store holds no record `{external_id}`; only what a sync or a \
         webhook stored can be routed again"
    )]
    NotStored {
        system: String,
        stream: String,
        external_id: String,
    },
    #[error(
        "{system}/{stream} `{external_id}`: the mapping in force now {why}, so there is \
         nothing to route"
    )]
    NotMapped {
        system: String,
        stream: String,
        external_id: String,
        why: String,
    },
    #[error(
        "{system}/{stream} `{external_id}` was created by a writer for work routed from \
         {origin}: its changes go back to that record as progress, and are never routed"
    )]
    LinkTarget {
        system: String,
        stream: String,
        external_id: String,
        origin: String,
    },
    #[error("{system}/{stream}: no routing applies (is `routing.toml` in place?)")]
    NoRouting { system: String, stream: String },
    #[error("event `{kind}` is not one a {entity} has; it has {kinds}")]
    Event {
        kind: String,
        entity: &'static str,
        kinds: String,
    },
    #[error(
        "no enabled connector `{system}` with a mapping for stream `{stream}` in this \
         configuration, so its records cannot be mapped again"
    )]
    NoJob { system: String, stream: String },
    /// A dead letter that cannot be rendered again; it stays where it is.
    #[error("{0}")]
    Letter(String),
}

/// A stored record routed again.
#[derive(Debug, Default)]
pub struct Replanned {
    pub plan: Plan,
    /// Cases the rules would start that exist already: not started twice.
    pub cases_kept: Vec<String>,
    /// Send its messages again even if their ids went before (see
    /// `store::Requeue::resend`): true for a dead letter rendered again.
    pub resend: bool,
}

impl SyncJob {
    /// Route the stored record `external_id` of this stream again, for the
    /// change `kind` (default: `created` for a work item, `person_hired` for
    /// a person). Nothing is written: the caller hands the plan to
    /// [`Store::requeue`].
    pub async fn replan(
        &self,
        store: &Store,
        external_id: &str,
        kind: Option<&str>,
        scope: Scope,
    ) -> Result<Replanned, ReplayError> {
        let (system, stream) = (self.system(), self.stream.name.as_str());
        let named = |why: String| ReplayError::NotMapped {
            system: system.into(),
            stream: stream.into(),
            external_id: external_id.into(),
            why,
        };
        let Some(router) = &self.router else {
            return Err(ReplayError::NoRouting {
                system: system.into(),
                stream: stream.into(),
            });
        };
        let Some(payload) = store.source_payload(system, stream, external_id).await? else {
            return Err(ReplayError::NotStored {
                system: system.into(),
                stream: stream.into(),
                external_id: external_id.into(),
            });
        };
        let mapping = self.mapping.current();
        let canonical = match map_record(&mapping, &self.department, &payload) {
            None => return Err(named("skips it (`skip_if`)".into())),
            Some(Err(e)) => return Err(named(format!("rejects it ({e})"))),
            Some(Ok(c)) => c,
        };
        let key = [external_id.to_string()];
        if let Some(LinkEnd::Target {
            origin_system,
            origin_id,
            ..
        }) = store.link_ends(system, &key).await?.get(external_id)
        {
            return Err(ReplayError::LinkTarget {
                system: system.into(),
                stream: stream.into(),
                external_id: external_id.into(),
                origin: format!("{origin_system} `{origin_id}`"),
            });
        }
        let before = store.existing(system, stream, &key).await?;
        let event = Event {
            kind: event_kind(&canonical, kind)?,
            system: system.into(),
            stream: stream.into(),
            from_status: before.get(external_id).and_then(|s| s.state.clone()),
            to_status: state_of(&canonical),
        };
        let origin = Origin {
            system,
            stream,
            external_id,
        };
        let plan = router.replan(origin, &canonical, &event, scope, Utc::now());
        keep_existing_cases(store, plan).await
    }
}

/// The event a replay routes: the one asked for, if the record has it.
fn event_kind(canonical: &Canonical, kind: Option<&str>) -> Result<String, ReplayError> {
    let (entity, kinds): (&'static str, &[&str]) = match canonical {
        Canonical::WorkItem(_) => ("work item", &["created", "updated", "status_changed"]),
        Canonical::Person(_) => ("person", &["person_hired", "person_leaving", "updated"]),
        Canonical::OrgUnit(_) => ("org unit", &[]),
        Canonical::Offering(_) => ("offering", &[]),
    };
    match kind {
        None if !kinds.is_empty() => Ok(kinds[0].to_string()),
        Some(k) if kinds.contains(&k) => Ok(k.to_string()),
        k => Err(ReplayError::Event {
            kind: k.unwrap_or("-").to_string(),
            entity,
            kinds: if kinds.is_empty() {
                format!("none: {entity}s are never routed")
            } else {
                kinds.join(", ")
            },
        }),
    }
}

/// What `event.to_status` says for a record: its status, or whether a
/// person is active.
fn state_of(canonical: &Canonical) -> Option<String> {
    match canonical {
        Canonical::WorkItem(w) => Some(w.status.clone()),
        Canonical::Person(p) => Some(if p.active == Some(false) {
            "inactive".into()
        } else {
            "active".into()
        }),
        Canonical::OrgUnit(_) | Canonical::Offering(_) => None,
    }
}

/// Leave out of `plan` the value streams whose case exists already, with
/// their tasks and the tasks' messages: a task's message carries its due
/// date, so starting the stream again would not give the same ids.
async fn keep_existing_cases(store: &Store, mut plan: Plan) -> Result<Replanned, ReplayError> {
    let cases: Vec<String> = plan
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Spawn {
                stream,
                external_id,
                ..
            } if *stream == CASES => Some(external_id.clone()),
            _ => None,
        })
        .collect();
    if cases.is_empty() {
        return Ok(Replanned {
            plan,
            ..Replanned::default()
        });
    }
    let existing = store.existing(HUB, CASES, &cases).await?;
    let kept: Vec<String> = cases
        .into_iter()
        .filter(|c| existing.contains_key(c))
        .collect();
    let of_kept = |id: &str| {
        kept.iter().any(|c| {
            id == c
                || id
                    .strip_prefix(c.as_str())
                    .is_some_and(|t| t.starts_with('#'))
        })
    };
    plan.effects.retain(|e| match e {
        Effect::Spawn { external_id, .. } => !of_kept(external_id),
        _ => true,
    });
    plan.outbox.retain(|m| {
        let origin = m.payload.pointer("/data/origin");
        let task_of_kept = origin.is_some_and(|o| {
            o.get("system").and_then(Value::as_str) == Some(HUB)
                && o.get("stream").and_then(Value::as_str) == Some(TASKS)
                && o.get("external_id")
                    .and_then(Value::as_str)
                    .is_some_and(of_kept)
        });
        !task_of_kept
    });
    Ok(Replanned {
        plan,
        cases_kept: kept,
        resend: false,
    })
}

/// A dead letter, whichever transport kept it.
#[derive(Debug, Clone, Copy)]
pub struct Letter<'a> {
    pub id: &'a str,
    pub routing_key: &'a str,
    /// The CloudEvents message.
    pub payload: &'a Value,
}

/// How a dead letter goes back.
#[derive(Debug)]
pub enum Rerendered {
    /// Rendered again from the files in force now: this plan replaces it.
    /// A message to the letter's own target keeps the letter's id.
    Plan(Replanned),
    /// Sent again as it was, for this reason.
    AsSent(&'static str),
}

/// Render a dead letter again with the mapping and routing in force now:
/// a change routing could not decide is routed again (rules and value
/// streams); a rule's work is routed again by the rules for the same
/// event; a value stream task's work is rendered again with the task's
/// current target and `set`. Progress notes go as they were.
pub async fn rerender(
    letter: Letter<'_>,
    jobs: &[&SyncJob],
    store: &Store,
) -> Result<Rerendered, ReplayError> {
    let p = letter.payload;
    let text = |ptr: &str| p.pointer(ptr).and_then(Value::as_str).unwrap_or_default();
    let kind = p.get("type").and_then(Value::as_str);
    if kind != Some(FAILED_TYPE) && kind != Some(EVENT_TYPE) {
        return Ok(Rerendered::AsSent("not work Switchboard routed"));
    }
    let (system, stream, external_id) = (
        text("/data/origin/system"),
        text("/data/origin/stream"),
        text("/data/origin/external_id"),
    );
    let event: Event = p
        .pointer("/data/event")
        .cloned()
        .and_then(|e| serde_json::from_value(e).ok())
        .ok_or_else(|| ReplayError::Letter("it names no event to route again".into()))?;
    let by = text("/sbrule");
    if kind == Some(EVENT_TYPE) && by == "progress" {
        return Ok(Rerendered::AsSent(
            "progress notes are sent as they were written",
        ));
    }
    if kind == Some(EVENT_TYPE) && system == HUB && stream == TASKS {
        let routing = jobs
            .iter()
            .find_map(|j| j.router.as_ref())
            .map(|r| r.routing.current())
            .ok_or_else(|| ReplayError::Letter("no routing.toml is in place".into()))?;
        let plan = rerender_task(letter, &routing, by, external_id, &event)?;
        return Ok(Rerendered::Plan(Replanned {
            plan,
            cases_kept: Vec::new(),
            resend: true,
        }));
    }
    let job = jobs
        .iter()
        .find(|j| j.system() == system && j.stream.name == stream)
        .ok_or_else(|| ReplayError::NoJob {
            system: system.into(),
            stream: stream.into(),
        })?;
    let scope = if kind == Some(FAILED_TYPE) {
        Scope::Everything
    } else {
        Scope::Rules
    };
    let mut replanned = job
        .replan(store, external_id, Some(&event.kind), scope)
        .await?;
    if replanned.plan.outbox.is_empty() && replanned.plan.effects.is_empty() {
        return Err(ReplayError::Letter(format!(
            "the rules in force now route this {} of {system}/{stream} `{external_id}` nowhere; \
             it stays here (`--as-sent` sends it as it was)",
            event.kind
        )));
    }
    keep_letter_id(letter, &mut replanned.plan);
    // A rule's letter went out and was refused: its replacement must go
    // again. A change that was never routed sends nothing that went.
    replanned.resend = kind == Some(EVENT_TYPE);
    Ok(Rerendered::Plan(replanned))
}

/// A value stream task's message, rendered with the task as routing.toml
/// has it now, over the record the letter carries.
fn rerender_task(
    letter: Letter<'_>,
    routing: &Routing,
    by: &str,
    external_id: &str,
    event: &Event,
) -> Result<Plan, ReplayError> {
    let gone = || {
        ReplayError::Letter(format!(
            "value stream task `{by}` is no longer in routing.toml (`--as-sent` sends it as it was)"
        ))
    };
    let (stream_name, task_name) = by.split_once('/').ok_or_else(gone)?;
    let task = routing
        .value_streams
        .iter()
        .find(|v| v.name == stream_name)
        .and_then(|v| v.tasks.iter().find(|t| t.name == task_name))
        .ok_or_else(gone)?;
    let record = letter
        .payload
        .pointer("/data/record")
        .cloned()
        .unwrap_or(Value::Null);
    let routed = Routed {
        origin: Origin {
            system: HUB,
            stream: TASKS,
            external_id,
        },
        record: &record,
        event,
        by,
        target: &task.to,
        target_id: None,
        priority: task.priority,
        sla_hours: None,
        set: &task.set,
    };
    let m = routed.message(&routing.clearance, Utc::now());
    let mut plan = Plan::default();
    // A person replays it: now.
    plan.outbox.push(m.into());
    keep_letter_id(letter, &mut plan);
    Ok(plan)
}

/// The work that goes to the letter's own target is the same piece of work
/// as the letter: it keeps the letter's id, so a writer that applied it
/// (an in-doubt letter) does not apply it again.
fn keep_letter_id(letter: Letter<'_>, plan: &mut Plan) {
    if let Some(m) = plan
        .outbox
        .iter_mut()
        .find(|m| m.routing_key == letter.routing_key)
    {
        m.event_id = letter.id.to_string();
        if let Value::Object(body) = &mut m.payload {
            body.insert("id".into(), Value::String(letter.id.to_string()));
        }
    }
}
