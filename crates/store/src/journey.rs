//! A piece of work's journey across systems: the cases and tasks value
//! streams create, the links writers record between an origin and what
//! they created for it, and progress notes on the origin. The deliveries
//! that keep a writer from applying one message twice are
//! `deliveries.rs`; the reads are `hops.rs`.
//!
//! Everything here runs inside a transaction someone else owns: a sync
//! page's (progress seen on a target's next poll) or a writer's (a
//! delivery applied). Few rows each, so plain statements, the same SQL on
//! both backends.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Store, StoreError};
use crate::routing::case_status;

/// The system name under which Switchboard keeps its own work items.
pub const HUB: &str = "switchboard";
/// The streams of [`HUB`]: a value stream's parent case, and its tasks.
pub const CASES: &str = "cases";
pub const TASKS: &str = "tasks";
/// Requests raised at the front door (`POST /api/v1/requests`).
pub const REQUESTS: &str = "requests";

/// What routing changes in the store beyond a page's own records.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A value stream's case or task, created once (a second spawn of the
    /// same id changes nothing).
    Spawn {
        stream: &'static str,
        external_id: String,
        /// The canonical work item as JSON (kind, title, status, …).
        item: Value,
    },
    Progress(Progress),
    /// A change routing could not decide (a condition failed): enqueued
    /// already dead, with the reason, for `dlq list` and a replay.
    Unrouted {
        message: super::OutboxMessage,
        reason: String,
    },
    /// What routing announced for a person that `active` cannot tell
    /// (`people.lifecycle`): `starting` once hired ahead of their start,
    /// `leaving` once their leaving fired; `None` when `active` says it all
    /// again. Keeps a hire or a leaving from firing twice.
    Lifecycle {
        system: String,
        stream: String,
        external_id: String,
        lifecycle: Option<&'static str>,
    },
}

/// Something happened to work routed from `origin`: a note on the origin
/// item and, when the origin is a value stream's task, its new status,
/// with the parent case's status derived again from its tasks'.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub origin_system: String,
    pub origin_stream: String,
    pub origin_id: String,
    /// Unique per note, so the same progress seen twice notes once.
    pub note_id: String,
    pub body: String,
    pub status: Option<String>,
    pub at: DateTime<Utc>,
    /// The requester may read it (docs/API.md): where the work went and
    /// how it moves are; a target's internal comment is not.
    pub public: bool,
}

/// A link from an origin item to what a writer created for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    pub from_system: String,
    pub from_stream: String,
    pub from_id: String,
    pub to_system: String,
    pub to_id: String,
    /// `routed` (a rule sent it) or `task` (a value stream's task).
    pub relation: String,
    pub event_id: String,
}

/// How a record of a synced page is linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEnd {
    /// Work was routed from this record: it is an origin.
    Origin { targets: Vec<LinkedTarget> },
    /// A writer created this record for work routed from elsewhere.
    Target {
        origin_system: String,
        origin_stream: String,
        origin_id: String,
        relation: String,
    },
}

impl LinkEnd {
    /// For a target: the origin it was created for, `(system, stream, id)`.
    pub fn origin(&self) -> Option<(&str, &str, &str)> {
        match self {
            LinkEnd::Target {
                origin_system,
                origin_stream,
                origin_id,
                ..
            } => Some((origin_system, origin_stream, origin_id)),
            LinkEnd::Origin { .. } => None,
        }
    }
}

/// What a writer created for work routed from an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedTarget {
    pub system: String,
    pub external_id: String,
    /// When the work was routed: the origin's comments from then on are
    /// news to the target.
    pub routed_at: DateTime<Utc>,
}

