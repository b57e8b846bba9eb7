//! Providers: one adapter per wire protocol, and the shared upstream client.
//!
//! Adapters are pure — they encode requests, classify errors and decode
//! answers — and never see axum types. [`Provider`] pairs an adapter with its
//! HTTP client and timeouts and performs one attempt: send, check the status,
//! and open the answer (the first stream event, or the whole body) so that a
//! failure can still be retried elsewhere. When the client speaks the
//! provider's dialect the body and stream pass through; otherwise they are
//! translated through the canonical types.

pub mod anthropic;
pub mod bedrock;
pub mod ollama;
pub mod openai;
pub mod upstream;

use crate::config::{Capabilities, ProviderConfig, ProviderKind, Timeouts, WireApi};
use crate::core::{ChatRequest, ChatResponse, Dialect, RawRequest};
use crate::error::{TimeoutKind, UpstreamError, UpstreamErrorKind};
use crate::stream::{
    AnswerGuard, AnthropicPassthrough, ClientCodec, EventDecoder, OpenAiPassthrough, Relay,
    Transcoder, Translator, UsageMeter, check_answer,
};
use anthropic::{AnthropicAdapter, Endpoint};
use bedrock::credentials::{BedrockAuth, Resolved};
use bedrock::eventstream::BedrockStream;
use bedrock::{BedrockAdapter, Operation};
use bytes::Bytes;
use http::HeaderMap;
use ollama::OllamaAdapter;
use openai::OpenAiAdapter;
use serde_json::Value;
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
}

impl Call<'_> {
    fn tools_offered(&self) -> bool {
        self.canonical
            .is_some_and(|c| c.tools.as_ref().is_some_and(|t| !t.is_empty()))
    }
}

/// A protocol adapter.
#[derive(Debug, Clone)]
pub enum Adapter {
    /// Anthropic Messages API.
    Anthropic(AnthropicAdapter),
    /// OpenAI Chat Completions.
    OpenAi(OpenAiAdapter),
    /// Ollama's native API.
    Ollama(OllamaAdapter),
    /// AWS Bedrock InvokeModel.
    Bedrock(BedrockAdapter),
}

impl Adapter {
    /// Whether the adapter takes a client body of `dialect` as it is.
    fn takes_raw(&self, dialect: Dialect) -> bool {
        match self {
            Adapter::Anthropic(_) | Adapter::Bedrock(_) => dialect.anthropic_body(),
            Adapter::OpenAi(_) => dialect == Dialect::OpenAi,
            Adapter::Ollama(_) => false,
        }
    }

    /// Whether its answers are Anthropic messages.
    fn answers_anthropic(&self) -> bool {
        matches!(self, Adapter::Anthropic(_) | Adapter::Bedrock(_))
    }

    fn request(
        &self,
        call: &Call<'_>,
        auth: Option<&Resolved>,
    ) -> Result<http::Request<Bytes>, UpstreamError> {
        match (self, auth) {
            (Adapter::Anthropic(a), _) => a.request(call, Endpoint::Messages),
            (Adapter::OpenAi(a), _) => a.request(call),
            (Adapter::Ollama(a), _) => a.request(call),
            (Adapter::Bedrock(a), Some(auth)) => {
                let op = if call.raw.is_stream() {
                    Operation::InvokeStream
                } else {
                    Operation::Invoke
                };
                a.request(call, op, auth)
            }
            (Adapter::Bedrock(_), None) => Err(UpstreamError::new(
                UpstreamErrorKind::Auth,
                "no Bedrock credentials",
            )),
        }
    }

    fn classify_error(
        &self,
        status: http::StatusCode,
        headers: &HeaderMap,
        body: Bytes,
    ) -> UpstreamError {
        match self {
            Adapter::Anthropic(a) => a.classify_error(status, headers, body),
            Adapter::OpenAi(a) => a.classify_error(status, headers, body),
            Adapter::Ollama(a) => a.classify_error(status, headers, body),
            Adapter::Bedrock(a) => a.classify_error(status, headers, body),
        }
    }

    fn decoder(&self) -> Box<dyn EventDecoder> {
        match self {
            Adapter::Anthropic(_) => Box::new(anthropic::stream::AnthropicDecoder::default()),
            Adapter::OpenAi(_) => Box::new(openai::decode::OpenAiDecoder::default()),
            Adapter::Ollama(_) => Box::new(ollama::decode::OllamaDecoder::default()),
            Adapter::Bedrock(_) => Box::new(bedrock::eventstream::BedrockDecoder::default()),
        }
    }

    fn decode_answer(&self, body: &[u8]) -> Result<ChatResponse, UpstreamError> {
        match self {
            Adapter::Anthropic(_) | Adapter::Bedrock(_) => anthropic::decode_answer(body),
            Adapter::OpenAi(_) => openai::decode::decode_answer(body),
            Adapter::Ollama(_) => ollama::decode::decode_answer(body),
        }
    }

