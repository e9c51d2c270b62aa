//! One BambooHR employee as the simulator keeps it, and how each API names
//! and writes its fields. The v1 endpoints (directory, get employee, custom
//! reports) use the short names of the "Field Names" list (`workEmail`,
//! `jobTitle`, `supervisorEId`); the `employee` dataset uses its own,
//! section-qualified names (`email`, `jobInformationJobTitle`,
//! `jobInformationReportsTo`), as the v2 datasets reference warns.
//!
//! Every v1 value is a string (ids included), dates are `YYYY-MM-DD` and
//! change times ISO 8601 in UTC with an explicit offset
//! (`2011-06-02T19:26:23+00:00`), as in the docs' samples.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

/// An employee record.
#[derive(Debug, Clone, PartialEq)]
pub struct Employee {
    /// The immutable internal id (`id` in v1, `eeid` in the dataset).
    pub id: u64,
    /// "Employee #", assigned by the company and editable.
    pub employee_number: String,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub work_email: Option<String>,
    pub work_phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub job_title: String,
    pub department: String,
    pub division: String,
    pub location: String,
    /// The supervisor's internal id.
    pub supervisor: Option<u64>,
    /// `Active` or `Inactive` (terminated, or hired from a future date).
    pub status: String,
    /// The current employment status: `Full-Time`, `Part-Time`,
    /// `Contractor`, or `Terminated`.
    pub employment_status: String,
    pub hire_date: NaiveDate,
    pub termination_date: Option<NaiveDate>,
    pub created: DateTime<Utc>,
    /// Bumped by every change to any field.
    pub last_changed: DateTime<Utc>,
}

/// v1 fields the simulator knows: (name, type, label) as the directory's
/// fieldset and custom reports describe them.
pub const V1_FIELDS: &[(&str, &str, &str)] = &[
    ("displayName", "text", "Display name"),
    ("firstName", "text", "First name"),
    ("lastName", "text", "Last name"),
    ("preferredName", "text", "Preferred name"),
    ("employeeNumber", "text", "Employee #"),
    ("jobTitle", "list", "Job title"),
    ("workPhone", "text", "Work Phone"),
    ("mobilePhone", "text", "Mobile Phone"),
    ("workEmail", "email", "Work Email"),
    ("department", "list", "Department"),
    ("location", "list", "Location"),
    ("division", "list", "Division"),
    ("supervisor", "employee", "Supervisor"),
    ("supervisorEId", "int", "Supervisor EID"),
    ("supervisorId", "text", "Supervisor ID"),
    ("status", "status", "Status"),
    ("employmentHistoryStatus", "list", "Employment Status"),
    ("hireDate", "date", "Hire date"),
    ("terminationDate", "date", "Termination date"),
    ("lastChanged", "timestamp", "Last changed"),
    ("photoUploaded", "bool", "Employee photo"),
    ("photoUrl", "url", "Photo URL"),
    ("canUploadPhoto", "int", "Can upload photo"),
];

/// The fieldset the directory publishes with full directory sharing.
pub const DIRECTORY_FIELDS: &[&str] = &[
    "displayName",
    "firstName",
    "lastName",
    "preferredName",
    "jobTitle",
    "workPhone",
    "mobilePhone",
    "workEmail",
    "department",
    "location",
    "division",
    "supervisor",
    "photoUploaded",
    "photoUrl",
    "canUploadPhoto",
];

/// How a dataset field may be filtered: ordering operators only on dates
/// and numbers, `in` with several values only on options fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Int,
    Date,
    Options,
}

/// `employee` dataset fields: (name, type). The docs say the catalogue is
/// per account (Get Fields from Dataset lists it); these are the names
/// clients of real accounts request.
pub const DATASET_FIELDS: &[(&str, FieldType)] = &[
    ("eeid", FieldType::Int),
    ("employeeNumber", FieldType::Text),
    ("firstName", FieldType::Text),
    ("lastName", FieldType::Text),
    ("preferredName", FieldType::Text),
    ("email", FieldType::Text),
    ("workPhone", FieldType::Text),
    ("mobilePhone", FieldType::Text),
    ("jobInformationJobTitle", FieldType::Options),
    ("jobInformationDepartment", FieldType::Options),
    ("jobInformationDivision", FieldType::Options),
    ("jobInformationLocation", FieldType::Options),
    ("jobInformationReportsTo", FieldType::Text),
    ("supervisorEid", FieldType::Int),
    ("status", FieldType::Options),
    ("employmentStatus", FieldType::Options),
    ("hireDate", FieldType::Date),
    ("terminationDate", FieldType::Date),
    ("lastChanged", FieldType::Date),
];

