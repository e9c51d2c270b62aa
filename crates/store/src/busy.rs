//! How a SQLite connection waits for the write lock another connection
//! holds.
//!
//! SQLite has one writer at a time. A connection that finds the lock taken
//! calls its busy handler, and tries again each time the handler returns
//! non-zero (<https://sqlite.org/c3ref/busy_handler.html>). The handler
//! that `sqlite3_busy_timeout` installs (`sqliteDefaultBusyCallback` in
//! SQLite's `main.c`) sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50 and 50 ms
//! between tries, then 100 ms each: a write that finds the lock taken four
//! times has slept 18 ms, whatever the writers ahead of it needed. In WAL
//! mode with `synchronous = NORMAL` a commit does not wait for the disk,
//! so the writers ahead hold the lock for a millisecond or two, and the
//! steps, not the work, made the tail of the embedded store's latency when
//! webhooks and deliveries write side by side (docs/PERFORMANCE.md,
//! "Routed delivery").
//!
//! So every SQLite connection the store opens tries again every [`STEP`]
//! until it has waited [`TIMEOUT`]. Still not first come, first served
//! (any waiter may win the next try), but no waiter sleeps long past the
//! lock's release. A try is a file-lock call and a look at the WAL index:
//! microseconds, a few thousand a second while several writers wait.

use std::os::raw::{c_int, c_void};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::SqliteConnection;

/// How long a write waits for the lock before it fails with "database is
/// locked" (SQLITE_BUSY).
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// The pause between two tries.
const STEP: Duration = Duration::from_millis(1);

/// Whether a connection that found the lock taken `count` times before for
/// the same write goes on waiting: until `count` steps make [`TIMEOUT`]
/// (each sleep lasts at least a step, so the wait is at least that).
fn waits(count: c_int) -> bool {
    (count.max(0) as u128) * STEP.as_nanos() < TIMEOUT.as_nanos()
}

/// The busy handler: sleeps a step and asks for another try, until
/// [`waits`] says no. SQLite calls it on the connection's own thread,
/// sqlx's worker for that connection, never an async task's.
extern "C" fn busy(_: *mut c_void, count: c_int) -> c_int {
    if !waits(count) {
        return 0;
    }
    std::thread::sleep(STEP);
    1
}

/// Installs [`busy`] on a new connection (the pool's `after_connect`). It
/// replaces the handler sqlx's `busy_timeout` installed.
pub(crate) fn install(conn: &mut SqliteConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let mut handle = conn.lock_handle().await?;
        // SAFETY: the handle is this open connection's, locked for the call;
        // the handler keeps no state (its argument is null) and does not
        // touch the connection, as SQLite requires of a busy handler.
        let rc = unsafe {
            libsqlite3_sys::sqlite3_busy_handler(
                handle.as_raw_handle().as_ptr(),
                Some(busy as unsafe extern "C" fn(*mut c_void, c_int) -> c_int),
                std::ptr::null_mut(),
            )
        };
        if rc != libsqlite3_sys::SQLITE_OK {
            return Err(sqlx::Error::Configuration(
                format!("could not set SQLite's busy handler (code {rc})").into(),
            ));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_a_step_at_a_time_until_the_timeout() {
        let steps = (TIMEOUT.as_nanos() / STEP.as_nanos()) as c_int;
        assert!(waits(0));
        assert!(waits(steps - 1));
        assert!(!waits(steps));
        assert!(!waits(c_int::MAX));
    }
}
