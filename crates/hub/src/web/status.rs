//! `/`: the status page for whoever runs Switchboard. Each connector's
//! streams (healthy or not, when they last ran, for how long and over how
//! many records, how far behind the source, their last error, when they
//! run next), what waits in quarantine and among the
//! dead letters, and the last 30 days' KPIs by department as charts. The
//! JSON `/status` stays the probe for machines.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use maud::{Markup, html};

use super::chart::Chart;
use super::session::{MaybeSession, Session};
use super::{Nav, WebState, error_page, failure, layout, to_sign_in};
use crate::api::{ConnectorStatus, Problem};
use crate::store::{KpiGroup, KpiQuery, KpiRow};

/// The KPI window the page shows.
const WINDOW_DAYS: i64 = 30;

/// The API's times (`YYYY-MM-DDTHH:MM:SSZ`) back to instants.
fn instant(t: Option<&str>) -> Option<DateTime<Utc>> {
    t.and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%SZ").ok())
        .map(|t| t.and_utc())
}

/// A span as people say it: `42 s`, `7 min`, `3 h`, `2 days`.
fn span(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

fn short(t: Option<&str>) -> String {
    instant(t)
        .map(|t| t.format("%d %b %H:%M").to_string())
        .unwrap_or_else(|| "never".into())
}

fn connectors_table(connectors: &[ConnectorStatus]) -> Markup {
    html! {
        @if connectors.is_empty() {
            p { "No connector runs in this process." }
        } @else {
            div class="scroll" {
                table class="streams" {
                    caption { "Every stream of every connector, with its last run (times in UTC; lag: how far behind the source the store may be)" }
                    thead { tr {
                        th scope="col" { "Connector" }
                        th scope="col" { "Stream" }
                        th scope="col" { "Health" }
                        th scope="col" { "Last run" }
                        th scope="col" { "Took" }
                        th scope="col" { "Records read / stored" }
                        th scope="col" { "Lag" }
                        th scope="col" { "In quarantine" }
                        th scope="col" { "Next run" }
                        th scope="col" { "Last error" }
                    } }
                    tbody {
                        @for c in connectors {
                            @for s in &c.streams {
                                @let finished = instant(s.last_run_finished_at.as_deref());
                                tr {
                                    th scope="row" { (c.system) }
                                    td { (s.name) }
                                    td {
                                        @if s.last_error.is_some() { span class="badge bad" { "failing" } }
                                        @else if finished.is_none() { span class="badge new" { "not run yet" } }
                                        @else if s.quarantined > 0 { span class="badge busy" { "records held" } }
                                        @else { span class="badge ok" { "healthy" } }
                                    }
                                    td { (short(s.last_run_finished_at.as_deref().or(s.last_run_started_at.as_deref()))) }
                                    td { @match s.last_run_seconds {
                                        Some(t) => (span(Duration::milliseconds((t * 1000.0) as i64))),
                                        None => "—",
                                    } }
                                    td class="num" { @match (s.last_run_fetched, s.last_run_stored) {
                                        (Some(f), Some(st)) => { (f) " / " (st) },
                                        _ => "—",
                                    } }
                                    td { @match s.lag_seconds { Some(l) => (span(Duration::seconds(l))), None => "—" } }
                                    td class="num" { (s.quarantined) }
                                    td { (short(c.next_run.as_deref())) }
                                    td class="error-text" { (s.last_error.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn hours(secs: Option<i64>) -> Option<f64> {
    secs.map(|s| (s as f64 / 360.0).round() / 10.0)
}

fn charts(rows: &[KpiRow]) -> Markup {
    let volume = Chart {
        id: "volume",
        title: "Work opened and resolved, by department",
        desc: "Work items opened and resolved in each department over the last 30 days.",
        unit: "",
        series: &["opened", "resolved"],
        rows: rows
            .iter()
            .map(|r| {
                (
                    r.key.clone(),
                    vec![Some(r.opened as f64), Some(r.resolved as f64)],
                )
            })
            .collect(),
    };
    let resolution = Chart {
        id: "resolution",
        title: "Time to resolve, by department",
        desc: "Hours from opening to resolution: the median (p50) and the 90th percentile (p90), last 30 days.",
        unit: "h",
        series: &["p50", "p90"],
        rows: rows
            .iter()
            .map(|r| {
                (
                    r.key.clone(),
                    vec![hours(r.resolution_p50_secs), hours(r.resolution_p90_secs)],
                )
            })
            .collect(),
    };
    let sla = Chart {
        id: "sla",
        title: "Resolved within the SLA, by department",
        desc: "Per cent of work with an SLA that was resolved in time, last 30 days.",
        unit: "%",
        series: &["within SLA"],
        rows: rows
            .iter()
            .map(|r| {
                (
                    r.key.clone(),
                    vec![r.sla_attainment.map(|a| (a * 1000.0).round() / 10.0)],
                )
            })
            .collect(),
    };
    html! {
        div class="charts" {
            (volume.render())
            (resolution.render())
            (sla.render())
        }
    }
}

/// What the page shows, read from the store.
struct Reading {
    connectors: Vec<ConnectorStatus>,
    quarantined: i64,
    pending: i64,
    dead: i64,
    /// RabbitMQ did not say how many letters it keeps: `dead` is the
    /// store's only.
    broker_unknown: bool,
    kpis: Vec<KpiRow>,
}

async fn read(state: &WebState, now: DateTime<Utc>) -> Result<Reading, Problem> {
    let store = &state.api.store;
    let plans: Vec<crate::catalog::ConnectorPlan> =
        state.api.connectors.iter().map(|c| (&**c).into()).collect();
    let connectors = crate::api::connector_statuses(store, &plans).await?;
    let quarantined = store
        .quarantine_counts()
        .await?
        .iter()
        .map(|c| c.records)
        .sum();
    let outbox = store.outbox_counts().await?;
    // With a broker, the letters RabbitMQ keeps count too; a broker that
    // does not answer soon is said on the page, not waited for.
    let broker_dead = match &state.api.broker {
        None => Some(0),
        Some(b) => {
            let asked = crate::transport::dlq::depth(b.url.expose(), &b.topology);
            match tokio::time::timeout(std::time::Duration::from_secs(2), asked).await {
                Ok(Ok(n)) => Some(i64::from(n)),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "status page: cannot count the broker's dead letters");
                    None
                }
                Err(_) => None,
            }
        }
    };
    let q = KpiQuery::new(now - Duration::days(WINDOW_DAYS), now, KpiGroup::Department)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    let kpis = store.kpis(&q).await?;
    Ok(Reading {
        connectors,
        quarantined,
        pending: outbox.pending,
        dead: outbox.dead + broker_dead.unwrap_or(0),
        broker_unknown: broker_dead.is_none(),
        kpis,
    })
}

fn counter(label: &str, n: i64, bad: bool, hint: &str) -> Markup {
    html! {
        div class={ "counter" @if bad && n > 0 { " alert" } } {
            dt { (label) }
            dd { span class="big" { (n) } span class="hint" { (hint) } }
        }
    }
}

/// `GET /`: for a `read` sign-in.
pub(super) async fn page(State(state): State<WebState>, MaybeSession(s): MaybeSession) -> Response {
    let Some(s) = s else {
        return to_sign_in("/");
    };
    if !s.caller.has("read") {
        return not_for_you(&s);
    }
    let now = Utc::now();
    let r = match read(&state, now).await {
        Ok(r) => r,
        Err(p) => return failure(Some(&s), p),
    };
    let failing = r
        .connectors
        .iter()
        .flat_map(|c| &c.streams)
        .filter(|s| s.last_error.is_some())
        .count();
    let main = html! {
        h1 { "Switchboard status" }
        p class="lede" {
            @if failing == 0 && r.quarantined == 0 && r.dead == 0 && !r.broker_unknown {
                "All is well: every stream's last run succeeded and nothing is held back."
            } @else {
                "Something needs attention: see the highlighted numbers and the streams below."
            }
        }
        section aria-labelledby="waiting" {
            h2 id="waiting" { "Waiting for someone" }
            dl class="counters" {
                (counter("Streams failing", failing as i64, true, "their last run ended in an error"))
                (counter("Records in quarantine", r.quarantined, true, "could not be mapped; `switchboard quarantine list`"))
                @if r.broker_unknown {
                    (counter("Dead letters", r.dead, true, "kept in the store; RabbitMQ did not answer, so its dead letters are not counted; `switchboard dlq list`"))
                } @else {
                    (counter("Dead letters", r.dead, true, "work a department's system refused; `switchboard dlq list`"))
                }
                (counter("Work on its way", r.pending, false, "routed, not yet delivered"))
            }
        }
        section aria-labelledby="streams" {
            h2 id="streams" { "Connectors" }
            (connectors_table(&r.connectors))
        }
        section aria-labelledby="kpis" {
            h2 id="kpis" { "Departments, last 30 days" }
            (charts(&r.kpis))
        }
    };
    layout("Status", Some(&s), Nav::Status, main).into_response()
}

fn not_for_you(s: &Session) -> Response {
    error_page(
        axum::http::StatusCode::FORBIDDEN,
        Some(s),
        "This sign-in cannot see the status page",
        "The status page needs a token with the `read` scope. Your requests are under My requests.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::StreamStatus;

    fn stream(name: &str, error: Option<&str>, quarantined: i64, ran: bool) -> StreamStatus {
        let at = ran.then(|| "2026-12-05T10:00:00Z".to_string());
        StreamStatus {
            name: name.into(),
            cursor: None,
            last_run_started_at: at.clone(),
            last_run_finished_at: at,
            last_run_seconds: ran.then_some(95.0),
            last_run_fetched: ran.then_some(120),
            last_run_stored: ran.then_some(7),
            lag_seconds: ran.then_some(7200),
            last_error: error.map(str::to_string),
            quarantined,
        }
    }

    #[test]
    fn each_stream_says_how_it_is_in_words() {
        let c = ConnectorStatus {
            system: "servicenow".into(),
            next_run: Some("2026-12-05T10:05:00Z".into()),
            streams: vec![
                stream("incident", Some("HTTP 503 <from the proxy>"), 0, true),
                stream("request", None, 3, true),
                stream("change", None, 0, true),
                stream("problem", None, 0, false),
            ],
        };
        let html = connectors_table(&[c]).into_string();
        let health: Vec<&str> = ["failing", "records held", "healthy", "not run yet"]
            .into_iter()
            .filter(|h| html.contains(&format!(">{h}</span>")))
            .collect();
        assert_eq!(health.len(), 4, "{html}");
        assert!(
            html.contains("HTTP 503 &lt;from the proxy&gt;"),
            "escaped: {html}"
        );
        assert!(html.contains("<td>95 s</td>"), "took: {html}");
        assert!(html.contains("120 / 7"), "{html}");
        assert!(html.contains("<td>2 h</td>"), "lag: {html}");
        assert!(html.contains("05 Dec 10:05"), "next run: {html}");
    }

    #[test]
    fn a_chart_without_data_says_so_and_keeps_its_table() {
        let html = charts(&[]).into_string();
        assert_eq!(html.matches("No data in this window.").count(), 3, "{html}");
        assert_eq!(html.matches("<table>").count(), 3);
        assert_eq!(html.matches("<desc id=").count(), 3);
    }
}
