//! The canonical fields a mapping can fill: their names, types, whether they
//! are required, and how a converted value is set on the entity.
//!
//! One table per entity, so `check` and the compiler agree on what exists.

use super::value::Typed;
use crate::model::{
    ACTIVITY_KINDS, Activity, Entity, LookupEntity, LookupKey, LookupSlot, Offering, OrgUnit,
    Person, VISIBILITIES, WORK_ITEM_KINDS, WORK_ITEM_STATUSES, WorkItem,
};

/// What kind of value a target field holds, for checking constants and maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldType {
    Text,
    Priority,
    Timestamp,
    /// A calendar date (`YYYY-MM-DD`), kept as written: no time zone.
    Date,
    Bool,
    OneOf(&'static [&'static str]),
}

/// Canonical fields a rule can fill; `None` in a plan means an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Kind,
    Title,
    Description,
    Status,
    NativeStatus,
    Priority,
    Requester,
    Department,
    AssigneeGroup,
    Service,
    Location,
    ExternalUrl,
    OpenedAt,
    UpdatedAt,
    ResolvedAt,
    ClosedAt,
    DueAt,
    DisplayName,
    Email,
    EmployeeNumber,
    OrgUnit,
    Manager,
    Active,
    StartDate,
    EndDate,
    Name,
    Code,
    Parent,
    Category,
    // Activities (children of a work item).
    Key,
    Author,
    Body,
    FromStatus,
    ToStatus,
    OccurredAt,
    Visibility,
}

/// One fillable field: name, target, type, required.
pub(super) type Field = (&'static str, Target, FieldType, bool);

/// What a mapping's rules fill: a top-level entity, or one element of a
/// children array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Entity(Entity),
    Activity,
    /// A free-form JSON object: an element mapped into an attribute array
    /// (order lines), or a native body built by an outbound mapping.
    Object,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::Entity(e) => e.as_str(),
            Shape::Activity => "activity",
            Shape::Object => "object",
        }
    }

    pub fn fields(self) -> &'static [Field] {
        use FieldType::*;
        use Target::*;
        match self {
            Shape::Entity(Entity::WorkItem) => &[
                ("kind", Kind, OneOf(WORK_ITEM_KINDS), true),
                ("title", Title, Text, true),
                ("description", Description, Text, false),
                ("status", Status, OneOf(WORK_ITEM_STATUSES), true),
                ("native_status", NativeStatus, Text, false),
                ("priority", Target::Priority, FieldType::Priority, false),
                ("requester", Requester, Text, false),
                ("department", Department, Text, false),
                ("assignee_group", AssigneeGroup, Text, false),
                ("service", Service, Text, false),
                ("location", Location, Text, false),
                ("external_url", ExternalUrl, Text, false),
                ("opened_at", OpenedAt, Timestamp, false),
                ("updated_at", UpdatedAt, Timestamp, false),
                ("resolved_at", ResolvedAt, Timestamp, false),
                ("closed_at", ClosedAt, Timestamp, false),
                ("due_at", DueAt, Timestamp, false),
            ],
            Shape::Entity(Entity::Person) => &[
                ("display_name", DisplayName, Text, false),
                ("email", Email, Text, false),
                ("employee_number", EmployeeNumber, Text, false),
                ("department", Department, Text, false),
                ("org_unit", OrgUnit, Text, false),
                ("location", Location, Text, false),
                ("manager", Manager, Text, false),
                ("active", Active, Bool, false),
                ("start_date", StartDate, Date, false),
                ("end_date", EndDate, Date, false),
            ],
            Shape::Entity(Entity::OrgUnit) => &[
                ("name", Name, Text, true),
                ("code", Code, Text, false),
                ("parent", Parent, Text, false),
            ],
            Shape::Entity(Entity::Offering) => &[
                ("name", Name, Text, true),
                ("description", Description, Text, false),
                ("department", Department, Text, false),
                ("category", Category, Text, false),
                ("external_url", ExternalUrl, Text, false),
                ("active", Active, Bool, false),
            ],
            Shape::Activity => &[
                ("key", Key, Text, false),
                ("kind", Kind, OneOf(ACTIVITY_KINDS), true),
                ("author", Author, Text, false),
                ("body", Body, Text, false),
                ("from_status", FromStatus, Text, false),
                ("to_status", ToStatus, Text, false),
                ("occurred_at", OccurredAt, Timestamp, true),
                ("visibility", Visibility, OneOf(VISIBILITIES), false),
            ],
            Shape::Object => &[],
        }
    }

    /// Whether `field` is filled when the record is set, for required checks.
    pub fn holds(self, out: &Filled, field: Target) -> bool {
        match (out, field) {
            (Filled::WorkItem(w), Target::Kind) => !w.kind.is_empty(),
            (Filled::WorkItem(w), Target::Title) => !w.title.is_empty(),
            (Filled::WorkItem(w), Target::Status) => !w.status.is_empty(),
            (Filled::OrgUnit(o), Target::Name) => !o.name.is_empty(),
            (Filled::Offering(o), Target::Name) => !o.name.is_empty(),
            (Filled::Activity(a), Target::Kind) => !a.kind.is_empty(),
            (Filled::Activity(a), Target::OccurredAt) => a.occurred_at.is_some(),
            _ => true,
        }
    }
}

