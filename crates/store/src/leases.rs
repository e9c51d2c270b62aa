//! Stream leases (`stream_leases`, migration 0021): several instances on
//! one PostgreSQL share the streams without a coordinator of their own. A
//! run takes its stream's row, renews it while it goes on and gives it back
//! at the end; a row whose holder stopped renewing is free once it expires.
//! A row also says when a run last succeeded, so the instances whose
//! schedules tick together run a stream once per tick, not once each.
//!
//! Each statement is one row's compare-and-set: on PostgreSQL two
//! instances racing for a new row meet at the primary key, and the loser
//! sees the winner's row and takes nothing.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};

/// A stream's lease as `/status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeaseRow {
    pub source_system: String,
    pub source_stream: String,
    pub holder: Option<String>,
    pub expires_ms: Option<i64>,
    pub last_ok_ms: Option<i64>,
}

/// What taking a lease asks for.
#[derive(Debug, Clone, Copy)]
pub struct LeaseAsk<'a> {
    pub system: &'a str,
    pub stream: &'a str,
    /// This instance.
    pub holder: &'a str,
    pub now: DateTime<Utc>,
    /// How long the lease holds without a renewal.
    pub ttl: std::time::Duration,
    /// The run is due when no run has succeeded since then (the schedule's
    /// latest tick); `None` when any time will do.
    pub due_since: Option<DateTime<Utc>>,
}

impl LeaseAsk<'_> {
    fn expires_ms(&self) -> i64 {
        self.now.timestamp_millis() + self.ttl.as_millis() as i64
    }
}

impl Store {
    /// Take the stream for a run: `true` when this instance now holds it.
    /// Refused while another instance holds an unexpired lease, or when a
    /// run succeeded since `due_since`.
    pub async fn take_lease(&self, ask: &LeaseAsk<'_>) -> Result<bool, StoreError> {
        let due = ask.due_since.map_or(i64::MAX, |d| d.timestamp_millis());
        let taken = super::on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO stream_leases (source_system, source_stream, holder, expires_ms) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (source_system, source_stream) DO UPDATE \
                 SET holder = excluded.holder, expires_ms = excluded.expires_ms \
                 WHERE (stream_leases.holder IS NULL OR stream_leases.expires_ms < $5 \
                        OR stream_leases.holder = excluded.holder) \
                   AND (stream_leases.last_ok_ms IS NULL OR stream_leases.last_ok_ms < $6)",
            )
            .bind(ask.system)
            .bind(ask.stream)
            .bind(ask.holder)
            .bind(ask.expires_ms())
            .bind(ask.now.timestamp_millis())
            .bind(due)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    /// Keep the stream while the run goes on: `false` when the lease was
    /// lost (it expired and another instance took it), and the run must
    /// stop.
    pub async fn renew_lease(&self, ask: &LeaseAsk<'_>) -> Result<bool, StoreError> {
        let kept = super::on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE stream_leases SET expires_ms = $1 \
                 WHERE source_system = $2 AND source_stream = $3 AND holder = $4",
            )
            .bind(ask.expires_ms())
            .bind(ask.system)
            .bind(ask.stream)
            .bind(ask.holder)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(kept == 1)
    }

    /// Give the stream back at the end of a run, noting a success.
    pub async fn release_lease(&self, ask: &LeaseAsk<'_>, ok: bool) -> Result<(), StoreError> {
        let ok_ms = ok.then(|| ask.now.timestamp_millis());
        super::on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE stream_leases SET holder = NULL, expires_ms = NULL, \
                 last_ok_ms = COALESCE($1, last_ok_ms) \
                 WHERE source_system = $2 AND source_stream = $3 AND holder = $4",
            )
            .bind(ok_ms)
            .bind(ask.system)
            .bind(ask.stream)
            .bind(ask.holder)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Give back every lease `holder` still has, at a shutdown whose drain
    /// ran out of time: the streams are free at once rather than when the
    /// leases expire. The number given back.
    pub async fn release_leases_of(&self, holder: &str) -> Result<u64, StoreError> {
        Ok(super::on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE stream_leases SET holder = NULL, expires_ms = NULL WHERE holder = $1",
            )
            .bind(holder)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// Every stream's lease, for `/status`.
    pub async fn leases(&self) -> Result<Vec<LeaseRow>, StoreError> {
        Ok(super::on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT source_system, source_stream, holder, expires_ms, last_ok_ms \
                 FROM stream_leases ORDER BY source_system, source_stream",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}
