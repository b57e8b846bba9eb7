//! AWS Bedrock: Claude through InvokeModel and
//! InvokeModelWithResponseStream (and count-tokens), signed with SigV4
//! (service `bedrock`) over the exact body bytes, or with a Bedrock API key.
//!
//! Pure: builds and signs requests from already-resolved credentials,
//! classifies error answers; `credentials` resolves, `eventstream` decodes.

pub mod body;
pub mod credentials;
pub mod eventstream;

use super::Call;
use crate::config::ProviderConfig;
use crate::core::Dialect;
use crate::error::{TimeoutKind, UpstreamError, UpstreamErrorKind};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use bytes::Bytes;
use credentials::Resolved;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Deserialize;
use std::time::SystemTime;

/// Which Bedrock operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `/model/{id}/invoke`.
    Invoke,
    /// `/model/{id}/invoke-with-response-stream`.
    InvokeStream,
    /// `/model/{id}/count-tokens`.
    CountTokens,
}

impl Operation {
    fn path(self) -> &'static str {
        match self {
            Operation::Invoke => "invoke",
            Operation::InvokeStream => "invoke-with-response-stream",
            Operation::CountTokens => "count-tokens",
        }
    }
}

/// Request builder and error classifier for Bedrock.
#[derive(Debug, Clone)]
pub struct BedrockAdapter {
    region: String,
    endpoint: String,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
}

/// A model id as Bedrock wants it in the path: `:` kept, `/` (ARNs) and
/// anything else outside the unreserved set percent-encoded.
pub fn encode_model_id(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Anthropic model name inside a Bedrock model id, ARN or inference
/// profile: `us.anthropic.claude-sonnet-4-5-20250929-v1:0` →
/// `claude-sonnet-4-5-20250929`. `None` for ids that are not Claude's.
pub fn anthropic_model_name(id: &str) -> Option<String> {
    let id = id.rsplit('/').next().unwrap_or(id);
    let start = id.find("anthropic.")? + "anthropic.".len();
    // What comes before is a geography prefix (`us.`, `eu.`, `global.`, …).
    if id[..start - "anthropic.".len()].contains(['/', ':']) {
        return None;
    }
    let name = &id[start..];
    let name = match name.rfind("-v") {
        Some(i)
            if name[i + 2..]
                .split(':')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            &name[..i]
        }
        _ => name,
    };
    (!name.is_empty()).then(|| name.to_string())
}

fn bad(e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::new(
        UpstreamErrorKind::Transport,
        format!("cannot build the Bedrock request: {e}"),
    )
}

impl BedrockAdapter {
    /// An adapter for this provider (`base_url` is the endpoint).
    pub fn new(config: &ProviderConfig, region: &str) -> Self {
        BedrockAdapter {
            region: region.to_string(),
            endpoint: config.base_url.clone(),
            extra_headers: config.headers.clone(),
        }
    }

    /// The Anthropic-shaped body of a call (the client's own, or translated).
    fn anthropic_body(call: &Call<'_>) -> Result<Vec<u8>, UpstreamError> {
        match (call.raw.dialect(), call.canonical) {
            (Dialect::Anthropic | Dialect::Bedrock, _) => Ok(call.raw.bytes().to_vec()),
            (_, Some(c)) => serde_json::to_vec(c).map_err(bad),
            (_, None) => Err(bad("no canonical request to translate")),
        }
    }

