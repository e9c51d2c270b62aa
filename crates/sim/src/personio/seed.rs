//! Deterministic seed data for the Personio simulator: a mid-sized company
//! with a managing director, one head per department reporting to her, and
//! staff reporting to their head. Statuses, hire and termination dates,
//! salaries and birthdays are drawn from the config's seed, and times are
//! offsets back from the clock, so the same seed and clock give the same
//! company and the data always looks recent.
//!
//! Ids grow with hiring order (the managing director and the heads first),
//! as Personio's do, so a report never comes before its supervisor in an
//! id-ordered listing.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::model::{Employee, Unit};
use crate::servicenow::seed::Rng;

/// The first employee id handed out; Personio ids are company-wide integers.
pub const FIRST_ID: u64 = 2_104_401;

/// (name, gender) pairs.
const FIRST: &[(&str, &str)] = &[
    ("Anna", "female"),
    ("Lukas", "male"),
    ("Sofia", "female"),
    ("Jonas", "male"),
    ("Mia", "female"),
    ("Felix", "male"),
    ("Lea", "female"),
    ("Paul", "male"),
    ("Clara", "female"),
    ("Elias", "male"),
    ("Marta", "female"),
    ("Javier", "male"),
    ("Ines", "female"),
    ("Tomasz", "male"),
    ("Aylin", "female"),
    ("Noah", "male"),
    ("Emma", "female"),
    ("Luca", "male"),
    ("Nora", "female"),
    ("Kim", "diverse"),
];
const LAST: &[&str] = &[
    "Bergmann",
    "Schneider",
    "Fischer",
    "Weber",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Koch",
    "Richter",
    "Wolf",
    "Garcia",
    "Moreno",
    "Kowalski",
    "Yilmaz",
    "de Vries",
    "Jansen",
    "Rossi",
    "Novak",
    "Lindqvist",
    "O'Brien",
];

/// Departments: (id, name, positions with the head's first).
const DEPARTMENTS: &[(u64, &str, &[&str])] = &[
    (281_520, "Management", &["Managing Director"]),
    (
        281_521,
        "Customer Support",
        &[
            "Head of Customer Support",
            "Support Specialist",
            "Senior Support Specialist",
            "Support Team Lead",
        ],
    ),
    (
        281_522,
        "Engineering",
        &[
            "VP Engineering",
            "Software Engineer",
            "Senior Software Engineer",
            "QA Engineer",
        ],
    ),
    (
        281_523,
        "Finance",
        &[
            "CFO",
            "Accountant",
            "Financial Controller",
            "Payroll Specialist",
        ],
    ),
    (
        281_524,
        "People & Culture",
        &[
            "Head of People",
            "HR Business Partner",
            "Recruiter",
            "HR Generalist",
        ],
    ),
    (
        281_525,
        "Marketing",
        &[
            "Head of Marketing",
            "Online Marketing Specialist",
            "Content Marketing Manager",
            "Designer",
        ],
    ),
    (
        281_526,
        "Sales",
        &[
            "Head of Sales",
            "Account Executive",
            "Sales Development Representative",
            "Key Account Manager",
        ],
    ),
    (
        281_527,
        "IT",
        &[
            "Head of IT",
            "IT Support Engineer",
            "System Administrator",
            "Security Engineer",
        ],
    ),
    (
        281_528,
        "Facilities",
        &["Facility Manager", "Office Manager", "Receptionist"],
    ),
];
const OFFICES: &[(u64, &str)] = &[
    (131_014, "Munich"),
    (131_015, "Berlin"),
    (131_016, "Madrid"),
    (131_017, "London"),
    (131_018, "Amsterdam"),
];
const TERMINATIONS: &[(&str, &str)] = &[
    ("employee", "New job"),
    ("employee", "Relocation"),
    ("employer", "Restructuring"),
    ("mutual", "End of project"),
];

