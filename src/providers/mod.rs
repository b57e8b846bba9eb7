//! Providers: one adapter per wire protocol, and the shared upstream client.
//!
//! Adapters are pure — they encode requests, classify errors and pick the
//! stream transcoder — and never see axum types. [`Provider`] pairs an adapter
//! with its HTTP client and timeouts and performs one attempt: send, check
//! the status, and open the answer (the first stream event, or the whole
//! JSON body) so that a failure can still be retried elsewhere.

pub mod anthropic;
pub mod upstream;

use crate::config::{ProviderConfig, ProviderKind, Timeouts};
use crate::core::{Dialect, RawRequest};
use crate::error::UpstreamError;
use crate::stream::{AnthropicPassthrough, Relay, Transcoder, UsageMeter};
use anthropic::{AnthropicAdapter, Endpoint};
use bytes::Bytes;
use http::HeaderMap;
use tokio::time::Instant;
use upstream::{UpstreamClient, body_stream, read_answer, read_error_body};

/// What an adapter needs from the client's request.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The client's body.
    pub raw: &'a RawRequest,
    /// The model id to send upstream.
    pub upstream_model: &'a str,
    /// The client's headers (adapters pick what they forward).
    pub client_headers: &'a HeaderMap,
    /// The client's query string (e.g. `beta=true`).
    pub query: Option<&'a str>,
    /// The dialect the answer must be in.
    pub client_dialect: Dialect,
}

/// A protocol adapter.
#[derive(Debug, Clone)]
pub enum Adapter {
    /// Anthropic Messages API.
    Anthropic(AnthropicAdapter),
}

/// An opened answer: the first stream event is in hand, or the whole body.
pub enum Opened {
    /// A stream whose first event is ready.
    Stream(Relay),
    /// A complete JSON answer in the client's dialect.
    Json {
        /// The body for the client.
        body: Bytes,
        /// Its usage.
        meter: UsageMeter,
    },
}

/// A configured provider, ready to send.
#[derive(Debug)]
pub struct Provider {
    /// Config name.
    pub name: String,
    /// Protocol.
    pub kind: ProviderKind,
    adapter: Adapter,
    client: UpstreamClient,
    timeouts: Timeouts,
}

impl Provider {
    /// Build from config.
    pub fn from_config(config: &ProviderConfig) -> Result<Self, String> {
        let adapter = match config.kind {
            ProviderKind::Anthropic => Adapter::Anthropic(AnthropicAdapter::new(config)),
        };
        Ok(Provider {
            name: config.name.clone(),
            kind: config.kind,
            adapter,
            client: UpstreamClient::new(&config.timeouts)?,
            timeouts: config.timeouts,
        })
    }

    /// This provider's timeouts.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    fn transcoder(&self, _client: Dialect) -> Box<dyn Transcoder> {
        match &self.adapter {
            Adapter::Anthropic(_) => Box::new(AnthropicPassthrough::default()),
        }
    }

    async fn send_checked(
        &self,
        request: http::Request<Bytes>,
        headers_by: Instant,
        deadline: Instant,
    ) -> Result<reqwest::Response, UpstreamError> {
        let resp = self.client.send(request, headers_by).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = read_error_body(resp, deadline).await;
        Err(match &self.adapter {
            Adapter::Anthropic(a) => a.classify_error(status, &headers, body),
        })
    }

    /// One attempt at a Messages call, opened far enough to know it worked.
    pub async fn open_messages(
        &self,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<Opened, UpstreamError> {
        let started = Instant::now();
        let request = match &self.adapter {
            Adapter::Anthropic(a) => a.request(call, Endpoint::Messages)?,
        };
        if call.raw.is_stream() {
            let first_by = (started + self.timeouts.first_byte).min(deadline);
            let resp = self.send_checked(request, first_by, deadline).await?;
            let mut relay = Relay::new(
                body_stream(resp),
                self.transcoder(call.client_dialect),
                self.timeouts.idle,
                deadline,
            );
            match tokio::time::timeout_at(first_by, relay.first_event()).await {
                Ok(Ok(())) => Ok(Opened::Stream(relay)),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(UpstreamError::timeout(crate::error::TimeoutKind::FirstByte)),
            }
        } else {
            let resp = self.send_checked(request, deadline, deadline).await?;
            let body = read_answer(resp, deadline).await?;
            let meter = match &self.adapter {
                Adapter::Anthropic(a) => a.meter_answer(&body)?,
            };
            Ok(Opened::Json { body, meter })
        }
    }

    /// Count tokens upstream. `Ok(None)`: this provider cannot count.
    pub async fn count_tokens(
        &self,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<Option<Bytes>, UpstreamError> {
        let request = match &self.adapter {
            Adapter::Anthropic(a) => a.request(call, Endpoint::CountTokens)?,
        };
        let first_by = (Instant::now() + self.timeouts.first_byte).min(deadline);
        match self.send_checked(request, first_by, deadline).await {
            Ok(resp) => read_answer(resp, deadline).await.map(Some),
            // A server without the endpoint: the caller estimates locally.
            Err(e) if matches!(e.status.map(|s| s.as_u16()), Some(404 | 405 | 501)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
