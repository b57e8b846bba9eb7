//! OpenTelemetry traces: `[traces]`.
//!
//! ```toml
//! [traces]
//! otlp_endpoint = "http://127.0.0.1:4318"   # OTLP/HTTP; /v1/traces is added
//! service_name  = "switchyard"              # the resource's service.name
//! headers       = { authorization = "Bearer ${OTLP_TOKEN}" }
//! export_delay  = "2s"                      # longest a span waits to be sent
//! ```
//!
//! Without `otlp_endpoint` nothing is traced and requests carry no trace
//! state at all.

use super::section::{Errors, Section};
use std::time::Duration;
use toml::Value;

/// Keys of `[traces]`.
pub(super) static TRACES_KEYS: &[&str] =
    &["otlp_endpoint", "service_name", "headers", "export_delay"];

/// Where and how spans are exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracesConfig {
    /// The collector's traces URL (`…/v1/traces`).
    pub endpoint: String,
    /// `service.name` of the spans' resource.
    pub service_name: String,
    /// Headers sent with every export (authentication).
    pub headers: Vec<(String, String)>,
    /// Longest a finished span waits before its batch is sent.
    pub export_delay: Duration,
}

/// The traces URL of an OTLP/HTTP endpoint: a base (`http://host:4318`)
/// gets the signal's path, a URL that already names it is kept.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim().trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

/// Read `[traces]` (`None`: not configured, or without an endpoint).
pub(super) fn read(top: &Section<'_>, errors: &mut Errors) -> Option<TracesConfig> {
    let t = top.table("traces", errors)?;
    let s = Section::new(t, "traces", TRACES_KEYS, errors);
    let endpoint = s.non_empty_str("otlp_endpoint", errors)?;
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        errors.add(
            &s.path("otlp_endpoint"),
            format!("expected an http:// or https:// URL, not {endpoint:?}"),
            Some("the collector's OTLP/HTTP address, e.g. \"http://127.0.0.1:4318\"".into()),
        );
        return None;
    }
    let mut headers = Vec::new();
    if let Some(table) = s.table("headers", errors) {
        for (name, value) in table {
            match value {
                Value::String(v) => headers.push((name.clone(), v.clone())),
                other => s.wrong_type(&format!("headers.{name}"), "a string", other, errors),
            }
        }
    }
    Some(TracesConfig {
        endpoint: traces_url(&endpoint),
        service_name: s
            .non_empty_str("service_name", errors)
            .unwrap_or_else(|| "switchyard".to_string()),
        headers,
        export_delay: s
            .duration("export_delay", errors)
            .unwrap_or(Duration::from_secs(2)),
    })
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn the_signal_path_is_added_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c/v1/traces"), "http://c/v1/traces");
    }
}
