//! Reads: the collection query `GET /maximo/oslc/os/mxwo` (`oslc.where`,
//! `opmodeor`, `oslc.orderBy`, `oslc.select`, `oslc.pageSize`, `pageno`,
//! `collectioncount`, `lean`, `_dropnulls`) and single resources
//! `GET …/mxwo/{id}` (`oslc.properties` or `oslc.select`).
//!
//! Paging is the server's normal paging: every page runs the query again, so
//! a record that changes between pages moves, as it does on a real server.
//! The answer's `responseInfo` carries `href` (this request), `pagenum`,
//! `nextPage` and `previousPage` (this request with another `pageno`) and,
//! with `collectioncount=1`, `totalCount` and `totalPages`. Without
//! `oslc.pageSize` the whole result is one answer, with no page links.

use std::cmp::Ordering;

use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::super::State;
use super::super::errors::{self, MaximoError};
use super::super::model::{Kind, kind_of, parse_time};
use super::super::select::{self, Render, Select};
use super::super::where_clause::{self, Term};
use super::{Context, Req, error, flag, header, respond};

/// `oslc.orderBy`: attributes each prefixed with `+` (ascending) or `-`,
/// separated by commas. A `+` sent unencoded arrives as a space, leaving the
/// attribute without its sign, which is refused: the docs call it the
/// common mistake.
pub(in crate::maximo) fn parse_order(text: &str) -> Result<Vec<(String, bool)>, MaximoError> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let part = part.trim();
            let (ascending, attr) = match part.split_at(1) {
                ("+", attr) => (true, attr),
                ("-", attr) => (false, attr),
                _ => {
                    return Err(errors::bad_parameter(
                        "oslc.orderBy",
                        &format!("Prefix {part} with + (URL-encoded as %2B) or -."),
                    ));
                }
            };
            let attr = attr.trim().to_ascii_lowercase();
            if kind_of(&attr).is_none() {
                return Err(errors::bad_parameter(
                    "oslc.orderBy",
                    &format!(
                        "{} is not a persistent attribute of WORKORDER.",
                        attr.to_uppercase()
                    ),
                ));
            }
            Ok((attr, ascending))
        })
        .collect()
}

fn compare(attr: &str, a: &Map<String, Value>, b: &Map<String, Value>, tz: Tz) -> Ordering {
    let (x, y) = (
        a.get(attr).filter(|v| !v.is_null()),
        b.get(attr).filter(|v| !v.is_null()),
    );
    match (x, y) {
        (None, None) => Ordering::Equal,
        // Nulls sort last ascending, as the database puts them.
        (None, _) => Ordering::Greater,
        (_, None) => Ordering::Less,
        (Some(x), Some(y)) => match kind_of(attr) {
            Some(Kind::Integer) => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .unwrap_or(Ordering::Equal),
            Some(Kind::Date) => {
                let parse = |v: &Value| v.as_str().and_then(|s| parse_time(s, tz));
                parse(x).cmp(&parse(y))
            }
            Some(Kind::Bool) => x.as_bool().cmp(&y.as_bool()),
            _ => x.as_str().cmp(&y.as_str()),
        },
    }
}

/// A positive whole-number parameter.
fn positive(req: &Req, name: &str) -> Result<Option<usize>, MaximoError> {
    match req.param(name) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(errors::bad_parameter(
                name,
                &format!("{v} is not a positive number."),
            )),
        },
    }
}

fn render(req: &Req, ctx: &Context) -> Render {
    Render {
        collection: ctx.collection(),
        lean: flag(req, "lean"),
        // Null attributes are left out unless the client asks for them.
        drop_nulls: req.param("_dropnulls") != Some("0"),
    }
}

fn request_url(req: &Req, ctx: &Context) -> String {
    match req.uri.query() {
        Some(q) => format!("{}{}?{q}", ctx.origin, req.path()),
        None => format!("{}{}", ctx.origin, req.path()),
    }
}

/// This request's URL with `pageno` set to `page`, the other parameters as
/// they came: the next page repeats the filter, order and selection.
fn page_url(req: &Req, ctx: &Context, page: usize) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("pageno", &page.to_string());
    for (k, v) in req.params.iter().filter(|(k, _)| k != "pageno") {
        query.append_pair(k, v);
    }
    format!("{}{}?{}", ctx.origin, req.path(), query.finish())
}

/// `GET /maximo/oslc/os/mxwo`.
pub(super) fn collection(st: &State, req: &Req, ctx: &Context) -> Response {
    match query(st, req, ctx) {
        Ok(body) => respond(StatusCode::OK, &body),
        Err(e) => error(&e, ctx),
    }
}

