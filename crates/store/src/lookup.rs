//! Mapping lookups, resolved a page at a time inside the page's transaction:
//! one query per (entity, key) for all the page's references, never one per
//! record. Unresolved references follow their rule's policy: the record is
//! quarantined, the reference stays empty, or a placeholder is created.
//!
//! A placeholder holds only the key it was looked up by. When a real record
//! with that key is written, it adopts the placeholder's references and the
//! placeholder is deleted, in the same transaction.
//!
//! The SQL is the same on both backends; a macro instantiates it for each
//! connection type.

use std::collections::{BTreeSet, HashMap};

use crate::model::{Canonical, LookupEntity, LookupKey, LookupSlot, OnMissing};

use super::page::StagedRecord;

/// Keys per `IN (…)` list.
const KEYS: usize = 1000;

/// Where placeholders of global keys (email, employee number, code) live:
/// they belong to no one system.
const PLACEHOLDER_SYSTEM: &str = "switchboard";

fn table(entity: LookupEntity) -> &'static str {
    match entity {
        LookupEntity::Person => "people",
        LookupEntity::OrgUnit => "org_units",
    }
}

/// The column expression matched, and whether the key is system-local.
fn column(by: LookupKey) -> (&'static str, bool) {
    match by {
        LookupKey::Email => ("lower(email)", false),
        LookupKey::EmployeeNumber => ("employee_number", false),
        LookupKey::Code => ("code", false),
        LookupKey::ExternalId => ("external_id", true),
    }
}

fn by_name(by: LookupKey) -> &'static str {
    match by {
        LookupKey::Email => "email",
        LookupKey::EmployeeNumber => "employee_number",
        LookupKey::Code => "code",
        LookupKey::ExternalId => "external_id",
    }
}

/// Emails match whatever their case.
fn normalize(by: LookupKey, value: &str) -> String {
    match by {
        LookupKey::Email => value.trim().to_lowercase(),
        _ => value.trim().to_string(),
    }
}

type Group = (LookupEntity, LookupKey);

/// What a page asks for: distinct keys per group, and which of them may be
/// created as placeholders.
#[derive(Default)]
struct Wanted {
    keys: HashMap<Group, BTreeSet<String>>,
    placeholders: HashMap<Group, BTreeSet<String>>,
}

impl Wanted {
    fn of(records: &[StagedRecord]) -> Self {
        let mut w = Wanted::default();
        for r in records {
            let Ok(c) = &r.outcome else { continue };
            for l in c.lookups() {
                let key = normalize(l.by, &l.value);
                if key.is_empty() {
                    continue;
                }
                let group = (l.entity, l.by);
                if l.on_missing == OnMissing::Placeholder {
                    w.placeholders.entry(group).or_default().insert(key.clone());
                }
                w.keys.entry(group).or_default().insert(key);
            }
        }
        w
    }
}

/// A reference to a record written in the same page (a manager hired in
/// the same HR export as her reports): resolved once the page's rows are
/// written, in the same transaction.
#[derive(Debug)]
pub(super) struct Deferred {
    external_id: String,
    slot: LookupSlot,
    group: Group,
    key: String,
}

/// The keys this page's own records can be found by, per group.
fn provided(records: &[StagedRecord]) -> HashMap<Group, BTreeSet<String>> {
    let mut out: HashMap<Group, BTreeSet<String>> = HashMap::new();
    let mut add = |group: Group, key: Option<&String>| {
        if let Some(k) = key.filter(|k| !k.trim().is_empty()) {
            out.entry(group).or_default().insert(normalize(group.1, k));
        }
    };
    for r in records {
        let entity = match &r.outcome {
            Ok(Canonical::Person(p)) => {
                add((LookupEntity::Person, LookupKey::Email), p.email.as_ref());
                add(
                    (LookupEntity::Person, LookupKey::EmployeeNumber),
                    p.employee_number.as_ref(),
                );
                LookupEntity::Person
            }
            Ok(Canonical::OrgUnit(o)) => {
                add((LookupEntity::OrgUnit, LookupKey::Code), o.code.as_ref());
                LookupEntity::OrgUnit
            }
            _ => continue,
        };
        add((entity, LookupKey::ExternalId), Some(&r.external_id));
    }
    out
}

