//! Providers: endpoints, authentication and I/O. One adapter per kind of
//! server builds the upstream request (URL, headers, credentials, the body
//! its protocol wants); the shared [`Provider`] sends it, checks the status
//! and opens the answer — the first stream event, or the whole body — so a
//! failure can still be retried elsewhere.
//!
//! Wire formats live in `protocol`; which transcoder carries an upstream
//! stream to a client is `stream::table`'s choice. Adapters never see axum
//! types, and nothing outside an adapter knows how it authenticates.

pub mod anthropic;
pub mod bedrock;
pub mod ollama;
pub mod openai;
pub mod upstream;
mod whole;

use crate::config::{Capabilities, ProviderConfig, ProviderKind, RouteTimeouts, Timeouts, WireApi};
use crate::core::{ChatRequest, RawRequest, UsageMeter};
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::guard::tool_gate::{judge_answer, judge_anthropic_json};
use crate::guard::tools::ToolCheck;
use crate::protocol::ollama::Listed;
use crate::protocol::{ClientCodec, Wire};
use crate::stream::relay::too_large;
use crate::stream::{AnswerGuard, Relay, check_answer, table};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::HeaderMap;
use tokio::time::Instant;
use upstream::{UpstreamClient, body_stream, read_answer, read_error_body};

/// What an adapter needs from the client's request.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// The client's body.
    pub raw: &'a RawRequest,
    /// The request in canonical form, when some target needs translation.
    pub canonical: Option<&'a ChatRequest>,
    /// The model id to send upstream.
    pub upstream_model: &'a str,
    /// What the target model can do.
    pub capabilities: Capabilities,
    /// The client's headers (adapters pick what they forward).
    pub client_headers: &'a HeaderMap,
    /// The client's query string (e.g. `beta=true`).
    pub query: Option<&'a str>,
    /// The client's dialect: how answers and errors are written.
    pub client: &'a dyn ClientCodec,
    /// What the answer's tool calls are checked against, if anything.
    pub tools: Option<&'a ToolCheck>,
    /// The route's own timeouts, over the provider's.
    pub timeouts: RouteTimeouts,
    /// The longest answer, in bytes, the client may get.
    pub max_response_bytes: Option<u64>,
    /// The attempt's trace context (`traceparent`), when traced.
    pub trace_headers: Option<&'a HeaderMap>,
}

impl Call<'_> {
    fn tools_offered(&self) -> bool {
        self.canonical
            .is_some_and(|c| c.tools.as_ref().is_some_and(|t| !t.is_empty()))
    }
}

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A chat call (streamed or not, as the client asked).
    Messages,
    /// Token counting.
    CountTokens,
}

/// A kind of server: builds its requests and authenticates them.
pub trait Adapter: Send + Sync + std::fmt::Debug {
    /// The protocol its answers are written in.
    fn wire(&self) -> Wire;

    /// The upstream request for `op`; `Ok(None)` when the server does not
    /// offer it (token counting, for most).
    fn request<'a>(
        &'a self,
        call: &'a Call<'a>,
        op: Operation,
    ) -> BoxFuture<'a, Result<Option<http::Request<Bytes>>, UpstreamError>>;

    /// A successful count answer in Anthropic's shape.
    fn count_answer(&self, body: Bytes) -> Result<Bytes, UpstreamError> {
        Ok(body)
    }

    /// Check that the adapter's credentials resolve, warming their cache:
    /// `None` when it has none to check; `Err` says what was tried.
    fn check_credentials(&self) -> BoxFuture<'_, Option<Result<String, String>>> {
        Box::pin(std::future::ready(None))
    }

    /// The request that lists the server's models, when it can list them.
    fn models_request(&self) -> Option<http::Request<Bytes>> {
        None
    }
}

/// The request of an adapter that only serves chat calls (no token
/// counting), built at once.
fn messages_only<'a>(
    op: Operation,
    build: impl FnOnce() -> Result<http::Request<Bytes>, UpstreamError>,
) -> BoxFuture<'a, Result<Option<http::Request<Bytes>>, UpstreamError>> {
    let built = match op {
        Operation::Messages => build().map(Some),
        Operation::CountTokens => Ok(None),
    };
    Box::pin(std::future::ready(built))
}