    /// The signed upstream request.
    pub fn request(
        &self,
        call: &Call<'_>,
        op: Operation,
        auth: &Resolved,
    ) -> Result<http::Request<Bytes>, UpstreamError> {
        let betas = call
            .client_headers
            .get("anthropic-beta")
            .and_then(|v| v.to_str().ok());
        let anthropic = Self::anthropic_body(call)?;
        let max_tokens = (op == Operation::CountTokens).then_some(1);
        let invoke = body::invoke_body(&anthropic, betas, max_tokens)
            .map_err(bad)?
            .body;
        let payload = match op {
            Operation::CountTokens => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(&invoke);
                serde_json::json!({"input": {"invokeModel": {"body": b64}}})
                    .to_string()
                    .into_bytes()
            }
            _ => invoke,
        };
        let uri = format!(
            "{}/model/{}/{}",
            self.endpoint,
            encode_model_id(call.upstream_model),
            op.path()
        );
        let accept = if op == Operation::InvokeStream {
            "application/vnd.amazon.eventstream"
        } else {
            "application/json"
        };
        let mut req = http::Request::builder()
            .method(Method::POST)
            .uri(&uri)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .body(Bytes::from(payload))
            .map_err(bad)?;
        if op == Operation::InvokeStream {
            req.headers_mut().insert(
                "x-amzn-bedrock-accept",
                HeaderValue::from_static("application/json"),
            );
        }
        for (name, value) in &self.extra_headers {
            req.headers_mut().insert(name.clone(), value.clone());
        }
        match auth {
            Resolved::Bearer(key) => {
                let v = HeaderValue::from_str(&format!("Bearer {key}")).map_err(bad)?;
                req.headers_mut().insert(AUTHORIZATION, v);
            }
            Resolved::Sigv4(creds) => self.sign(&mut req, creds.clone())?,
        }
        Ok(req)
    }

    /// SigV4 over the exact bytes; `host` is signed from the URI.
    fn sign(
        &self,
        req: &mut http::Request<Bytes>,
        creds: aws_credential_types::Credentials,
    ) -> Result<(), UpstreamError> {
        let identity: Identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("bedrock")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(bad)?
            .into();
        let uri = req.uri().to_string();
        let headers: Vec<(&str, &str)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
            .collect();
        let signable = SignableRequest::new(
            "POST",
            &uri,
            headers.into_iter(),
            SignableBody::Bytes(req.body()),
        )
        .map_err(bad)?;
        let (instructions, _) = sign(signable, &params).map_err(bad)?.into_parts();
        instructions.apply_to_request_http1x(req);
        Ok(())
    }

    /// Classify a non-2xx answer.
    pub fn classify_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
    ) -> UpstreamError {
        classify_error(status, headers, body)
    }
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default, alias = "Message")]
    message: String,
    #[serde(default, rename = "__type", alias = "code")]
    kind: Option<String>,
}

/// Classify a Bedrock error answer (the exception name from
/// `x-amzn-ErrorType` or the body decides; the status backs it up).
pub fn classify_error(status: StatusCode, headers: &HeaderMap, body: Bytes) -> UpstreamError {
    let parsed: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let name = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(parsed.kind)
        .map(|n| {
            let n = n.split(':').next().unwrap_or("").to_string();
            n.rsplit('#').next().unwrap_or("").to_string()
        })
        .unwrap_or_default();
    let kind = match name.as_str() {
        "" => crate::error::kind_for_status(status),
        "ModelErrorException" | "InternalServerException" | "ModelStreamErrorException" => {
            UpstreamErrorKind::Server
        }
        "ModelTimeoutException" => UpstreamErrorKind::Timeout(TimeoutKind::FirstByte),
        n => eventstream::exception_kind(n),
    };
    let mut message = match kind {
        UpstreamErrorKind::Auth => {
            "Bedrock rejected the gateway's credentials; check the provider's AWS credentials"
                .to_string()
        }
        _ => format!(
            "Bedrock {}: {}",
            if name.is_empty() {
                status.as_str()
            } else {
                &name
            },
            parsed.message
        ),
    };
    if parsed.message.contains("on-demand throughput")
        || parsed.message.contains("inference profile")
    {
        message.push_str(
            " (hint: invoke this model through an inference profile, e.g. id = \"us.anthropic.claude-…\" or \"global.anthropic.claude-…\", not the base model id)",
        );
    }
    let status = match kind {
        // Throttling and "not ready" are rate limits whatever the status said.
        UpstreamErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        UpstreamErrorKind::InvalidRequest if !status.is_client_error() => StatusCode::BAD_REQUEST,
        _ => status,
    };
    UpstreamError {
        kind,
        status: Some(status),
        retry_after: headers.get(RETRY_AFTER).cloned(),
        passthrough: (kind == UpstreamErrorKind::InvalidRequest)
            .then_some((Dialect::Bedrock, body)),
        message,
    }
}

#[derive(Deserialize)]
struct CountTokens {
    #[serde(rename = "inputTokens")]
    input_tokens: u64,
}

/// Bedrock's count-tokens answer in Anthropic's shape.
pub fn count_tokens_answer(body: &[u8]) -> Result<Bytes, UpstreamError> {
    let c: CountTokens = serde_json::from_slice(body).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("bad count-tokens answer: {e}"),
        )
    })?;
    Ok(Bytes::from(
        serde_json::json!({"input_tokens": c.input_tokens}).to_string(),
    ))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
