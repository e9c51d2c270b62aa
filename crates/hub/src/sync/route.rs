//! Routing during a sync: each changed record becomes a change event; the
//! rules and value streams turn events into routed work (outbox messages)
//! and journey effects (cases, tasks, progress notes), which the page
//! writes in its own transaction.
//!
//! Loop prevention lives here. A record a writer created for routed work
//! (a link target) is never routed by the rules: its changes only travel
//! back along the link, as progress. A record work was already routed from
//! (a link origin) is not routed again either, so the progress note the
//! writer posts on it cannot start a second round. Without both, the
//! heating ticket and its work order would route each other forever.
//!
//! The first run of a stream is a baseline: records are stored and no
//! events fire, so connecting a desk with years of history does not route
//! years of tickets.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::lifecycle::{self, Step};
use crate::model::Canonical;
use crate::routing::message::{Origin, Routed, Unrouted};
use crate::routing::{Event, Routing, RoutingSlot};
use crate::store::{CASES, Effect, HUB, LinkEnd, OutboxMessage, Stored, TASKS};
use crate::telemetry::events;
use comments::{Seen, activities};

mod comments;
mod deleted;
pub use deleted::Gone;

/// What a sync job routes with.
#[derive(Debug)]
pub struct Router {
    /// Swapped by a hot reload; each page plans with the rules current
    /// when it starts.
    pub routing: RoutingSlot,
    /// Each connector's department: progress goes back under the origin
    /// system's department.
    pub departments: BTreeMap<String, String>,
}

/// What one page routes.
#[derive(Debug, Default)]
pub struct Plan {
    pub outbox: Vec<OutboxMessage>,
    pub effects: Vec<Effect>,
}

/// What routing a change considers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The rules and the value streams: a change as a sync routes it.
    Everything,
    /// The rules only: a dead letter of a rule's work, rendered again.
    Rules,
}

/// The canonical record as routing and targets see it: without its history
/// or the store's bookkeeping, with its external id.
fn routed_record(canonical: &Canonical, external_id: &str) -> Value {
    let mut record = serde_json::to_value(canonical).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut record {
        m.remove("activities");
        m.remove("lookups");
        m.insert("external_id".into(), json!(external_id));
    }
    record
}

/// One changed record of the page, as routing sees it.
pub struct Change<'a> {
    pub external_id: &'a str,
    pub canonical: &'a Canonical,
    pub before: Option<&'a Stored>,
    pub link: Option<&'a LinkEnd>,
    /// What writers left on this record (`routing::echo`): a comment
    /// among them is the hub's own, read back, and goes nowhere.
    pub sent: &'a [String],
}

impl Router {
    pub fn plan(&self, system: &str, stream: &str, changes: &[Change], now: DateTime<Utc>) -> Plan {
        let routing = self.routing.current();
        let mut plan = Plan::default();
        for c in changes {
            let Some((event, step)) = event_of(system, stream, c, now.date_naive()) else {
                continue;
            };
            if let Some(step) = step {
                let key = (system, stream, c.external_id);
                let existed = c.before.filter(|s| s.state.is_some());
                plan.effects.extend(lifecycle::effect(key, existed, step));
            }
            let record = routed_record(c.canonical, c.external_id);
            let origin = Origin {
                system,
                stream,
                external_id: c.external_id,
            };
            let seen = Seen {
                here: origin,
                record: &record,
                event: &event,
                activities: activities(c),
                sent: c.sent,
            };
            match c.link {
                Some(link @ LinkEnd::Target { .. }) => {
                    let back = link.origin().expect("a target has an origin");
                    self.progress(&routing, &mut plan, &seen, back, now);
                }
                Some(LinkEnd::Origin { targets }) => {
                    self.forward(&routing, &mut plan, &seen, targets, now);
                }
                None => {
                    let what = Scope::Everything;
                    self.route(&routing, &mut plan, &origin, &record, &event, what, now)
                }
            }
        }
        plan
    }

