//! The access log: the one line every finished request leaves, formatted
//! here and handed to the log writer's thread.
//!
//! It is the only log line on the request path of every request, so it is
//! written without `tracing`'s field visitors: through them its 22 fields
//! cost about 30,000 instructions a request (a `Debug` call, an escape pass
//! and a `fmt::Write` per field, the timestamp through `fmt`), here about
//! 3,000 (callgrind; BENCHMARKS.md). The line looks as `tracing`'s own would:
//! the same timestamp, level, target and fields in the text format, the same
//! object in the JSON one. `RUST_LOG` still decides whether it is written
//! (`switchyard::request=warn` turns it off); a process that did not set up
//! the log writer ([`super::init_tracing`]: tests, other tools) gets it as a
//! `tracing` event as before.

use crate::usage::RequestRecord;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The target the line is logged under.
pub const TARGET: &str = "switchyard::request";

/// Where lines go, and how they look.
struct AccessLog {
    writer: tracing_appender::non_blocking::NonBlocking,
    json: bool,
    ansi: bool,
}

static ACCESS: OnceLock<AccessLog> = OnceLock::new();

/// Send access lines to `writer` from now on (once per process).
pub(super) fn install(writer: tracing_appender::non_blocking::NonBlocking, json: bool, ansi: bool) {
    let _ = ACCESS.set(AccessLog { writer, json, ansi });
}

/// Log `r`'s line, if the filter lets the target's INFO lines through.
pub(super) fn log(r: &RequestRecord) {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    let Some(access) = ACCESS.get() else {
        return as_event(r);
    };
    let mut line = Vec::with_capacity(512);
    let style = if access.json {
        Style::Json
    } else if access.ansi {
        Style::Ansi
    } else {
        Style::Text
    };
    format(&mut line, r, SystemTime::now(), style);
    // The writer queues the line for its thread (or drops it when the
    // queue is full); it never waits.
    let _ = access.writer.clone().write_all(&line);
}

/// How a line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `tracing`'s text format.
    Text,
    /// The text format with terminal colours.
    Ansi,
    /// `tracing`'s JSON format: one object a line.
    Json,
}

/// A field's value.
enum Value<'a> {
    Str(&'a str),
    Int(u64),
    Millis(Duration),
    Bool(bool),
}

/// The line's fields, in order (absent ones are left out).
fn fields(r: &RequestRecord) -> [(&'static str, Option<Value<'_>>); 21] {
    use Value::{Bool, Int, Millis, Str};
    fn or_dash(s: &Option<String>) -> Option<Value<'_>> {
        Some(Value::Str(s.as_deref().unwrap_or("-")))
    }
    let u = &r.usage;
    [
        ("request_id", Some(Str(&r.request_id))),
        ("endpoint", Some(Str(r.endpoint))),
        ("dialect", Some(Str(r.dialect.as_str()))),
        ("requested", or_dash(&r.requested_model)),
        ("route", or_dash(&r.route)),
        ("tier", or_dash(&r.tier)),
        ("model", or_dash(&r.model)),
        ("provider", or_dash(&r.provider)),
        ("upstream_model", or_dash(&r.upstream_model)),
        ("stream", Some(Bool(r.stream))),
        ("status", Some(Int(u64::from(r.status)))),
        ("outcome", Some(Str(r.outcome.as_str()))),
        ("error", or_dash(&r.error_kind)),
        ("attempts", Some(Int(u64::from(r.attempts)))),
        ("latency_ms", Some(Millis(r.latency))),
        ("ttft_ms", r.ttft.map(Millis)),
        ("input_tokens", Some(Int(u.input_tokens))),
        ("output_tokens", Some(Int(u.output_tokens))),
        ("cache_read_tokens", Some(Int(u.cache_read_tokens))),
        ("cache_write_tokens", Some(Int(u.cache_write_tokens()))),
        ("session", or_dash(&r.session_id)),
    ]
}

