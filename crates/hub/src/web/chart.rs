//! Horizontal bar charts as inline SVG: no script, no image files, and
//! text a screen reader can reach. Each chart has a `<title>` and a
//! `<desc>`, and its numbers are also a table beside it, for anyone the
//! picture does not serve.

use maud::{Markup, html};

/// One chart: a bar per group and series.
pub(super) struct Chart<'a> {
    /// Unique on the page: ids of the title and description derive from it.
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
    /// The unit the values are in, as a reader says it ("h", "%"); empty
    /// for counts.
    pub unit: &'a str,
    /// Series names, such as `["p50", "p90"]`; one bar each per group.
    pub series: &'a [&'a str],
    /// Group (a department) and its values, one per series; `None`: not
    /// measured, drawn as no bar and said as "no data".
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

const WIDTH: f64 = 640.0;
const LABEL: f64 = 130.0;
const BAR: f64 = 18.0;
const GAP: f64 = 12.0;
const VALUE_ROOM: f64 = 95.0;

fn fmt(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(v) if v.fract().abs() < 1e-9 => format!("{v:.0} {unit}").trim_end().to_string(),
        Some(v) => format!("{v:.1} {unit}").trim_end().to_string(),
        None => "no data".into(),
    }
}

impl Chart<'_> {
    pub fn render(&self) -> Markup {
        let max = self
            .rows
            .iter()
            .flat_map(|(_, vs)| vs.iter().flatten())
            .fold(0.0_f64, |m, v| m.max(*v));
        let scale = if max > 0.0 {
            (WIDTH - LABEL - VALUE_ROOM) / max
        } else {
            0.0
        };
        let group_h = BAR * self.series.len() as f64 + GAP;
        let legend_h = if self.series.len() > 1 { 24.0 } else { 0.0 };
        let height = legend_h + group_h * self.rows.len().max(1) as f64 + GAP;
        let title_id = format!("{}-title", self.id);
        let desc_id = format!("{}-desc", self.id);
        html! {
            figure class="chart" {
                figcaption { h3 { (self.title) } }
                svg xmlns="http://www.w3.org/2000/svg" role="img"
                    viewBox={ "0 0 " (WIDTH) " " (height) } width="100%"
                    aria-labelledby={ (title_id) " " (desc_id) } {
                    title id=(title_id) { (self.title) }
                    desc id=(desc_id) { (self.desc) }
                    @if self.series.len() > 1 {
                        @for (i, s) in self.series.iter().enumerate() {
                            // Closed explicitly: in HTML, an SVG element
                            // without `/>` or an end tag swallows what follows.
                            rect x=(LABEL + i as f64 * 110.0) y="4" width="14" height="14" class={ "s" (i) } {}
                            text x=(LABEL + i as f64 * 110.0 + 20.0) y="16" class="legend" { (s) }
                        }
                    }
                    @if self.rows.is_empty() {
                        text x="0" y=(legend_h + 20.0) class="label" { "No data in this window." }
                    }
                    @for (g, (group, values)) in self.rows.iter().enumerate() {
                        @let top = legend_h + g as f64 * group_h;
                        text x=(LABEL - 8.0) y=(top + BAR * self.series.len() as f64 / 2.0 + 5.0)
                            text-anchor="end" class="label" { (group) }
                        @for (i, v) in values.iter().enumerate() {
                            @let y = top + i as f64 * BAR;
                            @let w = v.map(|v| (v * scale).max(1.0)).unwrap_or(0.0);
                            rect x=(LABEL) y=(y + 2.0) width=(format!("{w:.1}")) height=(BAR - 4.0) class={ "s" (i) } {
                                title { (group) ", " (self.series.get(i).copied().unwrap_or("")) ": " (fmt(*v, self.unit)) }
                            }
                            text x=(LABEL + w + 6.0) y=(y + BAR - 5.0) class="value" { (fmt(*v, self.unit)) }
                        }
                    }
                }
                details {
                    summary { "The numbers as a table" }
                    table {
                        caption { (self.title) }
                        thead { tr {
                            th scope="col" { "Department" }
                            @for s in self.series { th scope="col" { (s) } }
                        } }
                        tbody {
                            @for (group, values) in &self.rows {
                                tr {
                                    th scope="row" { (group) }
                                    @for v in values { td { (fmt(*v, self.unit)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
