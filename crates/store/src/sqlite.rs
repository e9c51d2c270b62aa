//! SQLite statements for a page: multi-row `VALUES`, chunked under SQLite's
//! bind-parameter limit (32766).

use sqlx::types::Json;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::page::{ActivityRow, PageRows};
use crate::model::{Offering, OrgUnit, Person, WorkItem};

/// Rows per statement: ~25 columns a row stays well under the limit.
const CHUNK: usize = 400;
/// Keys per `IN (…)` list.
const KEYS: usize = 4000;

pub(super) async fn existing(
    pool: &SqlitePool,
    system: &str,
    stream: &str,
    keys: &[String],
) -> Result<Vec<super::page::ExistingRow>, sqlx::Error> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS) {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT s.external_id, s.content_hash, s.mapping_version, {} FROM source_records s {} \
             WHERE s.source_system = ",
            super::page::EXISTING_STATE,
            super::page::EXISTING_JOINS
        ));
        qb.push_bind(system)
            .push(" AND s.source_stream = ")
            .push_bind(stream)
            .push(" AND s.external_id IN (");
        let mut list = qb.separated(", ");
        for key in chunk {
            list.push_bind(key);
        }
        qb.push(")");
        found.extend(qb.build_query_as().fetch_all(pool).await?);
    }
    Ok(found)
}

/// See `pg::write_activities`. Parents go in chunks, each with its own
/// activities, so every statement stays under the parameter limit.
async fn write_activities(
    tx: &mut SqliteConnection,
    rows: &PageRows<'_>,
) -> Result<(), sqlx::Error> {
    let (system, stream) = (rows.system, rows.stream);
    let mut by_parent: std::collections::HashMap<&str, Vec<&ActivityRow>> =
        std::collections::HashMap::new();
    for a in &rows.activities {
        by_parent.entry(a.parent).or_default().push(a);
    }
    for parents in rows.activity_parents.chunks(CHUNK) {
        let mine: Vec<&ActivityRow> = parents
            .iter()
            .flat_map(|p| by_parent.get(p).into_iter().flatten().copied())
            .collect();
        let mut qb = QueryBuilder::<Sqlite>::new("DELETE FROM activities WHERE source_system = ");
        qb.push_bind(system)
            .push(" AND work_item_id IN (SELECT id FROM work_items WHERE source_system = ")
            .push_bind(system)
            .push(" AND source_stream = ")
            .push_bind(stream)
            .push(" AND external_id IN (");
        let mut list = qb.separated(", ");
        for p in parents {
            list.push_bind(*p);
        }
        qb.push("))");
        if !mine.is_empty() {
            qb.push(" AND external_id NOT IN (");
            let mut list = qb.separated(", ");
            for a in &mine {
                list.push_bind(&a.external_id);
            }
            qb.push(")");
        }
        qb.build().execute(&mut *tx).await?;
        for chunk in mine.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "WITH u(parent, ext, kind, author, body, from_status, to_status, occurred_at, visibility) AS (",
            );
            qb.push_values(chunk, |mut row, a| {
                row.push_bind(a.parent)
                    .push_bind(&a.external_id)
                    .push_bind(&a.activity.kind)
                    .push_bind(&a.activity.author_ref)
                    .push_bind(&a.activity.body)
                    .push_bind(&a.activity.from_status)
                    .push_bind(&a.activity.to_status)
                    .push_bind(a.activity.occurred_at)
                    .push_bind(&a.activity.visibility);
            });
            // `WHERE true` tells SQLite's parser the ON CONFLICT below is the
            // upsert clause, not part of the join.
            qb.push(format!(
                ") INSERT INTO activities ({}) \
                 SELECT w.id, u.kind, u.author, u.body, u.from_status, u.to_status, u.occurred_at, \
                 COALESCE(u.visibility, 'internal'), ",
                super::ACTIVITY_COLUMNS
            ))
            .push_bind(system)
            .push(", u.ext FROM u JOIN work_items w ON w.source_system = ")
            .push_bind(system)
            .push(" AND w.source_stream = ")
            .push_bind(stream)
            .push(" AND w.external_id = u.parent WHERE true")
            .push(super::ACTIVITY_CONFLICT);
            qb.build().execute(&mut *tx).await?;
        }
    }
    Ok(())
}