/// The table and column a slot's resolved id is written to.
fn slot_column(slot: LookupSlot) -> (&'static str, &'static str) {
    match slot {
        LookupSlot::Requester => ("work_items", "requester_id"),
        LookupSlot::Manager => ("people", "manager_id"),
        LookupSlot::OrgUnit => ("people", "org_unit_id"),
        LookupSlot::Parent => ("org_units", "parent_id"),
    }
}

fn set_id(c: &mut Canonical, slot: LookupSlot, id: Option<i64>) {
    match (c, slot) {
        (Canonical::WorkItem(w), LookupSlot::Requester) => w.requester_id = id,
        (Canonical::Person(p), LookupSlot::Manager) => p.manager_id = id,
        (Canonical::Person(p), LookupSlot::OrgUnit) => p.org_unit_id = id,
        (Canonical::OrgUnit(o), LookupSlot::Parent) => o.parent_id = id,
        _ => {}
    }
}

/// Set each record's resolved ids; a record with an unresolved `error`
/// lookup becomes a rejection naming the rule and the value. References to
/// records of this same page come back as deferrals.
fn apply(
    records: &mut [StagedRecord],
    found: &HashMap<(Group, String), i64>,
    in_page: &HashMap<Group, BTreeSet<String>>,
) -> Vec<Deferred> {
    let mut deferred = Vec::new();
    for r in records.iter_mut() {
        let Ok(c) = &mut r.outcome else { continue };
        let mut failed = None;
        let mut mine = Vec::new();
        for l in c.lookups().to_vec() {
            let group = (l.entity, l.by);
            let key = normalize(l.by, &l.value);
            if key.is_empty() {
                // Blank is no reference at all, not a reference to "".
                set_id(c, l.slot, None);
                continue;
            }
            let id = found.get(&(group, key.clone())).copied();
            if id.is_none() && in_page.get(&group).is_some_and(|keys| keys.contains(&key)) {
                mine.push(Deferred {
                    external_id: r.external_id.clone(),
                    slot: l.slot,
                    group,
                    key,
                });
                continue;
            }
            if id.is_none() && l.on_missing == OnMissing::Error && failed.is_none() {
                let what = match l.entity {
                    LookupEntity::Person => "person",
                    LookupEntity::OrgUnit => "org unit",
                };
                failed = Some(format!(
                    "rule `{}`: lookup found no {what} with {} = {:?}; it is retried when the record next changes (or use `on_missing = \"null\"` or `\"placeholder\"`)",
                    l.rule,
                    by_name(l.by),
                    l.value
                ));
            }
            set_id(c, l.slot, id);
        }
        match failed {
            Some(reason) => r.outcome = Err(reason),
            None => deferred.extend(mine),
        }
    }
    deferred
}

/// Pairs (placeholder id, real id) become one `CASE` per referencing column.
fn repoint_sql(table: &str, column: &str, pairs: &[(i64, i64)]) -> String {
    let cases: String = pairs
        .iter()
        .map(|(old, new)| format!(" WHEN {old} THEN {new}"))
        .collect();
    let olds: Vec<String> = pairs.iter().map(|(old, _)| old.to_string()).collect();
    format!(
        "UPDATE {table} SET {column} = CASE {column}{cases} END WHERE {column} IN ({})",
        olds.join(", ")
    )
}

