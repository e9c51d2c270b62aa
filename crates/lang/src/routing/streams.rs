//! Value streams: one change starts a templated set of tasks for several
//! departments, linked to one parent case (a new hire becomes IT accounts,
//! a Facilities desk and badge, and a laptop order). The case's status is
//! derived from its tasks'.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::condition::Condition;
use super::spec::ValueStreamSpec;
use super::{EVENT_KINDS, Event, Target};
use crate::diag::{Diagnostic, SourceFile, suggest};
use crate::mapping::template::Template;

/// How far ahead of a start or end date work may be held: a year.
const MAX_DAYS_BEFORE: u32 = 365;

#[derive(Debug, Clone)]
pub struct ValueStream {
    pub name: String,
    pub description: Option<String>,
    on: Vec<String>,
    when: Option<Condition>,
    case_title: Template,
    /// Days before the person's start date the tasks' work for a hire is
    /// sent.
    pub start_days_before: Option<u32>,
    /// Days before the person's end date the tasks' work for a leaving is
    /// sent.
    pub end_days_before: Option<u32>,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub to: Target,
    title: Template,
    pub priority: Option<i64>,
    pub due_in_days: Option<u32>,
    /// Values set on the task's record for the target, by dotted path.
    pub set: std::collections::BTreeMap<String, Value>,
}

/// A stream started for one record: the parent case and its tasks, as
/// canonical work items ready to route.
#[derive(Debug, Clone)]
pub struct Started<'s> {
    pub stream: &'s ValueStream,
    pub case: Value,
    pub tasks: Vec<(&'s Task, Value)>,
}

