//! `check --connect`: reach every enabled system as a first run would.
//! Each stream's first request is the one a run sends (the cursor's
//! `initial` as its lower bound, templates and all), so a source that
//! needs a query is asked with it; the line says how many records came
//! back and shows the first one mapped, and says so when a request with a
//! query found nothing. Kinds whose read has effects are only looked at.

use std::process::ExitCode;
use std::time::Duration;

use crate::catalog::Catalog;
use crate::connector::Connector;
use crate::telemetry::text::Escaped;

const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// The first mapped record is shown on one line, cut here.
const SHOWN_CHARS: usize = 400;

/// One line per stream (per connector for kinds that are only looked at).
pub(super) async fn check_connections(catalog: &Catalog) -> ExitCode {
    let mut failed = 0;
    for m in &catalog.manifests {
        let system = &m.header.system;
        if !m.header.enabled {
            println!("skip {system}: disabled in its manifest");
            continue;
        }
        let connector = match m.config.build(&m.header) {
            Ok(c) => c,
            Err(e) => {
                failed += 1;
                println!("FAIL {system}: {}", Escaped(e.to_string()));
                continue;
            }
        };
        if !connector.probe_reads_pages() {
            match within(system, connector.probe()).await {
                Ok(what) => println!("ok   {system}: {what}"),
                Err(e) => {
                    failed += 1;
                    println!("FAIL {system}: {}", Escaped(e.message));
                }
            }
            continue;
        }
        for stream in connector.streams() {
            let name = format!("{system}/{}", stream.name);
            let mapping = catalog
                .mappings
                .iter()
                .find(|map| &map.system == system && map.stream == stream.name);
            match first_page(connector.as_ref(), &stream, mapping.map(|m| &**m)).await {
                Ok(line) => {
                    println!("ok   {name}: {line}");
                    // A deleted-records endpoint often needs a right of its
                    // own (ServiceNow's sys_audit_delete: admin or an ACL).
                    match first_deletions(connector.as_ref(), &stream).await {
                        Ok(Some(line)) => println!("ok   {name}#deletions: {line}"),
                        Ok(None) => {}
                        Err(Refused { message, .. }) => {
                            failed += 1;
                            println!("FAIL {name}#deletions: {}", Escaped(message));
                        }
                    }
                }
                Err(Refused { message, auth }) => {
                    failed += 1;
                    // The error may quote what the system answered.
                    println!("FAIL {name}: {}", Escaped(message));
                    if auth {
                        // Refused credentials are the connector's: its
                        // other streams would say the same.
                        break;
                    }
                }
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} connector(s) or stream(s) could not be read");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Why a probe failed, and whether the credentials were refused.
struct Refused {
    message: String,
    auth: bool,
}

async fn within<T>(
    system: &str,
    call: impl Future<Output = Result<T, crate::connector::ConnectorError>>,
) -> Result<T, Refused> {
    match tokio::time::timeout(PROBE_TIMEOUT, call).await {
        Ok(r) => r.map_err(|e| Refused {
            auth: matches!(e, crate::connector::ConnectorError::Auth { .. }),
            message: e.to_string(),
        }),
        Err(_) => Err(Refused {
            message: format!("{system}: no answer within {}s", PROBE_TIMEOUT.as_secs()),
            auth: false,
        }),
    }
}

/// Read `stream`'s first page as a first run would and describe it.
async fn first_page(
    connector: &dyn Connector,
    stream: &crate::connector::StreamSpec,
    mapping: Option<&crate::mapping::Mapping>,
) -> Result<String, Refused> {
    let from = crate::sync::first_bound(stream.cursor.as_ref(), None);
    let page = within(
        connector.system(),
        connector.fetch_page(&stream.name, from.as_deref(), None),
    )
    .await?;
    let n = page.records.len();
    let more = if page.next.is_some() {
        ", more pages"
    } else {
        ""
    };
    let Some(first) = page.records.first() else {
        return Ok(match &from {
            Some(bound) => format!(
                "0 records on the first page, asked for records from `{bound}` (the cursor's \
                 `initial`): if the system has records, check the stream's query and the \
                 cursor's `param`, `template` and `format`"
            ),
            None => "0 records on the first page".to_string(),
        });
    };
    let shown = match mapping {
        None => "no mapping for this stream".to_string(),
        Some(m) => match m.skips(&first.payload) {
            Ok(true) => "the first record is skipped by the mapping's `skip_if`".to_string(),
            Err(e) => format!("the first record's `skip_if` fails: {e}"),
            Ok(false) => match m.apply(&first.payload) {
                Ok(canonical) => {
                    let json = serde_json::to_string(&canonical).unwrap_or_default();
                    format!("first record mapped: {}", cut(&json))
                }
                Err(e) => format!("the first record does not map: {e}"),
            },
        },
    };
    Ok(format!("{n} record(s) on the first page{more}; {shown}"))
}

/// Read the first page of `stream`'s deleted-records endpoint, as the
/// first run after it would; `None` when the stream has none.
async fn first_deletions(
    connector: &dyn Connector,
    stream: &crate::connector::StreamSpec,
) -> Result<Option<String>, Refused> {
    let Some(spec) = connector.deletions(&stream.name).filter(|d| d.endpoint) else {
        return Ok(None);
    };
    let from = crate::sync::first_bound(spec.endpoint_cursor.as_ref(), None);
    let page = within(
        connector.system(),
        connector.fetch_deleted(&stream.name, from.as_deref(), None),
    )
    .await?;
    Ok(Some(format!(
        "{} deleted record(s) on the endpoint's first page",
        page.records.len()
    )))
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
