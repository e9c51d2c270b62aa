//! Deterministic seed data for the Jira Service Management simulator: the
//! employees who raise requests, the IT agents who answer them, and requests
//! of every request type that have walked the workflow to some status, with
//! agent comments.
//!
//! Everything is drawn from a SplitMix64 generator keyed by the config's
//! seed, and every timestamp is an offset back from the clock, so the same
//! seed and clock give the same site.

use chrono::{DateTime, Duration, Utc};

use super::model::{Comment, Customer, INITIAL_STATUS, Request, SERVICE_DESK_ID, StatusChange};

/// SplitMix64, enough to make seed data look random without `rand`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An Atlassian account id of the `712020:<uuid>` form.
    pub fn account_id(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "712020:{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }
}

const FIRST: &[&str] = &[
    "Anna", "Bram", "Chloé", "Daan", "Emre", "Fleur", "Gijs", "Hanna", "Ilse", "Jasper", "Kofi",
    "Lotte", "Milan", "Noor", "Olga", "Pieter", "Roos", "Sanne", "Thijs", "Yara",
];
const LAST: &[&str] = &[
    "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters",
    "Hendriks", "Dekker", "Brouwer", "Koster", "Aydın", "Mensah",
];

/// (request type id, summary, description, priority) of the seeded requests.
const TEXTS: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    (
        "1",
        "Cannot print to the 3rd floor printer",
        Some("Print jobs to FL3-PRN-02 stay queued since this morning; other printers work."),
        None,
    ),
    (
        "1",
        "Teams calls drop after a few minutes",
        Some("Video calls disconnect after three to five minutes. Chat keeps working."),
        None,
    ),
    (
        "1",
        "Shared mailbox missing in Outlook",
        Some("The finance-ap shared mailbox disappeared from my folder list after the update."),
        None,
    ),
    (
        "1",
        "Access to the Sales SharePoint site",
        Some("I moved to Sales last week and get 'access denied' on the team site."),
        None,
    ),
    (
        "2",
        "VPN disconnects every few minutes",
        Some("The VPN client drops roughly every five minutes; reconnecting works briefly."),
        Some("High"),
    ),
    (
        "2",
        "Expense portal shows a blank page",
        Some("The expense tool renders a white page in Chrome and Edge since Monday."),
        Some("Medium"),
    ),
    (
        "2",
        "ERP invoice run fails with a timeout",
        Some("The nightly invoice batch stopped at 02:13 with a database timeout."),
        Some("Highest"),
    ),
    (
        "2",
        "Wi-Fi in meeting room Atlas is very slow",
        Some("Speed tests show under 1 Mbit/s in room Atlas; the rest of the floor is fine."),
        Some("Low"),
    ),
    (
        "3",
        "Laptop for a new analyst in Finance",
        Some("New starter on the 1st of next month; standard office laptop and a dock."),
        None,
    ),
    (
        "3",
        "Replacement headset",
        Some("The microphone of my headset crackles."),
        None,
    ),
    ("3", "Docking station for home office", None, None),
    (
        "4",
        "Visio Professional licence",
        Some("Needed for the network diagrams of the data centre move."),
        None,
    ),
    ("4", "Install Power BI Desktop", None, None),
    (
        "5",
        "Password reset",
        Some("Locked out after too many attempts on the VPN portal."),
        None,
    ),
];

/// Status paths a seeded request may have walked, from creation on.
const PATHS: &[&[&str]] = &[
    &[INITIAL_STATUS],
    &[INITIAL_STATUS],
    &[INITIAL_STATUS, "In progress"],
    &[INITIAL_STATUS, "In progress"],
    &[INITIAL_STATUS, "In progress", "Waiting for customer"],
    &[INITIAL_STATUS, "In progress", "Pending"],
    &[INITIAL_STATUS, "In progress", "Resolved"],
    &[INITIAL_STATUS, "In progress", "Resolved", "Closed"],
    &[INITIAL_STATUS, "Canceled"],
];

