//! Deterministic seed data for the BambooHR simulator: a US company with a
//! CEO, one head per department reporting to her, and staff reporting to
//! their head. Divisions, locations, employment statuses, hire and
//! termination dates are drawn from the config's seed; times are offsets
//! back from the clock, so the same seed and clock give the same company
//! and the data always looks recent.
//!
//! Internal ids grow with hiring order, with gaps (deleted trial records
//! leave them in real accounts), and employee numbers are a separate
//! sequence, so a test cannot pass by confusing the two.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::model::Employee;
use crate::servicenow::seed::Rng;

/// The first internal id handed out.
pub const FIRST_ID: u64 = 101;
/// The first "Employee #".
pub const FIRST_NUMBER: u64 = 1001;

const FIRST: &[&str] = &[
    "Ashley",
    "Charlotte",
    "Christopher",
    "Daniel",
    "Dorothy",
    "Eric",
    "Jennifer",
    "Jessica",
    "Marcus",
    "Maria",
    "Nathan",
    "Olivia",
    "Priya",
    "Robert",
    "Samuel",
    "Sophia",
    "Trent",
    "Wei",
    "Yolanda",
    "Zoe",
];
const LAST: &[&str] = &[
    "Abbott",
    "Adams",
    "Arnold",
    "Caldwell",
    "Chen",
    "Garcia",
    "Gonzalez",
    "Hernandez",
    "Jackson",
    "Kim",
    "Martinez",
    "Nguyen",
    "O'Connor",
    "Patel",
    "Ramirez",
    "Sullivan",
    "Thompson",
    "Walker",
    "Washington",
    "Young",
];

/// Preferred names some employees go by.
const NICKNAMES: &[(&str, &str)] = &[
    ("Christopher", "Chris"),
    ("Daniel", "Dan"),
    ("Jennifer", "Jen"),
    ("Jessica", "Jess"),
    ("Nathan", "Nate"),
    ("Robert", "Bob"),
    ("Samuel", "Sam"),
    ("Zoe", "Zo"),
];

/// Departments: (name, division, job titles with the head's first).
pub const DEPARTMENTS: &[(&str, &str, &[&str])] = &[
    ("Executive", "North America", &["Chief Executive Officer"]),
    (
        "Engineering",
        "North America",
        &[
            "VP of Engineering",
            "Software Engineer",
            "Senior Software Engineer",
            "QA Engineer",
        ],
    ),
    (
        "Customer Success",
        "North America",
        &[
            "Director of Customer Success",
            "Customer Success Manager",
            "Support Specialist",
        ],
    ),
    (
        "Sales",
        "Europe",
        &[
            "VP of Sales",
            "Account Executive",
            "Sales Development Representative",
        ],
    ),
    (
        "Finance",
        "North America",
        &["Controller", "Accountant", "Payroll Specialist"],
    ),
    (
        "Human Resources",
        "North America",
        &["HR Director", "HR Generalist", "Recruiter"],
    ),
    (
        "IT",
        "North America",
        &[
            "IT Manager",
            "IT Support Technician",
            "Systems Administrator",
        ],
    ),
    (
        "Operations",
        "Europe",
        &[
            "Operations Manager",
            "Facilities Coordinator",
            "Office Manager",
        ],
    ),
];
pub const LOCATIONS: &[&str] = &["Lindon, Utah", "Austin, Texas", "London, UK", "Remote"];
pub const DIVISIONS: &[&str] = &["North America", "Europe"];
pub const EMPLOYMENT_STATUSES: &[&str] = &["Full-Time", "Part-Time", "Contractor", "Terminated"];

/// What the simulator starts from.
pub struct Company {
    pub employees: BTreeMap<u64, Employee>,
    pub next_id: u64,
    pub next_number: u64,
}

/// An employee with only a name, as `POST /v1/employees` creates one; the
/// caller fills in the rest.
pub fn blank(id: u64, number: u64, first: &str, last: &str, now: DateTime<Utc>) -> Employee {
    Employee {
        id,
        employee_number: number.to_string(),
        first_name: first.to_string(),
        last_name: last.to_string(),
        preferred_name: None,
        work_email: None,
        work_phone: None,
        mobile_phone: None,
        job_title: String::new(),
        department: String::new(),
        division: String::new(),
        location: String::new(),
        supervisor: None,
        status: "Active".into(),
        employment_status: "Full-Time".into(),
        hire_date: now.date_naive(),
        termination_date: None,
        created: now,
        last_changed: now,
    }
}

