//! Errors and the one table that maps every failure to a client status.
//!
//! [`UpstreamError`] describes what a provider did wrong (or what went wrong on
//! the way to it); [`GatewayError`] is everything a request can end with. The
//! client dialects (`protocol::*::error`) only
//! render these; the decisions — which status, whether to retry, whether to
//! fall back — live here, beside the kinds, in one tested table.

use crate::core::Dialect;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use std::fmt;

/// Which of the four timeouts fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// TCP/TLS connection to the provider.
    Connect,
    /// Response headers (and, for streams, the first event).
    FirstByte,
    /// Gap between two chunks of a stream.
    Idle,
    /// Whole request, from the first attempt to the last byte.
    Total,
}

impl TimeoutKind {
    /// Short name used in logs, metrics and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::FirstByte => "first_byte",
            TimeoutKind::Idle => "idle",
            TimeoutKind::Total => "total",
        }
    }
}

/// What kind of failure a provider produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// A 4xx the client caused (400, 404, 413, 422, …): passed through unchanged.
    InvalidRequest,
    /// 401/403: the gateway's own provider credentials are wrong.
    Auth,
    /// 429.
    RateLimited,
    /// 529, or 503 "overloaded".
    Overloaded,
    /// Any other 5xx.
    Server,
    /// Connection refused or reset, DNS, TLS, a body cut short.
    Transport,
    /// One of the timeouts fired.
    Timeout(TimeoutKind),
    /// The provider answered with something that is not valid in its own protocol.
    Malformed,
    /// Not tried: the target is cooling down after repeated failures.
    CoolingDown,
    /// The answer proposed a tool call the guard refuses (the next target
    /// is asked).
    ToolRefused,
    /// The answer grew past `[guard] max_response_bytes`.
    TooLarge,
}

