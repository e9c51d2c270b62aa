//! What a condition or title template reads, checked against the canonical
//! model when `routing.toml` loads. A condition that reads a field no
//! canonical record has fails on every record at run time; refusing it in
//! `check`, with the nearest real field, keeps the common typo from ever
//! reaching a sync.
//!
//! Only the top-level field is checked: `attributes.*` holds whatever a
//! mapping put there, so anything under it is allowed.

use crate::diag::{Diagnostic, SourceFile, suggest};
use crate::mapping::canonical_keys;
use crate::mapping::template::Template;
use crate::model::Entity;

/// What `event` holds (see [`super::Event`]).
const EVENT_FIELDS: &[&str] = &["kind", "system", "stream", "from_status", "to_status"];

/// Events only a person's change raises.
const PERSON_EVENTS: &[&str] = &["person_hired", "person_leaving"];

/// The entities a rule or stream can see: a person for person events, the
/// entity a condition tests `record.entity` against, otherwise any.
pub(super) fn entities(on: Option<&[String]>, when: Option<&str>) -> Vec<Entity> {
    if on.is_some_and(|on| !on.is_empty() && on.iter().all(|k| PERSON_EVENTS.contains(&k.as_str())))
    {
        return vec![Entity::Person];
    }
    // Offerings are left out: no change to one is ever routed, so a
    // condition reading a field only they have (`category`) would never
    // match and is refused, and `record.entity == 'offering'` narrows
    // nothing.
    let all = [Entity::WorkItem, Entity::Person, Entity::OrgUnit];
    let tested: Vec<Entity> = when
        .map(|w| {
            all.into_iter()
                .filter(|e| {
                    let name = e.as_str();
                    [
                        format!("record.entity == '{name}'"),
                        format!("record.entity == \"{name}\""),
                    ]
                    .iter()
                    .any(|t| w.contains(t.as_str()))
                })
                .collect()
        })
        .unwrap_or_default();
    if tested.len() == 1 {
        tested
    } else {
        all.to_vec()
    }
}

/// The top-level keys a routed record has: the canonical columns plus the
/// `external_id` routing adds.
fn record_keys(entities: &[Entity]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for e in entities {
        for k in canonical_keys(*e) {
            if !keys.iter().any(|have| have == k) {
                keys.push(k.to_string());
            }
        }
    }
    keys.push("external_id".into());
    keys
}

fn entity_names(entities: &[Entity]) -> String {
    entities
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Refuse a condition reading `record.<x>` or `event.<x>` that no record
/// or event has, at `key`.
pub(super) fn check_condition(
    source: &SourceFile,
    key: &str,
    text: &str,
    entities: &[Entity],
    errors: &mut Vec<Diagnostic>,
) {
    let keys = record_keys(entities);
    let event: Vec<String> = EVENT_FIELDS.iter().map(|k| k.to_string()).collect();
    for (var, field) in reads(text) {
        let (known, what) = if var == "record" {
            (&keys, format!("a canonical {}", entity_names(entities)))
        } else {
            (&event, "the change event".to_string())
        };
        if known.contains(&field) {
            continue;
        }
        let mut d = source.error_at_key(key, format!("`{var}.{field}`: {what} has no `{field}`"));
        d.hint = suggest(&field, known)
            .map(|s| format!("did you mean `{var}.{s}`?"))
            .or_else(|| Some(format!("`{var}` has: {}", known.join(", "))));
        errors.push(d);
    }
}

/// Refuse a title template reading a field no record has, at `key`.
pub(super) fn check_template(
    source: &SourceFile,
    key: &str,
    template: &Template,
    entities: &[Entity],
    errors: &mut Vec<Diagnostic>,
) {
    let keys = record_keys(entities);
    for head in template.heads() {
        if keys.iter().any(|k| k == head) {
            continue;
        }
        let mut d = source.error_at_key(
            key,
            format!(
                "`{{{head}}}`: a canonical {} has no `{head}`",
                entity_names(entities)
            ),
        );
        d.hint = suggest(head, &keys)
            .map(|s| format!("did you mean `{{{s}}}`?"))
            .or_else(|| Some(format!("it has: {}", keys.join(", "))));
        errors.push(d);
    }
}

/// Each `record.<field>` and `event.<field>` the text reads outside string
/// literals, once each, in order.
fn reads(text: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            i += 1;
            continue;
        }
        let starts_word = i == 0 || {
            let p = chars[i - 1];
            !(p.is_alphanumeric() || p == '_' || p == '.')
        };
        if starts_word {
            for var in ["record", "event"] {
                let name: Vec<char> = var.chars().collect();
                let end = i + name.len();
                if chars.get(i..end) != Some(&name[..]) || chars.get(end) != Some(&'.') {
                    continue;
                }
                let field: String = chars[end + 1..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_')
                    .collect();
                if !field.is_empty() && !out.iter().any(|(v, f)| *v == var && *f == field) {
                    out.push((var, field));
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_outside_strings() {
        let r = reads(
            "record.kind == 'record.nope' && event.kind != \"x\" && record.attributes.site == 1 && myrecord.x",
        );
        assert_eq!(
            r,
            vec![
                ("record", "kind".to_string()),
                ("event", "kind".to_string()),
                ("record", "attributes".to_string()),
            ]
        );
    }

    #[test]
    fn person_events_see_a_person() {
        let on = vec!["person_hired".to_string()];
        assert_eq!(entities(Some(&on), None), vec![Entity::Person]);
        assert_eq!(
            entities(None, Some("record.entity == 'org_unit'")),
            vec![Entity::OrgUnit]
        );
        assert_eq!(entities(None, Some("record.kind == 'incident'")).len(), 3);
        assert_eq!(
            entities(None, Some("record.entity == 'offering'")).len(),
            3,
            "offerings are never routed"
        );
    }

    #[test]
    fn a_field_only_offerings_have_is_refused() {
        let source = SourceFile::new("routing.toml", "when = \"record.category == 'x'\"\n");
        let mut errors = Vec::new();
        let all = entities(None, None);
        check_condition(&source, "when", "record.category == 'x'", &all, &mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("has no `category`"));
    }
}
