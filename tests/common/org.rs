//! An organisation at scale, for the API bench and the EXPLAIN tests: people, work items over four
//! years, their activities and routed links, written by PostgreSQL itself
//! (`generate_series`), so a million items take minutes, not hours.
//!
//! Everything is a function of the row number (no `random()`), so two runs
//! hold the same data and their figures compare.

use sqlx::PgPool;

/// How big the organisation is.
#[derive(Debug, Clone, Copy)]
pub struct Volume {
    pub items: i64,
    pub people: i64,
}

impl Volume {
    /// The size: a million items, a hundred thousand people.
    pub fn from_items(items: i64) -> Self {
        Volume {
            items,
            people: (items / 10).max(100),
        }
    }

    /// Value-stream cases (onboardings), one per hundred people.
    pub fn cases(&self) -> i64 {
        self.people / 100
    }
}

/// The window the KPI calls ask for: the last full quarter of the data.
pub const QUARTER: (&str, &str) = ("2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z");

/// A mixing of `n` into 0..m that looks random and is the same every run.
fn h(expr: &str, salt: i64, m: i64) -> String {
    format!("((({expr}) * 2654435761 + {salt}) % 4294967291 % {m})")
}

pub async fn seed(pool: &PgPool, v: Volume) -> Result<(), sqlx::Error> {
    let (n, p) = (v.items, v.people);
    let depts = "(ARRAY['IT','Facilities','HR','Finance','Engineering','Legal','Procurement','Maintenance'])";
    let statements = [
        format!(
            "INSERT INTO people (id, source_system, source_stream, external_id, display_name, email, \
             employee_number, department, active, mapping_version, identity) OVERRIDING SYSTEM VALUE \
             SELECT i, 'bamboohr', 'employees', 'E' || i, 'Person ' || i, \
                    'person' || i || '@example.com', lpad(i::text, 7, '0'), \
                    {depts}[1 + {}], i % 20 <> 0, 'bench', 'email:person' || i || '@example.com' \
             FROM generate_series(1, {p}) i",
            h("i", 7, 8)
        ),
        // Opened evenly over 2023 to 2026 in id order (as a store fills), a
        // tenth of the people raise most of the work, 6 % is still open.
        format!(
            "INSERT INTO work_items (id, source_system, source_stream, external_id, external_url, kind, \
             title, description, status, native_status, priority, requester_ref, requester_id, \
             department, assignee_group, opened_at, updated_at, resolved_at, closed_at, due_at, \
             attributes, mapping_version) OVERRIDING SYSTEM VALUE \
             SELECT i, s.system, s.stream, upper(s.system) || '-' || i, \
                    'https://' || s.system || '.example.com/' || i, s.kind, \
                    'Request ' || i, repeat('Something needs doing. ', 4), x.status, x.status, \
                    1 + i % 4, 'person' || x.who || '@example.com', x.who, \
                    {depts}[1 + {dept}], 'team-' || (i % 40), x.opened, \
                    COALESCE(x.closed, x.resolved, x.opened + interval '1 hour'), \
                    x.resolved, x.closed, \
                    CASE WHEN i % 4 < 2 THEN x.opened + interval '2 days' END, \
                    CASE WHEN i % 200 = 0 THEN '{{\"confidential\":\"hr\"}}'::jsonb ELSE '{{}}'::jsonb END, \
                    'bench' \
             FROM generate_series(1, {n}) i \
             CROSS JOIN LATERAL (SELECT (ARRAY['servicenow','jira','topdesk','maximo','odoo'])[1 + i % 5] AS system, \
                    (ARRAY['incident','issue','incident','workorder','ticket'])[1 + i % 5] AS stream, \
                    (ARRAY['incident','request','incident','work_order','request'])[1 + i % 5] AS kind) s \
             CROSS JOIN LATERAL (SELECT o.opened, o.status, o.who, \
                    CASE WHEN o.status IN ('resolved','closed') \
                         THEN o.opened + make_interval(mins => (30 + {res})::int) END AS resolved, \
                    CASE WHEN o.status = 'closed' \
                         THEN o.opened + make_interval(mins => (30 + {res})::int) + interval '1 day' END AS closed \
                    FROM (SELECT timestamptz '2023-01-01 00:00:00+00' \
                                 + make_interval(secs => (i::float8 / {n}) * 126230400 + {jit}) AS opened, \
                                 CASE WHEN {st} < 3 THEN 'open' WHEN {st} < 5 THEN 'in_progress' \
                                      WHEN {st} < 6 THEN 'waiting' WHEN {st} < 8 THEN 'cancelled' \
                                      WHEN {st} < 50 THEN 'resolved' ELSE 'closed' END AS status, \
                                 1 + CASE WHEN i % 3 = 0 THEN {few} ELSE {many} END AS who) o) x",
            dept = h("i", 3, 8),
            res = h("i", 11, 4320),
            jit = h("i", 13, 3600),
            st = h("i", 17, 100),
            few = h("i", 19, p / 10),
            many = h("i", 23, p),
        ),
        // Onboarding cases, the employee view's third way in.
        format!(
            "INSERT INTO work_items (id, source_system, source_stream, external_id, kind, title, \
             status, department, opened_at, updated_at, closed_at, mapping_version) OVERRIDING SYSTEM VALUE \
             SELECT {n} + c, 'switchboard', 'cases', 'onboarding:bamboohr:employees:E' || (c * 100), \
                    'case', 'Onboarding E' || (c * 100), CASE WHEN c % 3 = 0 THEN 'open' ELSE 'closed' END, \
                    'HR', timestamptz '2026-01-01 00:00:00+00' + make_interval(days => c % 300), \
                    timestamptz '2026-01-15 00:00:00+00' + make_interval(days => c % 300), \
                    CASE WHEN c % 3 <> 0 THEN timestamptz '2026-01-15 00:00:00+00' + make_interval(days => c % 300) END, \
                    'bench' FROM generate_series(1, {}) c",
            v.cases()
        ),
        format!(
            "SELECT setval(pg_get_serial_sequence('work_items', 'id'), {n} + {})",
            v.cases()
        ),
        format!("SELECT setval(pg_get_serial_sequence('people', 'id'), {p})"),
        // Three activities an item: the desk picks it up, the requester
        // answers, and it ends (or an agent writes, while still open).
        format!(
            "INSERT INTO activities (work_item_id, kind, author_ref, body, from_status, to_status, \
             occurred_at, source_system, external_id) \
             SELECT w.id, \
                    CASE WHEN j = 0 OR (j = 2 AND w.resolved_at IS NOT NULL) THEN 'status_change' ELSE 'comment' END, \
                    CASE WHEN j = 1 THEN w.requester_ref ELSE 'agent' || (w.id % 500) || '@example.com' END, \
                    CASE WHEN j = 0 OR (j = 2 AND w.resolved_at IS NOT NULL) THEN NULL ELSE 'A note on ' || w.id END, \
                    CASE WHEN j = 0 THEN 'new' WHEN j = 2 AND w.resolved_at IS NOT NULL THEN 'in_progress' END, \
                    CASE WHEN j = 0 THEN 'in_progress' WHEN j = 2 AND w.resolved_at IS NOT NULL THEN 'resolved' END, \
                    CASE WHEN j = 0 THEN w.opened_at + make_interval(mins => (5 + {pick})::int) \
                         WHEN j = 1 THEN w.opened_at + interval '4 hours' \
                         ELSE COALESCE(w.resolved_at, w.opened_at + interval '5 hours') END, \
                    w.source_system, 'A' || w.id || '-' || j \
             FROM work_items w CROSS JOIN generate_series(0, 2) j \
             WHERE w.source_system <> 'switchboard'",
            pick = h("w.id", 29, 240)
        ),
        // A tenth of ServiceNow's items routed to Maximo (work for facilities).
        format!(
            "INSERT INTO links (from_system, from_stream, from_id, to_system, to_id, relation, created_at) \
             SELECT 'servicenow', 'incident', 'SERVICENOW-' || i, 'maximo', 'MAXIMO-' || (i + 3), 'routed', \
                    timestamptz '2023-01-01 00:00:00+00' + make_interval(secs => (i::float8 / {n}) * 126230400 + 600) \
             FROM generate_series(10, {n} - 3, 10) i"
        ),
        "ANALYZE".to_string(),
    ];
    for sql in &statements {
        sqlx::query(sql).execute(pool).await?;
    }
    Ok(())
}