    /// Route a record the hub itself raised (a front-door request) for
    /// `event`, as a sync routes a change: rules and value streams.
    pub fn plan_record(
        &self,
        origin: Origin,
        record: &Value,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Plan {
        let routing = self.routing.current();
        let mut plan = Plan::default();
        self.route(
            &routing,
            &mut plan,
            &origin,
            record,
            event,
            Scope::Everything,
            now,
        );
        plan
    }

    /// Route one stored record again for `event`, with the rules in force
    /// now: as [`Router::plan`] would for a new change, but whatever the
    /// record's link (see `sync::replay` for what a replay refuses).
    pub fn replan(
        &self,
        origin: Origin,
        canonical: &Canonical,
        event: &Event,
        scope: Scope,
        now: DateTime<Utc>,
    ) -> Plan {
        let routing = self.routing.current();
        let mut plan = Plan::default();
        let record = routed_record(canonical, origin.external_id);
        self.route(&routing, &mut plan, &origin, &record, event, scope, now);
        plan
    }

    #[allow(clippy::too_many_arguments)]
    fn route(
        &self,
        routing: &Routing,
        plan: &mut Plan,
        origin: &Origin,
        record: &Value,
        event: &Event,
        scope: Scope,
        now: DateTime<Utc>,
    ) {
        let decision = routing.route(record, event);
        if let (Some(rule), Some(error)) = (decision.rule, &decision.failed) {
            let failed = format!("rule `{}`", rule.name);
            self.unrouted(plan, origin, record, event, &failed, error, now);
        }
        if let Some(target) = decision.target {
            let rule = decision.rule;
            let empty = BTreeMap::new();
            let routed = Routed {
                origin: *origin,
                record,
                event,
                by: rule.map_or("default", |r| r.name.as_str()),
                target,
                target_id: None,
                priority: rule.and_then(|r| r.priority),
                sla_hours: rule.and_then(|r| r.sla_hours),
                set: rule.map_or(&empty, |r| &r.set),
            };
            self.enqueue(routing, plan, &routed, now, None);
        }
        if scope == Scope::Rules {
            return;
        }
        let (started, errors) = routing.streams_started(record, event);
        for (stream, error) in &errors {
            let failed = format!("value stream `{}`", stream.name);
            self.unrouted(plan, origin, record, event, &failed, error, now);
        }
        // Titles go to several departments: they never read a classified
        // field, and the case and its tasks keep the record's confidentiality.
        let public = crate::routing::message::unclassified(record);
        let confidential = record.pointer("/attributes/confidential").cloned();
        for stream in started {
            let case_id = format!(
                "{}:{}:{}:{}",
                stream.name, origin.system, origin.stream, origin.external_id
            );
            // The case and tasks show in the hub at once; the departments
            // get the work `start_days_before` the start (or
            // `end_days_before` the end), and a task's due date counts
            // from then.
            let hold = stream.hold_until(record, event, now);
            let mut s = stream.start(&public, &case_id, hold.unwrap_or(now));
            if let Some(c) = &confidential {
                for item in std::iter::once(&mut s.case).chain(s.tasks.iter_mut().map(|(_, i)| i)) {
                    if let Some(attrs) = item.get_mut("attributes").and_then(Value::as_object_mut) {
                        attrs.insert("confidential".into(), c.clone());
                    }
                }
            }
            plan.effects.push(Effect::Spawn {
                stream: CASES,
                external_id: case_id.clone(),
                item: s.case,
            });
            for (task, item) in s.tasks {
                let task_id = format!("{case_id}#{}", task.name);
                let mut item = item;
                if let Some(attrs) = item.get_mut("attributes").and_then(Value::as_object_mut) {
                    attrs.insert("case".into(), json!(case_id));
                }
                plan.effects.push(Effect::Spawn {
                    stream: TASKS,
                    external_id: task_id.clone(),
                    item: item.clone(),
                });
                let by = format!("{}/{}", stream.name, task.name);
                let routed = Routed {
                    origin: Origin {
                        system: HUB,
                        stream: TASKS,
                        external_id: &task_id,
                    },
                    record: &item,
                    event,
                    by: &by,
                    target: &task.to,
                    target_id: None,
                    priority: task.priority,
                    sla_hours: None,
                    set: &task.set,
                };
                self.enqueue(routing, plan, &routed, now, hold);
            }
        }
    }

    /// A condition failed on this change: rather than guess (no match, or
    /// the next rule), the change goes to the dead letters, where `dlq
    /// replay` routes it again once routing.toml is fixed.
    #[allow(clippy::too_many_arguments)]
    fn unrouted(
        &self,
        plan: &mut Plan,
        origin: &Origin,
        record: &Value,
        event: &Event,
        failed: &str,
        error: &str,
        now: DateTime<Utc>,
    ) {
        let unrouted = Unrouted {
            origin: *origin,
            record,
            event,
            failed,
            error,
        };
        let m = unrouted.message(now);
        events::RuleFailed {
            failed,
            connector: origin.system,
            external_id: origin.external_id,
            error,
            dead_letter: &m.id,
        }
        .emit();
        plan.effects.push(Effect::Unrouted {
            message: m.into(),
            reason: unrouted.reason(),
        });
    }

    fn enqueue(
        &self,
        routing: &Routing,
        plan: &mut Plan,
        routed: &Routed,
        now: DateTime<Utc>,
        not_before: Option<DateTime<Utc>>,
    ) {
        // A case marked confidential (`attributes.confidential = "<class>"`)
        // goes only to departments cleared for its class.
        if let Some(class) = routed
            .record
            .pointer("/attributes/confidential")
            .and_then(Value::as_str)
        {
            let cleared = routing
                .clearance
                .get(&routed.target.department)
                .is_some_and(|c| c.iter().any(|x| x == class));
            if !cleared {
                events::RouteWithheld {
                    connector: routed.origin.system,
                    external_id: routed.origin.external_id,
                    department: &routed.target.department,
                    class,
                }
                .emit();
                return;
            }
        }
        let m = routed.message(&routing.clearance, now);
        plan.outbox.push(OutboxMessage {
            not_before,
            ..m.into()
        });
    }
}

/// The change event for a record, from what the store held before; for a
/// person, also the state it leaves them in (see `lifecycle.rs`).
fn event_of(
    system: &str,
    stream: &str,
    c: &Change,
    today: NaiveDate,
) -> Option<(Event, Option<Step>)> {
    let before = c.before.and_then(|s| s.state.clone());
    let (kind, to, step) = match c.canonical {
        Canonical::WorkItem(w) => {
            let kind = match &before {
                None => "created",
                Some(b) if *b != w.status => "status_changed",
                Some(_) => "updated",
            };
            (kind, w.status.clone(), None)
        }
        Canonical::Person(p) => {
            let existed = c.before.filter(|s| s.state.is_some());
            let step = lifecycle::step(existed, p, today);
            (step.kind?, step.to.to_string(), Some(step))
        }
        // Reference data: nothing to act on, so no event.
        Canonical::OrgUnit(_) | Canonical::Offering(_) => return None,
    };
    let event = Event {
        kind: kind.into(),
        system: system.into(),
        stream: stream.into(),
        from_status: before,
        to_status: Some(to),
    };
    Some((event, step))
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