macro_rules! backend {
    ($module:ident, $db:ty) => {
        pub(super) mod $module {
            use super::*;

            type Conn = <$db as sqlx::Database>::Connection;

            pub async fn apply(tx: &mut Conn, effects: &[Effect]) -> Result<(), sqlx::Error> {
                for effect in effects {
                    match effect {
                        Effect::Spawn {
                            stream,
                            external_id,
                            item,
                        } => spawn(tx, stream, external_id, item).await?,
                        Effect::Progress(p) => progress(tx, p).await?,
                        Effect::Unrouted { message, reason } => {
                            super::super::outbox::$module::enqueue_dead(tx, message, reason).await?
                        }
                        Effect::Lifecycle {
                            system,
                            stream,
                            external_id,
                            lifecycle,
                        } => {
                            sqlx::query(
                                "UPDATE people SET lifecycle = $1 WHERE source_system = $2 \
                                 AND source_stream = $3 AND external_id = $4",
                            )
                            .bind(lifecycle)
                            .bind(system)
                            .bind(stream)
                            .bind(external_id)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
                Ok(())
            }

            async fn spawn(
                tx: &mut Conn,
                stream: &str,
                external_id: &str,
                item: &Value,
            ) -> Result<(), sqlx::Error> {
                let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
                let due: Option<DateTime<Utc>> = text("due_at")
                    .and_then(|d| DateTime::parse_from_rfc3339(&d).ok())
                    .map(|d| d.with_timezone(&Utc));
                let now = Utc::now();
                sqlx::query(
                    "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, \
                     status, priority, department, due_at, attributes, mapping_version, opened_at, \
                     updated_at, synced_at, description, requester_ref, classified) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'routing', $11, $11, $11, $12, $13, $14) \
                     ON CONFLICT (source_system, source_stream, external_id) DO NOTHING",
                )
                .bind(HUB)
                .bind(stream)
                .bind(external_id)
                .bind(text("kind").unwrap_or_else(|| "task".into()))
                .bind(text("title").unwrap_or_default())
                .bind(text("status").unwrap_or_else(|| "new".into()))
                .bind(item.get("priority").and_then(Value::as_i64).map(|p| p as i16))
                .bind(text("department"))
                .bind(due)
                .bind(sqlx::types::Json(item.get("attributes").cloned().unwrap_or(Value::Null)))
                .bind(now)
                .bind(text("description"))
                .bind(text("requester_ref"))
                .bind(sqlx::types::Json(
                    item.get("classified").cloned().unwrap_or_else(|| serde_json::json!({})),
                ))
                .execute(&mut *tx)
                .await?;
                Ok(())
            }

            pub async fn progress(tx: &mut Conn, p: &Progress) -> Result<(), sqlx::Error> {
                let item: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM work_items WHERE source_system = $1 AND source_stream = $2 \
                     AND external_id = $3",
                )
                .bind(&p.origin_system)
                .bind(&p.origin_stream)
                .bind(&p.origin_id)
                .fetch_optional(&mut *tx)
                .await?;
                // The origin may have been quarantined since: the note has
                // nowhere to go, and the target keeps the work.
                let Some((item_id,)) = item else {
                    return Ok(());
                };
                sqlx::query(
                    "INSERT INTO activities (work_item_id, kind, author_ref, body, to_status, \
                     occurred_at, source_system, external_id, visibility) \
                     VALUES ($1, $2, $3, $4, $5, $6, $3, $7, $8) \
                     ON CONFLICT (source_system, external_id) DO NOTHING",
                )
                .bind(item_id)
                .bind(if p.status.is_some() { "status_change" } else { "comment" })
                .bind(HUB)
                .bind(&p.body)
                .bind(&p.status)
                .bind(p.at)
                .bind(&p.note_id)
                .bind(if p.public { "public" } else { "internal" })
                .execute(&mut *tx)
                .await?;
                if p.origin_system != HUB || p.origin_stream != TASKS {
                    return Ok(());
                }
                let Some(status) = &p.status else {
                    return Ok(());
                };
                sqlx::query(
                    "UPDATE work_items SET status = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(status)
                .bind(p.at)
                .bind(item_id)
                .execute(&mut *tx)
                .await?;
                let Some((case, _)) = p.origin_id.rsplit_once('#') else {
                    return Ok(());
                };
                let statuses: Vec<(String,)> = sqlx::query_as(
                    "SELECT status FROM work_items WHERE source_system = $1 AND source_stream = $2 \
                     AND external_id LIKE $3 ESCAPE '!'",
                )
                .bind(HUB)
                .bind(TASKS)
                .bind(format!("{}#%", case.replace('!', "!!").replace('%', "!%").replace('_', "!_")))
                .fetch_all(&mut *tx)
                .await?;
                let statuses: Vec<&str> = statuses.iter().map(|(s,)| s.as_str()).collect();
                let derived = case_status(&statuses);
                let closed = matches!(derived, "closed" | "cancelled").then_some(p.at);
                sqlx::query(
                    "UPDATE work_items SET status = $1, updated_at = $2, \
                     closed_at = COALESCE(closed_at, $3) \
                     WHERE source_system = $4 AND source_stream = $5 AND external_id = $6",
                )
                .bind(derived)
                .bind(p.at)
                .bind(closed)
                .bind(HUB)
                .bind(CASES)
                .bind(case)
                .execute(&mut *tx)
                .await?;
                Ok(())
            }
        }
    };
}

backend!(pg, sqlx::Postgres);
backend!(sqlite, sqlx::Sqlite);

type LinkRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
);

impl Store {
    /// How each of `keys` (records of `system`) is linked, in one query.
    /// A record that is both an origin and a target reads as a target.
    pub async fn link_ends(
        &self,
        system: &str,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, LinkEnd>, StoreError> {
        let mut out = std::collections::HashMap::new();
        if keys.is_empty() {
            return Ok(out);
        }
        for chunk in keys.chunks(4000) {
            let rows: Vec<LinkRow> = super::on_pool!(self, |pool| {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT l.from_system, l.from_id, l.from_stream, l.to_system, l.to_id, \
                     l.relation, CASE WHEN l.to_system = ",
                );
                // Routed when the outbox took the work (the origin's state
                // then is what the target was created from), else when
                // the writer linked it.
                qb.push_bind(system)
                    .push(
                        " THEN 'target' ELSE 'origin' END, COALESCE(o.created_at, l.created_at) \
                         FROM links l LEFT JOIN outbox o ON o.event_id = l.event_id \
                         WHERE (l.to_system = ",
                    )
                    .push_bind(system)
                    .push(" AND l.to_id IN (");
                let mut list = qb.separated(", ");
                for k in chunk {
                    list.push_bind(k);
                }
                qb.push(")) OR (l.from_system = ")
                    .push_bind(system)
                    .push(" AND l.from_id IN (");
                let mut list = qb.separated(", ");
                for k in chunk {
                    list.push_bind(k);
                }
                qb.push("))");
                qb.build_query_as().fetch_all(pool).await?
            });
            for (from_system, from_id, from_stream, to_system, to_id, relation, end, at) in rows {
                if end == "target" && to_system == system {
                    out.insert(
                        to_id,
                        LinkEnd::Target {
                            origin_system: from_system,
                            origin_stream: from_stream.unwrap_or_default(),
                            origin_id: from_id,
                            relation,
                        },
                    );
                } else {
                    let end = out.entry(from_id).or_insert(LinkEnd::Origin {
                        targets: Vec::new(),
                    });
                    if let LinkEnd::Origin { targets } = end {
                        targets.push(LinkedTarget {
                            system: to_system,
                            external_id: to_id,
                            routed_at: at,
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}