macro_rules! backend {
    ($module:ident, $db:ty) => {
        pub(super) mod $module {
            use std::collections::HashMap;

            use sqlx::QueryBuilder;

            use super::*;

            type Conn = <$db as sqlx::Database>::Connection;

            /// Resolve the lookups of every mapped record in `records`.
            /// References to records of this page are returned, to
            /// [`settle`] once the page is written.
            pub async fn resolve(
                tx: &mut Conn,
                system: &str,
                records: &mut [StagedRecord],
            ) -> Result<Vec<Deferred>, sqlx::Error> {
                let wanted = Wanted::of(records);
                if wanted.keys.is_empty() {
                    return Ok(Vec::new());
                }
                let in_page = provided(records);
                let mut found = HashMap::new();
                for (&group, keys) in &wanted.keys {
                    let keys: Vec<&String> = keys.iter().collect();
                    find(tx, system, group, &keys, &mut found).await?;
                    let missing: Vec<&String> = wanted
                        .placeholders
                        .get(&group)
                        .into_iter()
                        .flatten()
                        .filter(|k| !found.contains_key(&(group, (*k).clone())))
                        .filter(|k| !in_page.get(&group).is_some_and(|p| p.contains(*k)))
                        .collect();
                    if !missing.is_empty() {
                        create_placeholders(tx, system, group, &missing).await?;
                        find(tx, system, group, &missing, &mut found).await?;
                    }
                }
                Ok(apply(records, &found, &in_page))
            }

            /// Fill in references to records written in this page.
            pub async fn settle(
                tx: &mut Conn,
                system: &str,
                stream: &str,
                deferred: &[Deferred],
            ) -> Result<(), sqlx::Error> {
                let mut by_group: HashMap<Group, Vec<&String>> = HashMap::new();
                for d in deferred {
                    by_group.entry(d.group).or_default().push(&d.key);
                }
                let mut found = HashMap::new();
                for (group, keys) in by_group {
                    find(tx, system, group, &keys, &mut found).await?;
                }
                let mut by_slot: HashMap<LookupSlot, Vec<(&str, i64)>> = HashMap::new();
                for d in deferred {
                    if let Some(id) = found.get(&(d.group, d.key.clone())) {
                        by_slot.entry(d.slot).or_default().push((&d.external_id, *id));
                    }
                }
                for (slot, pairs) in by_slot {
                    let (table, column) = slot_column(slot);
                    for chunk in pairs.chunks(KEYS) {
                        let mut qb = QueryBuilder::<$db>::new(format!(
                            "UPDATE {table} SET {column} = CASE external_id"
                        ));
                        for (external_id, id) in chunk {
                            qb.push(" WHEN ")
                                .push_bind(external_id.to_string())
                                .push(" THEN ")
                                .push_bind(*id);
                        }
                        qb.push(" END WHERE source_system = ")
                            .push_bind(system.to_string())
                            .push(" AND source_stream = ")
                            .push_bind(stream.to_string())
                            .push(" AND external_id IN (");
                        let mut list = qb.separated(", ");
                        for (external_id, _) in chunk {
                            list.push_bind(external_id.to_string());
                        }
                        qb.push(")");
                        qb.build().execute(&mut *tx).await?;
                    }
                }
                Ok(())
            }

            async fn find(
                tx: &mut Conn,
                system: &str,
                (entity, by): Group,
                keys: &[&String],
                found: &mut HashMap<(Group, String), i64>,
            ) -> Result<(), sqlx::Error> {
                let (col, local) = column(by);
                for chunk in keys.chunks(KEYS) {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT id, {col} FROM {} WHERE ",
                        table(entity)
                    ));
                    if local {
                        qb.push("source_system = ").push_bind(system.to_string()).push(" AND ");
                    }
                    qb.push(format!("{col} IN ("));
                    let mut list = qb.separated(", ");
                    for k in chunk {
                        list.push_bind((*k).clone());
                    }
                    // Real records before placeholders, then the oldest:
                    // the same key resolves the same way every time.
                    qb.push(") ORDER BY placeholder, id");
                    let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                    for (id, key) in rows {
                        found.entry(((entity, by), key)).or_insert(id);
                    }
                }
                Ok(())
            }

            async fn create_placeholders(
                tx: &mut Conn,
                system: &str,
                (entity, by): Group,
                keys: &[&String],
            ) -> Result<(), sqlx::Error> {
                let owner = match by {
                    LookupKey::ExternalId => system,
                    _ => PLACEHOLDER_SYSTEM,
                };
                let stream = format!("placeholder:{}", by_name(by));
                let (columns, key_column) = match (entity, by) {
                    (LookupEntity::Person, LookupKey::Email) => ("", Some("email")),
                    (LookupEntity::Person, LookupKey::EmployeeNumber) => ("", Some("employee_number")),
                    (LookupEntity::OrgUnit, LookupKey::Code) => (", name", Some("code")),
                    (LookupEntity::OrgUnit, _) => (", name", None),
                    _ => ("", None),
                };
                for chunk in keys.chunks(KEYS) {
                    let key_col = key_column.map(|c| format!(", {c}")).unwrap_or_default();
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO {} (source_system, source_stream, external_id, mapping_version, placeholder{columns}{key_col}) ",
                        table(entity)
                    ));
                    qb.push_values(chunk, |mut row, key| {
                        row.push_bind(owner.to_string())
                            .push_bind(stream.clone())
                            .push_bind((*key).clone())
                            .push_bind("placeholder")
                            .push_bind(true);
                        if !columns.is_empty() {
                            row.push_bind((*key).clone());
                        }
                        if key_column.is_some() {
                            row.push_bind((*key).clone());
                        }
                    });
                    qb.push(" ON CONFLICT (source_system, source_stream, external_id) DO NOTHING");
                    qb.build().execute(&mut *tx).await?;
                }
                Ok(())
            }

            /// Real records just written take over the placeholders that
            /// stand for them: references move, placeholders go.
            pub async fn adopt(
                tx: &mut Conn,
                system: &str,
                stream: &str,
                entity: LookupEntity,
                ids: &[&str],
            ) -> Result<(), sqlx::Error> {
                let table = table(entity);
                let global = match entity {
                    LookupEntity::Person => {
                        "(ph.source_stream = 'placeholder:email' AND lower(r.email) = ph.external_id) \
                         OR (ph.source_stream = 'placeholder:employee_number' AND r.employee_number = ph.external_id)"
                    }
                    LookupEntity::OrgUnit => {
                        "(ph.source_stream = 'placeholder:code' AND r.code = ph.external_id)"
                    }
                };
                let references: &[(&str, &str)] = match entity {
                    LookupEntity::Person => &[("work_items", "requester_id"), ("people", "manager_id")],
                    LookupEntity::OrgUnit => &[("people", "org_unit_id"), ("org_units", "parent_id")],
                };
                for chunk in ids.chunks(KEYS) {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT ph.id, MIN(r.id) FROM {table} ph JOIN {table} r \
                         ON NOT r.placeholder AND r.source_system = "
                    ));
                    qb.push_bind(system.to_string())
                        .push(" AND r.source_stream = ")
                        .push_bind(stream.to_string())
                        .push(" AND r.external_id IN (");
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push_bind(id.to_string());
                    }
                    qb.push(format!(
                        ") WHERE ph.placeholder AND ({global} \
                         OR (ph.source_stream = 'placeholder:external_id' AND ph.source_system = r.source_system \
                             AND ph.external_id = r.external_id)) GROUP BY ph.id"
                    ));
                    let pairs: Vec<(i64, i64)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                    if pairs.is_empty() {
                        continue;
                    }
                    for (table, column) in references {
                        sqlx::query(&repoint_sql(table, column, &pairs))
                            .execute(&mut *tx)
                            .await?;
                    }
                    let olds: Vec<String> = pairs.iter().map(|(old, _)| old.to_string()).collect();
                    sqlx::query(&format!("DELETE FROM {table} WHERE id IN ({})", olds.join(", ")))
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(())
            }
        }
    };
}

backend!(pg, sqlx::Postgres);
backend!(sqlite, sqlx::Sqlite);
