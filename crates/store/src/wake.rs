//! Waking the outbox's delivery when a commit enqueued work, instead of
//! polling for it.
//!
//! Two signals reach a waiting loop (the in-process transport, a relay):
//! - in this process, [`committed`], raised after the commit of any
//!   transaction that enqueued rows, on both stores, for the loops on the
//!   same database;
//! - on PostgreSQL, a `NOTIFY switchboard_outbox` sent inside that
//!   transaction, so it fires on commit and reaches every instance on the
//!   database; each waiting loop listens on a connection of its own.
//!
//! A slow safety poll stays (`[daemon] outbox_poll_secs`): a notification
//! sent while a listener was reconnecting is lost, and work held for later
//! (`available_at` ahead) has nobody to announce it. A loop with nothing
//! due sleeps until the earliest held row is due, or the poll, whichever is
//! first.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Store, StoreError};

/// The PostgreSQL channel a commit that enqueued work notifies.
pub const CHANNEL: &str = "switchboard_outbox";

/// The pause after a loop found a row due that its claim did not return
/// (another claim held it locked): short, but not a busy loop.
const DUE_AGAIN: Duration = Duration::from_millis(20);

/// One signal per database (a SQLite file, a PostgreSQL database), shared
/// by every pool on it in this process: a commit through one pool wakes
/// the loops of all. Per database rather than per table or row: a wake
/// that finds nothing (the rows went to another loop) costs one empty
/// claim. Entries live as long as a loop waits on them.
static SIGNALS: Mutex<Option<HashMap<String, Weak<Notify>>>> = Mutex::new(None);

/// Which database `store` is on.
pub(super) fn database(store: &Store) -> String {
    match store {
        Store::Postgres(pool) => {
            let o = pool.connect_options();
            let db = o.get_database().unwrap_or_default();
            format!("postgres:{}:{}/{db}", o.get_host(), o.get_port())
        }
        Store::Sqlite(pool) => {
            let o = pool.connect_options();
            format!("sqlite:{}", o.get_filename().display())
        }
    }
}

/// The signal of `store`'s database, made if no loop waits on it yet.
fn signal(store: &Store) -> Arc<Notify> {
    let mut signals = SIGNALS.lock().unwrap_or_else(|e| e.into_inner());
    let signals = signals.get_or_insert_with(HashMap::new);
    signals.retain(|_, s| s.strong_count() > 0);
    let key = database(store);
    if let Some(s) = signals.get(&key).and_then(Weak::upgrade) {
        return s;
    }
    let s = Arc::new(Notify::new());
    signals.insert(key, Arc::downgrade(&s));
    s
}

/// A transaction on `store` that enqueued routed work has committed: wake
/// the loops in this process waiting on its database.
pub(crate) fn committed(store: &Store) {
    let key = database(store);
    let signals = SIGNALS.lock().unwrap_or_else(|e| e.into_inner());
    let waiting = signals.as_ref().and_then(|s| s.get(&key)?.upgrade());
    drop(signals);
    if let Some(s) = waiting {
        s.notify_waiters();
    }
}

/// Inside an enqueueing PostgreSQL transaction: PostgreSQL delivers it on
/// commit, to the listeners of every instance, and drops it on rollback.
pub(super) async fn notify_pg(tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(tx)
        .await?;
    Ok(())
}

/// A wake-up registered before a claim: a commit between the claim and
/// the wait still ends the wait, so none is missed.
pub struct Armed<'a>(Pin<Box<tokio::sync::futures::Notified<'a>>>);

/// What a delivery loop waits on when its outbox had nothing for it.
pub struct OutboxWake {
    poll: Duration,
    /// This database's in-process signal.
    committed: Arc<Notify>,
    /// Raised by this loop's PostgreSQL listener; `notify_one` keeps a
    /// permit, so a notification that arrives before the wait is not lost.
    listened: Option<Arc<Notify>>,
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for OutboxWake {
    fn drop(&mut self) {
        if let Some(task) = &self.listener {
            task.abort();
        }
    }
}

impl Store {
    /// What a delivery loop waits on, with `poll` as the safety net. On
    /// PostgreSQL this starts the loop's listener (a connection of its own,
    /// outside the pool), which reconnects with back-off when it drops.
    pub fn outbox_wake(&self, poll: Duration) -> OutboxWake {
        let (listened, listener) = match self {
            Store::Postgres(pool) => {
                let signal = Arc::new(Notify::new());
                let options = (*pool.connect_options()).clone();
                let task = tokio::spawn(listen(options, signal.clone()));
                (Some(signal), Some(task))
            }
            Store::Sqlite(_) => (None, None),
        };
        OutboxWake {
            poll,
            committed: signal(self),
            listened,
            listener,
        }
    }

    /// When the earliest row not yet handed on becomes claimable (a retry's
    /// delay, a lease, a held task's start); `None` when there is none.
    pub async fn outbox_next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let sql = "SELECT MIN(available_at) FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL";
        Ok(match self {
            Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
            Store::Sqlite(pool) => {
                let text: Option<String> = sqlx::query_scalar(sql).fetch_one(pool).await?;
                text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc))
            }
        })
    }
}

