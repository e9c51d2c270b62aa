//! Maximo's error body and the messages the simulator answers with:
//!
//! ```json
//! {"Error": {"extendedError": {"moreInfo": {"href": "…/maximo/oslc/error/messages/BMXAA8727E"}},
//!            "reasonCode": "BMXAA8727E",
//!            "message": "BMXAA8727E - The OSLC resource …",
//!            "statusCode": "404"}}
//! ```
//!
//! `statusCode` is a string, and `message` starts with the reason code. Each
//! message below says where it was seen; the ones marked "assumed" follow the
//! server's style where no public example was found.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::where_clause::EvalError;

/// One error answer: its status, reason code and full message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaximoError {
    pub status: StatusCode,
    pub reason: &'static str,
    pub message: String,
}

impl MaximoError {
    fn new(status: StatusCode, reason: &'static str, text: impl AsRef<str>) -> Self {
        MaximoError {
            status,
            reason,
            message: format!("{reason} - {}", text.as_ref()),
        }
    }

    /// The body, with `moreInfo` under `base` (`http://host/maximo/oslc`).
    pub fn body(&self, base: &str) -> Value {
        json!({"Error": {
            "extendedError": {"moreInfo": {"href": format!("{base}/error/messages/{}", self.reason)}},
            "reasonCode": self.reason,
            "message": self.message,
            "statusCode": self.status.as_u16().to_string(),
        }})
    }
}

/// No key, a wrong key, or a wrong `maxauth`: clients of API keys report
/// exactly this 401.
pub fn not_authenticated() -> MaximoError {
    MaximoError::new(
        StatusCode::UNAUTHORIZED,
        "BMXAA0021E",
        "User name and password combination are not valid. Try again.",
    )
}

/// Seen in clients' recorded responses for a resource id that matches nothing.
pub fn resource_not_found(id: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::NOT_FOUND,
        "BMXAA8727E",
        format!(
            "The OSLC resource MXWO with the ID {id} was not found as it does not exist in the system. In the database, verify whether the resource for the ID exists."
        ),
    )
}

/// Assumed: an object structure or path the server does not serve.
pub fn unknown_path(path: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::NOT_FOUND,
        "BMXAA8741E",
        format!(
            "The resource {path} was not found. Verify the object structure name and the resource path."
        ),
    )
}

/// Seen (Maximo forum): a clause the OSLC query parser rejects.
pub fn query_not_parsed(detail: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA8744E",
        format!(
            "The OSLC query was not parsed. Ensure that the query in the HTTP request follows the correct syntax of the OSLC query specification.\n\t{detail}"
        ),
    )
}

/// Assumed wordings: a clause that parses but names an attribute WORKORDER
/// does not have, or compares one with a literal of the wrong type (the
/// language is data-type sensitive).
pub fn bad_query(e: &EvalError) -> MaximoError {
    match e {
        EvalError::UnknownAttribute(attr) => MaximoError::new(
            StatusCode::BAD_REQUEST,
            "BMXAA8742E",
            format!(
                "The attribute {} is not valid for the object WORKORDER in the OSLC query.",
                attr.to_uppercase()
            ),
        ),
        EvalError::BadValue { attr, value } => MaximoError::new(
            StatusCode::BAD_REQUEST,
            "BMXAA8743E",
            format!(
                "The value {value} is not valid for the attribute {} in the OSLC query.",
                attr.to_uppercase()
            ),
        ),
    }
}

/// Assumed: a parameter the server cannot read (a page size that is not a
/// number, an `oslc.orderBy` key without its `+` or `-`).
pub fn bad_parameter(name: &str, detail: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA8745E",
        format!("The value of the query parameter {name} is not valid. {detail}"),
    )
}

/// The required-field message, seen for other objects' fields: "A value is
/// required for the URL/File Name field".
pub fn required(field_title: &str, object: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA4195E",
        format!("A value is required for the {field_title} field on the {object} object."),
    )
}

/// Seen: the duplicate-key message of an insert.
pub fn already_exists(siteid: &str, wonum: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA4129E",
        format!(
            "Record already exists for Site={siteid}, Work Order={wonum}. Ensure that the key value for the given record is unique."
        ),
    )
}

/// Seen in the docs' batched-error example, for an asset's location.
pub fn invalid_location(location: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA2661E",
        format!("Location {location} is not a valid location."),
    )
}

/// Assumed wording: a site the organisation does not have.
pub fn invalid_site(siteid: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA4153E",
        format!("Site {siteid} is not a valid site."),
    )
}

/// Assumed wording: a value of the wrong type for an attribute.
pub fn invalid_value(field_title: &str, value: &Value) -> MaximoError {
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA4049E",
        format!("The value {value} for field {field_title} is not in the correct format."),
    )
}

/// Seen (a changeStatus answer): the outer message of a refused status
/// change, with the inner reason on the next line. BMXAA0032E (same status)
/// was seen; the inner reasons for an unknown status or a disallowed move
/// are assumed wordings.
pub fn status_change(wonum: &str, to: &str, inner: StatusRefusal) -> MaximoError {
    let detail = match inner {
        StatusRefusal::Same => "BMXAA0032E - The status that you selected is the same as the current status. Select a different status.".to_string(),
        StatusRefusal::Unknown => format!("BMXAA4021E - {to} is not a valid value of the WOSTATUS domain."),
        StatusRefusal::NotAllowed(from) => {
            format!("BMXAA4200E - The status change from {from} to {to} is not allowed.")
        }
    };
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA4590E",
        format!("Could not change Work Order {wonum} status to {to}.\n\t{detail}"),
    )
}

pub enum StatusRefusal {
    Same,
    Unknown,
    NotAllowed(String),
}

/// Assumed: a history (closed or canceled) work order is read-only.
pub fn in_history(wonum: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA4187E",
        format!("Work Order {wonum} is in history and cannot be modified."),
    )
}

/// Assumed: a body that is not a JSON object.
pub fn bad_body(detail: &str) -> MaximoError {
    MaximoError::new(
        StatusCode::BAD_REQUEST,
        "BMXAA8728E",
        format!("The request body could not be processed as JSON. {detail}"),
    )
}

/// Assumed: POST on a member without `x-method-override`, or an action the
/// structure does not define.
pub fn unsupported(detail: &str) -> MaximoError {
    MaximoError::new(StatusCode::BAD_REQUEST, "BMXAA8746E", detail)
}

/// A database failure as a 500 (the MBO fetch message Maximo logs for SQL errors).
pub fn server_error() -> MaximoError {
    MaximoError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "BMXAA6713E",
        "The MBO fetch operation failed in the mboset with the SQL error code -4499. The record could not be retrieved from the database.",
    )
}

/// Assumed: MAS's API gateway throttling a client; Maximo itself sets no limit.
pub fn too_many_requests() -> MaximoError {
    MaximoError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "BMXAA9999E",
        "Too many requests. Try again later.",
    )
}
