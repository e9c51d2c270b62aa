//! A generated manifest for measuring `check` at scale: the catalog's
//! tests count its work, `benches/check.rs` times it.

/// A `rest` manifest with `streams` streams, as a generator of manifests
/// for many tables would write it.
pub fn big_manifest(streams: usize) -> String {
    let mut text = String::from(
        "version = 1\nsystem = \"big\"\nkind = \"rest\"\ndepartment = \"it\"\nbase_url = \"https://big.example.com\"\n",
    );
    for i in 0..streams {
        text.push_str(&format!(
            r#"
[[streams]]
name = "table_{i:05}"
path = "/api/now/table/table_{i:05}"
records = "result"
key = "sys_id"

[streams.pagination]
type = "offset"
limit_param = "sysparm_limit"
offset_param = "sysparm_offset"
page_size = 100

[streams.cursor]
field = "sys_updated_on"
param = "sysparm_query"
template = "sys_updated_on>={{cursor}}"
format = "%Y-%m-%d %H:%M:%S"
"#
        ));
    }
    text
}
