//! The employee endpoints of the Personnel Data API v1:
//!
//! - `GET /v1/company/employees`: `limit` (default 50, at most 100, as
//!   enforced since January 2025) and `offset`, a *record* offset ("the
//!   first item in the collection to return"; the adoption guide: "the
//!   starting position for the employee records"). The body carries
//!   `metadata {total_elements, current_page, total_pages}` with
//!   `current_page` counted from 0, plus the `offset` and `limit` used.
//!   `email` filters to one employee (ignored with `updated_since`);
//!   `attributes[]` projects, and with `updated_since` also selects the
//!   employees that had one of those attributes changed; `updated_since`
//!   (ISO 8601, `2022-12-24T08:15:30`) keeps employees updated after it, and
//!   is paged like any other request.
//! - `GET /v1/company/employees/{id}`.
//! - `POST /v1/company/employees` and `PATCH /v1/company/employees/{id}`,
//!   JSON `{"employee": {…}}` or form `employee[field]=…`; email cannot be
//!   updated; unknown department or office names are ignored and reported
//!   under `meta`. Both answer `{"success": true, "data": {"id", "message"}}`.
//!
//! Assumed where the docs are silent: employees are listed in id order; a
//! naive `updated_since` is read in the company's time zone, one with an
//! offset as that instant; "after" is strict; `supervisor_id`, `status`,
//! `termination_date` and the birthday custom attribute are writable; error
//! wording (Laravel-style validation messages) and its 400 status.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::State;
use super::http::{error, respond};
use super::model::{BIRTHDAY_ATTRIBUTE, Employee, Unit, is_attribute};
use crate::request::Req;

const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 100;

pub(super) fn list(st: &State, req: &Req) -> Response {
    let limit = match req.param("limit").map(|v| v.trim().parse::<u64>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(l)) if (1..=MAX_LIMIT).contains(&l) => l,
        Some(_) => {
            let message = format!("The limit must be between 1 and {MAX_LIMIT}.");
            return error(StatusCode::BAD_REQUEST, 0, &message);
        }
    };
    let offset = match req.param("offset").map(|v| v.trim().parse::<u64>()) {
        None => 0,
        Some(Ok(o)) => o,
        Some(Err(_)) => {
            let message = "The offset must be an integer greater than or equal to 0.";
            return error(StatusCode::BAD_REQUEST, 0, message);
        }
    };
    let since = match req.param("updated_since").filter(|v| !v.is_empty()) {
        None => None,
        Some(raw) => match parse_since(raw, st.config.timezone) {
            Some(t) => Some(t),
            None => {
                let message = "The updated since does not match the format Y-m-d\\TH:i:s.";
                return error(StatusCode::BAD_REQUEST, 0, message);
            }
        },
    };
    let only: Vec<String> = req
        .params_named("attributes[]")
        .into_iter()
        .filter(|a| is_attribute(a))
        .collect();
    let only = (!only.is_empty()).then_some(only);
    let email = req.param("email").filter(|_| since.is_none());
    let selected: Vec<&Employee> = st
        .employees
        .values()
        .filter(|e| email.is_none_or(|m| e.email.eq_ignore_ascii_case(m)))
        .filter(|e| match (since, &only) {
            (None, _) => true,
            (Some(t), None) => e.last_modified_at > t,
            (Some(t), Some(attrs)) => attrs.iter().any(|a| e.changed_at(a) > t),
        })
        .collect();
    let total = selected.len() as u64;
    let tz = st.config.timezone;
    let data: Vec<Value> = selected
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|e| e.render(&st.employees, tz, only.as_deref()))
        .collect();
    respond(
        StatusCode::OK,
        &json!({
            "success": true,
            "metadata": {
                "total_elements": total,
                "current_page": offset / limit,
                "total_pages": total.div_ceil(limit),
            },
            "offset": offset,
            "limit": limit,
            "data": data,
        }),
    )
}

pub(super) fn show(st: &State, req: &Req, id: u64) -> Response {
    let only = req.params_named("attributes[]");
    let only = (!only.is_empty()).then_some(only);
    match st.employees.get(&id) {
        Some(e) => respond(
            StatusCode::OK,
            &json!({"success": true, "data": e.render(&st.employees, st.config.timezone, only.as_deref())}),
        ),
        None => not_found(),
    }
}

