//! Logging and metrics set-up, and the named events that write both.
//!
//! Logs are readable lines on a terminal or JSON for log shippers. Metrics are
//! Prometheus counters and histograms, served by the daemon at `/metrics`.
//! Whatever a source sent is escaped before it reaches a log line
//! ([`text`]), so a record cannot forge one.

pub mod events;
pub mod text;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// lapin logs each message the broker returns as a WARN holding the whole
/// message as a decimal byte array: megabytes a minute while writers have
/// not declared their queues. `switchboard_delivery::events::MessageReturned`
/// says the same in one short line.
const QUIET_LAPIN_RETURNS: &str = "lapin::returned_messages=error";

/// Replaces the installed subscriber's filter; set by the first [`init`].
type SetFilter = Box<dyn Fn(EnvFilter) + Send + Sync>;
static SET_FILTER: OnceLock<SetFilter> = OnceLock::new();

/// Install the global subscriber, writing to stderr. `RUST_LOG` wins over
/// the configured level.
pub fn init(format: LogFormat, level: &str) {
    install(format, level, colour(), || Stderr);
}

/// Runs one write to stderr (the closure it is given).
type AroundStderr = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;
static AROUND_STDERR: Mutex<Option<AroundStderr>> = Mutex::new(None);

/// While the guard lives, each log line on stderr is written through
/// `around`: the CLI's spinner clears itself, lets the line through and
/// draws itself again, so a line never lands in the middle of it.
pub fn around_stderr(around: impl Fn(&mut dyn FnMut()) + Send + Sync + 'static) -> AroundGuard {
    *AROUND_STDERR.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(around));
    AroundGuard(())
}

/// Ends [`around_stderr`] when dropped.
#[must_use = "the log goes around the spinner only while the guard lives"]
pub struct AroundGuard(());

impl Drop for AroundGuard {
    fn drop(&mut self) {
        *AROUND_STDERR.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// stderr, through [`around_stderr`]'s closure when one is set. The log
/// formats each event whole and writes it with one `write_all`, so a line
/// is never split around a redraw.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let around = AROUND_STDERR
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(around) = around else {
            return std::io::stderr().write(bytes);
        };
        let mut written = Ok(());
        around(&mut || written = std::io::stderr().write_all(bytes));
        written.map(|()| bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Install the global subscriber, writing to `file` instead: plain text
/// (a file never gets colour codes), for `demo --log-file`.
pub fn init_file(format: LogFormat, level: &str, file: std::fs::File) {
    install(format, level, false, std::sync::Mutex::new(file));
}

fn install<W>(format: LogFormat, level: &str, ansi: bool, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref(), level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    // A second init (tests, demo after run) is harmless: keep the first.
    match format {
        LogFormat::Text => {
            let builder = builder
                .fmt_fields(text::log_fields())
                .with_filter_reloading();
            let handle = builder.reload_handle();
            if builder.try_init().is_ok() {
                let _ = SET_FILTER.set(Box::new(move |f| drop(handle.reload(f))));
            }
        }
        LogFormat::Json => {
            let builder = builder.json().flatten_event(true).with_filter_reloading();
            let handle = builder.reload_handle();
            if builder.try_init().is_ok() {
                let _ = SET_FILTER.set(Box::new(move |f| drop(handle.reload(f))));
            }
        }
    }
}

/// Change the level after [`init`], with `RUST_LOG` still winning: the demo
/// starts quiet (its own lines tell the story) and, once it serves, shows
/// the configured level's log of the incremental syncs.
pub fn set_level(level: &str) {
    if let Some(set) = SET_FILTER.get() {
        set(filter(std::env::var("RUST_LOG").ok().as_deref(), level));
    }
}

/// Colour only for a person at a terminal: a log file or a pipe gets plain
/// text, and `NO_COLOR` (any value but empty, no-color.org) turns it off.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The filter from `RUST_LOG` if set and valid, else the configured level,
/// else `info`; lapin's returned-message lines are dropped unless the
/// filter names them.
fn filter(env: Option<&str>, level: &str) -> EnvFilter {
    let chosen = [env, Some(level)]
        .into_iter()
        .flatten()
        .find(|f| EnvFilter::try_new(f).is_ok())
        .unwrap_or("info");
    let filter = EnvFilter::new(chosen);
    if chosen.contains("lapin::returned_messages") {
        return filter;
    }
    match QUIET_LAPIN_RETURNS.parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide Prometheus recorder, installed on first use. `None` if
/// another recorder was installed first (then metrics go there instead).
pub fn metrics() -> Option<&'static PrometheusHandle> {
    METRICS
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What a subscriber with `filter` prints for a returned message.
    fn logged(filter: EnvFilter) -> String {
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || out.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // What lapin 4 writes for each returned message.
            let bytes: Vec<u8> = b"{\"specversion\":\"1.0\"}".to_vec();
            tracing::warn!(target: "lapin::returned_messages", message = ?bytes, "Server returned us a message");
            switchboard_delivery::events::MessageReturned {
                routing_key: "facilities.maximo.create_workorder",
                event_id: "evt-1",
            }
            .emit();
        });
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_returned_message_is_one_short_line() {
        let text = logged(filter(None, "info"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(
            lines[0].contains("routing_key=facilities.maximo.create_workorder")
                && lines[0].contains("event_id=evt-1"),
            "{text}"
        );
        assert!(lines[0].len() < 250, "{text}");
        // RUST_LOG wins, and still drops lapin's byte arrays...
        assert_eq!(logged(filter(Some("debug"), "info")).lines().count(), 1);
        // ...unless it asks for them by name.
        let asked = filter(Some("lapin::returned_messages=warn,info"), "info");
        assert!(logged(asked).contains("Server returned us a message"));
    }

    #[test]
    fn a_bad_filter_falls_back() {
        assert_eq!(logged(filter(Some("=!"), "info")).lines().count(), 1);
        assert_eq!(logged(filter(Some("=!"), "=!")).lines().count(), 1);
    }
}
