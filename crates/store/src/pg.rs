//! PostgreSQL statements for a page: one `INSERT … SELECT FROM UNNEST(…)` per
//! table, binding one array per column. A 400-row `VALUES` list binds ~9000
//! parameters that the server parses and plans on every call; arrays bind a
//! couple of dozen whatever the page size.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::page::PageRows;

pub(super) async fn existing(
    pool: &PgPool,
    system: &str,
    stream: &str,
    keys: &[String],
) -> Result<Vec<super::page::ExistingRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT s.external_id, s.content_hash, s.mapping_version, {} FROM source_records s {} \
         WHERE s.source_system = $1 AND s.source_stream = $2 AND s.external_id = ANY($3)",
        super::page::EXISTING_STATE,
        super::page::EXISTING_JOINS
    ))
    .bind(system)
    .bind(stream)
    .bind(keys)
    .fetch_all(pool)
    .await
}

type Texts = Vec<Option<String>>;
type Times = Vec<Option<DateTime<Utc>>>;

fn texts<'a, T: 'a>(rows: &'a [T], f: impl Fn(&'a T) -> Option<&'a String>) -> Texts {
    rows.iter().map(|r| f(r).cloned()).collect()
}

fn json(value: &impl serde::Serialize) -> String {
    // Serializing a serde_json value cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// Replace this source's activities of the page's work items: those no
/// longer in the record go, the rest are upserted. Runs after the work items
/// are written, so new items have ids to join on.
async fn write_activities(tx: &mut PgConnection, rows: &PageRows<'_>) -> Result<(), sqlx::Error> {
    if rows.activity_parents.is_empty() {
        return Ok(());
    }
    let a = &rows.activities;
    let keep: Vec<&str> = a.iter().map(|r| r.external_id.as_str()).collect();
    sqlx::query(
        "DELETE FROM activities WHERE source_system = $1 AND NOT (external_id = ANY($4)) AND work_item_id IN \
         (SELECT id FROM work_items WHERE source_system = $1 AND source_stream = $2 AND external_id = ANY($3))",
    )
    .bind(rows.system)
    .bind(rows.stream)
    .bind(&rows.activity_parents)
    .bind(&keep)
    .execute(&mut *tx)
    .await?;
    if a.is_empty() {
        return Ok(());
    }
    let text = |f: fn(&crate::model::Activity) -> Option<&String>| -> Texts {
        a.iter().map(|r| f(r.activity).cloned()).collect()
    };
    sqlx::query(&format!(
        "INSERT INTO activities ({}) \
         SELECT w.id, u.kind, u.author, u.body, u.from_status, u.to_status, u.occurred_at, \
                COALESCE(u.visibility, 'internal'), $1, u.ext \
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
                     $10::timestamptz[], $11::text[]) \
              AS u(parent, ext, kind, author, body, from_status, to_status, occurred_at, visibility) \
         JOIN work_items w ON w.source_system = $1 AND w.source_stream = $2 AND w.external_id = u.parent{}",
        super::ACTIVITY_COLUMNS,
        super::ACTIVITY_CONFLICT
    ))
    .bind(rows.system)
    .bind(rows.stream)
    .bind(a.iter().map(|r| r.parent).collect::<Vec<_>>())
    .bind(&keep)
    .bind(a.iter().map(|r| r.activity.kind.as_str()).collect::<Vec<_>>())
    .bind(text(|a| a.author_ref.as_ref()))
    .bind(text(|a| a.body.as_ref()))
    .bind(text(|a| a.from_status.as_ref()))
    .bind(text(|a| a.to_status.as_ref()))
    .bind(a.iter().map(|r| r.activity.occurred_at).collect::<Times>())
    .bind(text(|a| a.visibility.as_ref()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn write(tx: &mut PgConnection, rows: &PageRows<'_>) -> Result<(), sqlx::Error> {
    let (system, stream, version, now) = (rows.system, rows.stream, rows.version, rows.now);
    if !rows.mapped.is_empty() {
        let ids: Vec<&str> = rows.mapped.iter().map(|r| r.external_id.as_str()).collect();
        let hashes: Vec<&str> = rows
            .mapped
            .iter()
            .map(|r| r.content_hash.as_str())
            .collect();
        let payloads: Vec<&str> = rows
            .mapped
            .iter()
            .map(|r| r.payload_json.as_str())
            .collect();
        sqlx::query(&format!(
            "INSERT INTO source_records (source_system, source_stream, external_id, content_hash, mapping_version, payload, last_changed_at) \
             SELECT $1, $2, u.id, u.hash, $3, u.payload::jsonb, $4 \
             FROM UNNEST($5::text[], $6::text[], $7::text[]) AS u(id, hash, payload){}",
            super::SOURCE_RECORD_CONFLICT
        ))
        .bind(system)
        .bind(stream)
        .bind(version)
        .bind(now)
        .bind(&ids)
        .bind(&hashes)
        .bind(&payloads)
        .execute(&mut *tx)
        .await?;

        sqlx::query(
            "DELETE FROM quarantine WHERE source_system = $1 AND source_stream = $2 AND external_id = ANY($3)",
        )
        .bind(system)
        .bind(stream)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    }
    if !rows.work_items.is_empty() {
        let w = &rows.work_items;
        let ids: Vec<&str> = w.iter().map(|(k, _)| *k).collect();
        let kinds: Vec<&str> = w.iter().map(|(_, w)| w.kind.as_str()).collect();
        let titles: Vec<&str> = w.iter().map(|(_, w)| w.title.as_str()).collect();
        let statuses: Vec<&str> = w.iter().map(|(_, w)| w.status.as_str()).collect();
        let priorities: Vec<Option<i16>> = w.iter().map(|(_, w)| w.priority).collect();
        let times = |f: fn(&crate::model::WorkItem) -> Option<DateTime<Utc>>| -> Times {
            w.iter().map(|(_, w)| f(w)).collect()
        };
        let attributes: Vec<String> = w.iter().map(|(_, w)| json(&w.attributes)).collect();
        let classified: Vec<String> = w.iter().map(|(_, w)| json(&w.classified)).collect();
        sqlx::query(&format!(
            "INSERT INTO work_items ({}) \
             SELECT $1, $2, u.id, u.url, u.kind, u.title, u.description, u.status, u.native_status, u.priority, \
                    u.requester_ref, u.department, u.assignee_group, u.service, u.location_ref, u.opened_at, \
                    u.updated_at, u.resolved_at, u.closed_at, u.due_at, u.attributes::jsonb, u.classified::jsonb, \
                    u.requester_id, $3, $4 \
             FROM UNNEST($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
                         $12::int2[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], \
                         $18::timestamptz[], $19::timestamptz[], $20::timestamptz[], $21::timestamptz[], \
                         $22::timestamptz[], $23::text[], $24::text[], $25::int8[]) \
               AS u(id, url, kind, title, description, status, native_status, priority, requester_ref, department, \
                    assignee_group, service, location_ref, opened_at, updated_at, resolved_at, closed_at, due_at, \
                    attributes, classified, requester_id){}",
            super::WORK_ITEM_COLUMNS,
            super::WORK_ITEM_CONFLICT
        ))
        .bind(system)
        .bind(stream)
        .bind(version)
        .bind(now)
        .bind(&ids)
        .bind(texts(w, |(_, w)| w.external_url.as_ref()))
        .bind(&kinds)
        .bind(&titles)
        .bind(texts(w, |(_, w)| w.description.as_ref()))
        .bind(&statuses)
        .bind(texts(w, |(_, w)| w.native_status.as_ref()))
        .bind(&priorities)
        .bind(texts(w, |(_, w)| w.requester_ref.as_ref()))
        .bind(texts(w, |(_, w)| w.department.as_ref()))
        .bind(texts(w, |(_, w)| w.assignee_group.as_ref()))
        .bind(texts(w, |(_, w)| w.service.as_ref()))
        .bind(texts(w, |(_, w)| w.location_ref.as_ref()))
        .bind(times(|w| w.opened_at))
        .bind(times(|w| w.updated_at))
        .bind(times(|w| w.resolved_at))
        .bind(times(|w| w.closed_at))
        .bind(times(|w| w.due_at))
        .bind(&attributes)
        .bind(&classified)
        .bind(w.iter().map(|(_, w)| w.requester_id).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    write_activities(tx, rows).await?;
    if !rows.people.is_empty() {
        let p = &rows.people;
        let ids: Vec<&str> = p.iter().map(|(k, _)| *k).collect();
        let active: Vec<Option<bool>> = p.iter().map(|(_, p)| p.active).collect();
        let attributes: Vec<String> = p.iter().map(|(_, p)| json(&p.attributes)).collect();
        let classified: Vec<String> = p.iter().map(|(_, p)| json(&p.classified)).collect();
        sqlx::query(&format!(
            "INSERT INTO people ({}) \
             SELECT $1, $2, u.id, u.display_name, u.email, u.employee_number, u.department, u.org_unit_ref, \
                    u.location_ref, u.manager_ref, u.active, u.attributes::jsonb, u.classified::jsonb, \
                    u.manager_id, u.org_unit_id, u.identity, $3, $4, u.start_date, u.end_date \
             FROM UNNEST($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
                         $12::text[], $13::bool[], $14::text[], $15::text[], $16::int8[], $17::int8[], $18::text[], \
                         $19::date[], $20::date[]) \
               AS u(id, display_name, email, employee_number, department, org_unit_ref, location_ref, manager_ref, \
                    active, attributes, classified, manager_id, org_unit_id, identity, start_date, end_date){}",
            super::PERSON_COLUMNS,
            super::PERSON_CONFLICT
        ))
        .bind(system)
        .bind(stream)
        .bind(version)
        .bind(now)
        .bind(&ids)
        .bind(texts(p, |(_, p)| p.display_name.as_ref()))
        .bind(texts(p, |(_, p)| p.email.as_ref()))
        .bind(texts(p, |(_, p)| p.employee_number.as_ref()))
        .bind(texts(p, |(_, p)| p.department.as_ref()))
        .bind(texts(p, |(_, p)| p.org_unit_ref.as_ref()))
        .bind(texts(p, |(_, p)| p.location_ref.as_ref()))
        .bind(texts(p, |(_, p)| p.manager_ref.as_ref()))
        .bind(&active)
        .bind(&attributes)
        .bind(&classified)
        .bind(p.iter().map(|(_, p)| p.manager_id).collect::<Vec<_>>())
        .bind(p.iter().map(|(_, p)| p.org_unit_id).collect::<Vec<_>>())
        .bind(
            p.iter()
                .map(|(k, p)| super::page::identity(system, stream, k, p))
                .collect::<Vec<_>>(),
        )
        .bind(p.iter().map(|(_, p)| p.start_date).collect::<Vec<_>>())
        .bind(p.iter().map(|(_, p)| p.end_date).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !rows.org_units.is_empty() {
        let o = &rows.org_units;
        let ids: Vec<&str> = o.iter().map(|(k, _)| *k).collect();
        let names: Vec<&str> = o.iter().map(|(_, o)| o.name.as_str()).collect();
        let attributes: Vec<String> = o.iter().map(|(_, o)| json(&o.attributes)).collect();
        sqlx::query(&format!(
            "INSERT INTO org_units ({}) \
             SELECT $1, $2, u.id, u.name, u.code, u.parent_ref, u.parent_id, u.attributes::jsonb, $3, $4 \
             FROM UNNEST($5::text[], $6::text[], $7::text[], $8::text[], $9::int8[], $10::text[]) \
               AS u(id, name, code, parent_ref, parent_id, attributes){}",
            super::ORG_UNIT_COLUMNS,
            super::ORG_UNIT_CONFLICT
        ))
        .bind(system)
        .bind(stream)
        .bind(version)
        .bind(now)
        .bind(&ids)
        .bind(&names)
        .bind(texts(o, |(_, o)| o.code.as_ref()))
        .bind(texts(o, |(_, o)| o.parent_ref.as_ref()))
        .bind(o.iter().map(|(_, o)| o.parent_id).collect::<Vec<_>>())
        .bind(&attributes)
        .execute(&mut *tx)
        .await?;
    }
    if !rows.offerings.is_empty() {
        let o = &rows.offerings;
        let ids: Vec<&str> = o.iter().map(|(k, _)| *k).collect();
        let names: Vec<&str> = o.iter().map(|(_, o)| o.name.as_str()).collect();
        let active: Vec<bool> = o.iter().map(|(_, o)| o.is_active()).collect();
        let attributes: Vec<String> = o.iter().map(|(_, o)| json(&o.attributes)).collect();
        sqlx::query(&format!(
            "INSERT INTO offerings ({}) \
             SELECT $1, $2, u.id, u.name, u.description, u.department, u.category, u.external_url, u.active, \
                    u.attributes::jsonb, $3, $4 \
             FROM UNNEST($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bool[], \
                         $12::text[]) \
               AS u(id, name, description, department, category, external_url, active, attributes){}",
            super::OFFERING_COLUMNS,
            super::OFFERING_CONFLICT
        ))
        .bind(system)
        .bind(stream)
        .bind(version)
        .bind(now)
        .bind(&ids)
        .bind(&names)
        .bind(texts(o, |(_, o)| o.description.as_ref()))
        .bind(texts(o, |(_, o)| o.department.as_ref()))
        .bind(texts(o, |(_, o)| o.category.as_ref()))
        .bind(texts(o, |(_, o)| o.external_url.as_ref()))
        .bind(&active)
        .bind(&attributes)
        .execute(&mut *tx)
        .await?;
    }
    if !rows.rejected.is_empty() {
        let r = &rows.rejected;
        let ids: Vec<&str> = r.iter().map(|(r, _)| r.external_id.as_str()).collect();
        let reasons: Vec<&str> = r.iter().map(|(_, reason)| *reason).collect();
        let payloads: Vec<&str> = r.iter().map(|(r, _)| r.payload_json.as_str()).collect();
        sqlx::query(&format!(
            "INSERT INTO quarantine (source_system, source_stream, external_id, reason, payload, mapping_version, last_seen_at) \
             SELECT $1, $2, u.id, u.reason, u.payload::jsonb, $3, $4 \
             FROM UNNEST($5::text[], $6::text[], $7::text[]) AS u(id, reason, payload){}",
            super::QUARANTINE_CONFLICT
        ))
        .bind(system)
        .bind(stream)
        .bind(version)
        .bind(now)
        .bind(&ids)
        .bind(&reasons)
        .bind(&payloads)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(cursor) = rows.cursor {
        sqlx::query(&format!(
            "INSERT INTO sync_state (source_system, source_stream, cursor, updated_at) VALUES ($1, $2, $3, $4){}",
            super::CURSOR_CONFLICT
        ))
        .bind(system)
        .bind(stream)
        .bind(cursor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
