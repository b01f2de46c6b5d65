//! A student's subject percentages across terms as an SVG line chart ([`trend_svg`]), drawn
//! on the server for the parent portal: no JavaScript, no chart library, readable on a
//! phone, and the same bytes for the same data (so it can be cached and compared).
//!
//! # Layout
//!
//! The drawing is 640 units wide and scales to its container (`width="100%"` and a
//! `viewBox`, no fixed pixel size). The plot runs from x 48 to 624 and y 40 to 240: the y
//! axis is 0–100 % (2 units per point, gridlines at 0, 25, 50, 75, 100); terms sit 24 units
//! inside the plot's edges, evenly spaced (one term alone in the middle). Below the term
//! labels, a legend of three entries per row, 20 units apart.
//!
//! Each subject is a polyline through its terms; a term not sat (`None`) breaks the line,
//! and every point is also a circle (with a tooltip), so a lone point still shows.
//! Subjects take the colours of [`PALETTE`] in order; from the ninth on, the colours repeat
//! with a dashed, then a dotted, line. A subject with no point at all is left out.
//!
//! Every text is XML-escaped; characters XML 1.0 cannot carry (control characters other
//! than tab and line ends) are dropped, since one would make the whole image unreadable.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// One chart: the caller gives every text, already in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrendChart {
    /// Shown above the plot, and the image's accessible name.
    pub title: String,
    /// The x labels, oldest first, e.g. "2026 T1".
    pub terms: Vec<String>,
    pub series: Vec<TrendSeries>,
    /// The y axis's label, e.g. "Percent".
    pub y_label: String,
    /// Shown in the plot when there is nothing to draw, e.g. "No results yet".
    pub empty_text: String,
}

/// One subject: a percentage per term (in the order of [`TrendChart::terms`]; missing
/// entries are not sat, entries past the terms are ignored, values above 100 are drawn at 100).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrendSeries {
    pub subject: String,
    pub points: Vec<Option<u8>>,
}

/// Line colours, in the order subjects get them. Okabe and Ito's colour-blind-safe set, with
/// its orange, yellow and sky blue (too pale on white) replaced by darker ochre, Tol's
/// indigo and wine: each has at least 3:1 contrast against white (WCAG's minimum for
/// graphics).
pub const PALETTE: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#8C6D00", "#332288", "#882255"];
/// Dash patterns for the second and third time round the palette.
const DASHES: [Option<&str>; 3] = [None, Some("6 4"), Some("1 3")];

const WIDTH: u32 = 640;
const PLOT_LEFT: u32 = 48;
const PLOT_RIGHT: u32 = 624;
const PLOT_TOP: u32 = 40;
const PLOT_BOTTOM: u32 = 240;
/// How far the first and last term sit inside the plot, so their points clear the axis.
const INSET: u32 = 24;
const TERM_LABEL_Y: u32 = 260;
const LEGEND_TOP: u32 = 280;
const LEGEND_ROW: u32 = 20;
const LEGEND_COLUMNS: usize = 3;
const LEGEND_COLUMN_WIDTH: u32 = 192;
const BOTTOM_PAD: u32 = 12;
/// Longer subject names are cut in the legend (the description and tooltips keep them
/// whole), so one entry never runs into the next.
const LEGEND_MAX_CHARS: usize = 22;

