//! AWS Bedrock: Claude through InvokeModel and
//! InvokeModelWithResponseStream (and count-tokens), signed with SigV4
//! (service `bedrock`) over the exact body bytes, or with a Bedrock API key.
//!
//! The adapter resolves credentials (`credentials`: the AWS chain, access
//! keys or an API key, cached and refreshed) and builds and signs requests;
//! the body rewrite, the event stream and the error shapes are
//! `protocol::bedrock`'s.

pub mod credentials;

use super::{Adapter, Call, Operation as Op};
use crate::config::ProviderConfig;
use crate::core::Dialect;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::protocol::Wire;
use crate::protocol::bedrock::body;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use bytes::Bytes;
use credentials::BedrockAuth;
use credentials::Resolved;
use futures_util::future::BoxFuture;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method};
use std::collections::HashSet;
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

/// Request builder and signer for Bedrock.
#[derive(Debug)]
pub struct BedrockAdapter {
    region: String,
    endpoint: String,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
    auth: BedrockAuth,
    /// Fields the body rewrite dropped, each logged once. Locked only when
    /// a body had some, never across an await.
    #[allow(clippy::disallowed_types)]
    dropped_seen: std::sync::Mutex<HashSet<String>>,
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

fn bad(e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::new(
        UpstreamErrorKind::Transport,
        format!("cannot build the Bedrock request: {e}"),
    )
}

impl BedrockAdapter {
    /// An adapter for this provider (`base_url` is the endpoint).
    pub fn new(config: &ProviderConfig) -> Self {
        BedrockAdapter {
            region: config
                .bedrock
                .as_ref()
                .map_or("us-east-1", |b| b.region.as_str())
                .to_string(),
            endpoint: config.base_url.clone(),
            extra_headers: config.headers.clone(),
            auth: BedrockAuth::from_config(config),
            dropped_seen: Default::default(),
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
    pub fn build(
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
        let rewritten = body::invoke_body(&anthropic, betas, max_tokens).map_err(bad)?;
        self.note_dropped(&rewritten.dropped);
        let invoke = rewritten.body;
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

    /// Log each field the rewrite dropped, once per provider.
    fn note_dropped(&self, fields: &[String]) {
        if fields.is_empty() {
            return;
        }
        let Ok(mut seen) = self.dropped_seen.lock() else {
            return;
        };
        for f in fields {
            if seen.insert(f.clone()) {
                tracing::debug!(field = %f, "dropping a field Bedrock does not accept (logged once)");
            }
        }
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
}

impl Adapter for BedrockAdapter {
    fn wire(&self) -> Wire {
        Wire::BedrockInvoke
    }

    fn request<'a>(
        &'a self,
        call: &'a Call<'a>,
        op: Op,
    ) -> BoxFuture<'a, Result<Option<http::Request<Bytes>>, UpstreamError>> {
        Box::pin(async move {
            let auth = self.auth.resolve().await?;
            let op = match op {
                Op::CountTokens => Operation::CountTokens,
                Op::Messages if call.raw.is_stream() => Operation::InvokeStream,
                Op::Messages => Operation::Invoke,
            };
            self.build(call, op, &auth).map(Some)
        })
    }

    fn count_answer(&self, body: Bytes) -> Result<Bytes, UpstreamError> {
        crate::protocol::bedrock::count_tokens_answer(&body)
    }

    fn check_credentials(&self) -> BoxFuture<'_, Option<Result<String, String>>> {
        Box::pin(async move { Some(self.auth.check().await) })
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
