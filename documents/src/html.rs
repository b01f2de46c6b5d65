//! The same report card as HTML + CSS, for `kilele bench report-cards`: what a system that
//! prints through a headless browser would render (same data, same sections, same A4 page,
//! the chart as inline SVG, DejaVu Sans). Not served to anyone; the PDF is the card.

use crate::model::ReportCard;
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "@page{size:A4;margin:10mm 12mm 17mm}
body{font-family:'DejaVu Sans',sans-serif;font-size:8.4pt;color:#191919;margin:0}
header{display:flex;justify-content:space-between;border-bottom:2px solid var(--accent);padding-bottom:3mm}
h1{font-size:15pt;margin:0;color:var(--accent)}h2{font-size:8pt;text-transform:uppercase;letter-spacing:.04em;color:var(--accent);margin:4mm 0 1.5mm}
.motto{font-style:italic;color:#5f5f5f}.fields{display:grid;grid-template-columns:repeat(3,1fr);gap:2mm;margin-top:3mm}
.cap{font-size:.78em;color:#5f5f5f;text-transform:uppercase;letter-spacing:.04em;display:block}
table{border-collapse:collapse;width:100%}th,td{border-bottom:.4pt solid #c8c8c8;padding:1.2mm 1mm;text-align:left}
th{background:var(--tint);font-size:.85em}td.n{text-align:right}.sum{display:grid;grid-template-columns:repeat(4,1fr);gap:2mm}
.comments{display:grid;grid-template-columns:1fr 1fr;gap:4mm}.box{border:.4pt solid #c8c8c8;padding:2mm;min-height:14mm}
footer{position:fixed;bottom:-12mm;left:0;right:0;font-size:6.5pt;color:#5f5f5f;border-top:.4pt solid #c8c8c8;display:flex;justify-content:space-between}";

fn chart(card: &ReportCard) -> String {
    let n = card.subjects.len().max(1);
    let (width, height) = (180.0_f64, 42.0_f64);
    let slot = width / n as f64;
    let mut bars = String::new();
    for (i, s) in card.subjects.iter().enumerate() {
        let x = i as f64 * slot;
        if let Some(v) = s.score_value {
            let h = v.clamp(0.0, 100.0) / 100.0 * (height - 6.0);
            let _ = write!(
                bars,
                r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{h:.2}" fill="var(--accent)"/>"#,
                x + slot * 0.15,
                height - 6.0 - h,
                slot * 0.35
            );
        }
        if let Some(v) = s.class_average {
            let h = v.clamp(0.0, 100.0) / 100.0 * (height - 6.0);
            let _ = write!(
                bars,
                r##"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{h:.2}" fill="#bbbbbb"/>"##,
                x + slot * 0.5,
                height - 6.0 - h,
                slot * 0.35
            );
        }
        let _ = write!(
            bars,
            r#"<text x="{:.2}" y="{:.2}" font-size="2.6" text-anchor="middle">{}</text>"#,
            x + slot / 2.0,
            height - 1.5,
            esc(&s.code)
        );
    }
    format!(r#"<svg viewBox="0 0 {width} {height}" width="100%">{bars}</svg>"#)
}

/// The card as a complete HTML document.
pub fn report_card_html(card: &ReportCard) -> String {
    let l = &card.labels;
    let accent = card.school.accent_colour.as_deref().filter(|c| c.len() == 7 && c.starts_with('#')).unwrap_or("#1f6f43");
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title><style>:root{{--accent:{accent};--tint:#eef5f1}}{STYLE}</style></head><body>"#,
        lang = if matches!(card.language, crate::model::Language::Kiswahili) { "sw" } else { "en" },
        title = esc(&format!("{} – {}", l.title, card.student.name)),
    );
    let _ = write!(
        out,
        r#"<header><div><h1>{}</h1><div class="motto">{}</div><div>{}</div></div><div><strong>{}</strong></div></header>"#,
        esc(&card.school.name),
        esc(&card.school.motto),
        esc(&card.school.address),
        esc(&l.title)
    );
    let s = &card.student;
    out.push_str(r#"<div class="fields">"#);
    for (label, value) in [
        (&l.student_name, &s.name),
        (&l.admission_number, &s.admission_number),
        (&l.class_name, &s.class_name),
        (&l.stream, &s.stream),
        (&l.term, &s.term),
        (&l.year, &s.year),
    ] {
        let _ = write!(out, r#"<div><span class="cap">{}</span><strong>{}</strong></div>"#, esc(label), esc(value));
    }
    out.push_str("</div><table><thead><tr>");
    let _ = write!(out, "<th>{}</th><th>{}</th>", esc(&l.code), esc(&l.subject));
    for a in &card.assessments {
        let _ = write!(out, "<th>{}</th>", esc(a));
    }
    for h in [&l.score, &l.grade, &l.points, &l.position, &l.remark] {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for subject in &card.subjects {
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>", esc(&subject.code), esc(&subject.name));
        for m in &subject.marks {
            let _ = write!(out, r#"<td class="n">{}</td>"#, esc(m));
        }
        let _ = write!(
            out,
            r#"<td class="n"><strong>{}</strong></td><td>{}</td><td class="n">{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&subject.score),
            esc(&subject.grade),
            esc(&subject.points),
            esc(&subject.position),
            esc(&subject.remark)
        );
    }
    out.push_str("</tbody></table>");
    let _ = write!(out, "<h2>{}</h2>{}", esc(&l.chart_title), chart(card));
    let sum = &card.summary;
    let division = sum.division.clone().or_else(|| sum.division_note.clone()).unwrap_or_default();
    let _ = write!(out, r#"<h2>{}</h2><div class="sum">"#, esc(&l.summary));
    for (label, value) in [
        (&l.total, &sum.total),
        (&l.average, &sum.average),
        (&l.grade, &sum.grade),
        (&l.points, &sum.points),
        (&l.division, &division),
        (&l.stream_position, &sum.stream_position),
        (&l.class_position, &sum.class_position),
    ] {
        let _ = write!(out, r#"<div><span class="cap">{}</span><strong>{}</strong></div>"#, esc(label), esc(value));
    }
    let attendance = card.attendance.map_or_else(
        || l.not_recorded.clone(),
        |a| l.attendance_value.replace("{present}", &a.days_present.to_string()).replace("{open}", &a.days_open.to_string()),
    );
    let conduct = card.conduct.clone().unwrap_or_else(|| l.not_recorded.clone());
    let _ = write!(
        out,
        r#"<div><span class="cap">{}</span><strong>{}</strong></div><div><span class="cap">{}</span><strong>{}</strong></div></div>"#,
        esc(&l.attendance),
        esc(&attendance),
        esc(&l.conduct),
        esc(&conduct)
    );
    let _ = write!(
        out,
        r#"<div class="comments"><div><h2>{}</h2><div class="box">{}</div><small>{} · {}</small></div><div><h2>{}</h2><div class="box">{}</div><small>{} · {} · {}</small></div></div>"#,
        esc(&l.class_teacher_comment),
        esc(&card.class_teacher_comment),
        esc(&l.signature),
        esc(&l.date),
        esc(&l.head_teacher_comment),
        esc(&card.head_teacher_comment),
        esc(&l.signature),
        esc(&l.date),
        esc(&l.stamp)
    );
    let fees = match &card.fees {
        Some(f) => format!("{}: {} ({} {})", l.fee_balance, f.amount, l.fee_as_of, f.as_of),
        None => l.fee_placeholder.clone(),
    };
    let _ = write!(
        out,
        r#"<p>{}: <strong>{}</strong> · {}: <strong>{}</strong> · {}</p>"#,
        esc(&l.closing_date),
        esc(&card.closing_date),
        esc(&l.next_term_opens),
        esc(&card.next_term_opens),
        esc(&fees)
    );
    let _ = write!(
        out,
        r#"<footer><span>{}</span><span>{}: <strong>{}</strong><br>{}</span></footer></body></html>"#,
        esc(&card.generated_at),
        esc(&l.verification_code),
        esc(&card.verification_code),
        esc(&card.verification_text)
    );
    out
}