impl UpstreamErrorKind {
    /// Short name used in logs, metrics and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamErrorKind::InvalidRequest => "invalid_request",
            UpstreamErrorKind::Auth => "upstream_auth",
            UpstreamErrorKind::RateLimited => "rate_limited",
            UpstreamErrorKind::Overloaded => "overloaded",
            UpstreamErrorKind::Server => "upstream_server",
            UpstreamErrorKind::Transport => "transport",
            UpstreamErrorKind::Timeout(TimeoutKind::Connect) => "timeout_connect",
            UpstreamErrorKind::Timeout(TimeoutKind::FirstByte) => "timeout_first_byte",
            UpstreamErrorKind::Timeout(TimeoutKind::Idle) => "timeout_idle",
            UpstreamErrorKind::Timeout(TimeoutKind::Total) => "timeout_total",
            UpstreamErrorKind::Malformed => "malformed_response",
            UpstreamErrorKind::CoolingDown => "cooling_down",
            UpstreamErrorKind::ToolRefused => "tool_refused",
            UpstreamErrorKind::TooLarge => "response_too_large",
        }
    }

    /// Worth trying the same target again after a short backoff.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            UpstreamErrorKind::Overloaded
                | UpstreamErrorKind::Server
                | UpstreamErrorKind::Transport
                | UpstreamErrorKind::Timeout(TimeoutKind::Connect)
        )
    }

    /// Worth moving on to the next target of a plan (another provider or model).
    /// A request the client got wrong fails the same way everywhere.
    pub fn should_fallback(self) -> bool {
        !matches!(self, UpstreamErrorKind::InvalidRequest)
    }

    /// The status a client sees for this kind, given the upstream status.
    pub fn client_status(self, upstream_status: Option<StatusCode>) -> StatusCode {
        match self {
            UpstreamErrorKind::InvalidRequest => upstream_status
                .filter(|s| s.is_client_error())
                .unwrap_or(StatusCode::BAD_REQUEST),
            UpstreamErrorKind::Auth => StatusCode::BAD_GATEWAY,
            UpstreamErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            UpstreamErrorKind::Overloaded => overloaded_status(),
            UpstreamErrorKind::Server
            | UpstreamErrorKind::Transport
            | UpstreamErrorKind::Malformed
            | UpstreamErrorKind::ToolRefused
            | UpstreamErrorKind::TooLarge => StatusCode::BAD_GATEWAY,
            UpstreamErrorKind::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            UpstreamErrorKind::CoolingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Anthropic's "overloaded" status (529); clients of other dialects see 503.
pub fn overloaded_status() -> StatusCode {
    StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

/// Classify a provider's HTTP status. Adapters refine this with what the
/// body says (e.g. Bedrock exception names).
pub fn kind_for_status(status: StatusCode) -> UpstreamErrorKind {
    match status.as_u16() {
        401 | 403 => UpstreamErrorKind::Auth,
        429 => UpstreamErrorKind::RateLimited,
        408 => UpstreamErrorKind::Timeout(TimeoutKind::FirstByte),
        529 | 503 => UpstreamErrorKind::Overloaded,
        504 => UpstreamErrorKind::Timeout(TimeoutKind::FirstByte),
        s if (400..500).contains(&s) => UpstreamErrorKind::InvalidRequest,
        _ => UpstreamErrorKind::Server,
    }
}

/// Anthropic's `error.type` for a client status.
pub fn anthropic_error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

/// OpenAI's `error.type` (and `code`) for a client status.
pub fn openai_error_type(status: StatusCode) -> (&'static str, Option<&'static str>) {
    match status.as_u16() {
        401 => ("authentication_error", Some("invalid_api_key")),
        403 => ("permission_error", None),
        404 => ("invalid_request_error", Some("model_not_found")),
        429 => ("rate_limit_error", Some("rate_limit_exceeded")),
        503 | 529 => ("service_unavailable_error", Some("overloaded")),
        504 => ("timeout_error", None),
        s if s >= 500 => ("api_error", None),
        _ => ("invalid_request_error", None),
    }
}

/// The status an OpenAI client sees: 529 is Anthropic's, they get 503.
pub fn openai_status(status: StatusCode) -> StatusCode {
    if status.as_u16() == 529 {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        status
    }
}

/// The kind of failure an Anthropic `error.type` names (errors inside a stream).
pub fn kind_for_anthropic_error_type(error_type: &str) -> UpstreamErrorKind {
    match error_type {
        "overloaded_error" => UpstreamErrorKind::Overloaded,
        "rate_limit_error" => UpstreamErrorKind::RateLimited,
        "timeout_error" => UpstreamErrorKind::Timeout(TimeoutKind::FirstByte),
        "authentication_error" | "permission_error" => UpstreamErrorKind::Auth,
        "invalid_request_error" | "not_found_error" | "request_too_large" => {
            UpstreamErrorKind::InvalidRequest
        }
        _ => UpstreamErrorKind::Server,
    }
}

/// A failure attributed to one attempt against one provider.
#[derive(Debug, Clone)]
pub struct UpstreamError {
    /// What happened.
    pub kind: UpstreamErrorKind,
    /// The provider's HTTP status, when it answered.
    pub status: Option<StatusCode>,
    /// The provider's `retry-after`, kept verbatim for the client.
    pub retry_after: Option<HeaderValue>,
    /// The provider's error body and its dialect, when it is safe to pass on
    /// verbatim to a client of that dialect (client errors only).
    pub passthrough: Option<(Dialect, Bytes)>,
    /// A message safe to show the client and to log (never a secret).
    pub message: String,
}

impl UpstreamError {
    /// A failure with only a kind and a message.
    pub fn new(kind: UpstreamErrorKind, message: impl Into<String>) -> Self {
        UpstreamError {
            kind,
            status: None,
            retry_after: None,
            passthrough: None,
            message: message.into(),
        }
    }

    /// A timeout of the given kind.
    pub fn timeout(kind: TimeoutKind) -> Self {
        Self::new(
            UpstreamErrorKind::Timeout(kind),
            format!("upstream {} timeout", kind.as_str()),
        )
    }

    /// The status a client sees.
    pub fn client_status(&self) -> StatusCode {
        self.kind.client_status(self.status)
    }

    /// The provider's body, if it may go verbatim to a client of `dialect`.
    pub fn passthrough_for(&self, dialect: Dialect) -> Option<&Bytes> {
        self.passthrough
            .as_ref()
            .filter(|(d, _)| *d == dialect)
            .map(|(_, b)| b)
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(
                f,
                "{} ({}): {}",
                self.kind.as_str(),
                s.as_u16(),
                self.message
            ),
            None => write!(f, "{}: {}", self.kind.as_str(), self.message),
        }
    }
}

/// One attempt that did not succeed, for "what was tried" messages and the ledger.
#[derive(Debug, Clone)]
pub struct FailedAttempt {
    /// Model name from the config.
    pub model: String,
    /// Provider name from the config.
    pub provider: String,
    /// What went wrong.
    pub error: UpstreamError,
}

/// Everything a request can end with, other than success.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// The client's request is malformed (bad JSON, wrong type, missing field).
    #[error("{0}")]
    InvalidRequest(String),
    /// No or wrong gateway key.
    #[error("invalid or missing gateway key")]
    Unauthorized,
    /// A client key this gateway knows but no longer accepts (revoked,
    /// expired): the message says which and what to do.
    #[error("{0}")]
    KeyRejected(String),
    /// The key is valid but may not do this (a client key on the admin
    /// API, a model the key is not allowed).
    #[error("{0}")]
    Forbidden(String),
    /// A spend limit would be passed: the message names the budget, what it
    /// has spent and when it resets.
    #[error("{message}")]
    BudgetExceeded {
        /// What to show the client.
        message: String,
        /// Seconds until the budget's window resets (none: a total budget).
        retry_after_secs: Option<u64>,
    },
    /// A rate limit of the key, developer or team is reached.
    #[error("{message}")]
    RateLimitExceeded {
        /// Which limit and its count.
        message: String,
        /// Seconds until there is room.
        retry_after_secs: u64,
    },
    /// Too many wrong keys from this address: refused without checking.
    #[error("too many failed authentications from this address; retry in {retry_after_secs} s")]
    AuthThrottled {
        /// When the window ends.
        retry_after_secs: u64,
    },
    /// Body larger than the configured limit.
    #[error("request body exceeds the {limit} byte limit")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The requested model is not served by this gateway.
    #[error("model '{0}' is not served by this gateway")]
    ModelNotFound(String),
    /// No such endpoint.
    #[error("no endpoint {0}")]
    NotFound(String),
    /// Every target failed; the last error decides the status.
    #[error("{}", exhausted_message(.attempts))]
    Upstream {
        /// Every failed attempt, in order (never empty).
        attempts: Vec<FailedAttempt>,
    },
    /// The gateway cannot serve right now (nothing configured, shutting down).
    #[error("{0}")]
    Unavailable(String),
    /// The request body did not arrive in time.
    #[error("the request body did not arrive within {secs} s")]
    BodyTimeout {
        /// The limit in seconds.
        secs: u64,
    },
    /// The request carries secrets and the guardrail policy refuses it.
    #[error("{0}")]
    Guarded(String),
    /// `cache-control: only-if-cached` and no cached answer.
    #[error("no cached answer for this request (cache-control: only-if-cached)")]
    NotCached,
    /// A bug: logged, reported as 500 without details.
    #[error("internal error")]
    Internal(String),
}

fn exhausted_message(attempts: &[FailedAttempt]) -> String {
    let Some(last) = attempts.last() else {
        return "no upstream was tried".to_string();
    };
    if attempts.len() == 1 {
        return last.error.message.clone();
    }
    let tried: Vec<String> = attempts
        .iter()
        .map(|a| format!("{} via {}: {}", a.model, a.provider, a.error))
        .collect();
    format!(
        "all {} attempts failed; tried: {}",
        attempts.len(),
        tried.join("; ")
    )
}

impl GatewayError {
    /// A single failed attempt.
    pub fn upstream(model: &str, provider: &str, error: UpstreamError) -> Self {
        GatewayError::Upstream {
            attempts: vec![FailedAttempt {
                model: model.to_string(),
                provider: provider.to_string(),
                error,
            }],
        }
    }

    /// The last upstream error, if this is one.
    pub fn last_upstream(&self) -> Option<&UpstreamError> {
        match self {
            GatewayError::Upstream { attempts } => attempts.last().map(|a| &a.error),
            _ => None,
        }
    }

    /// The HTTP status the client sees (Anthropic dialect; others adapt 529).
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::InvalidRequest(_) | GatewayError::Guarded(_) => StatusCode::BAD_REQUEST,
            GatewayError::Unauthorized | GatewayError::KeyRejected(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) => StatusCode::FORBIDDEN,
            GatewayError::AuthThrottled { .. }
            | GatewayError::BudgetExceeded { .. }
            | GatewayError::RateLimitExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::ModelNotFound(_) | GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::Upstream { .. } => self
                .last_upstream()
                .map(UpstreamError::client_status)
                .unwrap_or(StatusCode::BAD_GATEWAY),
            GatewayError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::NotCached => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            GatewayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Short name of the failure for logs, metrics and the ledger.
    pub fn kind_str(&self) -> &'static str {
        match self {
            GatewayError::InvalidRequest(_) => "invalid_request",
            GatewayError::Unauthorized => "unauthorized",
            GatewayError::KeyRejected(_) => "key_rejected",
            GatewayError::Forbidden(_) => "forbidden",
            GatewayError::AuthThrottled { .. } => "auth_throttled",
            GatewayError::BudgetExceeded { .. } => "budget_exceeded",
            GatewayError::RateLimitExceeded { .. } => "rate_limit_exceeded",
            GatewayError::PayloadTooLarge { .. } => "payload_too_large",
            GatewayError::ModelNotFound(_) => "model_not_found",
            GatewayError::NotFound(_) => "not_found",
            GatewayError::Upstream { .. } => self
                .last_upstream()
                .map(|e| e.kind.as_str())
                .unwrap_or("upstream"),
            GatewayError::Unavailable(_) => "unavailable",
            GatewayError::NotCached => "not_cached",
            GatewayError::Guarded(_) => "guard_blocked",
            GatewayError::BodyTimeout { .. } => "request_timeout",
            GatewayError::Internal(_) => "internal",
        }
    }

    /// The message shown to the client. Internal details stay in the log.
    pub fn client_message(&self) -> String {
        match self {
            GatewayError::Internal(_) => "internal gateway error".to_string(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UpstreamErrorKind as K;

    fn st(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    /// The error table of the design: upstream outcome → (client status, retry, fallback).
    #[test]
    fn error_table() {
        let rows: &[(u16, K, u16, bool, bool)] = &[
            // upstream status, kind, client status, retry same target, fall back
            (400, K::InvalidRequest, 400, false, false),
            (404, K::InvalidRequest, 404, false, false),
            (413, K::InvalidRequest, 413, false, false),
            (422, K::InvalidRequest, 422, false, false),
            (401, K::Auth, 502, false, true),
            (403, K::Auth, 502, false, true),
            (429, K::RateLimited, 429, false, true),
            (500, K::Server, 502, true, true),
            (502, K::Server, 502, true, true),
            (503, K::Overloaded, 529, true, true),
            (529, K::Overloaded, 529, true, true),
            (504, K::Timeout(TimeoutKind::FirstByte), 504, false, true),
            (408, K::Timeout(TimeoutKind::FirstByte), 504, false, true),
        ];
        for &(up, kind, client, retry, fallback) in rows {
            let k = kind_for_status(st(up));
            assert_eq!(k, kind, "kind for upstream {up}");
            assert_eq!(
                k.client_status(Some(st(up))),
                st(client),
                "client status for {up}"
            );
            assert_eq!(k.is_retryable(), retry, "retryable for {up}");
            assert_eq!(k.should_fallback(), fallback, "fallback for {up}");
        }
    }

    #[test]
    fn anthropic_error_types() {
        for (status, t) in [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (502, "api_error"),
            (504, "timeout_error"),
            (529, "overloaded_error"),
        ] {
            assert_eq!(anthropic_error_type(st(status)), t);
            // and back: a stream error of that type is classified like the status
            assert_eq!(
                kind_for_anthropic_error_type(t).client_status(Some(st(status))),
                kind_for_status(st(status)).client_status(Some(st(status))),
                "{t}"
            );
        }
    }

    #[test]
    fn transport_and_timeouts() {
        assert_eq!(K::Transport.client_status(None), st(502));
        assert!(K::Transport.is_retryable());
        for t in [
            TimeoutKind::Connect,
            TimeoutKind::FirstByte,
            TimeoutKind::Idle,
            TimeoutKind::Total,
        ] {
            assert_eq!(K::Timeout(t).client_status(None), st(504));
            assert!(K::Timeout(t).should_fallback());
        }
        assert!(K::Timeout(TimeoutKind::Connect).is_retryable());
        assert!(!K::Timeout(TimeoutKind::Total).is_retryable());
        assert_eq!(K::Malformed.client_status(None), st(502));
    }

    #[test]
    fn exhausted_lists_every_attempt() {
        let a = |m: &str, k| FailedAttempt {
            model: m.into(),
            provider: "p".into(),
            error: UpstreamError::new(k, "boom"),
        };
        let e = GatewayError::Upstream {
            attempts: vec![a("local", K::Transport), a("haiku", K::Overloaded)],
        };
        assert_eq!(e.status(), st(529));
        let msg = e.to_string();
        assert!(
            msg.contains("local via p") && msg.contains("haiku via p"),
            "{msg}"
        );
    }

    #[test]
    fn internal_details_are_not_shown() {
        let e = GatewayError::Internal("secret path /etc/x".into());
        assert_eq!(e.client_message(), "internal gateway error");
        assert_eq!(e.status(), st(500));
    }
}
