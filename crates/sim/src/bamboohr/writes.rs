//! Create and update, as JSON objects of field name -> value:
//!
//! - `POST /v1/employees`: `firstName` and `lastName` are required (400
//!   otherwise); answers 201 with an empty body and a `Location` header
//!   naming the new employee (`…/v1/employees/{id}`), the only place the id
//!   is given back.
//! - `POST /v1/employees/{id}`: answers 200 with an empty body; 404 for an
//!   unknown id.
//!
//! Per the reference, a body that is not valid JSON or misses the required
//! fields is a 400, and a field given an invalid value (an unknown list
//! option, a malformed date, a duplicate work email) is a 409; both carry
//! the reason in `X-BambooHR-Error-Message`. Unknown field names are
//! ignored, as is the read-only `employmentHistoryStatus` (changed through
//! the employment status table). A change to any field moves
//! `lastChanged` to the clock.
//!
//! Assumed where the docs are silent: `supervisorEId` is writable (the web
//! app sets it through job information); the list fields (`department`,
//! `division`, `location`) accept only options some employee already has,
//! while `jobTitle` takes any text; an `Inactive` status with a termination
//! date makes the employment status `Terminated`; XML bodies are refused
//! with a 400 (only JSON is simulated).

use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::State;
use super::http::{content_type, empty, error, set_header};
use super::model::Employee;
use super::seed::{DEPARTMENTS, DIVISIONS, LOCATIONS};
use crate::request::Req;

