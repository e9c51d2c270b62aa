//! Routing: which department, system and write-back action must act on a
//! piece of work. `routing.toml` holds ordered rules, each a CEL condition
//! over the canonical record and the change event, and a default route.
//!
//! Parse (`spec.rs`), then validate (pure, here), then check targets
//! against the connector manifests (`check_targets`, for the catalog).
//! Evaluating is pure too: [`Routing::route`] returns the decision and, for
//! `switchboard route`, why each rule did or did not match.

pub mod condition;
pub mod echo;
mod fields;
pub mod message;
mod slot;
pub mod spec;
mod streams;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diag::{Diagnostic, Diagnostics, SourceFile, suggest};
pub use condition::Condition;
pub use slot::RoutingSlot;
use spec::{RoutingFile, TargetSpec};
pub use streams::{Started, Task, ValueStream, case_status};

/// The change events a rule can react to.
pub const EVENT_KINDS: &[&str] = &[
    "created",
    "updated",
    "status_changed",
    "person_hired",
    "person_leaving",
    // A record tombstoned: deleted at the source (docs/CONNECTORS.md, "Deletions").
    "deleted",
];

/// What routing checks a target against: a connector's system, the
/// department it serves and the actions it declares. The hub's connector
/// manifests implement it; routing knows nothing else of connectors.
pub trait TargetSystem {
    fn system(&self) -> &str;
    fn department(&self) -> &str;
    fn action_names(&self) -> Vec<String>;
}

/// Where routed work goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub department: String,
    pub connector: String,
    pub action: String,
}

impl From<&TargetSpec> for Target {
    fn from(t: &TargetSpec) -> Self {
        Self {
            department: t.department.clone(),
            connector: t.connector.clone(),
            action: t.action.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub description: Option<String>,
    on: Option<Vec<String>>,
    when: Option<Condition>,
    pub to: Target,
    pub priority: Option<i64>,
    pub sla_hours: Option<u32>,
    /// Values set on the routed record for the target, by dotted path.
    pub set: BTreeMap<String, Value>,
}

/// A `set` table as JSON values, its keys checked to be dotted names.
pub fn compile_set(
    source: &SourceFile,
    key: &str,
    set: &BTreeMap<String, toml::Value>,
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (path, value) in set {
        let named =
            |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !path.split('.').all(named) || path == "classified" || path.starts_with("classified.") {
            errors.push(source.error_at_key(
                key,
                format!("`{path}`: a `set` key is a dotted field name such as `attributes.site`, and never `classified`"),
            ));
            continue;
        }
        out.insert(
            path.clone(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
    }
    out
}

/// The change that brought a record to routing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// One of [`EVENT_KINDS`].
    pub kind: String,
    /// The system and stream the record came from.
    pub system: String,
    pub stream: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
}

/// Why a rule did or did not take the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The rule does not consider this kind of event.
    OtherEvent,
    NoMatch,
    Matched,
    /// The condition failed. Routing stops here: a later rule or the
    /// default taking the work could be wrong, so the event goes to the
    /// dead letters with this error, to be replayed once it is fixed.
    Error(String),
}

#[derive(Debug, Clone)]
pub struct Step<'r> {
    pub rule: &'r Rule,
    pub outcome: Outcome,
}

/// Where the work goes, and the trail of rules tried.
#[derive(Debug, Clone)]
pub struct Decision<'r> {
    /// The matching rule; `None` when the default route applies. When
    /// `failed`, the rule whose condition failed.
    pub rule: Option<&'r Rule>,
    /// `None`: nothing is routed (the default keeps work where it is, or
    /// a condition failed).
    pub target: Option<&'r Target>,
    pub steps: Vec<Step<'r>>,
    /// The error of the condition that stopped routing, if one did.
    pub failed: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Routing {
    pub file: PathBuf,
    pub rules: Vec<Rule>,
    pub default: Option<Target>,
    pub value_streams: Vec<ValueStream>,
    /// Department -> the confidentiality classes it may receive.
    pub clearance: BTreeMap<String, Vec<String>>,
    /// System -> the action that posts a note on one of its records:
    /// progress and comments back to an origin, comments on to a target.
    pub progress: BTreeMap<String, String>,
    /// Whether an origin's public comments after routing go on to its
    /// targets (`[comments] forward`, on by default).
    pub forward_comments: bool,
}

impl Routing {
    /// Read, parse and validate `routing.toml`; every problem at once.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        Self::from_source(&SourceFile::read(path)?)
    }