/// XML text or attribute value: `& < > " '` escaped, characters XML 1.0 forbids dropped.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A coordinate given in hundredths of a unit: "72", "72.5", "72.33".
fn coord(hundredths: u32) -> String {
    let (whole, frac) = (hundredths / 100, hundredths % 100);
    match frac {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// The x of term `i` of `n`, in hundredths.
fn term_x(i: usize, n: usize) -> u32 {
    let inner = (PLOT_RIGHT - PLOT_LEFT - 2 * INSET) * 100;
    if n < 2 {
        return (PLOT_LEFT + PLOT_RIGHT) * 50;
    }
    let (i, last) = (u64::try_from(i).unwrap_or(u64::MAX), u64::try_from(n - 1).unwrap_or(u64::MAX));
    let offset = u32::try_from(u64::from(inner) * i.min(last) / last).unwrap_or(inner);
    (PLOT_LEFT + INSET) * 100 + offset
}

/// The y of a percentage, in hundredths (100 % at the top of the plot).
fn percent_y(percent: u8) -> u32 {
    let percent = u32::from(percent.min(100));
    (PLOT_BOTTOM - percent * (PLOT_BOTTOM - PLOT_TOP) / 100) * 100
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The chart as a self-contained `<svg>` element; see the module documentation.
pub fn trend_svg(chart: &TrendChart) -> String {
    let n_terms = chart.terms.len();
    let point = |s: &TrendSeries, i: usize| s.points.get(i).copied().flatten();
    // Series with something to draw, with their index (which fixes their colour).
    let drawn: Vec<(usize, &TrendSeries)> =
        chart.series.iter().enumerate().filter(|(_, s)| (0..n_terms).any(|i| point(s, i).is_some())).collect();
    let legend_rows = u32::try_from(drawn.len().div_ceil(LEGEND_COLUMNS)).unwrap_or(0);
    let height = if drawn.is_empty() { TERM_LABEL_Y + BOTTOM_PAD } else { LEGEND_TOP + legend_rows * LEGEND_ROW + BOTTOM_PAD };

    let mut out = String::with_capacity(2048 + 512 * drawn.len());
    // `write!` into a String cannot fail; its Result is ignored throughout.
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" \
         font-family=\"system-ui, sans-serif\" font-size=\"12\">"
    );
    let _ = write!(out, "<title>{}</title><desc>{}</desc>", escape_xml(&chart.title), escape_xml(&describe(chart, &drawn)));
    let _ = write!(out, "<text x=\"{PLOT_LEFT}\" y=\"24\" font-size=\"14\" font-weight=\"bold\">{}</text>", escape_xml(&chart.title));

    // The y axis: gridlines, their labels, the axis label.
    for percent in [0u8, 25, 50, 75, 100] {
        let y = coord(percent_y(percent));
        let _ = write!(
            out,
            "<line x1=\"{PLOT_LEFT}\" y1=\"{y}\" x2=\"{PLOT_RIGHT}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"1\"/>",
            if percent == 0 { "#555555" } else { "#DDDDDD" }
        );
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#333333\">{percent}</text>",
            PLOT_LEFT - 6,
            coord(percent_y(percent) + 400)
        );
    }
    let middle = (PLOT_TOP + PLOT_BOTTOM) / 2;
    let _ = write!(
        out,
        "<text x=\"14\" y=\"{middle}\" transform=\"rotate(-90 14 {middle})\" text-anchor=\"middle\" fill=\"#333333\">{}</text>",
        escape_xml(&chart.y_label)
    );

    // The x axis: one label per term.
    for (i, term) in chart.terms.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{TERM_LABEL_Y}\" text-anchor=\"middle\" fill=\"#333333\">{}</text>",
            coord(term_x(i, n_terms)),
            escape_xml(term)
        );
    }

    if drawn.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{middle}\" text-anchor=\"middle\" fill=\"#555555\" font-size=\"14\">{}</text>",
            (PLOT_LEFT + PLOT_RIGHT) / 2,
            escape_xml(&chart.empty_text)
        );
    }

    for &(index, series) in &drawn {
        let colour = PALETTE.get(index % PALETTE.len()).copied().unwrap_or("#000000");
        let dash = DASHES.get((index / PALETTE.len()) % DASHES.len()).copied().flatten();
        let dash_attr = dash.map_or_else(String::new, |d| format!(" stroke-dasharray=\"{d}\""));
        // One polyline per run of consecutive terms sat: a term not sat breaks the line.
        let mut run: Vec<String> = Vec::new();
        let flush = |run: &mut Vec<String>, out: &mut String| {
            if run.len() >= 2 {
                let _ = write!(
                    out,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" \
                     stroke-linejoin=\"round\" stroke-linecap=\"round\"{dash_attr}/>",
                    run.join(" ")
                );
            }
            run.clear();
        };
        for i in 0..n_terms {
            match point(series, i) {
                Some(p) => run.push(format!("{},{}", coord(term_x(i, n_terms)), coord(percent_y(p)))),
                None => flush(&mut run, &mut out),
            }
        }
        flush(&mut run, &mut out);
        for (i, term) in chart.terms.iter().enumerate() {
            let Some(p) = point(series, i) else { continue };
            let _ = write!(
                out,
                "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{colour}\"><title>{}</title></circle>",
                coord(term_x(i, n_terms)),
                coord(percent_y(p)),
                escape_xml(&format!("{}, {term}: {}%", series.subject, p.min(100)))
            );
        }
    }

    // The legend.
    for (slot, &(index, series)) in drawn.iter().enumerate() {
        let colour = PALETTE.get(index % PALETTE.len()).copied().unwrap_or("#000000");
        let dash = DASHES.get((index / PALETTE.len()) % DASHES.len()).copied().flatten();
        let dash_attr = dash.map_or_else(String::new, |d| format!(" stroke-dasharray=\"{d}\""));
        let column = u32::try_from(slot % LEGEND_COLUMNS).unwrap_or(0);
        let row = u32::try_from(slot / LEGEND_COLUMNS).unwrap_or(0);
        let x = PLOT_LEFT + column * LEGEND_COLUMN_WIDTH;
        let baseline = LEGEND_TOP + row * LEGEND_ROW + 12;
        let _ = write!(
            out,
            "<line x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"{dash_attr}/>\
             <circle cx=\"{}\" cy=\"{y}\" r=\"3.5\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"{baseline}\">{}</text>",
            x + 20,
            x + 10,
            x + 26,
            escape_xml(&cut(&series.subject, LEGEND_MAX_CHARS)),
            y = baseline - 4,
        );
    }
    out.push_str("</svg>");
    out
}

