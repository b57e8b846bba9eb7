//! What of a prompt is the person's prose and what is material pasted with
//! it (code, logs, diffs, stack traces, data).
//!
//! The classifiers read the prose — what is asked — and only count the
//! material: a one-line request with 300 lines of logs below it is a
//! one-line request. A line is material when it is indented, fenced, starts
//! like code or a trace, is mostly symbols, or reads like a log record (a
//! timestamp or address first, a level word near the start, `key=value`
//! fields); "summarize this:" makes the paragraphs after it material too.

/// The prose of a prompt and how much material came with it.
pub struct Split {
    /// The prose lines, trimmed, each ending in a newline.
    pub prose: String,
    /// How many lines were material.
    pub material_lines: usize,
}

fn is_material(line: &str) -> bool {
    if line.starts_with("    ") || line.starts_with('\t') || line.starts_with("  ") {
        return true;
    }
    let t = line.trim();
    if is_log_record(t) {
        return true;
    }
    const STARTS: &[&str] = &[
        "import ",
        "from ",
        "def ",
        "fn ",
        "func ",
        "class ",
        "public ",
        "private ",
        "#include",
        "const ",
        "let ",
        "var ",
        "return ",
        "package ",
        "$ ",
        "> ",
        "--> ",
        "|",
        "@@",
        "diff --git",
        "index ",
        "+",
        "-",
        "}",
        "{",
        "//",
        "#!",
        "<",
        "at ",
        "File \"",
        "Traceback",
        "error[",
        "error:",
        "warning:",
        "panic",
        "Caused by",
        "FAILED",
        "ERROR",
        "WARN",
        "INFO",
        "DEBUG",
        "npm ERR",
        "Exception",
    ];
    if STARTS.iter().any(|s| t.starts_with(s)) {
        return true;
    }
    let non_space = t.chars().filter(|c| !c.is_whitespace()).count().max(1);
    let letters = t.chars().filter(|c| c.is_alphabetic()).count();
    let ratio = letters as f64 / non_space as f64;
    let words = super::words::count(t);
    if words >= 6 {
        // A sentence, even one with `code` and (asides) in it.
        return ratio < 0.55;
    }
    ratio < 0.65
        || t.ends_with(['{', ';', ')', ','])
        || t.contains(['=', '(', '['])
        || t.contains("::")
}

/// Whether pasted material carries an error or a failing test.
pub fn has_trace(prompt: &str) -> bool {
    [
        "Traceback",
        "error[",
        "error:",
        "Error:",
        "Exception",
        "panic",
        "FAILED",
        "npm ERR",
        "SyntaxError",
    ]
    .iter()
    .any(|m| prompt.contains(m))
}

pub fn split(prompt: &str) -> Split {
    // "Summarize this:" followed by paragraphs: those paragraphs are input.
    let mut paragraphs = prompt.split("\n\n").filter(|p| !p.trim().is_empty());
    let first = paragraphs.next().unwrap_or("").trim();
    let rest_is_input = first.ends_with(':') && first.lines().count() == 1;
    let mut prose = String::new();
    let mut material_lines = 0;
    let mut fenced = false;
    for (i, line) in prompt.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            material_lines += 1;
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        if fenced || (rest_is_input && i > 0) || is_material(line) {
            material_lines += 1;
        } else {
            prose.push_str(line.trim());
            prose.push('\n');
        }
    }
    Split {
        prose,
        material_lines,
    }
}

/// Words that name a log level, as loggers print them.
const LEVELS: &[&str] = &[
    "TRACE",
    "DEBUG",
    "INFO",
    "NOTICE",
    "WARN",
    "WARNING",
    "ERROR",
    "ERR",
    "FATAL",
    "CRITICAL",
    "[trace]",
    "[debug]",
    "[info]",
    "[notice]",
    "[warn]",
    "[warning]",
    "[error]",
    "[crit]",
];

/// Whether a line reads like a log record rather than a sentence: it opens
/// with a timestamp, date or address (a long token that starts with a digit
/// and carries `-`, `:`, `/` or `.`), has a level word among its first four
/// tokens, or carries two `key=value` fields.
fn is_log_record(line: &str) -> bool {
    let mut tokens = line.split_whitespace();
    let Some(first) = tokens.next() else {
        return false;
    };
    let stamp = first.len() >= 8
        && first.starts_with(|c: char| c.is_ascii_digit())
        && first.contains(['-', ':', '/', '.']);
    let level = line
        .split_whitespace()
        .take(4)
        .any(|w| LEVELS.contains(&w.trim_end_matches(':')));
    let fields = line
        .split_whitespace()
        .filter(|w| {
            w.split_once('=').is_some_and(|(k, v)| {
                !k.is_empty()
                    && !v.is_empty()
                    && k.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            })
        })
        .count();
    stamp || level || fields >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_are_material() {
        for line in [
            "2026-11-30T10:15:03Z WARN  db pool exhausted waiting=14 max=20",
            "192.168.1.20 - - [30/Nov/2026:10:12:01 +0000] \"GET /static/app.js HTTP/1.1\" 200",
            "2026/11/30 10:12:02 [error] 31#31: *4471 upstream prematurely closed connection",
            "10:12:02.118 main ERROR could not reach the database",
            "level=error msg=\"context deadline exceeded\" path=/api/checkout",
        ] {
            assert!(is_material(line), "{line}");
        }
    }

    #[test]
    fn sentences_with_numbers_and_settings_stay_prose() {
        for line in [
            "after upgrading the orm, some transactions commit partially. logs below",
            "2.5 seconds is too slow for the login page, can you find why",
            "3 of our 12 pods restart every hour since the deploy on 2026-11-30",
            "set timeout=30 in the config and tell me if it helps",
            "the error says it cannot find the module, what does that mean",
        ] {
            assert!(!is_material(line), "{line}");
        }
    }

    #[test]
    fn a_request_with_logs_below_is_a_short_request() {
        let prompt = "debug with me: some transactions commit partially. logs below\n\n\
                      2026-11-30T10:15:02Z INFO  http request method=GET path=/api/items status=200\n\
                      2026-11-30T10:15:04Z ERROR http request method=POST status=500 err=\"deadline\"";
        let s = split(prompt);
        assert_eq!(s.prose.lines().count(), 1, "{}", s.prose);
        assert_eq!(s.material_lines, 2);
    }
}
