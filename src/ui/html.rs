//! The dashboard's HTML: one layout, a few building blocks, and escaping.
//! Everything (styles included) is inline, so the pages work offline and
//! nothing is fetched from elsewhere.

use rust_decimal::Decimal;
use std::fmt::Write;

/// `s` as one URL path segment: everything but unreserved characters
/// percent-encoded (a client's session id may hold `/`, `?`, `#`, `%`).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escape text for HTML bodies and attribute values.
pub fn esc(s: &str) -> String {
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

/// Dollars: cents for large sums, more digits for small ones.
pub fn usd(d: Decimal) -> String {
    let places = if d.abs() >= Decimal::from(100) { 2 } else { 4 };
    format!("${}", d.round_dp(places))
}

/// A percentage, or a dash when there is none.
pub fn pct(d: Option<Decimal>) -> String {
    d.map_or("–".into(), |d| format!("{}%", d.round_dp(1)))
}

const STYLE: &str = "
:root{--fg:#1d2330;--mut:#5d6677;--bg:#f5f6f8;--card:#fff;--line:#dde1e8;--acc:#2563eb;--ok:#15803d;--bad:#b91c1c;--warn:#b45309}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding:.75rem 1rem;background:#111827;color:#fff}
header b{font-size:1.1rem}header nav{display:flex;flex-wrap:wrap;gap:.25rem}
header a{color:#cbd5e1;text-decoration:none;padding:.3rem .6rem;border-radius:6px}header a.on,header a:hover{background:#374151;color:#fff}
main{max-width:1200px;margin:0 auto;padding:1rem}
h1{font-size:1.3rem;margin:.25rem 0 1rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.75rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.75rem 1rem}
.card .k{color:var(--mut);font-size:.8rem;text-transform:uppercase;letter-spacing:.03em}.card .v{font-size:1.35rem;font-weight:600}
.card .s{color:var(--mut);font-size:.85rem}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.75rem 1rem;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--mut);font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
form.range{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin-bottom:1rem}
form.range label{display:flex;flex-direction:column;font-size:.8rem;color:var(--mut)}
input,button,.btn{font:inherit;padding:.35rem .6rem;border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--fg)}
button,.btn{cursor:pointer;text-decoration:none}button.primary{background:var(--acc);border-color:var(--acc);color:#fff}
svg{max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:var(--mut)}
.legend span{display:inline-block;margin-right:1rem;font-size:.85rem}.sw{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
.login{max-width:360px;margin:12vh auto;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem}
.login input{width:100%;margin:.5rem 0 1rem}.err{color:var(--bad)}
footer{color:var(--mut);font-size:.8rem;text-align:center;padding:1.5rem}
.quick{font-size:.85rem}.quick a{margin-right:.6rem}
@media (max-width:700px){svg{max-width:none;min-width:640px}svg text{font-size:14px}}
";

/// The dashboard's tabs: (path, label).
pub const TABS: &[(&str, &str)] = &[
    ("/ui", "Overview"),
    ("/ui/models", "Models & tiers"),
    ("/ui/spend", "Top spend"),
    ("/ui/teams", "Teams"),
    ("/ui/guardrails", "Guardrails"),
    ("/ui/health", "Health"),
];

/// A whole page. `refresh` reloads it every so many seconds.
pub fn page(title: &str, active: &str, query: &str, refresh: Option<u32>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content='width=device-width,initial-scale=1'>"
    );
    if let Some(s) = refresh {
        let _ = write!(out, "<meta http-equiv=refresh content={s}>");
    }
    let _ = write!(
        out,
        "<title>{} · switchyard</title><style>{STYLE}</style></head><body><header><b>switchyard</b><nav>",
        esc(title)
    );
    for (path, label) in TABS {
        let on = if *path == active { " class=on" } else { "" };
        let _ = write!(out, "<a{on} href='{path}{}'>{label}</a>", esc(query));
    }
    let _ = write!(
        out,
        "</nav><form method=post action='/ui/logout' style='margin-left:auto'>\
         <button>Sign out</button></form></header><main>{body}</main>\
         <footer>switchyard {} · figures from the spend ledger, the same as <code>switchyard report</code></footer>\
         </body></html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// A summary card; `exact` puts the report's exact value in `data-value`
/// (under `data-id`), so a test can hold the page to the JSON API.
pub fn card(key: &str, value: &str, sub: &str, exact: Option<(&str, &str)>) -> String {
    let data = exact.map_or(String::new(), |(id, v)| {
        format!(" data-id='{}' data-value='{}'", esc(id), esc(v))
    });
    format!(
        "<div class=card{data}><div class=k>{}</div><div class=v>{}</div><div class=s>{}</div></div>",
        esc(key),
        esc(value),
        esc(sub)
    )
}

/// A table: headers (a leading `#` marks a numeric column) and rows of
/// already-escaped cells.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let numeric: Vec<bool> = headers.iter().map(|h| h.starts_with('#')).collect();
    let mut out = String::from("<table><thead><tr>");
    for (h, n) in headers.iter().zip(&numeric) {
        let class = if *n { " class=n" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", esc(h.trim_start_matches('#')));
    }
    out.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan={}>nothing in this range</td></tr>",
            headers.len()
        );
    }
    for row in rows {
        out.push_str("<tr>");
        for (cell, n) in row
            .iter()
            .zip(numeric.iter().chain(std::iter::repeat(&false)))
        {
            let class = if *n { " class=n" } else { "" };
            let _ = write!(out, "<td{class}>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// The sign-in page.
pub fn login(error: Option<&str>) -> String {
    let err = error.map_or(String::new(), |e| format!("<p class=err>{}</p>", esc(e)));
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content='width=device-width,initial-scale=1'>\
         <title>Sign in · switchyard</title><style>{STYLE}</style></head><body>\
         <form class=login method=post action='/ui/login'><h1>switchyard</h1>{err}\
         <label for=key>Master key</label><input id=key name=key type=password autocomplete=current-password autofocus required>\
         <button class=primary type=submit>Sign in</button></form></body></html>"
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn session_ids_become_one_path_segment() {
        assert_eq!(path_segment("0b6c7a52-ab_c.d~"), "0b6c7a52-ab_c.d~");
        assert_eq!(path_segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(path_segment("é"), "%C3%A9");
    }

    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let t = table(&["model", "#cost"], &[vec![esc("<b>"), "1".into()]]);
        assert!(t.contains("&lt;b&gt;") && t.contains("<td class=n>1</td>"));
    }

    #[test]
    fn money_and_percentages_read_well() {
        assert_eq!(usd(Decimal::new(123456, 2)), "$1234.56");
        assert_eq!(usd(Decimal::new(12345678, 7)), "$1.2346");
        assert_eq!(pct(None), "–");
        assert_eq!(pct(Some(Decimal::new(6667, 2))), "66.7%");
    }
}