impl ValueStream {
    pub(super) fn compile(
        source: &SourceFile,
        i: usize,
        spec: &ValueStreamSpec,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<Self> {
        let at = |k: &str| format!("value_streams.{i}.{k}");
        let before = errors.len();
        for (j, kind) in spec.on.iter().enumerate() {
            if !EVENT_KINDS.contains(&kind.as_str()) {
                let known: Vec<String> = EVENT_KINDS.iter().map(|k| k.to_string()).collect();
                let mut d = source.error_at_key(
                    &format!("value_streams.{i}.on.{j}"),
                    format!(
                        "unknown event `{kind}`; events are {}",
                        EVENT_KINDS.join(", ")
                    ),
                );
                d.hint = suggest(kind, &known).map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
            }
        }
        let entities = super::fields::entities(Some(&spec.on), spec.when.as_deref());
        let when = match spec.when.as_deref().map(Condition::compile) {
            Some(Err(e)) => {
                errors.push(source.error_at_key(&at("when"), e));
                None
            }
            Some(Ok(c)) => {
                super::fields::check_condition(source, &at("when"), c.as_str(), &entities, errors);
                Some(c)
            }
            None => None,
        };
        let template = |errors: &mut Vec<Diagnostic>, key: String, text: &str| {
            let t = Template::parse(text)
                .map_err(|e| errors.push(source.error_at_key(&key, e)))
                .ok()?;
            super::fields::check_template(source, &key, &t, &entities, errors);
            Some(t)
        };
        let case_title = template(errors, at("case_title"), &spec.case_title);
        for (key, days, event, date) in [
            (
                "start_days_before",
                spec.start_days_before,
                "person_hired",
                "start",
            ),
            (
                "end_days_before",
                spec.end_days_before,
                "person_leaving",
                "end",
            ),
        ] {
            let Some(days) = days else { continue };
            if days > MAX_DAYS_BEFORE {
                errors.push(
                    source
                        .error_at_key(&at(key), format!("{days}: at most {MAX_DAYS_BEFORE} days")),
                );
            } else if !spec.on.iter().any(|k| k == event) {
                errors.push(source.error_at_key(
                    &at(key),
                    format!("`{key}` counts back from a person's {date} date; it needs `on` to include `{event}`"),
                ));
            }
        }
        if spec.tasks.is_empty() {
            errors
                .push(source.error_at_key(&at("tasks"), "a value stream needs at least one task"));
        }
        let mut tasks = Vec::new();
        for (j, t) in spec.tasks.iter().enumerate() {
            let key = |k: &str| format!("value_streams.{i}.tasks.{j}.{k}");
            if spec.tasks[..j].iter().any(|o| o.name == t.name) {
                errors.push(source.error_at_key(
                    &key("name"),
                    format!("a task named `{}` comes earlier", t.name),
                ));
            }
            if let Some(p) = t.priority
                && !(1..=4).contains(&p)
            {
                errors.push(source.error_at_key(
                    &key("priority"),
                    format!("{p}: a priority runs from 1 (critical) to 4 (low)"),
                ));
            }
            if t.due_in_days.is_some_and(|d| d > 3650) {
                errors.push(source.error_at_key(&key("due_in_days"), "at most 3650 days"));
            }
            let title = template(errors, key("title"), &t.title);
            let set = super::compile_set(source, &key("set"), &t.set, errors);
            if let Some(title) = title {
                tasks.push(Task {
                    set,
                    name: t.name.clone(),
                    to: Target::from(&t.to),
                    title,
                    priority: t.priority,
                    due_in_days: t.due_in_days,
                });
            }
        }
        let case_title = case_title?;
        (errors.len() == before).then(|| Self {
            name: spec.name.clone(),
            description: spec.description.clone(),
            on: spec.on.clone(),
            when,
            case_title,
            start_days_before: spec.start_days_before,
            end_days_before: spec.end_days_before,
            tasks,
        })
    }

    /// When the tasks' work for `record` may go: for a hire,
    /// `start_days_before` days before its `start_date`; for a leaving,
    /// `end_days_before` days before its `end_date`; at 00:00 UTC. `None`:
    /// at once (no hold for this event, no date, or that moment has passed
    /// by `now`).
    pub fn hold_until(
        &self,
        record: &Value,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let (days, field) = match event.kind.as_str() {
            "person_hired" => (self.start_days_before?, "start_date"),
            "person_leaving" => (self.end_days_before?, "end_date"),
            _ => return None,
        };
        let date: NaiveDate = record.get(field)?.as_str()?.parse().ok()?;
        let release = (date - Duration::days(i64::from(days)))
            .and_time(NaiveTime::MIN)
            .and_utc();
        (release > now).then_some(release)
    }

    /// Whether this change starts the stream; a failing condition does not.
    pub fn starts(
        &self,
        record: &Value,
        event: &Event,
        event_value: &Value,
    ) -> Result<bool, String> {
        if !self.on.contains(&event.kind) {
            return Ok(false);
        }
        self.when
            .as_ref()
            .map_or(Ok(true), |c| c.eval(record, event_value))
    }

    /// The parent case and one work item per task, for `record`.
    pub fn start(&self, record: &Value, origin_ref: &str, now: DateTime<Utc>) -> Started<'_> {
        let case = json!({
            "entity": "work_item", "kind": "case", "title": self.case_title.render(record),
            "status": "new", "department": null,
            "attributes": {"value_stream": self.name, "origin_ref": origin_ref},
            "classified": {},
        });
        let tasks = self
            .tasks
            .iter()
            .map(|t| {
                let due = t.due_in_days.map(|d| {
                    (now + Duration::days(i64::from(d))).to_rfc3339_opts(SecondsFormat::Secs, true)
                });
                let item = json!({
                    "entity": "work_item", "kind": "task", "title": t.title.render(record),
                    "status": "new", "priority": t.priority, "department": t.to.department,
                    "due_at": due,
                    "attributes": {"value_stream": self.name, "task": t.name, "origin_ref": origin_ref},
                    "classified": {},
                });
                (t, item)
            })
            .collect();
        Started {
            stream: self,
            case,
            tasks,
        }
    }
}

/// A case's status from its tasks': closed when every task is finished
/// (closed, resolved or cancelled) and at least one was not cancelled;
/// cancelled when all were; otherwise the least advanced open state, so a
/// case is `new` until some task has moved.
pub fn case_status(tasks: &[&str]) -> &'static str {
    let finished = |s: &&str| matches!(*s, "closed" | "resolved" | "cancelled");
    if tasks.is_empty() {
        return "new";
    }
    if tasks.iter().all(|s| *s == "cancelled") {
        return "cancelled";
    }
    if tasks.iter().all(finished) {
        return "closed";
    }
    let open: Vec<&&str> = tasks.iter().filter(|s| !finished(s)).collect();
    if open.iter().all(|s| **s == "new") && !tasks.iter().any(finished) {
        "new"
    } else if open.iter().any(|s| **s == "waiting") && !open.iter().any(|s| **s == "in_progress") {
        "waiting"
    } else {
        "in_progress"
    }
}