impl OutboxWake {
    /// Call before the claim, and hand the result to [`OutboxWake::wait`].
    pub fn arm(&self) -> Armed<'_> {
        let mut notified = Box::pin(self.committed.notified());
        notified.as_mut().enable();
        Armed(notified)
    }

    /// How long a loop with nothing to claim sleeps at most when the
    /// earliest pending row is due at `next_due`.
    pub fn idle_for(&self, next_due: Option<DateTime<Utc>>) -> Duration {
        let Some(due) = next_due else {
            return self.poll;
        };
        let until = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        until.max(DUE_AGAIN).min(self.poll)
    }

    /// Sleep until work is enqueued (here or, on PostgreSQL, by any
    /// instance), `next_due` comes, or the safety poll runs out. Returns
    /// `true` when `stop` fired.
    pub async fn wait(
        &self,
        armed: Armed<'_>,
        next_due: Option<DateTime<Utc>>,
        stop: &CancellationToken,
    ) -> bool {
        let listened: Pin<Box<dyn Future<Output = ()> + Send + '_>> = match &self.listened {
            Some(signal) => Box::pin(signal.notified()),
            None => Box::pin(std::future::pending()),
        };
        tokio::select! {
            _ = armed.0 => false,
            _ = listened => false,
            _ = tokio::time::sleep(self.idle_for(next_due)) => false,
            _ = stop.cancelled() => true,
        }
    }
}

/// Listen for [`CHANNEL`] until aborted, raising `signal` on each
/// notification. A lost connection is re-made with a doubling pause (up to
/// 30 s) while the loop lives on its safety poll, and `signal` is raised
/// once after each (re)connection: what was notified meanwhile is lost.
async fn listen(options: PgConnectOptions, signal: Arc<Notify>) {
    const FIRST_PAUSE: Duration = Duration::from_millis(250);
    const MAX_PAUSE: Duration = Duration::from_secs(30);
    // A pool of one, of its own: the listener holds its connection for as
    // long as it lives, which would take one from the store's pool.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options);
    let mut pause = FIRST_PAUSE;
    loop {
        match subscribe(&pool).await {
            Ok(mut listener) => {
                pause = FIRST_PAUSE;
                signal.notify_one();
                loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => signal.notify_one(),
                        // Lost, and connected again (eager reconnect).
                        Ok(None) => {
                            tracing::info!("outbox listener reconnected to PostgreSQL");
                            signal.notify_one();
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "outbox listener lost PostgreSQL; the safety poll covers until it is back");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "outbox listener cannot listen on PostgreSQL");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

async fn subscribe(pool: &sqlx::PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // The pool is the listener's own: nobody closes it under it.
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(file: &str) -> Store {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file);
        Store::Sqlite(sqlx::SqlitePool::connect_lazy_with(options))
    }

    fn sqlite_wake(poll: Duration) -> OutboxWake {
        OutboxWake {
            poll,
            committed: Arc::new(Notify::new()),
            listened: None,
            listener: None,
        }
    }

    #[tokio::test]
    async fn a_commit_between_claim_and_wait_is_not_missed() {
        let store = sqlite("/nonexistent/wake-a.db");
        let wake = store.outbox_wake(Duration::from_secs(60));
        let armed = wake.arm();
        // After the (empty) claim, before the wait; through another pool
        // on the same file.
        committed(&sqlite("/nonexistent/wake-a.db"));
        let stop = CancellationToken::new();
        let woke = tokio::time::timeout(Duration::from_secs(5), wake.wait(armed, None, &stop));
        assert_eq!(woke.await, Ok(false), "woken, not left to the poll");
    }

    #[tokio::test]
    async fn a_commit_on_another_database_does_not_wake() {
        let wake = sqlite("/nonexistent/wake-b.db").outbox_wake(Duration::from_secs(60));
        let armed = wake.arm();
        committed(&sqlite("/nonexistent/wake-c.db"));
        let stop = CancellationToken::new();
        let woke = tokio::time::timeout(Duration::from_millis(300), wake.wait(armed, None, &stop));
        assert!(woke.await.is_err(), "left waiting");
    }

    #[test]
    fn a_loop_sleeps_until_the_earliest_due_row_within_the_poll() {
        let wake = sqlite_wake(Duration::from_secs(5));
        assert_eq!(wake.idle_for(None), Duration::from_secs(5));
        let soon = Utc::now() + chrono::Duration::seconds(2);
        let d = wake.idle_for(Some(soon));
        assert!(
            d <= Duration::from_secs(2) && d > Duration::from_secs(1),
            "{d:?}"
        );
        let late = Utc::now() + chrono::Duration::hours(2);
        assert_eq!(wake.idle_for(Some(late)), Duration::from_secs(5));
        let past = Utc::now() - chrono::Duration::seconds(2);
        assert_eq!(wake.idle_for(Some(past)), DUE_AGAIN);
    }
}