    fn meter_passthrough(&self, body: &[u8]) -> Result<UsageMeter, UpstreamError> {
        match self {
            Adapter::Anthropic(a) => a.meter_answer(body),
            Adapter::Bedrock(_) => anthropic::meter_answer(body),
            Adapter::OpenAi(a) => a.meter_answer(body),
            Adapter::Ollama(_) => Err(UpstreamError::new(
                UpstreamErrorKind::Malformed,
                "no passthrough for ollama",
            )),
        }
    }
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
    adapter: Adapter,
    client: UpstreamClient,
    timeouts: Timeouts,
    /// Answers from this provider are checked before the client sees them.
    guarded: bool,
    /// How to authenticate to Bedrock.
    bedrock_auth: Option<BedrockAuth>,
}

/// A tool-use id that every dialect accepts (`[A-Za-z0-9_-]+`), generated
/// when the provider sent none.
pub fn tool_use_id(raw: Option<&str>) -> String {
    match raw.filter(|r| !r.is_empty()) {
        Some(r) => r
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
        None => format!("toolu_{}", uuid::Uuid::now_v7().simple()),
    }
}

/// Tool-call arguments as a JSON object; anything else is a malformed answer.
pub fn parse_tool_arguments(text: &str) -> Result<Value, UpstreamError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(UpstreamError::new(
            UpstreamErrorKind::Malformed,
            "the model made a tool call whose arguments are not a JSON object",
        )),
    }
}

impl Provider {
    /// Build from config.
    pub fn from_config(config: &ProviderConfig) -> Result<Self, String> {
        let adapter = match config.api {
            WireApi::Anthropic => Adapter::Anthropic(AnthropicAdapter::new(config)),
            WireApi::OpenAi => {
                // Ollama's OpenAI endpoints live under /v1.
                let base = match config.kind {
                    ProviderKind::Ollama => format!("{}/v1", config.base_url),
                    _ => config.base_url.clone(),
                };
                Adapter::OpenAi(OpenAiAdapter::new(config, base))
            }
            WireApi::OllamaNative => Adapter::Ollama(OllamaAdapter::new(config)),
            WireApi::Bedrock => {
                let region = config
                    .bedrock
                    .as_ref()
                    .map(|b| b.region.as_str())
                    .unwrap_or("us-east-1");
                Adapter::Bedrock(BedrockAdapter::new(config, region))
            }
        };
        let bedrock_auth = BedrockAuth::from_config(config);
        Ok(Provider {
            name: config.name.clone(),
            kind: config.kind,
            discover: config.discover,
            adapter,
            client: UpstreamClient::new(&config.timeouts)?,
            timeouts: config.timeouts,
            guarded: !matches!(config.kind, ProviderKind::Anthropic | ProviderKind::Bedrock),
            bedrock_auth,
        })
    }

    /// This provider's timeouts.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Whether a client of `dialect` can be served without translation.
    pub fn passes_through(&self, dialect: Dialect) -> bool {
        self.adapter.takes_raw(dialect)
    }

    /// How Bedrock credentials are found (none for other kinds).
    pub fn bedrock_auth(&self) -> Option<&BedrockAuth> {
        self.bedrock_auth.as_ref()
    }

