//! The models the simulated database holds and their fields, as Odoo 17
//! declares them (technical names, labels, types, required flags, default
//! `_order`): enough of `hr`, `purchase`, `product`, `base` and `mail` for an
//! integration to read and write what it would in a real database. Fields
//! that only a UI or accounting would use are left out.
//!
//! `store` says whether a field has a column (searchable in SQL, sortable);
//! `computed` fields are derived at read time (see `store::Store::value`) and
//! ignored on write, as Odoo ignores values for computed fields that have no
//! inverse. One2many fields are never stored: they are the inverse
//! many2one seen from the other side.

/// A field's type, with the comodel for relational ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Char,
    Text,
    Html,
    Integer,
    Float,
    Monetary,
    Boolean,
    Date,
    Datetime,
    Selection(&'static [(&'static str, &'static str)]),
    Many2one(&'static str),
    /// Comodel and the many2one on it that points back.
    One2many(&'static str, &'static str),
    Many2many(&'static str),
    /// An integer id into the model named by another field (`res_id`).
    Many2oneReference,
}

impl Kind {
    /// The `type` `fields_get` reports.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Char => "char",
            Kind::Text => "text",
            Kind::Html => "html",
            Kind::Integer => "integer",
            Kind::Float => "float",
            Kind::Monetary => "monetary",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Datetime => "datetime",
            Kind::Selection(_) => "selection",
            Kind::Many2one(_) => "many2one",
            Kind::One2many(..) => "one2many",
            Kind::Many2many(_) => "many2many",
            Kind::Many2oneReference => "many2one_reference",
        }
    }

    pub fn comodel(self) -> Option<&'static str> {
        match self {
            Kind::Many2one(m) | Kind::One2many(m, _) | Kind::Many2many(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_x2many(self) -> bool {
        matches!(self, Kind::One2many(..) | Kind::Many2many(_))
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Kind::Integer | Kind::Float | Kind::Monetary | Kind::Many2oneReference
        )
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub string: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub readonly: bool,
    pub store: bool,
    pub computed: bool,
    /// The `_inherits` parent whose column holds the value, as (description,
    /// model, field label there): a NOT NULL error names that, not this model.
    pub owner: Option<(&'static str, &'static str, &'static str)>,
}

const fn f(name: &'static str, string: &'static str, kind: Kind) -> Field {
    let store = !matches!(kind, Kind::One2many(..));
    Field {
        name,
        string,
        kind,
        required: false,
        readonly: false,
        store,
        computed: false,
        owner: None,
    }
}

impl Field {
    const fn req(mut self) -> Self {
        self.required = true;
        self
    }

    const fn ro(mut self) -> Self {
        self.readonly = true;
        self
    }

    /// Computed and stored (`store=True`): searchable and sortable.
    const fn stored_compute(mut self) -> Self {
        self.computed = true;
        self.readonly = true;
        self
    }

    /// Computed and not stored: readable, searchable only through Python.
    const fn compute(mut self) -> Self {
        self.computed = true;
        self.readonly = true;
        self.store = false;
        self
    }

    const fn inherited(
        mut self,
        description: &'static str,
        model: &'static str,
        label: &'static str,
    ) -> Self {
        self.owner = Some((description, model, label));
        self
    }

    pub fn is_magic(&self) -> bool {
        MAGIC.iter().any(|m| m.name == self.name)
    }
}

/// Fields every model has (`_log_access`), plus `id` and `display_name`.
pub static MAGIC: &[Field] = &[
    f("id", "ID", Kind::Integer).ro(),
    f("display_name", "Display Name", Kind::Char).compute(),
    f("create_uid", "Created by", Kind::Many2one("res.users")).ro(),
    f("create_date", "Created on", Kind::Datetime).ro(),
    f("write_uid", "Last Updated by", Kind::Many2one("res.users")).ro(),
    f("write_date", "Last Updated on", Kind::Datetime).ro(),
];

#[derive(Debug)]
pub struct ModelDef {
    pub name: &'static str,
    pub description: &'static str,
    /// `_order`, used when a search gives none.
    pub order: &'static str,
    /// `_rec_name`, the field `display_name` is built from.
    pub rec_name: &'static str,
    /// Inherits `mail.thread`: has a chatter and `message_post`.
    pub thread: bool,
    pub fields: &'static [Field],
}

impl ModelDef {
    /// A field by name, the model's own first, then the magic ones.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .chain(MAGIC.iter())
            .find(|f| f.name == name)
    }

    /// Every field in the order `read` lists them: `id`, the model's own,
    /// then the rest of the magic fields.
    pub fn all_fields(&self) -> impl Iterator<Item = &'static Field> + '_ {
        MAGIC[..1]
            .iter()
            .chain(self.fields.iter())
            .chain(MAGIC[1..].iter())
    }

    pub fn has_active(&self) -> bool {
        self.fields.iter().any(|f| f.name == "active")
    }

    /// `_parent_name`, when the model is a hierarchy (`child_of`).
    pub fn parent_field(&self) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| f.name == "parent_id" && f.kind == Kind::Many2one(self.name))
    }

    /// The table name Odoo derives from the model name.
    pub fn table(&self) -> String {
        self.name.replace('.', "_")
    }
}

mod models;

pub use models::{MESSAGE_TYPES, MODELS, SUBTYPES};

pub fn model(name: &str) -> Option<&'static ModelDef> {
    MODELS.iter().find(|m| m.name == name)
}
