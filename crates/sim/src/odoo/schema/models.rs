//! The model table: every model the simulated database holds, its fields
//! in the order `read` lists them, and the selection values they take.

use super::{Kind, ModelDef, f};

pub static MODELS: &[ModelDef] = &[
    ModelDef {
        name: "hr.department",
        description: "Department",
        order: "name",
        rec_name: "complete_name",
        thread: true,
        fields: &[
            f("name", "Department Name", Kind::Char).req(),
            f("complete_name", "Complete Name", Kind::Char).stored_compute(),
            f("active", "Active", Kind::Boolean),
            f("company_id", "Company", Kind::Many2one("res.company")),
            f(
                "parent_id",
                "Parent Department",
                Kind::Many2one("hr.department"),
            ),
            f(
                "child_ids",
                "Child Departments",
                Kind::One2many("hr.department", "parent_id"),
            ),
            f("manager_id", "Manager", Kind::Many2one("hr.employee")),
            f(
                "member_ids",
                "Members",
                Kind::One2many("hr.employee", "department_id"),
            ),
            f("total_employee", "Total Employee", Kind::Integer).compute(),
            f("note", "Note", Kind::Text),
            f("color", "Color Index", Kind::Integer),
        ],
    },
    ModelDef {
        name: "hr.employee",
        description: "Employee",
        order: "name",
        rec_name: "name",
        thread: true,
        fields: &[
            f("name", "Employee Name", Kind::Char).req().inherited(
                "Resources",
                "resource.resource",
                "Name",
            ),
            f("active", "Active", Kind::Boolean),
            f("company_id", "Company", Kind::Many2one("res.company")).req(),
            f(
                "department_id",
                "Department",
                Kind::Many2one("hr.department"),
            ),
            f("job_title", "Job Title", Kind::Char),
            f("work_email", "Work Email", Kind::Char),
            f("work_phone", "Work Phone", Kind::Char),
            f("mobile_phone", "Work Mobile", Kind::Char),
            f("parent_id", "Manager", Kind::Many2one("hr.employee")),
            f("coach_id", "Coach", Kind::Many2one("hr.employee")),
            f(
                "child_ids",
                "Direct subordinates",
                Kind::One2many("hr.employee", "parent_id"),
            ),
            f("user_id", "User", Kind::Many2one("res.users")),
            f(
                "employee_type",
                "Employee Type",
                Kind::Selection(EMPLOYEE_TYPES),
            )
            .req(),
            f("barcode", "Badge ID", Kind::Char),
            f("identification_id", "Identification No", Kind::Char),
            f(
                "category_ids",
                "Tags",
                Kind::Many2many("hr.employee.category"),
            ),
            f("departure_date", "Departure Date", Kind::Date),
        ],
    },
    ModelDef {
        name: "hr.employee.category",
        description: "Employee Category",
        order: "name",
        rec_name: "name",
        thread: false,
        fields: &[
            f("name", "Tag Name", Kind::Char).req(),
            f("color", "Color Index", Kind::Integer),
        ],
    },
    ModelDef {
        name: "purchase.order",
        description: "Purchase Order",
        order: "priority desc, id desc",
        rec_name: "name",
        thread: true,
        fields: &[
            f("name", "Order Reference", Kind::Char).req(),
            f(
                "priority",
                "Priority",
                Kind::Selection(&[("0", "Normal"), ("1", "Urgent")]),
            ),
            f("origin", "Source Document", Kind::Char),
            f("partner_ref", "Vendor Reference", Kind::Char),
            f("date_order", "Order Deadline", Kind::Datetime).req(),
            f("date_approve", "Confirmation Date", Kind::Datetime).ro(),
            f("date_planned", "Expected Arrival", Kind::Datetime),
            f("partner_id", "Vendor", Kind::Many2one("res.partner")).req(),
            f("currency_id", "Currency", Kind::Many2one("res.currency")).req(),
            f("state", "Status", Kind::Selection(PO_STATES)).ro(),
            f(
                "order_line",
                "Order Lines",
                Kind::One2many("purchase.order.line", "order_id"),
            ),
            f("notes", "Terms and Conditions", Kind::Html),
            f("amount_untaxed", "Untaxed Amount", Kind::Monetary).stored_compute(),
            f("amount_tax", "Taxes", Kind::Monetary).stored_compute(),
            f("amount_total", "Total", Kind::Monetary).stored_compute(),
            f("user_id", "Buyer", Kind::Many2one("res.users")),
            f("company_id", "Company", Kind::Many2one("res.company")).req(),
            f(
                "invoice_status",
                "Billing Status",
                Kind::Selection(INVOICE_STATUS),
            )
            .ro(),
        ],
    },
    ModelDef {
        name: "purchase.order.line",
        description: "Purchase Order Line",
        order: "order_id, sequence, id",
        rec_name: "name",
        thread: false,
        fields: &[
            f("name", "Description", Kind::Text).req(),
            f("sequence", "Sequence", Kind::Integer),
            f("product_qty", "Quantity", Kind::Float).req(),
            f("date_planned", "Expected Arrival", Kind::Datetime),
            f("product_id", "Product", Kind::Many2one("product.product")),
            f("price_unit", "Unit Price", Kind::Float).req(),
            f("price_subtotal", "Subtotal", Kind::Monetary).stored_compute(),
            f("price_tax", "Tax", Kind::Float).stored_compute(),
            f("price_total", "Total", Kind::Monetary).stored_compute(),
            f(
                "order_id",
                "Order Reference",
                Kind::Many2one("purchase.order"),
            )
            .req(),
            f("partner_id", "Partner", Kind::Many2one("res.partner")).stored_compute(),
            f("currency_id", "Currency", Kind::Many2one("res.currency")).stored_compute(),
            f("state", "Status", Kind::Selection(PO_STATES)).stored_compute(),
            f("qty_received", "Received Qty", Kind::Float),
            f(
                "display_type",
                "Display Type",
                Kind::Selection(&[("line_section", "Section"), ("line_note", "Note")]),
            ),
        ],
    },
    ModelDef {
        name: "res.partner",
        description: "Contact",
        order: "complete_name ASC, id DESC",
        rec_name: "complete_name",
        thread: true,
        fields: &[
            f("name", "Name", Kind::Char),
            f("complete_name", "Complete Name", Kind::Char).stored_compute(),
            f("type", "Address Type", Kind::Selection(PARTNER_TYPES)),
            f(
                "parent_id",
                "Related Company",
                Kind::Many2one("res.partner"),
            ),
            f(
                "child_ids",
                "Contact",
                Kind::One2many("res.partner", "parent_id"),
            ),
            f("is_company", "Is a Company", Kind::Boolean),
            f("email", "Email", Kind::Char),
            f("phone", "Phone", Kind::Char),
            f("vat", "Tax ID", Kind::Char),
            f("ref", "Reference", Kind::Char),
            f("street", "Street", Kind::Char),
            f("city", "City", Kind::Char),
            f("zip", "Zip", Kind::Char),
            f("supplier_rank", "Supplier Rank", Kind::Integer),
            f("customer_rank", "Customer Rank", Kind::Integer),
            f("company_id", "Company", Kind::Many2one("res.company")),
            f("active", "Active", Kind::Boolean),
        ],
    },
    ModelDef {
        name: "product.product",
        description: "Product Variant",
        order: "default_code, name, id",
        rec_name: "name",
        thread: true,
        fields: &[
            f("name", "Name", Kind::Char)
                .req()
                .inherited("Product", "product.template", "Name"),
            f("default_code", "Internal Reference", Kind::Char),
            f("type", "Product Type", Kind::Selection(PRODUCT_TYPES)).req(),
            f("list_price", "Sales Price", Kind::Float),
            f("standard_price", "Cost", Kind::Float),
            f("barcode", "Barcode", Kind::Char),
            f("description_purchase", "Purchase Description", Kind::Text),
            f("uom_name", "Unit of Measure Name", Kind::Char).ro(),
            f("active", "Active", Kind::Boolean),
        ],
    },
    ModelDef {
        name: "res.users",
        description: "User",
        order: "name, login",
        rec_name: "name",
        thread: true,
        fields: &[
            f("name", "Name", Kind::Char).req(),
            f("login", "Login", Kind::Char).req(),
            f(
                "partner_id",
                "Related Partner",
                Kind::Many2one("res.partner"),
            )
            .req(),
            f("company_id", "Company", Kind::Many2one("res.company")).req(),
            f("email", "Email", Kind::Char),
            f("active", "Active", Kind::Boolean),
        ],
    },
    ModelDef {
        name: "res.company",
        description: "Companies",
        order: "sequence, name",
        rec_name: "name",
        thread: false,
        fields: &[
            f("name", "Company Name", Kind::Char).req(),
            f("partner_id", "Partner", Kind::Many2one("res.partner")).req(),
            f("currency_id", "Currency", Kind::Many2one("res.currency")).req(),
            f("email", "Email", Kind::Char),
            f("sequence", "Sequence", Kind::Integer),
            f("active", "Active", Kind::Boolean),
        ],
    },
    ModelDef {
        name: "res.currency",
        description: "Currency",
        order: "active desc, name",
        rec_name: "name",
        thread: false,
        fields: &[
            f("name", "Currency", Kind::Char).req(),
            f("full_name", "Name", Kind::Char),
            f("symbol", "Symbol", Kind::Char).req(),
            f("rounding", "Rounding Factor", Kind::Float),
            f(
                "position",
                "Symbol Position",
                Kind::Selection(&[("after", "After Amount"), ("before", "Before Amount")]),
            ),
            f("active", "Active", Kind::Boolean),
        ],
    },
    ModelDef {
        name: "mail.message",
        description: "Message",
        order: "id desc",
        rec_name: "record_name",
        thread: false,
        fields: &[
            f("subject", "Subject", Kind::Char),
            f("date", "Date", Kind::Datetime),
            f("body", "Contents", Kind::Html),
            f("model", "Related Document Model", Kind::Char),
            f("res_id", "Related Document ID", Kind::Many2oneReference),
            f("record_name", "Message Record Name", Kind::Char),
            f("message_type", "Type", Kind::Selection(MESSAGE_TYPES)).req(),
            f(
                "subtype_id",
                "Subtype",
                Kind::Many2one("mail.message.subtype"),
            ),
            f("author_id", "Author", Kind::Many2one("res.partner")),
            f("email_from", "From", Kind::Char),
            f("partner_ids", "Recipients", Kind::Many2many("res.partner")),
            f(
                "parent_id",
                "Parent Message",
                Kind::Many2one("mail.message"),
            ),
            f("is_internal", "Employee Only", Kind::Boolean),
        ],
    },
    ModelDef {
        name: "mail.message.subtype",
        description: "Message subtypes",
        order: "sequence, id",
        rec_name: "name",
        thread: false,
        fields: &[
            f("name", "Message Type", Kind::Char).req(),
            f("description", "Description", Kind::Text),
            f("internal", "Internal Only", Kind::Boolean),
            f("res_model", "Model", Kind::Char),
            f("sequence", "Sequence", Kind::Integer),
        ],
    },
];