/// The writable fields of one request, checked before anything is written.
#[derive(Default)]
struct Patch {
    text: Vec<(&'static str, Option<String>)>,
    supervisor: Option<u64>,
    status: Option<String>,
    hire_date: Option<NaiveDate>,
    /// `Some(None)` clears it.
    termination_date: Option<Option<NaiveDate>>,
}

/// Why a write is refused: the status and the `X-BambooHR-Error-Message`.
struct Refused(StatusCode, String);

impl Refused {
    fn answer(&self) -> Response {
        error(self.0, &self.1)
    }
}

fn body(req: &Req) -> Result<Map<String, Value>, Refused> {
    let bad = |m: &str| Refused(StatusCode::BAD_REQUEST, m.to_string());
    if content_type(req).contains("xml") {
        return Err(bad("XML request bodies are not simulated; send JSON"));
    }
    match serde_json::from_slice::<Value>(req.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad("The posted JSON is invalid")),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn invalid(field: &str) -> Refused {
    Refused(
        StatusCode::CONFLICT,
        format!("Invalid value for field {field}"),
    )
}

/// The options a list field has: the seeded ones and any in use.
fn options(st: &State, field: &str) -> Vec<String> {
    let seeded: Vec<&str> = match field {
        "department" => DEPARTMENTS.iter().map(|(d, ..)| *d).collect(),
        "division" => DIVISIONS.to_vec(),
        _ => LOCATIONS.to_vec(),
    };
    let used = st.employees.values().map(|e| match field {
        "department" => e.department.clone(),
        "division" => e.division.clone(),
        _ => e.location.clone(),
    });
    seeded.into_iter().map(str::to_string).chain(used).collect()
}

impl Patch {
    fn parse(st: &State, f: &Map<String, Value>, id: Option<u64>) -> Result<Patch, Refused> {
        let mut p = Patch::default();
        let get = |k: &str| f.get(k).and_then(scalar);
        let date =
            |k: &str, v: &str| NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| invalid(k));
        for k in [
            "firstName",
            "lastName",
            "preferredName",
            "workEmail",
            "workPhone",
            "mobilePhone",
            "employeeNumber",
            "jobTitle",
            "department",
            "division",
            "location",
        ] {
            let Some(v) = get(k) else { continue };
            let v = (!v.is_empty()).then_some(v);
            if let (Some(v), "department" | "division" | "location") = (&v, k)
                && !options(st, k).contains(v)
            {
                return Err(invalid(k));
            }
            if let (Some(v), "workEmail") = (&v, k) {
                let taken = st.employees.values().any(|e| {
                    Some(e.id) != id
                        && e.work_email
                            .as_deref()
                            .is_some_and(|m| m.eq_ignore_ascii_case(v))
                });
                if !v.contains('@') || taken {
                    return Err(invalid(k));
                }
            }
            p.text.push((k, v));
        }
        if let Some(s) = get("supervisorEId") {
            match s
                .parse::<u64>()
                .ok()
                .filter(|s| st.employees.contains_key(s) && Some(*s) != id)
            {
                Some(s) => p.supervisor = Some(s),
                None => return Err(invalid("supervisorEId")),
            }
        }
        if let Some(s) = get("status") {
            if !matches!(s.as_str(), "Active" | "Inactive") {
                return Err(invalid("status"));
            }
            p.status = Some(s);
        }
        if let Some(d) = get("hireDate") {
            p.hire_date = Some(date("hireDate", &d)?);
        }
        if let Some(d) = get("terminationDate") {
            p.termination_date = Some(if d.is_empty() {
                None
            } else {
                Some(date("terminationDate", &d)?)
            });
        }
        Ok(p)
    }

    fn apply(&self, e: &mut Employee) {
        for (k, v) in &self.text {
            let value = v.clone();
            match *k {
                "firstName" => e.first_name = value.unwrap_or_default(),
                "lastName" => e.last_name = value.unwrap_or_default(),
                "preferredName" => e.preferred_name = value,
                "workEmail" => e.work_email = value,
                "workPhone" => e.work_phone = value,
                "mobilePhone" => e.mobile_phone = value,
                "employeeNumber" => e.employee_number = value.unwrap_or_default(),
                "jobTitle" => e.job_title = value.unwrap_or_default(),
                "department" => e.department = value.unwrap_or_default(),
                "division" => e.division = value.unwrap_or_default(),
                _ => e.location = value.unwrap_or_default(),
            }
        }
        if let Some(s) = self.supervisor {
            e.supervisor = Some(s);
        }
        if let Some(s) = &self.status {
            e.status = s.clone();
        }
        if let Some(d) = self.hire_date {
            e.hire_date = d;
        }
        if let Some(t) = self.termination_date {
            e.termination_date = t;
        }
        if e.status == "Inactive" && e.termination_date.is_some() {
            e.employment_status = "Terminated".into();
        }
    }
}

pub(super) fn create(st: &mut State, req: &Req) -> Response {
    let fields = match body(req) {
        Ok(f) => f,
        Err(refused) => return refused.answer(),
    };
    let name = |k: &str| fields.get(k).and_then(scalar).filter(|s| !s.is_empty());
    let (Some(first), Some(last)) = (name("firstName"), name("lastName")) else {
        let message = "firstName and lastName are required";
        return error(StatusCode::BAD_REQUEST, message);
    };
    let patch = match Patch::parse(st, &fields, None) {
        Ok(p) => p,
        Err(refused) => return refused.answer(),
    };
    let id = st.insert(&first, &last, |e| patch.apply(e));
    let host = req
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let location = format!(
        "http://{host}/api/gateway.php/{}/v1/employees/{id}",
        st.config.company_domain
    );
    let mut resp = empty(StatusCode::CREATED);
    set_header(&mut resp, "location", &location);
    resp
}

pub(super) fn update(st: &mut State, req: &Req, id: u64) -> Response {
    if !st.employees.contains_key(&id) {
        return error(StatusCode::NOT_FOUND, "Employee not found");
    }
    let fields = match body(req) {
        Ok(f) => f,
        Err(refused) => return refused.answer(),
    };
    let patch = match Patch::parse(st, &fields, Some(id)) {
        Ok(p) => p,
        Err(refused) => return refused.answer(),
    };
    st.edit(id, |e| patch.apply(e));
    empty(StatusCode::OK)
}
