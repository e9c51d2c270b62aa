//! The vocabulary the TOPdesk seed data is drawn from: people, branches,
//! operator groups, the instance's lookup lists (processing statuses,
//! priorities, impacts, urgencies, categories) and the incidents an IT
//! service desk sees. Lookup names are those of a typical English-language
//! environment; every TOPdesk environment sets up its own.

pub(super) const FIRST: &[&str] = &[
    "Anouk", "Bram", "Carmen", "Daan", "Esra", "Floor", "Gijs", "Hanna", "Imre", "Jasper", "Kim",
    "Lotte", "Milan", "Noor", "Olaf", "Priya", "Quinten", "Roos", "Sven", "Tess", "Umut", "Vera",
    "Wouter", "Xander", "Yara", "Zeynep", "Mats", "Ilse", "Kofi", "Lina",
];

pub(super) const LAST: &[&str] = &[
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "de Boer",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Kaya",
    "Yilmaz",
    "Dijkstra",
    "Koster",
    "Prins",
    "Huisman",
    "Maas",
    "Verhoeven",
    "Kramer",
    "van Dam",
    "Schouten",
    "Willems",
    "Hoekstra",
    "Janssens",
    "Mertens",
    "Claes",
];

/// Departments of the people who call the service desk.
pub(super) const DEPARTMENTS: &[&str] = &[
    "Finance",
    "Human Resources",
    "Sales",
    "Marketing",
    "Operations",
    "Legal",
    "Facilities",
    "Customer Service",
];

/// Branches (sites) and their time zones.
pub(super) const BRANCHES: &[(&str, &str)] = &[
    ("Amsterdam HQ", "Europe/Amsterdam"),
    ("Rotterdam Office", "Europe/Amsterdam"),
    ("Delft Campus", "Europe/Amsterdam"),
    ("Antwerp Office", "Europe/Brussels"),
];

/// Operator groups (second-line teams); the first is the first line.
pub(super) const OPERATOR_GROUPS: &[&str] = &[
    "Service Desk",
    "Workplace Support",
    "Network & Connectivity",
    "Application Support",
    "Identity & Access",
];

/// Processing statuses: name, completed, closed, on hold, weight in the seed.
/// A TOPdesk processing status carries these flags; setting the status sets them.
pub(super) const STATUSES: &[(&str, bool, bool, bool, u64)] = &[
    ("Logged", false, false, false, 15),
    ("In progress", false, false, false, 30),
    ("Updated by user", false, false, false, 5),
    ("Waiting for user", false, false, true, 10),
    ("Waiting for supplier", false, false, true, 5),
    ("Completed", true, false, false, 15),
    ("Closed", true, true, false, 20),
];

/// Priorities, most urgent first.
pub(super) const PRIORITIES: &[&str] = &["P1 - Critical", "P2 - High", "P3 - Normal", "P4 - Low"];

/// Impacts, widest first.
pub(super) const IMPACTS: &[&str] = &["Organization", "Department", "Person"];

/// Urgencies, most urgent first.
pub(super) const URGENCIES: &[&str] = &["Cannot work", "Work impeded", "Can continue working"];

pub(super) const CALL_TYPES: &[&str] = &["Incident", "Service request", "Question"];

pub(super) const ENTRY_TYPES: &[&str] = &["Telephone", "Email", "Self Service Desk", "Walk-in"];

pub(super) const CLOSURE_CODES: &[&str] = &[
    "Solved",
    "Workaround provided",
    "Duplicate",
    "No response from caller",
];

/// Categories and their subcategories.
pub(super) const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "Hardware",
        &["Laptop", "Monitor", "Printer", "Docking station"],
    ),
    ("Software", &["Microsoft 365", "ERP", "Other software"]),
    ("Network", &["VPN", "Wi-Fi", "File shares"]),
    (
        "Accounts",
        &["Password reset", "Access request", "New employee"],
    ),
    ("Telephony", &["Mobile phone", "Softphone"]),
];

/// An incident as callers report it: brief description, request (with the
/// `<br>` line breaks TOPdesk keeps in memo text), category, subcategory,
/// operator group index, call type index, action texts operators add.
pub(super) type Issue = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    usize,
    usize,
    &'static [&'static str],
);