static EMPLOYEE_TYPES: &[(&str, &str)] = &[
    ("employee", "Employee"),
    ("student", "Student"),
    ("trainee", "Trainee"),
    ("contractor", "Contractor"),
    ("freelance", "Freelancer"),
];

static PO_STATES: &[(&str, &str)] = &[
    ("draft", "RFQ"),
    ("sent", "RFQ Sent"),
    ("to approve", "To Approve"),
    ("purchase", "Purchase Order"),
    ("done", "Locked"),
    ("cancel", "Cancelled"),
];

static INVOICE_STATUS: &[(&str, &str)] = &[
    ("no", "Nothing to Bill"),
    ("to invoice", "Waiting Bills"),
    ("invoiced", "Fully Billed"),
];

static PARTNER_TYPES: &[(&str, &str)] = &[
    ("contact", "Contact"),
    ("invoice", "Invoice Address"),
    ("delivery", "Delivery Address"),
    ("other", "Other Address"),
];

static PRODUCT_TYPES: &[(&str, &str)] = &[
    ("consu", "Consumable"),
    ("service", "Service"),
    ("product", "Storable Product"),
];

pub static MESSAGE_TYPES: &[(&str, &str)] = &[
    ("email", "Email"),
    ("comment", "Comment"),
    ("notification", "System notification"),
    ("auto_comment", "Automated Targeted Notification"),
    ("user_notification", "User Specific Notification"),
];

/// The subtypes `message_post` resolves `subtype_xmlid` against, by id.
pub static SUBTYPES: &[(i64, &str, &str)] = &[
    (1, "mail.mt_comment", "Discussions"),
    (2, "mail.mt_note", "Note"),
    (3, "mail.mt_activities", "Activities"),
];