/// What the simulator starts from.
pub struct Company {
    pub employees: BTreeMap<u64, Employee>,
    pub departments: Vec<Unit>,
    pub offices: Vec<Unit>,
    pub subcompany: Unit,
    pub next_id: u64,
}

pub fn departments() -> Vec<Unit> {
    DEPARTMENTS
        .iter()
        .map(|(id, name, _)| Unit::new(*id, name))
        .collect()
}

pub fn offices() -> Vec<Unit> {
    OFFICES
        .iter()
        .map(|(id, name)| Unit::new(*id, name))
        .collect()
}

pub fn subcompany() -> Unit {
    Unit::new(7033, "Acme Solutions GmbH")
}

/// An employee with only the required fields, as `POST /company/employees`
/// creates one; the caller fills in the rest.
pub fn blank(
    id: u64,
    first_name: &str,
    last_name: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Employee {
    Employee {
        id,
        first_name: first_name.to_string(),
        last_name: last_name.to_string(),
        email: email.to_string(),
        gender: String::new(),
        status: "active".into(),
        position: String::new(),
        supervisor: None,
        employment_type: "internal".into(),
        weekly_working_hours: 40,
        hire_date: now.date_naive(),
        contract_end_date: None,
        termination_date: None,
        termination_type: None,
        termination_reason: None,
        probation_period_end: None,
        created_at: now,
        last_modified_at: now,
        subcompany: Some(subcompany()),
        office: None,
        department: None,
        team: None,
        cost_center: None,
        fix_salary: None,
        vacation_day_balance: 0.0,
        birthday: None,
        changed: BTreeMap::new(),
    }
}

/// A company of `count` employees.
pub fn company(seed: u64, count: usize, now: DateTime<Utc>) -> Company {
    let mut rng = Rng::new(seed);
    let departments = departments();
    let offices = offices();
    let mut employees = BTreeMap::new();
    let mut heads: Vec<u64> = Vec::new();
    let mut used_emails: Vec<String> = Vec::new();
    let mut id = FIRST_ID;
    for n in 0..count {
        // Managing director, then one head per department, then staff.
        let (dept, head) = if n < DEPARTMENTS.len() {
            (n, true)
        } else {
            (1 + rng.below(DEPARTMENTS.len() as u64 - 1) as usize, false)
        };
        let (dept_id, dept_name, positions) = DEPARTMENTS[dept];
        let (first, gender) = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let email = unique_email(first, last, &used_emails);
        let position = if head {
            positions[0]
        } else {
            positions[1 + rng.below(positions.len() as u64 - 1) as usize]
        };
        let supervisor = match (n, head) {
            (0, _) => None,
            (_, true) => heads.first().copied(),
            (_, false) => heads.get(dept).copied(),
        };
        let mut e = blank(id, first, last, &email, now);
        e.gender = gender.into();
        e.position = position.into();
        e.supervisor = supervisor;
        e.department = departments.iter().find(|d| d.id == dept_id).cloned();
        e.office = Some(
            offices[if head {
                0
            } else {
                rng.below(offices.len() as u64) as usize
            }]
            .clone(),
        );
        e.cost_center = Some(Unit::new(
            82_900 + dept as u64,
            &format!("CC-{} {dept_name}", 1100 + dept * 100),
        ));
        e.fix_salary = Some(salary(&mut rng, head, position));
        e.birthday = NaiveDate::from_ymd_opt(
            1965 + rng.below(36) as i32,
            1 + rng.below(12) as u32,
            1 + rng.below(28) as u32,
        );
        e.vacation_day_balance = rng.below(61) as f64 / 2.0;
        if rng.below(8) == 0 && !head {
            e.weekly_working_hours = if rng.below(2) == 0 { 20 } else { 32 };
        }
        if rng.below(12) == 0 && !head {
            e.employment_type = "external".into();
        }
        // Earlier ids were hired earlier: hires spread over about nine years.
        let hired_days_ago = 3300 - (n * 3000 / count.max(1)) as i64;
        lifecycle(&mut e, &mut rng, head, hired_days_ago, now);
        if head {
            heads.push(id);
        }
        used_emails.push(email);
        employees.insert(id, e);
        id += 1 + rng.below(3);
    }
    Company {
        employees,
        departments,
        offices,
        subcompany: subcompany(),
        next_id: id,
    }
}

/// Status, dates and timestamps: mostly active staff, some on leave, some
/// onboarding (hired from a future date) and some who have left.
fn lifecycle(e: &mut Employee, rng: &mut Rng, head: bool, hired_days_ago: i64, now: DateTime<Utc>) {
    let today = now.date_naive();
    let roll = if head { 0 } else { rng.below(100) };
    e.status = match roll {
        0..80 => "active",
        80..88 => "inactive",
        88..94 => "onboarding",
        _ => "leave",
    }
    .into();
    e.hire_date = if e.status == "onboarding" {
        today + Duration::days(7 + rng.below(45) as i64)
    } else {
        today - Duration::days(hired_days_ago - rng.below(60) as i64)
    };
    e.probation_period_end = e.hire_date.checked_add_months(chrono::Months::new(6));
    if e.employment_type == "external" {
        // Contractors' contracts run for months ahead and get extended.
        e.contract_end_date = Some(today + Duration::days(90 + rng.below(300) as i64));
    }
    // Records are created when HR enters the hire, some weeks ahead.
    let entered = e.hire_date - Duration::days(14 + rng.below(30) as i64);
    let entered = entered.min(today - Duration::days(1));
    e.created_at = entered
        .and_hms_opt(
            8 + rng.below(9) as u32,
            rng.below(60) as u32,
            rng.below(60) as u32,
        )
        .map_or(now, |t| t.and_utc());
    if e.status == "inactive" {
        let left = today - Duration::days(1 + rng.below(150) as i64);
        e.termination_date = Some(left.max(e.hire_date + Duration::days(30)));
        let (kind, reason) = *rng.pick(TERMINATIONS);
        e.termination_type = Some(kind.into());
        e.termination_reason = Some(reason.into());
    }
    // The last edit falls between creation and an hour ago; a leaver's is
    // when HR entered the termination, some weeks before the last day.
    let latest = now - Duration::hours(1);
    let earliest = match e.termination_date {
        Some(left) => left
            .and_hms_opt(9, 0, 0)
            .map_or(e.created_at, |t| t.and_utc() - Duration::days(30))
            .clamp(e.created_at, latest),
        // Leave started recently; the status change is the last edit.
        None if e.status == "leave" => (now - Duration::days(120)).clamp(e.created_at, latest),
        None => e.created_at,
    };
    let span = (latest - earliest).num_seconds().max(1) as u64;
    e.last_modified_at = earliest + Duration::seconds(rng.below(span) as i64);
    let what = match e.status.as_str() {
        "inactive" => "termination_date",
        "leave" => "status",
        _ if e.hire_date.day().is_multiple_of(2) => "position",
        _ => "office",
    };
    e.changed.insert(what.into(), e.last_modified_at);
}

fn salary(rng: &mut Rng, head: bool, position: &str) -> u32 {
    let (low, high): (u32, u32) = if head {
        (7_000, 9_500)
    } else if position.starts_with("Senior") || position.contains("Manager") {
        (5_200, 6_800)
    } else {
        (3_400, 5_200)
    };
    (low + rng.below(u64::from((high - low) / 50)) as u32 * 50).min(high)
}

/// `first.last@acme-solutions.de`, lower case and ASCII, numbered on a clash.
fn unique_email(first: &str, last: &str, used: &[String]) -> String {
    let local: String = format!("{first}.{last}")
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let mut email = format!("{local}@acme-solutions.de");
    let mut n = 2;
    while used.contains(&email) {
        email = format!("{local}{n}@acme-solutions.de");
        n += 1;
    }
    email
}