/// The text a screen reader gives: the y label, then each subject's percentages by term
/// ("–" for not sat); the empty text when there is nothing to draw.
fn describe(chart: &TrendChart, drawn: &[(usize, &TrendSeries)]) -> String {
    if drawn.is_empty() {
        return chart.empty_text.clone();
    }
    let subjects: Vec<String> = drawn
        .iter()
        .map(|(_, s)| {
            let terms: Vec<String> = chart
                .terms
                .iter()
                .enumerate()
                .map(|(i, term)| match s.points.get(i).copied().flatten() {
                    Some(p) => format!("{term} {}%", p.min(100)),
                    None => format!("{term} –"),
                })
                .collect();
            format!("{}: {}", s.subject, terms.join(", "))
        })
        .collect();
    format!("{}. {}.", chart.y_label, subjects.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(terms: &[&str], series: &[(&str, &[Option<u8>])]) -> TrendChart {
        TrendChart {
            title: "Asha's results".into(),
            terms: terms.iter().map(|t| t.to_string()).collect(),
            series: series.iter().map(|(s, p)| TrendSeries { subject: s.to_string(), points: p.to_vec() }).collect(),
            y_label: "Percent".into(),
            empty_text: "No results yet".into(),
        }
    }

    /// The `attr="…"` values of every `<tag …>` in order.
    fn attrs(svg: &str, tag: &str, attr: &str) -> Vec<String> {
        let open = format!("<{tag} ");
        let key = format!(" {attr}=\"");
        svg.match_indices(&open)
            .filter_map(|(i, _)| {
                let rest = &svg[i..];
                let end = rest.find('>').unwrap();
                let element = &rest[..end];
                let at = element.find(&key)? + key.len();
                Some(element[at..].split('"').next().unwrap().to_owned())
            })
            .collect()
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_xml(r#"<b>Tom & "Jerry's"</b>"#), "&lt;b&gt;Tom &amp; &quot;Jerry&apos;s&quot;&lt;/b&gt;");
        assert_eq!(escape_xml("a\u{0}b\u{1b}c\td\u{fffe}"), "abc\td");
        let svg = trend_svg(&TrendChart {
            title: "<script>alert(1)</script>".into(),
            terms: vec!["T1 & T2".into(), "\"T3\"".into()],
            series: vec![TrendSeries { subject: "Maths <'pure'>".into(), points: vec![Some(50), Some(60)] }],
            y_label: "% & more".into(),
            empty_text: String::new(),
        });
        assert!(!svg.contains("<script>") && !svg.contains("T1 & T2") && !svg.contains("<'pure'>"));
        assert!(svg.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
        assert!(svg.contains(">T1 &amp; T2</text>") && svg.contains(">&quot;T3&quot;</text>"));
        assert!(svg.contains(">Maths &lt;&apos;pure&apos;&gt;</text>"));
        assert!(svg.contains("<title>Maths &lt;&apos;pure&apos;&gt;, T1 &amp; T2: 50%</title>"));
        assert!(svg.contains(">% &amp; more</text>"));
        // Outside escapes, no bare & or < in any text: every & starts an entity.
        for (i, _) in svg.match_indices('&') {
            assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| svg[i..].starts_with(e)), "{}", &svg[i..]);
        }
    }

    #[test]
    fn the_frame_is_responsive_and_accessible() {
        let svg = trend_svg(&chart(&["2026 T1", "2026 T2"], &[("Mathematics", &[Some(40), Some(60)])]));
        // One legend row: 280 + 20 + 12 = 312 high.
        assert!(svg.starts_with(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 640 312\" width=\"100%\" role=\"img\" \
             font-family=\"system-ui, sans-serif\" font-size=\"12\"><title>Asha&apos;s results</title>\
             <desc>Percent. Mathematics: 2026 T1 40%, 2026 T2 60%.</desc>"
        ));
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("height=") && !svg.contains("px"));
        // Gridlines at 0, 25, 50, 75, 100 %: y = 240 − 2 × percent.
        assert_eq!(attrs(&svg, "line", "y1")[..5], ["240", "190", "140", "90", "40"]);
        let labels: Vec<&str> = ["0", "25", "50", "75", "100"].into_iter().filter(|l| svg.contains(&format!(">{l}</text>"))).collect();
        assert_eq!(labels.len(), 5);
        assert!(svg.contains(">2026 T1</text>") && svg.contains(">2026 T2</text>") && svg.contains(">Percent</text>"));
        // The same input, the same bytes.
        assert_eq!(svg, trend_svg(&chart(&["2026 T1", "2026 T2"], &[("Mathematics", &[Some(40), Some(60)])])));
    }

    #[test]
    fn coordinates_of_a_known_input() {
        // Four terms across x 72–600: 72, 248, 424, 600. y = 240 − 2p.
        let svg = trend_svg(&chart(
            &["2025 T1", "2025 T2", "2026 T1", "2026 T2"],
            &[("Mathematics", &[Some(50), Some(75), Some(100), Some(0)]), ("English", &[Some(33), Some(67), Some(90), Some(45)])],
        ));
        assert_eq!(attrs(&svg, "polyline", "points"), ["72,140 248,90 424,40 600,240", "72,174 248,106 424,60 600,150"]);
        assert_eq!(attrs(&svg, "polyline", "stroke"), ["#0072B2", "#D55E00"]);
        assert_eq!(attrs(&svg, "text", "x")[7..11], ["72", "248", "424", "600"]); // after the title, 5 y labels, the axis label
                                                                                  // Three terms: 72, 336, 600; one term: the middle, 336.
        let svg = trend_svg(&chart(&["a", "b", "c"], &[("S", &[Some(10), Some(20), Some(30)])]));
        assert_eq!(attrs(&svg, "polyline", "points"), ["72,220 336,200 600,180"]);
        let svg = trend_svg(&chart(&["a"], &[("S", &[Some(80)])]));
        assert!(attrs(&svg, "polyline", "points").is_empty());
        assert_eq!(attrs(&svg, "circle", "cx")[0], "336");
        assert_eq!(attrs(&svg, "circle", "cy")[0], "80");
        // Seven terms: 528 / 6 = 88 apart; a fraction when it does not divide: 528 / 9 = 58.66…
        assert_eq!(term_x(1, 7), 16000);
        assert_eq!(coord(term_x(1, 10)), "130.66");
        assert_eq!(coord(term_x(9, 10)), "600");
        // Above 100 is drawn at 100.
        assert_eq!(percent_y(255), percent_y(100));
    }

    #[test]
    fn gaps_break_the_line_and_lone_points_show() {
        // Terms 72, 204, 336, 468, 600. Not sat in the third term: two runs of two; the
        // second subject has a lone point between gaps.
        let svg = trend_svg(&chart(
            &["1", "2", "3", "4", "5"],
            &[("Physics", &[Some(40), Some(50), None, Some(60), Some(70)]), ("Biology", &[None, Some(55), None])],
        ));
        assert_eq!(attrs(&svg, "polyline", "points"), ["72,160 204,140", "468,120 600,100"]);
        // Every point is a circle: four for Physics, one for Biology, then two legend dots.
        let cx = attrs(&svg, "circle", "cx");
        assert_eq!(cx[..5], ["72", "204", "468", "600", "204"]);
        assert_eq!(attrs(&svg, "circle", "cy")[4], "130");
        assert_eq!(attrs(&svg, "circle", "fill")[4], "#D55E00");
        assert!(svg.contains("<title>Biology, 2: 55%</title>"));
        assert!(svg.contains("<desc>Percent. Physics: 1 40%, 2 50%, 3 –, 4 60%, 5 70%; Biology: 1 –, 2 55%, 3 –, 4 –, 5 –.</desc>"));
    }

    #[test]
    fn nothing_to_draw_shows_the_empty_text() {
        for c in [
            chart(&["2026 T1"], &[]),
            chart(&["2026 T1", "2026 T2"], &[("Mathematics", &[None, None])]),
            chart(&[], &[("Mathematics", &[Some(50)])]),
        ] {
            let svg = trend_svg(&c);
            assert!(svg.contains("<desc>No results yet</desc>"), "{svg}");
            assert!(svg.contains("text-anchor=\"middle\" fill=\"#555555\" font-size=\"14\">No results yet</text>"));
            assert!(!svg.contains("<polyline") && !svg.contains("<circle"));
            assert!(svg.contains("viewBox=\"0 0 640 272\""));
            // The frame is still there.
            assert_eq!(attrs(&svg, "line", "y1").len(), 5);
        }
        // With something drawn there is no empty text.
        assert!(!trend_svg(&chart(&["a"], &[("S", &[Some(1)])])).contains("No results yet"));
    }

    #[test]
    fn colours_legend_and_long_names() {
        let subjects: Vec<String> = (0..10).map(|i| format!("Subject {i}")).collect();
        let points = [Some(50u8)];
        let series: Vec<(&str, &[Option<u8>])> = subjects.iter().map(|s| (s.as_str(), &points[..])).collect();
        let mut c = chart(&["T1"], &series);
        c.series[1].subject = "Information and Computer Studies".into();
        c.series[2].points = vec![None]; // nothing to draw: left out, its colour not reused
        let svg = trend_svg(&c);
        // Nine drawn: three legend rows, 280 + 60 + 12.
        assert!(svg.contains("viewBox=\"0 0 640 352\""));
        let fills = attrs(&svg, "circle", "fill");
        assert_eq!(fills[..9], ["#0072B2", "#D55E00", "#CC79A7", "#000000", "#8C6D00", "#332288", "#882255", "#0072B2", "#D55E00"]);
        // The ninth and tenth subjects repeat the first colours, dashed.
        let dashes = attrs(&svg, "line", "stroke-dasharray");
        assert_eq!(dashes, ["6 4", "6 4"]);
        assert!(svg.contains(">Information and Compu…</text>"));
        assert!(svg.contains("<title>Information and Computer Studies, T1: 50%</title>"));
        assert!(!svg.contains(">Subject 2</text>"));
        // Legend entries: three a row, 192 apart, rows 20 apart (baselines 292, 312, 332).
        let legend: Vec<(String, String)> = attrs(&svg, "text", "x").into_iter().zip(attrs(&svg, "text", "y")).skip(8).collect();
        assert_eq!(legend[0], ("74".into(), "292".into()));
        assert_eq!(legend[1], ("266".into(), "292".into()));
        assert_eq!(legend[3], ("74".into(), "312".into()));
        assert_eq!(legend[8], ("458".into(), "332".into()));
    }
}
