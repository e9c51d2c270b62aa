//! Each transition of a person's lifecycle, one fact at a time.

use chrono::NaiveDate;

use super::*;

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

const TODAY: &str = "2026-03-02";

fn person(active: bool, start: Option<&str>, end: Option<&str>) -> Person {
    Person {
        active: Some(active),
        start_date: start.map(day),
        end_date: end.map(day),
        ..Person::default()
    }
}

fn stored(state: &str, end: Option<&str>) -> Stored {
    Stored {
        content_hash: "h".into(),
        mapping_version: "v1".into(),
        state: Some(state.into()),
        end_date: end.map(day),
    }
}

/// The event and the new state, for a person seen as `p` after `before`.
fn fires(before: Option<&Stored>, p: &Person) -> (Option<&'static str>, &'static str) {
    let s = step(before, p, day(TODAY));
    (s.kind, s.to)
}

#[test]
fn a_new_person_is_hired_when_active_or_starting_today_or_ahead() {
    let hired = Some("person_hired");
    assert_eq!(fires(None, &person(true, None, None)), (hired, "active"));
    assert_eq!(
        fires(None, &person(false, Some("2026-04-01"), None)),
        (hired, "starting")
    );
    assert_eq!(
        fires(None, &person(false, Some(TODAY), None)),
        (hired, "starting")
    );
    // Inactive with a start behind them, or none: someone who left.
    assert_eq!(
        fires(None, &person(false, Some("2026-03-01"), None)),
        (None, "inactive")
    );
    assert_eq!(fires(None, &person(false, None, None)), (None, "inactive"));
}

#[test]
fn an_inactive_person_is_hired_when_they_become_active_or_a_start_appears() {
    let before = stored("inactive", None);
    let hired = Some("person_hired");
    assert_eq!(
        fires(Some(&before), &person(true, None, None)),
        (hired, "active")
    );
    assert_eq!(
        fires(Some(&before), &person(false, Some("2026-05-01"), None)),
        (hired, "starting")
    );
    assert_eq!(
        fires(Some(&before), &person(false, Some("2025-05-01"), None)),
        (Some("updated"), "inactive")
    );
}

#[test]
fn a_starter_hired_ahead_is_not_hired_again_on_the_first_day() {
    let before = stored("starting", None);
    assert_eq!(
        fires(Some(&before), &person(true, Some(TODAY), None)),
        (Some("updated"), "active")
    );
    assert_eq!(
        fires(Some(&before), &person(false, Some("2026-04-01"), None)),
        (Some("updated"), "starting")
    );
}

#[test]
fn a_leaving_fires_once_whether_the_end_date_or_inactive_comes_first() {
    let leaving = Some("person_leaving");
    let active = stored("active", None);
    assert_eq!(
        fires(Some(&active), &person(true, None, Some("2026-06-30"))),
        (leaving, "leaving")
    );
    assert_eq!(
        fires(Some(&active), &person(false, None, None)),
        (leaving, "inactive")
    );
    // The end date came first: going inactive is the same leaving.
    let announced = stored("leaving", Some("2026-06-30"));
    assert_eq!(
        fires(Some(&announced), &person(false, None, Some("2026-06-30"))),
        (Some("updated"), "inactive")
    );
    // A starter whose end date appears before their first day leaves too,
    // and their first day then hires no one.
    let starting = stored("starting", None);
    assert_eq!(
        fires(
            Some(&starting),
            &person(false, Some("2026-04-01"), Some("2026-09-30"))
        ),
        (leaving, "leaving")
    );
    let early = stored("leaving", Some("2026-09-30"));
    assert_eq!(
        fires(
            Some(&early),
            &person(false, Some("2026-04-01"), Some("2026-09-30"))
        ),
        (Some("updated"), "leaving")
    );
    assert_eq!(
        fires(
            Some(&early),
            &person(true, Some("2026-04-01"), Some("2026-09-30"))
        ),
        (Some("updated"), "leaving")
    );
}

#[test]
fn an_end_date_known_from_the_hire_is_no_leaving() {
    // A fixed-term contract: the end date came with the hire.
    let active = stored("active", Some("2026-12-31"));
    assert_eq!(
        fires(Some(&active), &person(true, None, Some("2026-12-31"))),
        (Some("updated"), "active")
    );
    assert_eq!(
        fires(Some(&active), &person(false, None, Some("2026-12-31"))),
        (Some("person_leaving"), "inactive")
    );
}

#[test]
fn a_withdrawn_end_date_ends_the_leaving_and_a_leaver_can_be_rehired() {
    let announced = stored("leaving", Some("2026-06-30"));
    assert_eq!(
        fires(Some(&announced), &person(true, None, None)),
        (Some("updated"), "active")
    );
    let left = stored("inactive", Some("2026-06-30"));
    assert_eq!(
        fires(Some(&left), &person(true, None, None)),
        (Some("person_hired"), "active")
    );
}

#[test]
fn the_store_remembers_only_what_active_cannot_tell() {
    let key = ("hr", "employees", "42");
    let at = |kind, to| Step { kind, to };
    let starting = stored("starting", None);
    let active = stored("active", None);
    let written = |before: Option<&Stored>, s: Step| match effect(key, before, s) {
        Some(Effect::Lifecycle { lifecycle, .. }) => Some(lifecycle),
        _ => None,
    };
    assert_eq!(
        written(None, at(Some("person_hired"), "starting")),
        Some(Some("starting"))
    );
    assert_eq!(written(None, at(Some("person_hired"), "active")), None);
    assert_eq!(
        written(Some(&starting), at(Some("updated"), "active")),
        Some(None)
    );
    assert_eq!(
        written(Some(&active), at(Some("person_leaving"), "leaving")),
        Some(Some("leaving"))
    );
    assert_eq!(written(Some(&active), at(Some("updated"), "active")), None);
}