    pub fn from_source(source: &SourceFile) -> Result<Self, Diagnostics> {
        let file: RoutingFile = source.parse()?;
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        for (i, r) in file.rules.iter().enumerate() {
            let at = |k: &str| format!("rules.{i}.{k}");
            if file.rules[..i].iter().any(|o| o.name == r.name) {
                errors.push(source.error_at_key(
                    &at("name"),
                    format!("a rule named `{}` comes earlier", r.name),
                ));
            }
            for (j, kind) in r.on.iter().flatten().enumerate() {
                if !EVENT_KINDS.contains(&kind.as_str()) {
                    let known: Vec<String> = EVENT_KINDS.iter().map(|k| k.to_string()).collect();
                    let mut d = source.error_at_key(
                        &format!("rules.{i}.on.{j}"),
                        format!(
                            "unknown event `{kind}`; events are {}",
                            EVENT_KINDS.join(", ")
                        ),
                    );
                    d.hint = suggest(kind, &known).map(|s| format!("did you mean `{s}`?"));
                    errors.push(d);
                }
            }
            let when = match r.when.as_deref().map(Condition::compile) {
                Some(Err(e)) => {
                    errors.push(source.error_at_key(&at("when"), e));
                    None
                }
                Some(Ok(c)) => {
                    let entities = fields::entities(r.on.as_deref(), r.when.as_deref());
                    fields::check_condition(
                        source,
                        &at("when"),
                        c.as_str(),
                        &entities,
                        &mut errors,
                    );
                    Some(c)
                }
                None => None,
            };
            if let Some(p) = r.priority
                && !(1..=4).contains(&p)
            {
                errors.push(source.error_at_key(
                    &at("priority"),
                    format!("{p}: a priority runs from 1 (critical) to 4 (low)"),
                ));
            }
            if r.sla_hours == Some(0) {
                errors.push(source.error_at_key(&at("sla_hours"), "at least 1 hour"));
            }
            let set = compile_set(source, &at("set"), &r.set, &mut errors);
            rules.push(Rule {
                set,
                name: r.name.clone(),
                description: r.description.clone(),
                on: r.on.clone(),
                when,
                to: Target::from(&r.to),
                priority: r.priority,
                sla_hours: r.sla_hours,
            });
        }
        let mut value_streams = Vec::new();
        for (i, v) in file.value_streams.iter().enumerate() {
            if file.value_streams[..i].iter().any(|o| o.name == v.name) {
                errors.push(source.error_at_key(
                    &format!("value_streams.{i}.name"),
                    format!("a value stream named `{}` comes earlier", v.name),
                ));
            }
            if let Some(stream) = ValueStream::compile(source, i, v, &mut errors) {
                value_streams.push(stream);
            }
        }
        if errors.is_empty() {
            Ok(Self {
                value_streams,
                file: source.path.clone(),
                rules,
                default: file.default.to.as_ref().map(Target::from),
                clearance: file.clearance,
                progress: file.progress,
                forward_comments: file.comments.forward,
            })
        } else {
            Err(Diagnostics(errors))
        }
    }

    /// Every target must be a declared action of a known connector, in the
    /// department that connector serves.
    pub fn check_targets(&self, manifests: &[impl TargetSystem]) -> Vec<Diagnostic> {
        self.check_targets_except(manifests, &|_| false)
    }