/// Write `r`'s line, ending in a newline, as of `now`.
pub fn format(out: &mut Vec<u8>, r: &RequestRecord, now: SystemTime, style: Style) {
    let ansi = style == Style::Ansi;
    if style == Style::Json {
        out.extend_from_slice(b"{\"timestamp\":\"");
        timestamp(out, now);
        out.extend_from_slice(b"\",\"level\":\"INFO\",\"fields\":{\"message\":\"request\"");
    } else {
        paint(out, ansi, DIM, |out| timestamp(out, now));
        paint(out, ansi, GREEN, |out| out.extend_from_slice(b"  INFO"));
        out.push(b' ');
        paint(out, ansi, DIM, |out| {
            out.extend_from_slice(b"switchyard::request:")
        });
        out.extend_from_slice(b" request");
    }
    for (name, value) in fields(r) {
        let Some(value) = value else {
            continue;
        };
        if style == Style::Json {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
        } else {
            out.push(b' ');
            paint(out, ansi, ITALIC, |out| {
                out.extend_from_slice(name.as_bytes())
            });
            out.push(b'=');
        }
        match value {
            // The id is written bare in text, as `%` displays it.
            Value::Str(s) if name == "request_id" && style != Style::Json => {
                out.extend_from_slice(s.as_bytes())
            }
            Value::Str(s) => quoted(out, s),
            Value::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Value::Millis(d) => millis(out, d),
            Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        }
    }
    if style == Style::Json {
        out.extend_from_slice(b"},\"target\":\"switchyard::request\"}");
    }
    out.push(b'\n');
}

const DIM: &str = "\x1b[2m";
const GREEN: &str = "\x1b[32m";
const ITALIC: &str = "\x1b[3m";

/// Write what `f` writes, in `colour` when `ansi`.
fn paint(out: &mut Vec<u8>, ansi: bool, colour: &str, f: impl FnOnce(&mut Vec<u8>)) {
    if ansi {
        out.extend_from_slice(colour.as_bytes());
    }
    f(out);
    if ansi {
        out.extend_from_slice(b"\x1b[0m");
    }
}