const AGENT_REPLIES: &[&str] = &[
    "Thanks for reporting this, we are looking into it.",
    "Could you send us a screenshot of the error?",
    "We have escalated this to the network team.",
    "The fix has been rolled out; please check again.",
];

/// The site's people: employees (customers) and IT agents.
pub struct People {
    pub customers: Vec<Customer>,
    pub agents: Vec<Customer>,
}

pub fn people(rng: &mut Rng) -> People {
    let mut customers: Vec<Customer> = Vec::new();
    while customers.len() < 24 {
        let (first, last) = (*rng.pick(FIRST), *rng.pick(LAST));
        let display_name = format!("{first} {last}");
        if customers.iter().any(|c| c.display_name == display_name) {
            continue;
        }
        let local = format!("{first}.{last}")
            .to_lowercase()
            .replace(' ', "")
            .replace('é', "e")
            .replace('ı', "i");
        // About one customer in eight hides their email (privacy settings).
        let email = (rng.below(8) != 0).then(|| format!("{local}@example.com"));
        customers.push(Customer {
            account_id: rng.account_id(),
            email,
            display_name,
            time_zone: "Europe/Amsterdam".into(),
        });
    }
    let agents = ["Ruben Claes", "Mei Tan", "Joost Willems"]
        .iter()
        .map(|name| Customer {
            account_id: rng.account_id(),
            email: Some(format!(
                "{}@example.com",
                name.to_lowercase().replace(' ', ".")
            )),
            display_name: (*name).into(),
            time_zone: "Europe/Amsterdam".into(),
        })
        .collect();
    People { customers, agents }
}

/// `count` requests, oldest first, with issue ids from 10001 and keys from IT-1.
/// `next_comment` hands out comment ids.
pub fn requests(
    rng: &mut Rng,
    people: &People,
    count: usize,
    now: DateTime<Utc>,
    next_comment: &mut u64,
) -> Vec<Request> {
    // Creation times spread over the last 30 days, oldest first.
    let mut ages: Vec<i64> = (0..count)
        .map(|_| 3_600 + rng.below(30 * 86_400) as i64)
        .collect();
    ages.sort_unstable_by(|a, b| b.cmp(a));
    let mut out = Vec::with_capacity(count);
    for (i, age) in ages.into_iter().enumerate() {
        let (type_id, summary, description, priority) = *rng.pick(TEXTS);
        let created = now - Duration::seconds(age);
        let mut at = created;
        let mut history = Vec::new();
        for status in *rng.pick(PATHS) {
            history.push(StatusChange {
                status: (*status).into(),
                at,
            });
            // The next step comes 10 minutes to 2 days later, but never after now.
            let step = Duration::seconds(600 + rng.below(2 * 86_400) as i64);
            at = (at + step).min(now - Duration::seconds(60)).max(at);
        }
        let mut comments = Vec::new();
        if history.len() > 1 {
            for _ in 0..rng.below(3) {
                *next_comment += 1;
                let when = history[1].at + Duration::seconds(rng.below(3_600) as i64);
                comments.push(Comment {
                    id: *next_comment,
                    body: (*rng.pick(AGENT_REPLIES)).into(),
                    public: rng.below(4) != 0,
                    author: rng.pick(&people.agents).clone(),
                    created: when.min(now),
                });
            }
        }
        let reporter = rng.pick(&people.customers).clone();
        let participants = if rng.below(6) == 0 {
            let other = rng.pick(&people.customers).clone();
            if other == reporter {
                Vec::new()
            } else {
                vec![other]
            }
        } else {
            Vec::new()
        };
        let last_activity = history
            .iter()
            .map(|c| c.at)
            .chain(comments.iter().map(|c| c.created))
            .max()
            .unwrap_or(created);
        out.push(Request {
            issue_id: 10_001 + i as u64,
            issue_key: format!("IT-{}", i + 1),
            service_desk_id: SERVICE_DESK_ID.into(),
            request_type_id: type_id.into(),
            reporter,
            participants,
            summary: summary.into(),
            description: description.map(str::to_string),
            priority: priority.map(str::to_string),
            created,
            history,
            comments,
            last_activity,
        });
    }
    out
}
