//! The simulated database: one table of rows per model, the values Odoo
//! computes from them (display names, `complete_name`, order totals, the
//! one2many side of every many2one), and a row rendered the way `read` and
//! `search_read` return it.
//!
//! Rows hold raw column values: a many2one is the id or `null`, a many2many
//! an array of ids, a datetime `YYYY-MM-DD HH:MM:SS` with microseconds when
//! the clock had them (`write_date` and `create_date` are set from
//! PostgreSQL's `now()`, which keeps them; `read` drops them, but domains
//! compare at full precision, as in Odoo). Empty is `null`.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use serde_json::{Map, Value, json};

use super::order;
use super::schema::{Field, Kind, MODELS, ModelDef, model};

/// One record's stored values, by field name.
pub type Row = Map<String, Value>;

/// The purchase tax every seeded and created line carries: the 15 % default
/// purchase tax of Odoo's generic chart of accounts.
pub const TAX_RATE: f64 = 0.15;

#[derive(Default, Clone)]
pub struct Table {
    pub rows: BTreeMap<i64, Row>,
    pub next_id: i64,
}

#[derive(Clone)]
pub struct Store {
    tables: BTreeMap<&'static str, Table>,
}

impl Default for Store {
    fn default() -> Self {
        let tables = MODELS
            .iter()
            .map(|m| {
                let table = Table {
                    rows: BTreeMap::new(),
                    next_id: 1,
                };
                (m.name, table)
            })
            .collect();
        Store { tables }
    }
}

/// `now()` as PostgreSQL stores it in a timestamp column: microseconds kept.
pub fn stamp(t: DateTime<Utc>) -> String {
    let micros = t.nanosecond() / 1_000;
    let secs = t.format("%Y-%m-%d %H:%M:%S");
    if micros == 0 {
        secs.to_string()
    } else {
        format!("{secs}.{micros:06}")
    }
}