pub(super) fn create(st: &mut State, req: &Req) -> Response {
    let fields = match employee_fields(req) {
        Ok(f) => f,
        Err(message) => return invalid(&message),
    };
    let text = |k: &str| fields.get(k).and_then(scalar).filter(|s| !s.is_empty());
    let (Some(email), Some(first), Some(last)) =
        (text("email"), text("first_name"), text("last_name"))
    else {
        let message = "The email, first name and last name fields are required.";
        return error(StatusCode::BAD_REQUEST, 0, message);
    };
    if st
        .employees
        .values()
        .any(|e| e.email.eq_ignore_ascii_case(&email))
    {
        return error(
            StatusCode::BAD_REQUEST,
            0,
            "The email has already been taken.",
        );
    }
    let (patch, notes) = match Patch::parse(st, &fields) {
        Ok(p) => p,
        Err(message) => return invalid(&message),
    };
    let now = st.now();
    let id = st.next_id;
    st.next_id += 1;
    let mut e = super::seed::blank(id, &first, &last, &email, now);
    e.subcompany = Some(st.subcompany.clone());
    patch.apply(&mut e);
    // Documented: active when the hire date is not in the future, else onboarding.
    if patch.status.is_none() {
        e.status = if e.hire_date > now.date_naive() {
            "onboarding".into()
        } else {
            "active".into()
        };
    }
    st.employees.insert(id, e);
    written(id, notes)
}

pub(super) fn update(st: &mut State, req: &Req, id: u64) -> Response {
    if !st.employees.contains_key(&id) {
        return not_found();
    }
    let fields = match employee_fields(req) {
        Ok(f) => f,
        Err(message) => return invalid(&message),
    };
    if fields.contains_key("email") {
        let message = "Updating of the email field is not supported.";
        return error(StatusCode::BAD_REQUEST, 0, message);
    }
    let (patch, notes) = match Patch::parse(st, &fields) {
        Ok(p) => p,
        Err(message) => return invalid(&message),
    };
    st.edit(id, |e| patch.apply(e));
    written(id, notes)
}

fn written(id: u64, notes: Vec<String>) -> Response {
    let mut body = json!({"success": true, "data": {"id": id, "message": "success"}});
    if !notes.is_empty() {
        body["meta"] = json!({"errors": notes});
    }
    respond(StatusCode::OK, &body)
}

/// A request the API refuses as invalid.
fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, 0, message)
}

/// The spec's `Employee404ErrorResponse`, wording included.
fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, 0, "Es ist ein Problem aufgetreten")
}

/// The `employee` object of a JSON body, or the `employee[…]` fields of a form.
fn employee_fields(req: &Req) -> Result<Map<String, Value>, String> {
    let bad = || "The employee field is required.".to_string();
    if req
        .content_type()
        .starts_with("application/x-www-form-urlencoded")
    {
        let mut fields = Map::new();
        for (k, v) in url::form_urlencoded::parse(req.body).into_owned() {
            let Some(name) = k
                .strip_prefix("employee[")
                .and_then(|r| r.strip_suffix(']'))
            else {
                continue;
            };
            match name.strip_prefix("custom_attributes][") {
                Some(custom) => {
                    let entry = fields
                        .entry("custom_attributes")
                        .or_insert_with(|| json!({}));
                    entry[custom] = Value::String(v);
                }
                None => {
                    fields.insert(name.to_string(), Value::String(v));
                }
            }
        }
        return if fields.is_empty() {
            Err(bad())
        } else {
            Ok(fields)
        };
    }
    match serde_json::from_slice::<Value>(req.body) {
        Ok(Value::Object(mut body)) => match body.remove("employee") {
            Some(Value::Object(fields)) => Ok(fields),
            _ => Err(bad()),
        },
        _ => Err("The request body is not valid JSON.".into()),
    }
}