pub fn dataset_field_type(name: &str) -> Option<FieldType> {
    DATASET_FIELDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// A change time as the API writes it.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn text(s: &str) -> Value {
    if s.is_empty() { Value::Null } else { json!(s) }
}

fn opt(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::Null, text)
}

fn date(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| json!(d.format("%Y-%m-%d").to_string()))
}

impl Employee {
    /// The name BambooHR shows: the preferred first name if there is one.
    pub fn display_name(&self) -> String {
        let first = self.preferred_name.as_deref().unwrap_or(&self.first_name);
        format!("{first} {}", self.last_name)
    }

    fn boss<'a>(&self, all: &'a BTreeMap<u64, Employee>) -> Option<&'a Employee> {
        self.supervisor.and_then(|s| all.get(&s))
    }

    /// A v1 field by name; `None` for a name the simulator does not know
    /// (the API drops those from the answer).
    pub fn v1_field(&self, name: &str, all: &BTreeMap<u64, Employee>) -> Option<Value> {
        let boss = self.boss(all);
        Some(match name {
            "id" => json!(self.id.to_string()),
            "displayName" => json!(self.display_name()),
            "firstName" => text(&self.first_name),
            "lastName" => text(&self.last_name),
            "preferredName" => opt(&self.preferred_name),
            "employeeNumber" => text(&self.employee_number),
            "jobTitle" => text(&self.job_title),
            "workPhone" => opt(&self.work_phone),
            "mobilePhone" => opt(&self.mobile_phone),
            "workEmail" => opt(&self.work_email),
            "department" => text(&self.department),
            "location" => text(&self.location),
            "division" => text(&self.division),
            "supervisor" => boss.map_or(Value::Null, |b| json!(b.display_name())),
            "supervisorEId" => boss.map_or(Value::Null, |b| json!(b.id.to_string())),
            "supervisorId" => boss.map_or(Value::Null, |b| text(&b.employee_number)),
            "status" => json!(self.status),
            "employmentHistoryStatus" => text(&self.employment_status),
            "hireDate" => date(Some(self.hire_date)),
            "terminationDate" => date(self.termination_date),
            "lastChanged" => json!(fmt_time(self.last_changed)),
            "photoUploaded" => json!(false),
            "photoUrl" => json!("https://resources.bamboohr.com/images/photo_person_150x150.png"),
            "canUploadPhoto" => json!(0),
            _ => return None,
        })
    }

    /// An `employee` dataset field by name.
    pub fn dataset_field(&self, name: &str, all: &BTreeMap<u64, Employee>) -> Option<Value> {
        let v1 = |n: &str| self.v1_field(n, all);
        match name {
            "eeid" => v1("id"),
            "email" => v1("workEmail"),
            "jobInformationJobTitle" => v1("jobTitle"),
            "jobInformationDepartment" => v1("department"),
            "jobInformationDivision" => v1("division"),
            "jobInformationLocation" => v1("location"),
            "jobInformationReportsTo" => v1("supervisor"),
            "supervisorEid" => v1("supervisorEId"),
            "employmentStatus" => v1("employmentHistoryStatus"),
            "employeeNumber" | "firstName" | "lastName" | "preferredName" | "workPhone"
            | "mobilePhone" | "status" | "hireDate" | "terminationDate" | "lastChanged" => v1(name),
            _ => None,
        }
    }

    /// The value a dataset filter or sort compares: dates and times as
    /// instants, numbers as numbers, the rest as text.
    pub fn dataset_sort_key(&self, name: &str, all: &BTreeMap<u64, Employee>) -> SortKey {
        match name {
            "lastChanged" => SortKey::Time(Some(self.last_changed)),
            "hireDate" => SortKey::Time(self.hire_date.and_hms_opt(0, 0, 0).map(|t| t.and_utc())),
            "terminationDate" => SortKey::Time(
                self.termination_date
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc()),
            ),
            "eeid" => SortKey::Num(Some(self.id)),
            "supervisorEid" => SortKey::Num(self.supervisor),
            _ => SortKey::Text(
                self.dataset_field(name, all)
                    .and_then(|v| v.as_str().map(str::to_string)),
            ),
        }
    }
}

/// A comparable dataset value; empty values sort first, as `None` does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Time(Option<DateTime<Utc>>),
    Num(Option<u64>),
    Text(Option<String>),
}
