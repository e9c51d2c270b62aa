//! `switchboard report`: the KPIs of `GET /api/v1/kpis` (docs/KPIS.md) for
//! a window, as a table to read, CSV for a spreadsheet, JSON for a script
//! or a standalone HTML page to mail round. Same query, same definitions.

use std::fmt::Write as _;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::{Cli, connect_store, load_config};
use crate::store::{KpiGroup, KpiQuery, KpiRow};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Html,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Start of the window, included: a date (`2026-10-01`, midnight UTC)
    /// or an RFC 3339 time.
    #[arg(long, value_parser = parse_time)]
    from: DateTime<Utc>,
    /// End of the window, excluded (at most 366 days after `--from`).
    #[arg(long, value_parser = parse_time)]
    to: DateTime<Utc>,
    /// One row per department, ISO week or system.
    #[arg(long, default_value = "department", value_parser = ["department", "week", "system"])]
    group_by: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    output: Option<std::path::PathBuf>,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.to_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .map_err(|_| format!("`{text}` is neither a date (2026-10-01) nor an RFC 3339 time"))
}

pub async fn run(cli: &Cli, args: &ReportArgs) -> anyhow::Result<()> {
    let group: KpiGroup = args.group_by.parse()?;
    let query = KpiQuery::new(args.from, args.to, group)?;
    let cfg = load_config(cli)?;
    let store = connect_store(&cfg).await?;
    let rows = store.kpis(&query).await?;
    store.close().await;
    let text = match args.format {
        Format::Table => table(&rows),
        Format::Csv => csv(&rows)?,
        Format::Json => {
            serde_json::to_string_pretty(&json!({
                "from": args.from.to_rfc3339(),
                "to": args.to.to_rfc3339(),
                "group_by": args.group_by,
                "rows": rows,
            }))? + "\n"
        }
        Format::Html => html(&rows, args),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

fn duration(secs: Option<i64>) -> String {
    secs.map(super::status::human).unwrap_or_else(|| "-".into())
}

fn percent(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "-".into())
}

const HEADINGS: [&str; 12] = [
    "GROUP",
    "OPENED",
    "RESOLVED",
    "BACKLOG",
    "1ST RESP P50",
    "1ST RESP P90",
    "RESOLVE P50",
    "RESOLVE P90",
    "SLA MET",
    "REOPENED",
    "CASES",
    "ROUTED",
];

/// A row as people read it: durations in units, rates in percent.
fn readable(r: &KpiRow) -> [String; 12] {
    [
        r.key.clone(),
        r.opened.to_string(),
        r.resolved.to_string(),
        r.backlog.to_string(),
        duration(r.first_response_p50_secs),
        duration(r.first_response_p90_secs),
        duration(r.resolution_p50_secs),
        duration(r.resolution_p90_secs),
        percent(r.sla_attainment),
        percent(r.reopen_rate),
        format!("{}/{}", r.journeys.cases_closed, r.journeys.cases_opened),
        format!("{}/{}", r.journeys.routed_done, r.journeys.routed),
    ]
}

fn table(rows: &[KpiRow]) -> String {
    let mut all: Vec<Vec<String>> = vec![HEADINGS.iter().map(|h| h.to_string()).collect()];
    all.extend(rows.iter().map(|r| readable(r).to_vec()));
    let widths: Vec<usize> = (0..HEADINGS.len())
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &all {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            // Numbers right-aligned, the group's name left.
            .map(|(i, (cell, w))| {
                if i == 0 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if rows.is_empty() {
        out.push_str("(no work items in this window)\n");
    }
    out.push_str("CASES and ROUTED: closed or done / opened or routed in the window. Definitions: docs/KPIS.md\n");
    out
}

/// Every number raw (seconds, fractions), one column each, for a spreadsheet.
fn csv(rows: &[KpiRow]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "group",
        "opened",
        "resolved",
        "backlog",
        "first_responses",
        "first_response_p50_secs",
        "first_response_p90_secs",
        "resolution_p50_secs",
        "resolution_p90_secs",
        "sla_attained",
        "sla_measured",
        "sla_attainment",
        "reopened",
        "reopen_rate",
        "cases_opened",
        "cases_closed",
        "case_p50_secs",
        "case_p90_secs",
        "routed",
        "routed_done",
        "routed_p50_secs",
        "routed_p90_secs",
    ])?;
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let rate = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    for r in rows {
        let j = &r.journeys;
        w.write_record([
            r.key.clone(),
            r.opened.to_string(),
            r.resolved.to_string(),
            r.backlog.to_string(),
            r.first_responses.to_string(),
            opt(r.first_response_p50_secs),
            opt(r.first_response_p90_secs),
            opt(r.resolution_p50_secs),
            opt(r.resolution_p90_secs),
            r.sla_attained.to_string(),
            r.sla_measured.to_string(),
            rate(r.sla_attainment),
            r.reopened.to_string(),
            rate(r.reopen_rate),
            j.cases_opened.to_string(),
            j.cases_closed.to_string(),
            opt(j.case_p50_secs),
            opt(j.case_p90_secs),
            j.routed.to_string(),
            j.routed_done.to_string(),
            opt(j.routed_p50_secs),
            opt(j.routed_p90_secs),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page that stands alone (no assets), readable in any mail client.
fn html(rows: &[KpiRow], args: &ReportArgs) -> String {
    let title = format!(
        "Service KPIs by {}, {} to {}",
        args.group_by,
        args.from.format("%Y-%m-%d"),
        args.to.format("%Y-%m-%d")
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;color:#1a1a1a;margin:2rem}}\
         table{{border-collapse:collapse}}th,td{{padding:.3rem .6rem;border-bottom:1px solid #ccc}}\
         td{{text-align:right}}th[scope=row]{{text-align:left}}</style></head>\n<body><main>\
         <h1>{t}</h1>\n<table>\n<caption>One row per {g}; window start included, end excluded. \
         Definitions: docs/KPIS.md</caption>\n<thead><tr>",
        t = escape(&title),
        g = escape(&args.group_by),
    );
    for h in HEADINGS {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(&h.to_lowercase()));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        let cells = readable(r);
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", escape(&cells[0]));
        for c in &cells[1..] {
            let _ = write!(out, "<td>{}</td>", escape(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n</main></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_midnight_utc_and_a_time_is_kept() {
        assert_eq!(
            parse_time("2026-10-01").unwrap().to_rfc3339(),
            "2026-10-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("2026-10-01T12:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2026-10-01T10:00:00+00:00"
        );
        assert!(parse_time("next week").is_err());
    }

    #[test]
    fn html_escapes_what_a_group_is_named() {
        let row = KpiRow {
            key: "<script>x</script>".into(),
            ..KpiRow::default()
        };
        let args = ReportArgs {
            from: parse_time("2026-10-01").unwrap(),
            to: parse_time("2027-01-01").unwrap(),
            group_by: "department".into(),
            format: Format::Html,
            output: None,
        };
        let page = html(&[row], &args);
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!page.contains("<script>"));
    }
}
