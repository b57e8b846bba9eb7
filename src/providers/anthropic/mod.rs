//! The Anthropic Messages API (api.anthropic.com or any server that speaks it).
//!
//! Builds requests: the client's body with only `model` rewritten, its
//! `anthropic-*` headers, the provider's key instead of the client's. It
//! does no I/O; the answers are read by `protocol::anthropic`.

use super::{Adapter, Call, Operation};
use crate::config::ProviderConfig;
use crate::core::Dialect;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::protocol::Wire;
use crate::protocol::anthropic::DEFAULT_VERSION;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};

/// Request builder and error classifier for the Anthropic API.
#[derive(Debug, Clone)]
pub struct AnthropicAdapter {
    base_url: String,
    api_key: Option<SecretString>,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
}

impl AnthropicAdapter {
    /// An adapter for this provider.
    pub fn new(config: &ProviderConfig) -> Self {
        AnthropicAdapter {
            base_url: config.base_url.clone(),
            api_key: config.api_key.clone(),
            extra_headers: config.headers.clone(),
        }
    }

    /// The upstream request for `call`.
    pub fn build(
        &self,
        call: &Call<'_>,
        op: Operation,
    ) -> Result<http::Request<Bytes>, UpstreamError> {
        let path = match op {
            Operation::Messages => "/v1/messages",
            Operation::CountTokens => "/v1/messages/count_tokens",
        };
        let query = call
            .query
            .filter(|q| !q.is_empty() && call.raw.dialect() == Dialect::Anthropic);
        let uri = match query {
            Some(q) => format!("{}{path}?{q}", self.base_url),
            None => format!("{}{path}", self.base_url),
        };
        let mut builder = http::Request::builder().method(Method::POST).uri(uri);
        let headers = builder
            .headers_mut()
            .ok_or_else(|| UpstreamError::new(UpstreamErrorKind::Transport, "bad upstream URL"))?;
        if call.raw.dialect().anthropic_body() {
            forward_headers(call.client_headers, headers);
        } else {
            headers.insert(
                "anthropic-version",
                HeaderValue::from_static(DEFAULT_VERSION),
            );
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(key) = &self.api_key {
            let value = HeaderValue::from_str(key.expose_secret()).map_err(|_| {
                UpstreamError::new(
                    UpstreamErrorKind::Auth,
                    "provider api_key is not a valid header value",
                )
            })?;
            headers.insert("x-api-key", value);
        }
        for (name, value) in &self.extra_headers {
            headers.insert(name.clone(), value.clone());
        }
        let body = if call.raw.dialect().anthropic_body() {
            call.raw.with_model(call.upstream_model)
        } else {
            encode_canonical(call, op)?
        };
        builder.body(body).map_err(|e| {
            UpstreamError::new(
                UpstreamErrorKind::Transport,
                format!("bad upstream request: {e}"),
            )
        })
    }
}

impl Adapter for AnthropicAdapter {
    fn wire(&self) -> Wire {
        Wire::Anthropic
    }

    fn request<'a>(
        &'a self,
        call: &'a Call<'a>,
        op: Operation,
    ) -> BoxFuture<'a, Result<Option<http::Request<Bytes>>, UpstreamError>> {
        Box::pin(std::future::ready(self.build(call, op).map(Some)))
    }
}

/// The canonical request as an Anthropic body.
fn encode_canonical(call: &Call<'_>, op: Operation) -> Result<Bytes, UpstreamError> {
    let Some(request) = call.canonical else {
        return Err(UpstreamError::new(
            UpstreamErrorKind::Transport,
            "no canonical request to translate",
        ));
    };
    let mut request = request.clone();
    request.model = call.upstream_model.to_string();
    if op == Operation::CountTokens {
        request.max_tokens = None;
        request.stream = None;
    } else {
        request.stream = Some(call.raw.is_stream());
    }
    serde_json::to_vec(&request).map(Bytes::from).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Transport,
            format!("cannot encode the request: {e}"),
        )
    })
}

/// Copy the client's `anthropic-*` headers (version and betas verbatim) and
/// nothing else: never its key.
fn forward_headers(client: &HeaderMap, out: &mut HeaderMap) {
    for (name, value) in client {
        if name.as_str().starts_with("anthropic-") {
            out.append(name.clone(), value.clone());
        }
    }
    if !out.contains_key("anthropic-version") {
        out.insert(
            "anthropic-version",
            HeaderValue::from_static(DEFAULT_VERSION),
        );
    }
    out.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
}

#[cfg(test)]
mod tests;