pub(super) const ISSUES: &[Issue] = &[
    (
        "Laptop shows black screen after Windows update",
        "Since this morning my laptop only shows a black screen after the update.<br>I already held the power button for 30 seconds.<br>Asset tag NB-20417.",
        "Hardware",
        "Laptop",
        1,
        0,
        &[
            "Asked caller to bring the laptop to the IT desk.",
            "Reinstalled display driver; laptop starts normally again.",
        ],
    ),
    (
        "Printer on 3rd floor jams on every job",
        "The printer next to the kitchen on the 3rd floor jams on every print job, also with new paper.",
        "Hardware",
        "Printer",
        1,
        0,
        &["Supplier visit planned for Thursday."],
    ),
    (
        "Cannot connect to VPN from home",
        "When I start the VPN client it says 'authentication failed'.<br>My password works for Outlook on the web.",
        "Network",
        "VPN",
        2,
        0,
        &["Certificate on the laptop had expired; renewed it remotely."],
    ),
    (
        "Wi-Fi drops in meeting room Rembrandt",
        "During meetings in room Rembrandt the Wi-Fi connection drops every few minutes. Several colleagues have the same problem.",
        "Network",
        "Wi-Fi",
        2,
        0,
        &["Access point in the room replaced."],
    ),
    (
        "Outlook keeps asking for my password",
        "Outlook asks for my password every ten minutes since yesterday, even after I enter it correctly.",
        "Software",
        "Microsoft 365",
        3,
        0,
        &["Cleared cached credentials and recreated the mail profile."],
    ),
    (
        "Request access to the Finance SharePoint site",
        "I started in the Finance team this week and need edit rights on the Finance SharePoint site.<br>My manager approved this by email.",
        "Accounts",
        "Access request",
        4,
        1,
        &["Waiting for approval of the site owner.", "Access granted."],
    ),
    (
        "Account locked after too many attempts",
        "My account is locked, I probably typed my old password on my phone.",
        "Accounts",
        "Password reset",
        0,
        0,
        &["Account unlocked, caller can log in again."],
    ),
    (
        "Teams calls have no audio",
        "In Teams calls nobody can hear me and I cannot hear anybody. The headset works on my phone.",
        "Software",
        "Microsoft 365",
        3,
        0,
        &["Default audio device in Teams was set to the docking station; changed it."],
    ),
    (
        "New employee needs laptop and accounts",
        "Our new colleague starts on Monday in Sales.<br>Please prepare a laptop, a phone and the usual accounts.",
        "Accounts",
        "New employee",
        4,
        1,
        &[
            "Laptop imaged and accounts created.",
            "Handed over on the first working day.",
        ],
    ),
    (
        "Second monitor flickers",
        "My second monitor flickers constantly when it is connected through the docking station.",
        "Hardware",
        "Monitor",
        1,
        0,
        &["Replaced the DisplayPort cable."],
    ),
    (
        "Mobile phone does not sync mail",
        "My company phone stopped syncing mail and calendar two days ago.",
        "Telephony",
        "Mobile phone",
        1,
        0,
        &["Removed and re-added the mail account on the device."],
    ),
    (
        "Shared drive P: missing after login",
        "After logging in the P: drive is not there any more, so I cannot open the project files.",
        "Network",
        "File shares",
        2,
        0,
        &["Login script fixed for the caller's department."],
    ),
    (
        "ERP is very slow when posting invoices",
        "Posting an invoice in the ERP takes more than a minute since the update last weekend.",
        "Software",
        "ERP",
        3,
        0,
        &[
            "Escalated to the ERP supplier.",
            "Supplier applied an index fix; posting is fast again.",
        ],
    ),
    (
        "How do I set up an out-of-office reply?",
        "I am on leave next week, how do I set up an automatic reply?",
        "Software",
        "Microsoft 365",
        0,
        2,
        &["Sent the caller the knowledge item on automatic replies."],
    ),
    (
        "Docking station not charging laptop",
        "The laptop does not charge when it is on the docking station at my desk (desk 4.12).",
        "Hardware",
        "Docking station",
        1,
        0,
        &["Docking station firmware updated."],
    ),
    (
        "Softphone does not ring on incoming calls",
        "Incoming calls are not signalled in the softphone; callers get my voicemail straight away.",
        "Telephony",
        "Softphone",
        3,
        0,
        &["Call forwarding rule removed."],
    ),
];
