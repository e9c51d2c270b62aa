//! The XML the v1 endpoints answer when the client does not ask for JSON:
//! `<directory>` with `<fieldset>` and `<employees>`, `<employee id>` with
//! one `<field id>` per value (the shapes the directory and get-employee
//! references describe), and the changed-ids list as in the "Last Change
//! Information" samples. Only the simulator's own output is written, so a
//! small escaper is enough.

use serde_json::Value;

pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

/// `<field id="…">value</field>` for every member but `id`.
fn fields(out: &mut String, record: &serde_json::Map<String, Value>) {
    for (k, v) in record.iter().filter(|(k, _)| *k != "id") {
        out.push_str(&format!("<field id=\"{}\">{}</field>", escape(k), text(v)));
    }
}

fn id_of(record: &serde_json::Map<String, Value>) -> String {
    record.get("id").map(text).unwrap_or_default()
}

/// One employee, as Get Employee writes it.
pub(super) fn employee(record: &serde_json::Map<String, Value>) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\"?>\n<employee id=\"{}\">",
        id_of(record)
    );
    fields(&mut out, record);
    out.push_str("</employee>");
    out
}

/// The directory: its fieldset (id, label) and its employees.
pub(super) fn directory(
    fieldset: &[(&str, &str)],
    employees: &[serde_json::Map<String, Value>],
) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<directory><fieldset>");
    for (id, label) in fieldset {
        out.push_str(&format!("<field id=\"{id}\">{}</field>", escape(label)));
    }
    out.push_str("</fieldset><employees>");
    for e in employees {
        out.push_str(&format!("<employee id=\"{}\">", id_of(e)));
        fields(&mut out, e);
        out.push_str("</employee>");
    }
    out.push_str("</employees></directory>");
    out
}

/// Changed ids: (id, action, lastChanged), with the latest change.
pub(super) fn changed(latest: &str, rows: &[(String, &str, String)]) -> String {
    let mut out = format!("<?xml version=\"1.0\"?>\n<employees latest=\"{latest}\">");
    for (id, action, at) in rows {
        out.push_str(&format!(
            "<employee id=\"{id}\" action=\"{action}\" lastChanged=\"{at}\" />"
        ));
    }
    out.push_str("</employees>");
    out
}