/// A string as a quoted, escaped JSON string (what `Debug` writes for
/// the plain text these fields hold).
fn quoted(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Milliseconds to the microsecond, trailing zeros dropped (`1.978`,
/// `0.87`, `12`), as an `f64` of them displays.
fn millis(out: &mut Vec<u8>, d: Duration) {
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let mut whole = itoa::Buffer::new();
    out.extend_from_slice(whole.format(micros / 1000).as_bytes());
    let mut frac = micros % 1000;
    if frac == 0 {
        return;
    }
    let mut digits = 3;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    out.push(b'.');
    let mut text = itoa::Buffer::new();
    let text = text.format(frac);
    out.extend(std::iter::repeat_n(b'0', digits - text.len()));
    out.extend_from_slice(text.as_bytes());
}

/// RFC 3339 in UTC to the microsecond, as `tracing` writes it.
fn timestamp(out: &mut Vec<u8>, now: SystemTime) {
    let at = time::OffsetDateTime::from(now);
    let written = at.format_into(
        out,
        time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ),
    );
    if written.is_err() {
        out.extend_from_slice(b"-");
    }
}

/// The line as a `tracing` event, for a process without the log writer.
fn as_event(r: &RequestRecord) {
    let ttft_ms = r.ttft.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3);
    tracing::info!(
        target: TARGET,
        request_id = %r.request_id,
        endpoint = r.endpoint,
        dialect = r.dialect.as_str(),
        requested = r.requested_model.as_deref().unwrap_or("-"),
        route = r.route.as_deref().unwrap_or("-"),
        tier = r.tier.as_deref().unwrap_or("-"),
        model = r.model.as_deref().unwrap_or("-"),
        provider = r.provider.as_deref().unwrap_or("-"),
        upstream_model = r.upstream_model.as_deref().unwrap_or("-"),
        stream = r.stream,
        status = r.status,
        outcome = r.outcome.as_str(),
        error = r.error_kind.as_deref().unwrap_or("-"),
        attempts = r.attempts,
        latency_ms = (r.latency.as_secs_f64() * 1e6).round() / 1e3,
        ttft_ms,
        input_tokens = r.usage.input_tokens,
        output_tokens = r.usage.output_tokens,
        cache_read_tokens = r.usage.cache_read_tokens,
        cache_write_tokens = r.usage.cache_write_tokens(),
        session = r.session_id.as_deref().unwrap_or("-"),
        "request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Dialect;
    use crate::usage::Outcome;

    fn record() -> RequestRecord {
        let mut r = RequestRecord::start("req_0123".into(), Dialect::Anthropic, "messages");
        r.requested_model = Some("claude-sonnet-4-5".into());
        r.route = Some("auto".into());
        r.tier = Some("cheap".into());
        r.model = Some("haiku".into());
        r.provider = Some("anthropic".into());
        r.upstream_model = Some("claude-haiku-4-5".into());
        r.stream = true;
        r.status = 200;
        r.outcome = Outcome::Success;
        r.attempts = 1;
        r.latency = Duration::from_micros(1_978);
        r.ttft = Some(Duration::from_micros(870));
        r.usage.input_tokens = 120;
        r.usage.output_tokens = 7;
        r.session_id = Some("s\"1".into());
        r
    }

    fn at() -> SystemTime {
        // 2026-12-07T22:48:02.940190Z
        SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_683_682_940_190)
    }

    #[test]
    fn text_line_reads_like_tracings() {
        let mut out = Vec::new();
        format(&mut out, &record(), at(), Style::Text);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-12-07T22:48:02.940190Z  INFO switchyard::request: request request_id=req_0123 \
             endpoint=\"messages\" dialect=\"anthropic\" requested=\"claude-sonnet-4-5\" \
             route=\"auto\" tier=\"cheap\" model=\"haiku\" provider=\"anthropic\" \
             upstream_model=\"claude-haiku-4-5\" stream=true status=200 outcome=\"success\" \
             error=\"-\" attempts=1 latency_ms=1.978 ttft_ms=0.87 input_tokens=120 \
             output_tokens=7 cache_read_tokens=0 cache_write_tokens=0 session=\"s\\\"1\"\n"
        );
    }

    #[test]
    fn json_line_is_one_object_with_the_fields() {
        let mut r = record();
        r.ttft = None;
        r.model = None;
        let mut out = Vec::new();
        format(&mut out, &r, at(), Style::Json);
        assert_eq!(out.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["timestamp"], "2026-12-07T22:48:02.940190Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "switchyard::request");
        let f = &v["fields"];
        assert_eq!(f["message"], "request");
        assert_eq!(f["request_id"], "req_0123");
        assert_eq!(f["model"], "-");
        assert_eq!(f["stream"], true);
        assert_eq!(f["status"], 200);
        assert_eq!(f["latency_ms"], 1.978);
        assert!(f.get("ttft_ms").is_none());
        assert_eq!(f["session"], "s\"1");
        assert_eq!(f.as_object().unwrap().len(), 21);
    }

    #[test]
    fn colours_wrap_the_parts_tracing_colours() {
        let mut out = Vec::new();
        format(&mut out, &record(), at(), Style::Ansi);
        let line = String::from_utf8(out).unwrap();
        assert!(line.starts_with("\x1b[2m2026-12-07T22:48:02.940190Z\x1b[0m\x1b[32m  INFO\x1b[0m"));
        assert!(line.contains("\x1b[3mstatus\x1b[0m=200"));
    }

    #[test]
    fn milliseconds_keep_microseconds_and_drop_trailing_zeros() {
        let cases = [
            (0, "0"),
            (5, "0.005"),
            (870, "0.87"),
            (1_978, "1.978"),
            (12_000, "12"),
            (12_050, "12.05"),
            (3_600_000_001, "3600000.001"),
        ];
        for (micros, want) in cases {
            let mut out = Vec::new();
            millis(&mut out, Duration::from_micros(micros));
            assert_eq!(String::from_utf8(out).unwrap(), want, "{micros} µs");
            // The same as the f64 the event path writes.
            let f = (Duration::from_micros(micros).as_secs_f64() * 1e6).round() / 1e3;
            assert_eq!(f.to_string(), want);
        }
    }
}