/// An opened answer: the first stream event is in hand, or the whole body.
pub enum Opened {
    /// A stream whose first event is ready.
    Stream(Relay),
    /// A complete answer in the client's dialect.
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
    /// What it is.
    pub kind: ProviderKind,
    /// Whether to serve the models it lists.
    pub discover: bool,
    /// It runs on this machine or network: what it is sent stays here.
    pub local: bool,
    adapter: Box<dyn Adapter>,
    client: UpstreamClient,
    timeouts: Timeouts,
    /// Answers from this provider are checked before the client sees them.
    guarded: bool,
    /// Whole answers are read as streams ([`whole`]).
    stream_whole: bool,
}

fn unsupported() -> UpstreamError {
    UpstreamError::new(
        UpstreamErrorKind::InvalidRequest,
        "this provider does not offer the endpoint",
    )
}

impl Provider {
    /// Build from config.
    pub fn from_config(config: &ProviderConfig) -> Result<Self, String> {
        let adapter: Box<dyn Adapter> = match config.api {
            WireApi::Anthropic => Box::new(anthropic::AnthropicAdapter::new(config)),
            WireApi::OpenAi => {
                // Ollama's OpenAI endpoints live under /v1.
                let base = match config.kind {
                    ProviderKind::Ollama => format!("{}/v1", config.base_url),
                    _ => config.base_url.clone(),
                };
                Box::new(openai::OpenAiAdapter::new(config, base))
            }
            WireApi::OllamaNative => Box::new(ollama::OllamaAdapter::new(config)),
            WireApi::Bedrock => Box::new(bedrock::BedrockAdapter::new(config)),
        };
        Ok(Provider {
            name: config.name.clone(),
            kind: config.kind,
            discover: config.discover,
            local: config.local,
            adapter,
            client: UpstreamClient::new(&config.timeouts)?,
            timeouts: config.timeouts,
            guarded: !matches!(config.kind, ProviderKind::Anthropic | ProviderKind::Bedrock),
            stream_whole: config.stream_whole_answers,
        })
    }

    /// This provider's timeouts.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Whether a client of `dialect` can be served without translation.
    pub fn passes_through(&self, dialect: crate::core::Dialect) -> bool {
        self.adapter.wire().takes_raw(dialect)
    }

    /// Check the provider's credentials (`None`: it has none to check).
    pub async fn check_credentials(&self) -> Option<Result<String, String>> {
        self.adapter.check_credentials().await
    }