    /// [`Routing::check_targets`], silent about the systems `failed` names:
    /// manifests that did not load, whose own errors already say why.
    pub fn check_targets_except(
        &self,
        manifests: &[impl TargetSystem],
        failed: &dyn Fn(&str) -> bool,
    ) -> Vec<Diagnostic> {
        let Ok(source) = SourceFile::read(&self.file) else {
            return Vec::new();
        };
        let systems: Vec<String> = manifests.iter().map(|m| m.system().to_string()).collect();
        let targets = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("rules.{i}.to"), &r.to))
            .chain(self.default.iter().map(|t| ("default.to".to_string(), t)))
            .chain(self.value_streams.iter().enumerate().flat_map(|(i, v)| {
                v.tasks
                    .iter()
                    .enumerate()
                    .map(move |(j, t)| (format!("value_streams.{i}.tasks.{j}.to"), &t.to))
            }));
        let mut errors = Vec::new();
        for (key, t) in targets {
            let Some(m) = manifests.iter().find(|m| m.system() == t.connector) else {
                if failed(&t.connector) {
                    continue;
                }
                let mut d = source.error_at_key(
                    &format!("{key}.connector"),
                    format!("no connector manifest has system `{}`", t.connector),
                );
                d.hint = suggest(&t.connector, &systems).map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
                continue;
            };
            let actions = m.action_names();
            if !actions.contains(&t.action) {
                let mut d = source.error_at_key(
                    &format!("{key}.action"),
                    format!(
                        "connector `{}` has no action `{}` (it has: {})",
                        t.connector,
                        t.action,
                        if actions.is_empty() {
                            "none".to_string()
                        } else {
                            actions.join(", ")
                        }
                    ),
                );
                d.hint = suggest(&t.action, &actions).map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
            }
            if m.department() != t.department {
                errors.push(source.error_at_key(
                    &format!("{key}.department"),
                    format!(
                        "connector `{}` serves department `{}`, not `{}`",
                        t.connector,
                        m.department(),
                        t.department
                    ),
                ));
            }
        }
        for (system, action) in &self.progress {
            let key = format!("progress.{system}");
            let Some(m) = manifests.iter().find(|m| m.system() == system) else {
                if failed(system) {
                    continue;
                }
                let mut d = source
                    .error_at_key(&key, format!("no connector manifest has system `{system}`"));
                d.hint = suggest(system, &systems).map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
                continue;
            };
            let actions = m.action_names();
            if !actions.contains(action) {
                let mut d = source.error_at_key(
                    &key,
                    format!("connector `{system}` has no action `{action}`"),
                );
                d.hint = suggest(action, &actions).map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
            }
        }
        errors
    }

    /// Route one record: the first rule whose events and condition match.
    /// A condition that fails stops routing (see [`Outcome::Error`]).
    pub fn route(&self, record: &Value, event: &Event) -> Decision<'_> {
        let event_value = serde_json::to_value(event).unwrap_or(Value::Null);
        // A deletion goes only to rules that name it: a rule for every
        // event, or the default target, would raise new work for a record
        // that is gone.
        let named_only = event.kind == "deleted";
        let mut steps = Vec::new();
        for rule in &self.rules {
            let considered = rule
                .on
                .as_ref()
                .map_or(!named_only, |on| on.contains(&event.kind));
            let outcome = if !considered {
                Outcome::OtherEvent
            } else {
                match rule.when.as_ref().map(|c| c.eval(record, &event_value)) {
                    None | Some(Ok(true)) => Outcome::Matched,
                    Some(Ok(false)) => Outcome::NoMatch,
                    Some(Err(e)) => Outcome::Error(e),
                }
            };
            let matched = outcome == Outcome::Matched;
            let failed = match &outcome {
                Outcome::Error(e) => Some(e.clone()),
                _ => None,
            };
            steps.push(Step { rule, outcome });
            if matched || failed.is_some() {
                return Decision {
                    rule: Some(rule),
                    target: failed.is_none().then_some(&rule.to),
                    steps,
                    failed,
                };
            }
        }
        Decision {
            rule: None,
            target: self.default.as_ref().filter(|_| !named_only),
            steps,
            failed: None,
        }
    }
}

impl Routing {
    /// The value streams this change starts, and those whose `when`
    /// failed, with the error (they start nothing; the sync sends the event
    /// to the dead letters for each).
    pub fn streams_started(
        &self,
        record: &Value,
        event: &Event,
    ) -> (Vec<&ValueStream>, Vec<(&ValueStream, String)>) {
        let event_value = serde_json::to_value(event).unwrap_or(Value::Null);
        let mut started = Vec::new();
        let mut errors = Vec::new();
        for v in &self.value_streams {
            match v.starts(record, event, &event_value) {
                Ok(true) => started.push(v),
                Ok(false) => {}
                Err(e) => errors.push((v, e)),
            }
        }
        (started, errors)
    }
}

impl Rule {
    pub fn condition(&self) -> Option<&str> {
        self.when.as_ref().map(Condition::as_str)
    }

    pub fn events(&self) -> Option<&[String]> {
        self.on.as_deref()
    }
}
