//! The dashboard's charts as SVG, drawn on the server (no JavaScript, a few hundred bytes
//! each on a 3G phone): horizontal bars, optionally two per row (billed and collected).

/// One row: a label and one or two values (the second drawn over the first, e.g. collected
/// over billed), and the text printed after the bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub inner: Option<i64>,
    pub text: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Horizontal bars scaled to the largest value. `title` is the accessible name.
pub fn bars_svg(title: &str, bars: &[Bar]) -> String {
    const ROW: i64 = 26;
    const LABEL_W: i64 = 130;
    const BAR_W: i64 = 300;
    let height = ROW * i64::try_from(bars.len().max(1)).unwrap_or(1) + 8;
    let max = bars.iter().map(|b| b.value.max(b.inner.unwrap_or(0))).max().unwrap_or(0).max(1);
    let width_of = |v: i64| -> i64 { i64::try_from(i128::from(v.max(0)) * i128::from(BAR_W) / i128::from(max)).unwrap_or(0) };
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {w} {height}" width="100%" aria-label="{t}"><title>{t}</title>"#,
        w = LABEL_W + BAR_W + 140,
        t = escape(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 4 + ROW * i64::try_from(i).unwrap_or(0);
        out.push_str(&format!(
            r##"<text x="{lx}" y="{ty}" text-anchor="end" font-size="12" fill="#333">{label}</text><rect x="{x}" y="{y}" width="{w}" height="18" fill="#cfd8e3"/>"##,
            lx = LABEL_W - 6,
            ty = y + 13,
            label = escape(&b.label),
            x = LABEL_W,
            w = width_of(b.value),
        ));
        if let Some(inner) = b.inner {
            out.push_str(&format!(r##"<rect x="{LABEL_W}" y="{y}" width="{w}" height="18" fill="#1f6f43"/>"##, w = width_of(inner)));
        }
        out.push_str(&format!(
            r##"<text x="{tx}" y="{ty}" font-size="12" fill="#333">{text}</text>"##,
            tx = LABEL_W + BAR_W + 6,
            ty = y + 13,
            text = escape(&b.text)
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_escape() {
        let svg = bars_svg(
            "Billed <and> collected",
            &[
                Bar { label: "Form 1 <A>".into(), value: 100, inner: Some(50), text: "50%".into() },
                Bar { label: "Form 2".into(), value: 200, inner: Some(200), text: "100%".into() },
            ],
        );
        assert!(svg.contains("Form 1 &lt;A&gt;") && !svg.contains("<A>"));
        assert!(svg.contains(r#"width="150""#) && svg.contains(r#"width="300""#), "{svg}");
        assert!(bars_svg("empty", &[]).ends_with("</svg>"));
    }
}