pub(super) async fn write(
    tx: &mut SqliteConnection,
    rows: &PageRows<'_>,
) -> Result<(), sqlx::Error> {
    let (system, stream, version, now) = (rows.system, rows.stream, rows.version, rows.now);
    for chunk in rows.mapped.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO source_records (source_system, source_stream, external_id, content_hash, mapping_version, payload, last_changed_at) ",
        );
        qb.push_values(chunk, |mut row, r| {
            row.push_bind(system)
                .push_bind(stream)
                .push_bind(&r.external_id)
                .push_bind(&r.content_hash)
                .push_bind(version)
                .push_bind(&r.payload_json)
                .push_bind(now);
        });
        qb.push(super::SOURCE_RECORD_CONFLICT);
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in rows.work_items.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO work_items ({}) ",
            super::WORK_ITEM_COLUMNS
        ));
        qb.push_values(chunk, |mut row, (key, w): &(&str, &WorkItem)| {
            row.push_bind(system)
                .push_bind(stream)
                .push_bind(*key)
                .push_bind(&w.external_url)
                .push_bind(&w.kind)
                .push_bind(&w.title)
                .push_bind(&w.description)
                .push_bind(&w.status)
                .push_bind(&w.native_status)
                .push_bind(w.priority)
                .push_bind(&w.requester_ref)
                .push_bind(&w.department)
                .push_bind(&w.assignee_group)
                .push_bind(&w.service)
                .push_bind(&w.location_ref)
                .push_bind(w.opened_at)
                .push_bind(w.updated_at)
                .push_bind(w.resolved_at)
                .push_bind(w.closed_at)
                .push_bind(w.due_at)
                .push_bind(Json(&w.attributes))
                .push_bind(Json(&w.classified))
                .push_bind(w.requester_id)
                .push_bind(version)
                .push_bind(now);
        });
        qb.push(super::WORK_ITEM_CONFLICT);
        qb.build().execute(&mut *tx).await?;
    }
    write_activities(tx, rows).await?;
    for chunk in rows.people.chunks(CHUNK) {
        let mut qb =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO people ({}) ", super::PERSON_COLUMNS));
        qb.push_values(chunk, |mut row, (key, p): &(&str, &Person)| {
            row.push_bind(system)
                .push_bind(stream)
                .push_bind(*key)
                .push_bind(&p.display_name)
                .push_bind(&p.email)
                .push_bind(&p.employee_number)
                .push_bind(&p.department)
                .push_bind(&p.org_unit_ref)
                .push_bind(&p.location_ref)
                .push_bind(&p.manager_ref)
                .push_bind(p.active)
                .push_bind(Json(&p.attributes))
                .push_bind(Json(&p.classified))
                .push_bind(p.manager_id)
                .push_bind(p.org_unit_id)
                .push_bind(super::page::identity(system, stream, key, p))
                .push_bind(version)
                .push_bind(now)
                .push_bind(p.start_date)
                .push_bind(p.end_date);
        });
        qb.push(super::PERSON_CONFLICT);
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in rows.org_units.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO org_units ({}) ",
            super::ORG_UNIT_COLUMNS
        ));
        qb.push_values(chunk, |mut row, (key, o): &(&str, &OrgUnit)| {
            row.push_bind(system)
                .push_bind(stream)
                .push_bind(*key)
                .push_bind(&o.name)
                .push_bind(&o.code)
                .push_bind(&o.parent_ref)
                .push_bind(o.parent_id)
                .push_bind(Json(&o.attributes))
                .push_bind(version)
                .push_bind(now);
        });
        qb.push(super::ORG_UNIT_CONFLICT);
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in rows.offerings.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO offerings ({}) ",
            super::OFFERING_COLUMNS
        ));
        qb.push_values(chunk, |mut row, (key, o): &(&str, &Offering)| {
            row.push_bind(system)
                .push_bind(stream)
                .push_bind(*key)
                .push_bind(&o.name)
                .push_bind(&o.description)
                .push_bind(&o.department)
                .push_bind(&o.category)
                .push_bind(&o.external_url)
                .push_bind(o.is_active())
                .push_bind(Json(&o.attributes))
                .push_bind(version)
                .push_bind(now);
        });
        qb.push(super::OFFERING_CONFLICT);
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in rows.rejected.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO quarantine (source_system, source_stream, external_id, reason, payload, mapping_version, last_seen_at) ",
        );
        qb.push_values(chunk, |mut row, (r, reason)| {
            row.push_bind(system)
                .push_bind(stream)
                .push_bind(&r.external_id)
                .push_bind(*reason)
                .push_bind(&r.payload_json)
                .push_bind(version)
                .push_bind(now);
        });
        qb.push(super::QUARANTINE_CONFLICT);
        qb.build().execute(&mut *tx).await?;
    }
    // A record that maps cleanly now leaves quarantine.
    for chunk in rows.mapped.chunks(KEYS) {
        let mut qb = QueryBuilder::<Sqlite>::new("DELETE FROM quarantine WHERE source_system = ");
        qb.push_bind(system)
            .push(" AND source_stream = ")
            .push_bind(stream)
            .push(" AND external_id IN (");
        let mut list = qb.separated(", ");
        for r in chunk {
            list.push_bind(&r.external_id);
        }
        qb.push(")");
        qb.build().execute(&mut *tx).await?;
    }
    if let Some(cursor) = rows.cursor {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO sync_state (source_system, source_stream, cursor, updated_at) VALUES (",
        );
        let mut values = qb.separated(", ");
        values
            .push_bind(system)
            .push_bind(stream)
            .push_bind(cursor)
            .push_bind(now);
        qb.push(")").push(super::CURSOR_CONFLICT);
        qb.build().execute(&mut *tx).await?;
    }
    Ok(())
}
