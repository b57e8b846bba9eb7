//! Charts drawn on the server as inline SVG: the daily cost-vs-baseline
//! trend and horizontal bars for distributions. No script, no library.

use super::html::esc;
use std::fmt::Write;

const COST: &str = "#2563eb";
const BASELINE: &str = "#9ca3af";

/// A "nice" axis maximum at or above `v` (1, 2 or 5 times a power of ten).
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * p)
}

/// Cost and baseline per day as paired bars: `(day, cost, baseline)`.
pub fn trend(days: &[(String, f64, f64)]) -> String {
    let (w, h, left, bottom, top) = (760.0, 240.0, 56.0, 28.0, 10.0);
    let max = nice_max(days.iter().map(|d| d.1.max(d.2)).fold(0.0, f64::max));
    let plot_h = h - bottom - top;
    let y = |v: f64| top + plot_h * (1.0 - v / max);
    let mut svg = format!(
        "<svg viewBox='0 0 {w} {h}' role=img aria-label='cost and baseline per day' width='100%'>"
    );
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line x1={left} x2={w} y1={y:.1} y2={y:.1} stroke='#e5e7eb'/>\
             <text x={} y={:.1} text-anchor=end>${}</text>",
            left - 6.0,
            y(v) + 4.0,
            trim_number(v),
            y = y(v)
        );
    }
    let n = days.len().max(1) as f64;
    let slot = (w - left) / n;
    let bar = (slot * 0.35).min(28.0);
    for (i, (day, cost, baseline)) in days.iter().enumerate() {
        let x = left + slot * i as f64 + slot / 2.0;
        for (v, color, dx, what) in [
            (baseline, BASELINE, -bar, "baseline"),
            (cost, COST, 0.0, "cost"),
        ] {
            let _ = write!(
                svg,
                "<rect x={:.1} y={:.1} width={bar:.1} height={:.1} fill='{color}'><title>{} {what} ${v:.4}</title></rect>",
                x + dx,
                y(*v),
                (h - bottom - y(*v)).max(0.0),
                esc(day)
            );
        }
        let label = day.get(5..).unwrap_or(day);
        let _ = write!(
            svg,
            "<text x={x:.1} y={} text-anchor=middle>{}</text>",
            h - 8.0,
            esc(label)
        );
    }
    svg.push_str("</svg>");
    format!(
        "{svg}<div class=legend><span><i class=sw style='background:{COST}'></i>cost</span>\
         <span><i class=sw style='background:{BASELINE}'></i>baseline (all on the premium model)</span></div>"
    )
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Horizontal bars: `(label, value, value as text)`, longest first as given.
pub fn bars(items: &[(String, f64, String)]) -> String {
    if items.is_empty() {
        return "<p>nothing in this range</p>".into();
    }
    let (w, row, label_w) = (760.0, 24.0, 220.0);
    let max = items
        .iter()
        .map(|i| i.1)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let h = row * items.len() as f64 + 4.0;
    let mut svg =
        format!("<svg viewBox='0 0 {w} {h}' width='100%' role=img aria-label='distribution'>");
    for (i, (label, v, text)) in items.iter().enumerate() {
        let y = row * i as f64 + 2.0;
        let len = (w - label_w - 110.0) * (v / max);
        let _ = write!(
            svg,
            "<text x={} y={:.1} text-anchor=end>{}</text>\
             <rect x={label_w} y={:.1} width={len:.1} height={:.1} rx=3 fill='{COST}'/>\
             <text x={:.1} y={:.1}>{}</text>",
            label_w - 8.0,
            y + 15.0,
            esc(label),
            y + 3.0,
            row - 8.0,
            label_w + len + 6.0,
            y + 15.0,
            esc(text)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_to_nice_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.2), 5.0);
        assert_eq!(nice_max(0.013), 0.02);
        assert_eq!(nice_max(100.0), 100.0);
    }

    #[test]
    fn the_trend_draws_a_bar_pair_per_day() {
        let svg = trend(&[
            ("2026-11-27".into(), 1.0, 4.0),
            ("2026-11-28".into(), 2.0, 5.0),
        ]);
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("11-28") && svg.contains("$5"));
        let b = bars(&[("<haiku>".into(), 3.0, "3".into())]);
        assert!(b.contains("&lt;haiku&gt;"));
    }
}