/// The writable fields of one create or update request, checked against
/// the company before anything is written.
#[derive(Default)]
struct Patch {
    first_name: Option<String>,
    last_name: Option<String>,
    gender: Option<String>,
    position: Option<String>,
    status: Option<String>,
    department: Option<Unit>,
    office: Option<Unit>,
    hire_date: Option<NaiveDate>,
    termination_date: Option<NaiveDate>,
    weekly_hours: Option<u32>,
    supervisor: Option<u64>,
    birthday: Option<NaiveDate>,
}

impl Patch {
    fn parse(st: &State, f: &Map<String, Value>) -> Result<(Patch, Vec<String>), String> {
        let invalid = |m: &str| m.to_string();
        let text = |k: &str| f.get(k).and_then(scalar).filter(|s| !s.is_empty());
        let date = |k: &str, label: &str| match text(k) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| invalid(&format!("The {label} does not match the format Y-m-d."))),
        };
        let mut notes = Vec::new();
        let mut p = Patch {
            first_name: text("first_name"),
            last_name: text("last_name"),
            position: text("position"),
            hire_date: date("hire_date", "hire date")?,
            termination_date: date("termination_date", "termination date")?,
            ..Patch::default()
        };
        if let Some(g) = text("gender") {
            if !matches!(g.as_str(), "male" | "female" | "diverse") {
                return Err(invalid("The selected gender is invalid."));
            }
            p.gender = Some(g);
        }
        if let Some(s) = text("status") {
            if !matches!(s.as_str(), "active" | "inactive" | "onboarding" | "leave") {
                return Err(invalid("The selected status is invalid."));
            }
            p.status = Some(s);
        }
        if let Some(h) = text("weekly_hours") {
            let hours = h.parse::<f64>().ok().filter(|h| (0.0..=168.0).contains(h));
            let Some(hours) = hours else {
                return Err(invalid("The weekly hours must be a number."));
            };
            p.weekly_hours = Some(hours.round() as u32);
        }
        if let Some(s) = text("supervisor_id") {
            match s
                .parse::<u64>()
                .ok()
                .filter(|id| st.employees.contains_key(id))
            {
                Some(id) => p.supervisor = Some(id),
                None => return Err(invalid("The selected supervisor id is invalid.")),
            }
        }
        let named = |units: &[Unit], name: &str| units.iter().find(|u| u.name == name).cloned();
        if let Some(d) = text("department") {
            p.department = named(&st.departments, &d);
            if p.department.is_none() {
                notes.push(format!(
                    "Department \"{d}\" does not exist and was ignored."
                ));
            }
        }
        if let Some(o) = text("office") {
            p.office = named(&st.offices, &o);
            if p.office.is_none() {
                notes.push(format!("Office \"{o}\" does not exist and was ignored."));
            }
        }
        if let Some(v) = f
            .get("custom_attributes")
            .and_then(|c| c.get(BIRTHDAY_ATTRIBUTE))
            .and_then(scalar)
        {
            match NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
                Ok(d) => p.birthday = Some(d),
                Err(_) => {
                    return Err(invalid(
                        "The date of birth does not match the format Y-m-d.",
                    ));
                }
            }
        }
        Ok((p, notes))
    }

    fn apply(&self, e: &mut Employee) {
        let set = |slot: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                *slot = v.clone();
            }
        };
        set(&mut e.first_name, &self.first_name);
        set(&mut e.last_name, &self.last_name);
        set(&mut e.gender, &self.gender);
        set(&mut e.position, &self.position);
        set(&mut e.status, &self.status);
        if let Some(d) = &self.department {
            e.department = Some(d.clone());
        }
        if let Some(o) = &self.office {
            e.office = Some(o.clone());
        }
        if let Some(h) = self.hire_date {
            e.hire_date = h;
        }
        if let Some(t) = self.termination_date {
            e.termination_date = Some(t);
        }
        if let Some(h) = self.weekly_hours {
            e.weekly_working_hours = h;
        }
        if let Some(s) = self.supervisor {
            e.supervisor = Some(s);
        }
        if let Some(b) = self.birthday {
            e.birthday = Some(b);
        }
    }
}

/// A JSON scalar as text; forms send everything as strings, JSON may not.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `updated_since`: RFC 3339 with its offset, or a naive ISO 8601 time in
/// the company's time zone.
fn parse_since(raw: &str, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    naive
        .and_local_timezone(tz)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}