    /// The adapter's upstream request for `op`, carrying the attempt's
    /// trace context (after signing: it is not part of what is signed).
    async fn build(
        &self,
        call: &Call<'_>,
        op: Operation,
    ) -> Result<Option<http::Request<Bytes>>, UpstreamError> {
        let mut request = self.adapter.request(call, op).await?;
        if let (Some(r), Some(trace)) = (request.as_mut(), call.trace_headers) {
            r.headers_mut()
                .extend(trace.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Ok(request)
    }

    async fn send_checked(
        &self,
        request: http::Request<Bytes>,
        headers_by: Instant,
        deadline: Instant,
    ) -> Result<reqwest::Response, UpstreamError> {
        let resp = self.client.send(request, headers_by, deadline).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = read_error_body(resp, deadline).await;
        Err(self.adapter.wire().classify_error(status, &headers, body))
    }

    /// One attempt at a chat call, opened far enough to know it worked.
    pub async fn open_messages(
        &self,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<Opened, UpstreamError> {
        let started = Instant::now();
        if !call.raw.is_stream() && self.stream_whole {
            return self.open_whole_via_stream(call, started, deadline).await;
        }
        let request = self
            .build(call, Operation::Messages)
            .await?
            .ok_or_else(unsupported)?;
        let idle = call.timeouts.idle.unwrap_or(self.timeouts.idle);
        if call.raw.is_stream() {
            let first_by = self.first_by(call, started, deadline);
            let resp = self.send_checked(request, first_by, deadline).await?;
            let mut relay = self.relay(call, resp, call.tools.cloned(), deadline);
            relay.limit_bytes(call.max_response_bytes);
            relay.first_event(first_by).await?;
            return Ok(Opened::Stream(relay));
        }
        let resp = self.send_checked(request, deadline, deadline).await?;
        let body = read_answer(resp, deadline, idle).await?;
        self.whole_answer(call, body)
    }

    /// When the first byte of an attempt begun at `started` is due.
    fn first_by(&self, call: &Call<'_>, started: Instant, deadline: Instant) -> Instant {
        let first_byte = call.timeouts.first_byte.unwrap_or(self.timeouts.first_byte);
        (started + first_byte).min(deadline)
    }

    /// A stream answer carried to the client's dialect, its tool calls
    /// judged by `tools`.
    fn relay(
        &self,
        call: &Call<'_>,
        resp: reqwest::Response,
        tools: Option<ToolCheck>,
        deadline: Instant,
    ) -> Relay {
        let idle = call.timeouts.idle.unwrap_or(self.timeouts.idle);
        let guard = || self.guarded.then(|| AnswerGuard::new(call.tools_offered()));
        let transcoder =
            table::transcoder(self.adapter.wire(), call.client, call.raw, guard, tools);
        Relay::new(body_stream(resp), transcoder, idle, deadline)
    }

    /// A whole answer's body, checked and in the client's dialect.
    fn whole_answer(&self, call: &Call<'_>, body: Bytes) -> Result<Opened, UpstreamError> {
        let wire = self.adapter.wire();
        if let Some(cap) = call.max_response_bytes.filter(|c| body.len() as u64 > *c) {
            return Err(too_large(cap));
        }
        let anthropic = matches!(wire, Wire::Anthropic | Wire::BedrockInvoke);
        if wire.answer_passes_to(call.client.dialect()) && (anthropic || call.tools.is_none()) {
            let mut meter = wire.meter_answer(&body)?;
            let body = match call.tools {
                Some(check) => {
                    let (body, refused) = judge_anthropic_json(body, check)?;
                    meter.refused_tools = refused;
                    body
                }
                None => body,
            };
            return Ok(Opened::Json { body, meter });
        }
        let mut answer = wire.decode_answer(&body)?;
        if self.guarded {
            check_answer(&answer, call.tools_offered())?;
        }
        let mut meter = UsageMeter::default();
        if let Some(check) = call.tools {
            meter.refused_tools = judge_answer(&mut answer, check)?;
        }
        meter.observe_report(&answer.usage);
        meter.model = Some(answer.model.clone());
        meter.stop_reason = answer.stop_reason.clone();
        meter.completed = true;
        Ok(Opened::Json {
            body: call.client.encode_answer(call.raw, &answer),
            meter,
        })
    }

    /// Count tokens upstream. `Ok(None)`: this provider cannot count.
    pub async fn count_tokens(
        &self,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<Option<Bytes>, UpstreamError> {
        let Some(request) = self.build(call, Operation::CountTokens).await? else {
            return Ok(None);
        };
        let first_byte = call.timeouts.first_byte.unwrap_or(self.timeouts.first_byte);
        let idle = call.timeouts.idle.unwrap_or(self.timeouts.idle);
        let first_by = (Instant::now() + first_byte).min(deadline);
        match self.send_checked(request, first_by, deadline).await {
            Ok(resp) => {
                let body = read_answer(resp, deadline, idle).await?;
                self.adapter.count_answer(body).map(Some)
            }
            // A server without the endpoint: the caller estimates locally.
            Err(e) if matches!(e.status.map(|s| s.as_u16()), Some(404 | 405 | 501)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The models this provider lists (ollama `/api/tags`), if it can list them.
    pub async fn discover_models(
        &self,
        timeout: std::time::Duration,
    ) -> Option<Result<Vec<Listed>, String>> {
        let request = self.adapter.models_request()?;
        let deadline = Instant::now() + timeout;
        let result = async {
            let resp = self
                .send_checked(request, deadline, deadline)
                .await
                .map_err(|e| e.to_string())?;
            let body = read_answer(resp, deadline, timeout)
                .await
                .map_err(|e| e.to_string())?;
            crate::protocol::ollama::parse_tags(&body)
        };
        Some(result.await)
    }
}