/// The entity a target's lookup resolves to, the keys it can match on, and
/// which reference it fills. `None`: the field takes no lookup.
pub(super) fn lookup_of(
    target: Target,
) -> Option<(LookupSlot, LookupEntity, &'static [LookupKey])> {
    const PERSON_KEYS: &[LookupKey] = &[
        LookupKey::Email,
        LookupKey::EmployeeNumber,
        LookupKey::ExternalId,
    ];
    const ORG_KEYS: &[LookupKey] = &[LookupKey::Code, LookupKey::ExternalId];
    match target {
        Target::Requester => Some((LookupSlot::Requester, LookupEntity::Person, PERSON_KEYS)),
        Target::Manager => Some((LookupSlot::Manager, LookupEntity::Person, PERSON_KEYS)),
        Target::OrgUnit => Some((LookupSlot::OrgUnit, LookupEntity::OrgUnit, ORG_KEYS)),
        Target::Parent => Some((LookupSlot::Parent, LookupEntity::OrgUnit, ORG_KEYS)),
        _ => None,
    }
}

/// A record being filled by a rule set.
#[derive(Debug)]
pub(super) enum Filled {
    WorkItem(WorkItem),
    Person(Person),
    OrgUnit(OrgUnit),
    Offering(Offering),
    Activity(Activity),
    Object(serde_json::Map<String, serde_json::Value>),
}

impl Filled {
    /// The canonical record, when this is a top-level entity.
    pub fn into_canonical(self) -> Option<crate::model::Canonical> {
        use crate::model::Canonical;
        match self {
            Filled::WorkItem(w) => Some(Canonical::WorkItem(w)),
            Filled::Person(p) => Some(Canonical::Person(p)),
            Filled::OrgUnit(o) => Some(Canonical::OrgUnit(o)),
            Filled::Offering(o) => Some(Canonical::Offering(o)),
            Filled::Activity(_) | Filled::Object(_) => None,
        }
    }

    pub fn empty(shape: Shape) -> Self {
        match shape {
            Shape::Entity(Entity::WorkItem) => Filled::WorkItem(WorkItem::default()),
            Shape::Entity(Entity::Person) => Filled::Person(Person::default()),
            Shape::Entity(Entity::OrgUnit) => Filled::OrgUnit(OrgUnit::default()),
            Shape::Entity(Entity::Offering) => Filled::Offering(Offering::default()),
            Shape::Activity => Filled::Activity(Activity::default()),
            Shape::Object => Filled::Object(serde_json::Map::new()),
        }
    }

    pub fn attributes(&mut self) -> Option<&mut serde_json::Map<String, serde_json::Value>> {
        match self {
            Filled::WorkItem(w) => Some(&mut w.attributes),
            Filled::Person(p) => Some(&mut p.attributes),
            Filled::OrgUnit(o) => Some(&mut o.attributes),
            Filled::Offering(o) => Some(&mut o.attributes),
            Filled::Object(m) => Some(m),
            Filled::Activity(_) => None,
        }
    }

    pub fn classified(&mut self) -> Option<&mut serde_json::Map<String, serde_json::Value>> {
        match self {
            Filled::WorkItem(w) => Some(&mut w.classified),
            Filled::Person(p) => Some(&mut p.classified),
            Filled::OrgUnit(_) | Filled::Offering(_) | Filled::Activity(_) | Filled::Object(_) => {
                None
            }
        }
    }

    pub fn lookups(&mut self) -> Option<&mut Vec<crate::model::Lookup>> {
        match self {
            Filled::WorkItem(w) => Some(&mut w.lookups),
            Filled::Person(p) => Some(&mut p.lookups),
            Filled::OrgUnit(o) => Some(&mut o.lookups),
            Filled::Offering(_) | Filled::Activity(_) | Filled::Object(_) => None,
        }
    }