/// A `fields.Datetime.now()` value: Odoo truncates those to the second.
pub fn seconds(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Store {
    pub fn row(&self, model: &str, id: i64) -> Option<&Row> {
        self.tables.get(model)?.rows.get(&id)
    }

    pub fn row_mut(&mut self, model: &str, id: i64) -> Option<&mut Row> {
        self.tables.get_mut(model)?.rows.get_mut(&id)
    }

    pub fn exists(&self, model: &str, id: i64) -> bool {
        self.row(model, id).is_some()
    }

    /// Every id of a model, archived ones included, ascending.
    pub fn ids(&self, model: &str) -> Vec<i64> {
        self.tables
            .get(model)
            .map(|t| t.rows.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Stores `row` under the next id of its table and returns the id.
    pub fn insert(&mut self, model: &str, mut row: Row) -> i64 {
        let Some(table) = self.tables.get_mut(model) else {
            return 0;
        };
        let id = table.next_id;
        table.next_id += 1;
        row.insert("id".into(), json!(id));
        table.rows.insert(id, row);
        id
    }

    pub fn remove(&mut self, model: &str, id: i64) -> Option<Row> {
        self.tables.get_mut(model)?.rows.remove(&id)
    }

    fn raw(&self, model: &str, id: i64, field: &str) -> Value {
        self.row(model, id)
            .and_then(|r| r.get(field))
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn raw_id(&self, model: &str, id: i64, field: &str) -> Option<i64> {
        self.raw(model, id, field).as_i64()
    }

    fn raw_f64(&self, model: &str, id: i64, field: &str) -> f64 {
        self.raw(model, id, field).as_f64().unwrap_or(0.0)
    }

    /// A field's value in raw form, computed ones included.
    pub fn value(&self, m: &ModelDef, id: i64, field: &Field) -> Value {
        if let Kind::One2many(comodel, inverse) = field.kind {
            return json!(self.children(comodel, inverse, id));
        }
        match (m.name, field.name) {
            (_, "display_name") => self
                .display_name(m.name, id)
                .map(Value::String)
                .unwrap_or(Value::Null),
            ("hr.department", "complete_name") => json!(self.department_path(id)),
            ("hr.department", "total_employee") => {
                let members = self.children("hr.employee", "department_id", id);
                let active = members
                    .iter()
                    .filter(|e| self.raw("hr.employee", **e, "active") == json!(true))
                    .count();
                json!(active)
            }
            ("res.partner", "complete_name") => self.partner_name(id),
            ("purchase.order", "amount_untaxed" | "amount_tax" | "amount_total") => {
                let line_field = match field.name {
                    "amount_untaxed" => "price_subtotal",
                    "amount_tax" => "price_tax",
                    _ => "price_total",
                };
                let sum: f64 = self
                    .children("purchase.order.line", "order_id", id)
                    .into_iter()
                    .map(|l| self.line_amount(l, line_field))
                    .sum();
                json!(round2(sum))
            }
            ("purchase.order.line", "price_subtotal" | "price_tax" | "price_total") => {
                json!(self.line_amount(id, field.name))
            }
            ("purchase.order.line", "partner_id" | "currency_id" | "state") => {
                match self.raw_id("purchase.order.line", id, "order_id") {
                    Some(order) => self.raw("purchase.order", order, field.name),
                    None => Value::Null,
                }
            }
            _ => self.raw(m.name, id, field.name),
        }
    }

    fn line_amount(&self, line: i64, which: &str) -> f64 {
        let m = "purchase.order.line";
        let subtotal =
            round2(self.raw_f64(m, line, "product_qty") * self.raw_f64(m, line, "price_unit"));
        let tax = round2(subtotal * TAX_RATE);
        match which {
            "price_subtotal" => subtotal,
            "price_tax" => tax,
            _ => round2(subtotal + tax),
        }
    }

    /// `Parent / Child` names, as `hr.department._compute_complete_name`.
    fn department_path(&self, id: i64) -> Option<String> {
        let mut names = Vec::new();
        let mut at = Some(id);
        // Bounded: a cycle written through the test API must not hang a read.
        while let Some(d) = at.filter(|_| names.len() < 32) {
            names.push(self.raw("hr.department", d, "name").as_str()?.to_string());
            at = self.raw_id("hr.department", d, "parent_id");
        }
        names.reverse();
        Some(names.join(" / "))
    }

    /// A contact of a company shows as `Company, Person`.
    fn partner_name(&self, id: i64) -> Value {
        let name = self.raw("res.partner", id, "name");
        let is_company = self.raw("res.partner", id, "is_company") == json!(true);
        let parent = self
            .raw_id("res.partner", id, "parent_id")
            .map(|p| self.raw("res.partner", p, "name"));
        match (name.as_str(), parent.as_ref().and_then(Value::as_str)) {
            (Some(n), Some(p)) if !is_company => json!(format!("{p}, {n}")),
            _ => name,
        }
    }

    /// `display_name`, from `_rec_name` and each model's own rule.
    pub fn display_name(&self, model_name: &str, id: i64) -> Option<String> {
        let m = model(model_name)?;
        self.row(model_name, id)?;
        let text = |field: &str| self.raw(model_name, id, field).as_str().map(str::to_string);
        let name = match model_name {
            "hr.department" => self.department_path(id),
            "res.partner" => self.partner_name(id).as_str().map(str::to_string),
            "product.product" => match (text("default_code"), text("name")) {
                (Some(code), Some(name)) => Some(format!("[{code}] {name}")),
                (_, name) => name,
            },
            "purchase.order" => match (text("name"), text("partner_ref")) {
                (Some(name), Some(r)) => Some(format!("{name} ({r})")),
                (name, _) => name,
            },
            _ => text(m.rec_name),
        };
        Some(name.unwrap_or_default())
    }

    /// The one2many side: ids of `comodel` whose `inverse` is `id`, in the
    /// comodel's `_order`, as Odoo returns them.
    pub fn children(&self, comodel: &str, inverse: &str, id: i64) -> Vec<i64> {
        let Some(table) = self.tables.get(comodel) else {
            return Vec::new();
        };
        let mut ids: Vec<i64> = table
            .rows
            .iter()
            .filter(|(_, r)| r.get(inverse).and_then(Value::as_i64) == Some(id))
            .map(|(k, _)| *k)
            .collect();
        if let Some(cm) = model(comodel) {
            order::sort(self, cm, &mut ids, &order::default_terms(cm));
        }
        ids
    }

    /// A record as `read` returns it: `id` plus `fields`. `classic` is
    /// `load='_classic_read'` (many2one as `[id, name]`); without it a
    /// many2one is its bare id.
    pub fn render(&self, m: &ModelDef, id: i64, fields: &[&Field], classic: bool) -> Option<Value> {
        self.row(m.name, id)?;
        let mut out = Map::new();
        out.insert("id".into(), json!(id));
        for field in fields {
            let raw = self.value(m, id, field);
            out.insert(
                field.name.to_string(),
                self.render_value(field, raw, classic),
            );
        }
        Some(Value::Object(out))
    }

    fn render_value(&self, field: &Field, raw: Value, classic: bool) -> Value {
        match field.kind {
            Kind::Many2one(comodel) => match raw.as_i64() {
                Some(id) if !classic => json!(id),
                Some(id) => match self.display_name(comodel, id) {
                    Some(name) => json!([id, name]),
                    None => json!(false),
                },
                None => json!(false),
            },
            Kind::One2many(..) | Kind::Many2many(_) => match raw {
                Value::Array(_) => raw,
                _ => json!([]),
            },
            Kind::Integer | Kind::Many2oneReference => match raw.as_i64() {
                Some(n) => json!(n),
                None => json!(0),
            },
            Kind::Float | Kind::Monetary => json!(raw.as_f64().unwrap_or(0.0)),
            Kind::Boolean => json!(raw.as_bool().unwrap_or(false)),
            Kind::Datetime => match raw.as_str() {
                Some(s) => json!(s.get(..19).unwrap_or(s)),
                None => json!(false),
            },
            _ => match raw {
                Value::Null => json!(false),
                v => v,
            },
        }
    }
}
