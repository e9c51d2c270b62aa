//! A person's lifecycle as change events see it: when a hire or a leaving
//! fires, and what the store must remember so that each fires once.
//!
//! `active` alone cannot say that a future starter was already hired (they
//! are inactive until their first day) or that a leaving was announced
//! (they stay active until their last). Routing keeps that in
//! `people.lifecycle` (`starting`, `leaving`), written in the page's
//! transaction through [`Effect::Lifecycle`]; the store reads it back as
//! the person's state. The rules are listed in `docs/ROUTING.md`, "When
//! routing happens"; this module must not route anything itself.

use chrono::NaiveDate;

use crate::model::Person;
use crate::store::{Effect, Stored};

/// A person's change: the event it fires (`None`: nothing routes) and the
/// state it leaves the person in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Step {
    pub kind: Option<&'static str>,
    pub to: &'static str,
}

/// Where `p` goes from what the store held (`before`: `None` for a person
/// not seen yet), on `today` (UTC).
pub(super) fn step(before: Option<&Stored>, p: &Person, today: NaiveDate) -> Step {
    let active = p.active != Some(false);
    // A start today or ahead: a starter, not someone who left.
    let ahead = p.start_date.is_some_and(|d| d >= today);
    let end_appears = p.end_date.is_some() && before.is_none_or(|b| b.end_date.is_none());
    let step = |kind: Option<&'static str>, to: &'static str| Step { kind, to };
    const HIRED: Option<&str> = Some("person_hired");
    const LEAVING: Option<&str> = Some("person_leaving");
    const UPDATED: Option<&str> = Some("updated");
    match before.and_then(|b| b.state.as_deref()) {
        None if active => step(HIRED, "active"),
        None if ahead => step(HIRED, "starting"),
        None => step(None, "inactive"),
        // Never hired, or gone: a start (or a rehire) is a hire.
        Some("inactive") if active => step(HIRED, "active"),
        Some("inactive") if ahead => step(HIRED, "starting"),
        Some("inactive") => step(UPDATED, "inactive"),
        // Hired ahead of the start: the first day is no second hire.
        Some("starting") if end_appears => step(LEAVING, "leaving"),
        Some("starting") if active => step(UPDATED, "active"),
        Some("starting") => step(UPDATED, "starting"),
        // Announced: going inactive is the same leaving, not a second one.
        Some("leaving") if !active && ahead && p.end_date.is_none() => step(UPDATED, "starting"),
        Some("leaving") if !active && ahead => step(UPDATED, "leaving"),
        Some("leaving") if !active => step(UPDATED, "inactive"),
        // The end date withdrawn: the leaving is off, a new one may fire.
        Some("leaving") if p.end_date.is_none() => step(UPDATED, "active"),
        Some("leaving") => step(UPDATED, "leaving"),
        // `active`, or a state this build does not know: as `active`.
        Some(_) if !active => step(LEAVING, "inactive"),
        Some(_) if end_appears => step(LEAVING, "leaving"),
        Some(_) => step(UPDATED, "active"),
    }
}

/// The `people.lifecycle` a state keeps: what `active` cannot tell.
fn kept(state: Option<&str>) -> Option<&'static str> {
    match state {
        Some("starting") => Some("starting"),
        Some("leaving") => Some("leaving"),
        _ => None,
    }
}

/// The write that keeps the person's new state, when it changes what
/// `people.lifecycle` holds.
pub(super) fn effect(
    (system, stream, external_id): (&str, &str, &str),
    before: Option<&Stored>,
    step: Step,
) -> Option<Effect> {
    let was = kept(before.and_then(|b| b.state.as_deref()));
    let now = kept(Some(step.to));
    (was != now).then(|| Effect::Lifecycle {
        system: system.into(),
        stream: stream.into(),
        external_id: external_id.into(),
        lifecycle: now,
    })
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