/// A company of `count` employees.
pub fn company(seed: u64, count: usize, now: DateTime<Utc>) -> Company {
    let mut rng = Rng::new(seed);
    let mut employees = BTreeMap::new();
    let mut heads: Vec<u64> = Vec::new();
    let mut emails: Vec<String> = Vec::new();
    let (mut id, mut number) = (FIRST_ID, FIRST_NUMBER);
    for n in 0..count {
        // The CEO, then one head per department, then staff.
        let head = n < DEPARTMENTS.len();
        let dept = if head {
            n
        } else {
            1 + rng.below(DEPARTMENTS.len() as u64 - 1) as usize
        };
        let (dept_name, division, titles) = DEPARTMENTS[dept];
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let mut e = blank(id, number, first, last, now);
        let email = unique_email(first, last, &emails);
        e.work_email = Some(email.clone());
        e.job_title = if head {
            titles[0].into()
        } else {
            titles[1 + rng.below(titles.len() as u64 - 1) as usize].into()
        };
        e.department = dept_name.into();
        e.division = division.into();
        e.location = if head || dept_name == "Executive" {
            LOCATIONS[0].into()
        } else {
            rng.pick(LOCATIONS).to_string()
        };
        e.supervisor = match (n, head) {
            (0, _) => None,
            (_, true) => heads.first().copied(),
            (_, false) => heads.get(dept).copied(),
        };
        e.work_phone = Some(format!("801-555-{:04}", 1000 + n));
        if rng.below(3) > 0 {
            e.mobile_phone = Some(format!("801-555-{:04}", 5000 + rng.below(4000)));
        }
        if rng.below(6) == 0 {
            e.preferred_name = NICKNAMES
                .iter()
                .find(|(name, _)| *name == first)
                .map(|(_, nick)| nick.to_string());
        }
        // Earlier ids were hired earlier: hires spread over about eight years.
        let hired_days_ago = 3000 - (n * 2900 / count.max(1)) as i64;
        lifecycle(&mut e, &mut rng, head, hired_days_ago, now);
        if head {
            heads.push(id);
        }
        emails.push(email);
        employees.insert(id, e);
        id += 1 + rng.below(3);
        number += 1;
    }
    Company {
        employees,
        next_id: id,
        next_number: number,
    }
}

/// Employment status, dates and change times: mostly full-time staff, some
/// part-timers and contractors, and about one in ten who has left.
fn lifecycle(e: &mut Employee, rng: &mut Rng, head: bool, hired_days_ago: i64, now: DateTime<Utc>) {
    let today = now.date_naive();
    let roll = if head { 0 } else { rng.below(100) };
    e.employment_status = match roll {
        0..72 => "Full-Time",
        72..82 => "Part-Time",
        82..90 => "Contractor",
        _ => "Terminated",
    }
    .into();
    e.hire_date = today - Duration::days(hired_days_ago - rng.below(45) as i64);
    // Records are entered some weeks before the first day.
    let entered =
        (e.hire_date - Duration::days(14 + rng.below(30) as i64)).min(today - Duration::days(1));
    e.created = at(entered, rng).unwrap_or(now);
    let left = today - Duration::days(1 + rng.below(200) as i64);
    if e.employment_status == "Terminated" && left >= e.hire_date + Duration::days(60) {
        e.status = "Inactive".into();
        e.termination_date = Some(left);
    } else if e.employment_status == "Terminated" {
        // Too recent a hire to have left already.
        e.employment_status = "Full-Time".into();
    }
    // The last change falls between creation and an hour ago; a leaver's is
    // when HR entered the termination, up to a month before the last day.
    let latest = now - Duration::hours(1);
    let earliest = match e.termination_date {
        Some(left) => at(left - Duration::days(30), rng)
            .unwrap_or(e.created)
            .clamp(e.created, latest),
        None => e.created.min(latest),
    };
    let span = (latest - earliest).num_seconds().max(1) as u64;
    e.last_changed = earliest + Duration::seconds(rng.below(span) as i64);
}

/// A working-hours time on `day`.
fn at(day: NaiveDate, rng: &mut Rng) -> Option<DateTime<Utc>> {
    day.and_hms_opt(
        14 + rng.below(9) as u32,
        rng.below(60) as u32,
        rng.below(60) as u32,
    )
    .map(|t| t.and_utc())
}

/// `first.last@acmeoutdoor.com`, lower case and ASCII, numbered on a clash.
fn unique_email(first: &str, last: &str, used: &[String]) -> String {
    let local: String = format!("{first}.{last}")
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let mut email = format!("{local}@acmeoutdoor.com");
    let mut n = 2;
    while used.contains(&email) {
        email = format!("{local}{n}@acmeoutdoor.com");
        n += 1;
    }
    email
}