fn query(st: &State, req: &Req, ctx: &Context) -> Result<Value, MaximoError> {
    let tz = st.tz();
    let terms: Vec<Term> = match req.param("oslc.where").filter(|w| !w.trim().is_empty()) {
        Some(text) => where_clause::parse(text).map_err(|e| errors::query_not_parsed(&e.0))?,
        None => Vec::new(),
    };
    let any = flag(req, "opmodeor");
    let order = match req.param("oslc.orderBy").filter(|o| !o.trim().is_empty()) {
        Some(text) => parse_order(text)?,
        None => Vec::new(),
    };
    // Without oslc.select a collection lists bare hrefs.
    let select = match req.param("oslc.select") {
        Some(text) => select::parse(text).map_err(|e| errors::bad_parameter("oslc.select", &e))?,
        None => Select::default(),
    };
    let requested = positive(req, "oslc.pageSize")?;
    let size = match (requested, st.config.max_page_size) {
        (Some(n), Some(max)) => Some(n.min(max)),
        (n, _) => n,
    };
    let pageno = positive(req, "pageno")?.unwrap_or(1);

    let mut rows: Vec<&Map<String, Value>> = Vec::new();
    for rec in &st.records {
        if terms.is_empty()
            || where_clause::matches(&terms, rec, any, tz).map_err(|e| errors::bad_query(&e))?
        {
            rows.push(rec);
        }
    }
    // A stable sort: rows equal on every key keep their insertion order.
    rows.sort_by(|a, b| {
        order
            .iter()
            .map(|(attr, asc)| {
                let o = compare(attr, a, b, tz);
                if *asc { o } else { o.reverse() }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    let total = rows.len();
    let render = render(req, ctx);
    let mut info = Map::new();
    info.insert("href".into(), json!(request_url(req, ctx)));
    let page: &[&Map<String, Value>] = match size {
        Some(size) => {
            let pages = total.div_ceil(size);
            let start = (pageno - 1).saturating_mul(size).min(total);
            let end = start.saturating_add(size).min(total);
            info.insert("pagenum".into(), json!(pageno));
            if pageno < pages {
                info.insert(
                    "nextPage".into(),
                    json!({"href": page_url(req, ctx, pageno + 1)}),
                );
            }
            if pageno > 1 {
                info.insert(
                    "previousPage".into(),
                    json!({"href": page_url(req, ctx, pageno - 1)}),
                );
            }
            if flag(req, "collectioncount") {
                info.insert("totalPages".into(), json!(pages));
            }
            &rows[start..end]
        }
        None => &rows,
    };
    if flag(req, "collectioncount") {
        info.insert("totalCount".into(), json!(total));
    }
    let members: Vec<Value> = page
        .iter()
        .map(|rec| select::member(rec, &select, &render))
        .collect();
    Ok(envelope(members, info, &render))
}

/// The collection document, lean or with the OSLC namespaces.
fn envelope(members: Vec<Value>, info: Map<String, Value>, render: &Render) -> Value {
    if render.lean {
        return json!({"member": members, "href": render.collection, "responseInfo": info});
    }
    let mut spi = Map::new();
    for (k, v) in info {
        match (k.as_str(), v) {
            ("href", v) => spi.insert("rdf:about".into(), v),
            (page @ ("nextPage" | "previousPage"), v) => {
                spi.insert(format!("oslc:{page}"), json!({"rdf:resource": v["href"]}))
            }
            (other, v) => spi.insert(format!("oslc:{other}"), v),
        };
    }
    json!({"rdfs:member": members, "rdf:about": render.collection, "oslc:responseInfo": spi})
}

/// `GET /maximo/oslc/os/mxwo/{id}`: every attribute and child object unless
/// `oslc.properties` (or `oslc.select`) names fewer.
pub(super) fn member(st: &State, req: &Req, ctx: &Context, id: &str) -> Response {
    let Some(i) = st.position(id) else {
        return error(&errors::resource_not_found(id), ctx);
    };
    let wanted = req
        .param("oslc.properties")
        .or_else(|| req.param("oslc.select"));
    let select = match wanted {
        Some(text) => match select::parse(text) {
            Ok(s) => s,
            Err(e) => return error(&errors::bad_parameter("oslc.properties", &e), ctx),
        },
        None => full_select(),
    };
    respond(
        StatusCode::OK,
        &select::member(&st.records[i], &select, &render(req, ctx)),
    )
}

/// `*` with every child object, as a single resource reads by default.
pub(super) fn full_select() -> Select {
    Select {
        all: true,
        attrs: Vec::new(),
        children: super::super::model::CHILDREN
            .iter()
            .map(|c| (c.to_string(), Select::everything()))
            .collect(),
    }
}

/// How a write's answer renders the `properties` header, if it has one.
pub(super) fn properties(
    req: &Req,
    ctx: &Context,
) -> Result<Option<(Select, Render)>, MaximoError> {
    let Some(text) = header(req, "properties").filter(|p| !p.trim().is_empty()) else {
        return Ok(None);
    };
    let select = select::parse(text).map_err(|e| errors::bad_parameter("properties", &e))?;
    Ok(Some((select, render(req, ctx))))
}