    /// Set a canonical field. The compiler pairs each target with its type,
    /// so a mismatched pair cannot reach here and is ignored.
    pub fn set(&mut self, target: Target, value: Typed) {
        use Target::*;
        match (self, target, value) {
            (Filled::WorkItem(w), t, v) => match (t, v) {
                (Kind, Typed::Text(s)) => w.kind = s,
                (Title, Typed::Text(s)) => w.title = s,
                (Description, Typed::Text(s)) => w.description = Some(s),
                (Status, Typed::Text(s)) => w.status = s,
                (NativeStatus, Typed::Text(s)) => w.native_status = Some(s),
                (Priority, Typed::Int(p)) => w.priority = Some(p),
                (Requester, Typed::Text(s)) => w.requester_ref = Some(s),
                (Department, Typed::Text(s)) => w.department = Some(s),
                (AssigneeGroup, Typed::Text(s)) => w.assignee_group = Some(s),
                (Service, Typed::Text(s)) => w.service = Some(s),
                (Location, Typed::Text(s)) => w.location_ref = Some(s),
                (ExternalUrl, Typed::Text(s)) => w.external_url = Some(s),
                (OpenedAt, Typed::Time(t)) => w.opened_at = Some(t),
                (UpdatedAt, Typed::Time(t)) => w.updated_at = Some(t),
                (ResolvedAt, Typed::Time(t)) => w.resolved_at = Some(t),
                (ClosedAt, Typed::Time(t)) => w.closed_at = Some(t),
                (DueAt, Typed::Time(t)) => w.due_at = Some(t),
                _ => {}
            },
            (Filled::Person(p), t, v) => match (t, v) {
                (DisplayName, Typed::Text(s)) => p.display_name = Some(s),
                (Email, Typed::Text(s)) => p.email = Some(s),
                (EmployeeNumber, Typed::Text(s)) => p.employee_number = Some(s),
                (Department, Typed::Text(s)) => p.department = Some(s),
                (OrgUnit, Typed::Text(s)) => p.org_unit_ref = Some(s),
                (Location, Typed::Text(s)) => p.location_ref = Some(s),
                (Manager, Typed::Text(s)) => p.manager_ref = Some(s),
                (Active, Typed::Bool(b)) => p.active = Some(b),
                (StartDate, Typed::Date(d)) => p.start_date = Some(d),
                (EndDate, Typed::Date(d)) => p.end_date = Some(d),
                _ => {}
            },
            (Filled::OrgUnit(o), t, v) => match (t, v) {
                (Name, Typed::Text(s)) => o.name = s,
                (Code, Typed::Text(s)) => o.code = Some(s),
                (Parent, Typed::Text(s)) => o.parent_ref = Some(s),
                _ => {}
            },
            (Filled::Offering(o), t, v) => match (t, v) {
                (Name, Typed::Text(s)) => o.name = s,
                (Description, Typed::Text(s)) => o.description = Some(s),
                (Department, Typed::Text(s)) => o.department = Some(s),
                (Category, Typed::Text(s)) => o.category = Some(s),
                (ExternalUrl, Typed::Text(s)) => o.external_url = Some(s),
                (Active, Typed::Bool(b)) => o.active = Some(b),
                _ => {}
            },
            (Filled::Activity(a), t, v) => match (t, v) {
                (Key, Typed::Text(s)) => a.key = s,
                (Kind, Typed::Text(s)) => a.kind = s,
                (Author, Typed::Text(s)) => a.author_ref = Some(s),
                (Body, Typed::Text(s)) => a.body = Some(s),
                (FromStatus, Typed::Text(s)) => a.from_status = Some(s),
                (ToStatus, Typed::Text(s)) => a.to_status = Some(s),
                (OccurredAt, Typed::Time(t)) => a.occurred_at = Some(t),
                (Visibility, Typed::Text(s)) => a.visibility = Some(s),
                _ => {}
            },
            (Filled::Object(_), _, _) => {}
        }
    }
}

/// The top-level keys of a canonical record as serialized (and as outbound
/// mappings read it): the columns, not the mapping field names, so
/// `requester_ref` and `requester_id` rather than `requester`.
pub(crate) fn canonical_keys(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::WorkItem => &[
            "entity",
            "kind",
            "title",
            "description",
            "status",
            "native_status",
            "priority",
            "requester_ref",
            "requester_id",
            "department",
            "assignee_group",
            "service",
            "location_ref",
            "external_url",
            "opened_at",
            "updated_at",
            "resolved_at",
            "closed_at",
            "due_at",
            "attributes",
            "classified",
            "activities",
        ],
        Entity::Person => &[
            "entity",
            "display_name",
            "email",
            "employee_number",
            "department",
            "org_unit_ref",
            "org_unit_id",
            "location_ref",
            "manager_ref",
            "manager_id",
            "active",
            "start_date",
            "end_date",
            "attributes",
            "classified",
        ],
        Entity::OrgUnit => &[
            "entity",
            "name",
            "code",
            "parent_ref",
            "parent_id",
            "attributes",
        ],
        Entity::Offering => &[
            "entity",
            "name",
            "description",
            "department",
            "category",
            "external_url",
            "active",
            "attributes",
        ],
    }
}