    async fn resolve_auth(&self) -> Result<Option<Resolved>, UpstreamError> {
        match &self.bedrock_auth {
            Some(a) => a.resolve().await.map(Some),
            None => Ok(None),
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
        Err(self.adapter.classify_error(status, &headers, body))
    }

    fn transcoder(&self, call: &Call<'_>) -> Box<dyn Transcoder> {
        match (&self.adapter, call.client.dialect()) {
            (Adapter::Anthropic(_), Dialect::Anthropic) => {
                return Box::new(AnthropicPassthrough::default());
            }
            (Adapter::OpenAi(_), Dialect::OpenAi) => {
                return Box::new(OpenAiPassthrough::new(call.raw.include_usage()));
            }
            (Adapter::Anthropic(_), Dialect::Bedrock) => {
                return Box::new(AnthropicPassthrough::to_frames());
            }
            (Adapter::Bedrock(_), Dialect::Anthropic) => {
                return Box::new(BedrockStream::new(false));
            }
            (Adapter::Bedrock(_), Dialect::Bedrock) => return Box::new(BedrockStream::new(true)),
            _ => {}
        }
        let guard = self.guarded.then(|| AnswerGuard::new(call.tools_offered()));
        Box::new(Translator::new(
            self.adapter.decoder(),
            call.client.stream_encoder(call.raw),
            guard,
        ))
    }

    /// One attempt at a chat call, opened far enough to know it worked.
    pub async fn open_messages(
        &self,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<Opened, UpstreamError> {
        let started = Instant::now();
        let auth = self.resolve_auth().await?;
        let request = self.adapter.request(call, auth.as_ref())?;
        if call.raw.is_stream() {
            let first_by = (started + self.timeouts.first_byte).min(deadline);
            let resp = self.send_checked(request, first_by, deadline).await?;
            let mut relay = Relay::new(
                body_stream(resp),
                self.transcoder(call),
                self.timeouts.idle,
                deadline,
            );
            return match tokio::time::timeout_at(first_by, relay.first_event()).await {
                Ok(Ok(())) => Ok(Opened::Stream(relay)),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(UpstreamError::timeout(TimeoutKind::FirstByte)),
            };
        }
        let resp = self.send_checked(request, deadline, deadline).await?;
        let body = read_answer(resp, deadline).await?;
        let same_answers =
            self.adapter.answers_anthropic() && call.client.dialect().anthropic_body();
        if same_answers
            || (self.passes_through(call.client.dialect())
                && call.client.dialect() == Dialect::OpenAi)
        {
            let meter = self.adapter.meter_passthrough(&body)?;
            return Ok(Opened::Json { body, meter });
        }
        let answer = self.adapter.decode_answer(&body)?;
        if self.guarded {
            check_answer(&answer, call.tools_offered())?;
        }
        let mut meter = UsageMeter::default();
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
        let request = match &self.adapter {
            Adapter::Anthropic(a) => a.request(call, Endpoint::CountTokens)?,
            Adapter::Bedrock(a) => {
                let auth = self.resolve_auth().await?;
                let auth = auth.ok_or_else(|| {
                    UpstreamError::new(UpstreamErrorKind::Auth, "no Bedrock credentials")
                })?;
                a.request(call, Operation::CountTokens, &auth)?
            }
            _ => return Ok(None),
        };
        let first_by = (Instant::now() + self.timeouts.first_byte).min(deadline);
        match self.send_checked(request, first_by, deadline).await {
            Ok(resp) => {
                let body = read_answer(resp, deadline).await?;
                match &self.adapter {
                    Adapter::Bedrock(_) => bedrock::count_tokens_answer(&body).map(Some),
                    _ => Ok(Some(body)),
                }
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
    ) -> Option<Result<Vec<ollama::Listed>, String>> {
        let Adapter::Ollama(a) = &self.adapter else {
            return None;
        };
        let request = http::Request::get(a.tags_url()).body(Bytes::new()).ok()?;
        let deadline = Instant::now() + timeout;
        let result = async {
            let resp = self
                .send_checked(request, deadline, deadline)
                .await
                .map_err(|e| e.to_string())?;
            let body = read_answer(resp, deadline)
                .await
                .map_err(|e| e.to_string())?;
            ollama::parse_tags(&body)
        };
        Some(result.await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_ids_are_safe_everywhere() {
        assert_eq!(tool_use_id(Some("call_abc-1")), "call_abc-1");
        assert_eq!(tool_use_id(Some("call:1/x")), "call_1_x");
        assert!(tool_use_id(None).starts_with("toolu_"));
        assert!(tool_use_id(Some("")).starts_with("toolu_"));
    }

    #[test]
    fn tool_arguments() {
        assert_eq!(parse_tool_arguments("").unwrap(), serde_json::json!({}));
        assert_eq!(parse_tool_arguments(r#"{"a":1}"#).unwrap()["a"], 1);
        for bad in ["{", "[1]", "\"x\"", "null"] {
            assert_eq!(
                parse_tool_arguments(bad).unwrap_err().kind,
                UpstreamErrorKind::Malformed,
                "{bad}"
            );
        }
    }
}

/// Snapshots of what each adapter sends for the same conversation.
#[cfg(test)]
mod snapshots {
    use crate::core::ChatRequest;

    fn conversation() -> ChatRequest {
        let path = format!(
            "{}/tests/fixtures/anthropic/conversation.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn openai_body() {
        insta::assert_json_snapshot!(super::openai::encode::encode_request(
            &conversation(),
            "qwen2.5-coder:7b",
            true
        ));
    }

    #[test]
    fn ollama_body() {
        insta::assert_json_snapshot!(super::ollama::encode::encode_request(
            &conversation(),
            "qwen2.5-coder:7b",
            true,
            true
        ));
    }

    #[test]
    fn anthropic_body_from_an_openai_client() {
        let openai = serde_json::json!({
            "model": "gpt-4o", "stream": true, "max_completion_tokens": 300, "reasoning_effort": "medium",
            "messages": [
                {"role": "developer", "content": "Answer in French."},
                {"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                             {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]},
                {"role": "assistant", "content": "Let me look closer.", "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "zoom", "arguments": "{\"factor\":2}"}}]},
                {"role": "tool", "tool_call_id": "call_9", "content": "a cat on a mat"}
            ],
            "tools": [{"type": "function", "function": {"name": "zoom", "parameters": {"type": "object", "properties": {"factor": {"type": "number"}}}}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object", "properties": {"text": {"type": "string"}}}}}
        });
        let canonical =
            crate::api::openai::convert::to_canonical(openai.to_string().as_bytes()).unwrap();
        insta::assert_json_snapshot!(canonical);
    }
}
