//! One Personio employee as the simulator keeps it, and its rendering in the
//! v1 wire shape: every attribute an object `{label, value, type,
//! universal_id}`, references (supervisor, department, office, …) nested as
//! `{type, attributes}` objects, dates and times with the company's UTC offset
//! (`2020-11-18T17:33:55+01:00`), as in the "List Company Employees" example of
//! `personio-personnel-data-api-oa3.yaml` (github.com/personio/api-docs).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

/// The custom ("dynamic") attribute holding the date of birth. Custom
/// attribute ids are per company; this one is the simulated company's.
pub const BIRTHDAY_ATTRIBUTE: &str = "dynamic_1146702";

/// A named object an employee points at: department, office, team, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub id: u64,
    pub name: String,
}

impl Unit {
    pub fn new(id: u64, name: &str) -> Self {
        Unit {
            id,
            name: name.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Employee {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// `male`, `female` or `diverse`.
    pub gender: String,
    /// `active`, `inactive`, `onboarding` or `leave`.
    pub status: String,
    pub position: String,
    pub supervisor: Option<u64>,
    /// `internal` or `external`.
    pub employment_type: String,
    pub weekly_working_hours: u32,
    pub hire_date: NaiveDate,
    pub contract_end_date: Option<NaiveDate>,
    pub termination_date: Option<NaiveDate>,
    pub termination_type: Option<String>,
    pub termination_reason: Option<String>,
    pub probation_period_end: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub last_modified_at: DateTime<Utc>,
    pub subcompany: Option<Unit>,
    pub office: Option<Unit>,
    pub department: Option<Unit>,
    pub team: Option<Unit>,
    pub cost_center: Option<Unit>,
    /// Monthly gross, in the company's currency.
    pub fix_salary: Option<u32>,
    pub vacation_day_balance: f64,
    pub birthday: Option<NaiveDate>,
    /// When each attribute last changed, for `updated_since` combined with
    /// `attributes[]`; an attribute not listed has not changed since creation.
    pub changed: BTreeMap<String, DateTime<Utc>>,
}

impl Employee {
    /// When `attribute` last changed.
    pub fn changed_at(&self, attribute: &str) -> DateTime<Utc> {
        self.changed
            .get(attribute)
            .copied()
            .unwrap_or(self.created_at)
    }

    /// `{"type": "Employee", "attributes": {…}}`. `only` projects onto the
    /// listed attributes (`attributes[]`); `id` is always included, since a
    /// record without it cannot be told apart (the docs do not say).
    pub fn render(
        &self,
        directory: &BTreeMap<u64, Employee>,
        tz: Tz,
        only: Option<&[String]>,
    ) -> Value {
        let mut attrs = Map::new();
        for (key, label, kind, universal) in ATTRIBUTES {
            let wanted = only.is_none_or(|o| *key == "id" || o.iter().any(|a| a == key));
            if wanted {
                let value = self.value_of(key, directory, tz);
                attrs.insert(key.to_string(), attribute(label, value, kind, *universal));
            }
        }
        json!({"type": "Employee", "attributes": attrs})
    }

    fn value_of(&self, key: &str, directory: &BTreeMap<u64, Employee>, tz: Tz) -> Value {
        let date =
            |d: &Option<NaiveDate>| d.map_or(Value::Null, |d| Value::String(fmt_date(d, tz)));
        let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
        match key {
            "id" => json!(self.id),
            "first_name" => json!(self.first_name),
            "last_name" => json!(self.last_name),
            "email" => json!(self.email),
            "gender" => json!(self.gender),
            "status" => json!(self.status),
            "position" => json!(self.position),
            "supervisor" => self
                .supervisor
                .and_then(|id| directory.get(&id))
                .map_or(Value::Null, |s| s.short()),
            "employment_type" => json!(self.employment_type),
            // The API sends weekly hours as a string ("40").
            "weekly_working_hours" => json!(self.weekly_working_hours.to_string()),
            "hire_date" => date(&Some(self.hire_date)),
            "contract_end_date" => date(&self.contract_end_date),
            "termination_date" => date(&self.termination_date),
            "termination_type" => text(&self.termination_type),
            "termination_reason" => text(&self.termination_reason),
            "probation_period_end" => date(&self.probation_period_end),
            "created_at" => json!(fmt_time(self.created_at, tz)),
            "last_modified_at" => json!(fmt_time(self.last_modified_at, tz)),
            "subcompany" => unit("Subcompany", &self.subcompany),
            "office" => unit("Office", &self.office),
            "department" => unit("Department", &self.department),
            "team" => unit("Team", &self.team),
            "cost_centers" => match &self.cost_center {
                Some(c) => {
                    json!([{"type": "CostCenter", "attributes": {"id": c.id, "name": c.name, "percentage": 100}}])
                }
                None => json!([]),
            },
            "fix_salary" => self.fix_salary.map_or(Value::Null, |s| json!(s)),
            "fix_salary_interval" => match self.fix_salary {
                Some(_) => json!("monthly"),
                None => Value::Null,
            },
            "hourly_salary" => json!(0),
            "vacation_day_balance" => json!(self.vacation_day_balance),
            "last_working_day" => date(&self.termination_date),
            "profile_picture" => json!(format!(
                "https://api.personio.de/v1/company/employees/{}/profile-picture",
                self.id
            )),
            BIRTHDAY_ATTRIBUTE => date(&self.birthday),
            _ => Value::Null,
        }
    }

    /// The short form used for a supervisor: id, names and email.
    fn short(&self) -> Value {
        json!({
            "type": "Employee",
            "attributes": {
                "id": attribute("ID", json!(self.id), "integer", Some("id")),
                "first_name": attribute("First name", json!(self.first_name), "standard", Some("first_name")),
                "last_name": attribute("Last name", json!(self.last_name), "standard", Some("last_name")),
                "email": attribute("Email", json!(self.email), "standard", Some("email")),
            }
        })
    }
}

/// Every attribute the simulated API credentials may read, in the order the
/// API lists them: (key, label, type, universal_id).
pub const ATTRIBUTES: &[(&str, &str, &str, Option<&str>)] = &[
    ("id", "ID", "integer", Some("id")),
    ("first_name", "First name", "standard", Some("first_name")),
    ("last_name", "Last name", "standard", Some("last_name")),
    ("email", "Email", "standard", Some("email")),
    ("gender", "Gender", "standard", Some("gender")),
    ("status", "Status", "standard", Some("status")),
    ("position", "Position", "standard", Some("position")),
    ("supervisor", "Supervisor", "standard", Some("supervisor")),
    (
        "employment_type",
        "Employment type",
        "standard",
        Some("employment_type"),
    ),
    (
        "weekly_working_hours",
        "Weekly hours",
        "standard",
        Some("weekly_working_hours"),
    ),
    ("hire_date", "Hire date", "date", Some("hire_date")),
    (
        "contract_end_date",
        "Contract ends",
        "date",
        Some("contract_end_date"),
    ),
    (
        "termination_date",
        "Termination date",
        "date",
        Some("termination_date"),
    ),
    (
        "termination_type",
        "Termination type",
        "standard",
        Some("termination_type"),
    ),
    (
        "termination_reason",
        "Termination reason",
        "standard",
        Some("termination_reason"),
    ),
    (
        "probation_period_end",
        "Probation period end",
        "date",
        Some("probation_period_end"),
    ),
    ("created_at", "created_at", "date", Some("created_at")),
    (
        "last_modified_at",
        "Last modified",
        "date",
        Some("last_modified_at"),
    ),
    ("subcompany", "Subcompany", "standard", Some("subcompany")),
    ("office", "Office", "standard", Some("office")),
    ("department", "Department", "standard", Some("department")),
    (
        "cost_centers",
        "Cost center",
        "standard",
        Some("cost_centers"),
    ),
    ("fix_salary", "Fix salary", "decimal", Some("fix_salary")),
    (
        "fix_salary_interval",
        "Salary interval",
        "standard",
        Some("fix_salary_interval"),
    ),
    (
        "hourly_salary",
        "Hourly salary",
        "decimal",
        Some("hourly_salary"),
    ),
    (
        "vacation_day_balance",
        "Vacation day balance",
        "decimal",
        Some("vacation_day_balance"),
    ),
    (
        "last_working_day",
        "Last day of work",
        "date",
        Some("last_working_day"),
    ),
    (
        "profile_picture",
        "Profile Picture",
        "standard",
        Some("profile_picture"),
    ),
    ("team", "Team", "standard", Some("team")),
    // Custom attributes carry no universal id unless Personio standardised
    // them (like `iban`); the docs' own example has `universal_id: null`.
    (BIRTHDAY_ATTRIBUTE, "Date of birth", "date", None),
];

/// Whether `name` is an attribute `attributes[]` may ask for.
pub fn is_attribute(name: &str) -> bool {
    ATTRIBUTES.iter().any(|(k, ..)| *k == name)
}

fn attribute(label: &str, value: Value, kind: &str, universal: Option<&str>) -> Value {
    json!({"label": label, "value": value, "type": kind, "universal_id": universal})
}

fn unit(kind: &str, u: &Option<Unit>) -> Value {
    match u {
        Some(u) => json!({"type": kind, "attributes": {"id": u.id, "name": u.name}}),
        None => Value::Null,
    }
}

/// A time as the API writes it: the company's wall clock with its offset.
pub fn fmt_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// A date as the API writes it: midnight in the company's time zone.
pub fn fmt_date(d: NaiveDate, tz: Tz) -> String {
    let midnight = d.and_time(chrono::NaiveTime::MIN);
    match midnight.and_local_timezone(tz).earliest() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => format!("{d}T00:00:00+00:00"),
    }
}
