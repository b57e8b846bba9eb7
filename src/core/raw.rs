//! A request body as the client sent it (Anthropic Messages or OpenAI Chat
//! Completions), checked and indexed without being copied.
//!
//! The gateway forwards these bytes unchanged when the provider speaks the
//! same dialect; it only needs a few facts (the model and where it sits, the
//! stream flag, the turns) and a way to swap the model id. Parsing borrows
//! `RawValue`s from the body, so nothing large is allocated or re-encoded.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::ops::Range;

use super::Dialect;

/// What the body is: which dialect, and for which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// Anthropic `POST /v1/messages`.
    Messages,
    /// Anthropic `POST /v1/messages/count_tokens` (no `max_tokens`).
    CountTokens,
    /// OpenAI `POST /v1/chat/completions`.
    ChatCompletions,
    /// Bedrock `POST /model/{id}/invoke[-with-response-stream]`, already
    /// turned into an Anthropic Messages body.
    BedrockInvoke,
}

impl BodyKind {
    /// The dialect of such a body.
    pub fn dialect(self) -> Dialect {
        match self {
            BodyKind::Messages | BodyKind::CountTokens => Dialect::Anthropic,
            BodyKind::ChatCompletions => Dialect::OpenAi,
            BodyKind::BedrockInvoke => Dialect::Bedrock,
        }
    }
}

/// Longest model name accepted.
pub const MAX_MODEL_BYTES: usize = 256;

/// Who speaks in a turn of `messages`, in either dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnRole {
    /// `user`.
    User,
    /// `assistant`.
    Assistant,
    /// `system` or `developer` (OpenAI).
    System,
    /// `tool` or `function` (OpenAI tool results).
    Tool,
    /// Any other role, as written.
    Other(String),
}

impl TurnRole {
    fn of(role: String) -> Self {
        match role.as_str() {
            "user" => TurnRole::User,
            "assistant" => TurnRole::Assistant,
            "system" | "developer" => TurnRole::System,
            "tool" | "function" => TurnRole::Tool,
            _ => TurnRole::Other(role),
        }
    }
}

/// Where one turn of `messages` sits in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageIndex {
    /// Who speaks.
    pub role: TurnRole,
    /// The raw JSON of `content` (empty when absent or null).
    pub content: Range<usize>,
    /// OpenAI: the turn carries `tool_calls`.
    pub has_tool_calls: bool,
    /// OpenAI: the raw JSON of `tool_calls` (empty when absent).
    pub tool_calls: Range<usize>,
    /// OpenAI: the call a `tool` turn answers.
    pub tool_call_id: Option<String>,
}

/// A validated request body.
#[derive(Debug, Clone)]
pub struct RawRequest {
    bytes: Bytes,
    kind: BodyKind,
    model: String,
    model_span: Range<usize>,
    stream: bool,
    stream_span: Option<Range<usize>>,
    include_usage: bool,
    messages: Vec<MessageIndex>,
    system: Option<Range<usize>>,
    has_tools: bool,
    thinking: Option<String>,
    thinking_span: Option<Range<usize>>,
    has_images: bool,
    temperature: Option<f64>,
    max_output: Option<u64>,
    max_output_span: Option<Range<usize>>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    messages: Option<Vec<MessageShape<'a>>>,
    #[serde(borrow)]
    max_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    max_completion_tokens: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    stream: Option<&'a RawValue>,
    stream_options: Option<StreamOptions>,
    #[serde(borrow)]
    system: Option<&'a RawValue>,
    #[serde(borrow)]
    tools: Option<&'a RawValue>,
    #[serde(borrow)]
    thinking: Option<&'a RawValue>,
    temperature: Option<f64>,
}

/// A field that is there, `null` included (a plain `Option` reads `null`
/// as absent, and its place in the body would be lost).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct ThinkingShape {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct MessageShape<'a> {
    role: String,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_calls: Option<&'a RawValue>,
    #[serde(default)]
    tool_call_id: Option<String>,
}

impl RawRequest {
    /// Check the body's shape and index it. The error text is for the client.
    pub fn parse(bytes: Bytes, kind: BodyKind) -> Result<Self, String> {
        // serde would also read a struct from a JSON array; the API takes objects only.
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => {}
            None => return Err("request body is empty".into()),
            Some(_) => return Err("request body: expected a JSON object".into()),
        }
        // Read plainly first; only a body that fails is read again to say
        // where (tracking the path costs a third of the read).
        let plain = Envelope::deserialize(&mut serde_json::Deserializer::from_slice(&bytes));
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let env: Envelope<'_> = plain
            .or_else(|_| serde_path_to_error::deserialize(de))
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() {
                    format!("request body is not valid JSON: {inner}")
                } else if path == "." {
                    format!("request body: {inner}")
                } else {
                    format!("{path}: {inner}")
                }
            })?;
        let model_raw = env.model.ok_or("model: Field required")?;
        let model: String = serde_json::from_str(model_raw.get())
            .map_err(|_| "model: Input should be a valid string".to_string())?;
        if model.trim().is_empty() {
            return Err("model: String should not be empty".into());
        }
        // A name is stored, logged and echoed: no model has one this long.
        if model.len() > MAX_MODEL_BYTES {
            return Err(format!(
                "model: String should have at most {MAX_MODEL_BYTES} characters"
            ));
        }
        let messages = env.messages.ok_or("messages: Field required")?;
        for (i, m) in messages.iter().enumerate() {
            let first = m.content.and_then(|c| c.get().as_bytes().first().copied());
            let ok = match kind {
                // OpenAI allows `null` content (an assistant turn with tool calls).
                BodyKind::ChatCompletions => matches!(first, None | Some(b'"' | b'[' | b'n')),
                _ => matches!(first, Some(b'"' | b'[')),
            };
            if !ok {
                return Err(format!(
                    "messages[{i}].content: Input should be a valid string or list of content blocks"
                ));
            }
        }
        let max_tokens = limits::whole_number("max_tokens", env.max_tokens)?;
        let max_completion_tokens =
            limits::whole_number("max_completion_tokens", env.max_completion_tokens)?;
        match kind {
            BodyKind::Messages | BodyKind::BedrockInvoke => match max_tokens {
                None => return Err("max_tokens: Field required".into()),
                Some(0) => {
                    return Err("max_tokens: Input should be greater than or equal to 1".into());
                }
                Some(_) => {}
            },
            BodyKind::ChatCompletions => {
                if max_tokens == Some(0) || max_completion_tokens == Some(0) {
                    return Err("max_tokens: must be at least 1".into());
                }
            }
            BodyKind::CountTokens => {}
        }
        let model_span = span_of(&bytes, model_raw.get())
            .ok_or_else(|| "model: could not be located in the body".to_string())?;
        let messages = messages
            .into_iter()
            .map(|m| MessageIndex {
                content: m
                    .content
                    .and_then(|c| span_of(&bytes, c.get()))
                    .unwrap_or(0..0),
                has_tool_calls: m
                    .tool_calls
                    .is_some_and(|t| t.get().starts_with('[') && t.get() != "[]"),
                tool_calls: m
                    .tool_calls
                    .and_then(|c| span_of(&bytes, c.get()))
                    .unwrap_or(0..0),
                tool_call_id: m.tool_call_id,
                role: TurnRole::of(m.role),
            })
            .collect();
        let has_tools = env.tools.is_some_and(|t| {
            let t = t.get().trim_start_matches('[').trim_start();
            !t.is_empty() && !t.starts_with(']')
        });
        let system = env.system.and_then(|s| span_of(&bytes, s.get()));
        let thinking_span = env.thinking.and_then(|t| span_of(&bytes, t.get()));
        let thinking = match env.thinking {
            Some(t) if t.get() != "null" => {
                serde_json::from_str::<ThinkingShape>(t.get())
                    .map_err(|e| format!("thinking: {e}"))?
                    .kind
            }
            _ => None,
        };
        let has_images = [
            &b"\"type\":\"image\""[..],
            b"\"type\": \"image\"",
            b"\"image_url\"",
        ]
        .iter()
        .any(|needle| memchr::memmem::find(&bytes, needle).is_some());
        let max_output = max_tokens.or(max_completion_tokens);
        let max_output_span = env
            .max_tokens
            .or(env.max_completion_tokens)
            .and_then(|v| span_of(&bytes, v.get()));
        let stream_span = env.stream.and_then(|v| span_of(&bytes, v.get()));
        let stream = match env.stream.map(RawValue::get) {
            None | Some("null") => false,
            Some(v) => serde_json::from_str::<bool>(v).map_err(|e| format!("stream: {e}"))?,
        };
        let include_usage = env
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false);
        Ok(RawRequest {
            model,
            model_span,
            stream,
            stream_span,
            include_usage,
            messages,
            system,
            has_tools,
            thinking,
            thinking_span,
            has_images,
            temperature: env.temperature,
            max_output,
            max_output_span,
            kind,
            bytes,
        })
    }

    /// What kind of body this is.
    pub fn kind(&self) -> BodyKind {
        self.kind
    }

    /// The client's dialect.
    pub fn dialect(&self) -> Dialect {
        self.kind.dialect()
    }

    /// OpenAI `stream_options.include_usage`.
    pub fn include_usage(&self) -> bool {
        self.include_usage
    }

    /// The body as received.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The model the client asked for.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    /// The turns of `messages`, in order.
    pub fn messages(&self) -> &[MessageIndex] {
        &self.messages
    }

    /// The raw JSON of a turn's content.
    pub fn content_of(&self, message: &MessageIndex) -> &[u8] {
        self.bytes.get(message.content.clone()).unwrap_or_default()
    }

    /// The raw JSON of an OpenAI turn's `tool_calls` (empty when absent).
    pub fn tool_calls_of(&self, message: &MessageIndex) -> &[u8] {
        self.bytes
            .get(message.tool_calls.clone())
            .unwrap_or_default()
    }

    /// Where the top-level `system` (Anthropic) sits, if present.
    pub fn system_span(&self) -> Option<Range<usize>> {
        self.system.clone()
    }

    /// Whether the request offers tools.
    pub fn has_tools(&self) -> bool {
        self.has_tools
    }

    /// Whether any turn carries an image.
    pub fn has_images(&self) -> bool {
        self.has_images
    }

    /// The most output the request allows (`max_tokens`, or OpenAI's
    /// `max_completion_tokens`), when it says.
    pub fn max_output_tokens(&self) -> Option<u64> {
        self.max_output
    }

    /// Input tokens, estimated: a quarter of the body's bytes, or — when
    /// images would inflate that — a walk over the text.
    pub fn estimated_input_tokens(&self) -> u64 {
        if !self.has_images {
            return self.bytes.len() as u64 / 4;
        }
        serde_json::from_slice::<serde_json::Value>(&self.bytes)
            .map(|v| super::estimate_input_tokens(&v))
            .unwrap_or(self.bytes.len() as u64 / 4)
    }

    /// `temperature`, when the request sets it.
    pub fn temperature(&self) -> Option<f64> {
        self.temperature
    }

    /// `thinking.type`, when the request sets it (`enabled`, `adaptive`, `disabled`).
    pub fn thinking(&self) -> Option<&str> {
        self.thinking.as_deref()
    }

    /// The body with `model` set to `id`; the same bytes when nothing changes.
    pub fn with_model(&self, id: &str) -> Bytes {
        if id == self.model {
            return self.bytes.clone();
        }
        let encoded = serde_json::Value::String(id.to_string()).to_string();
        let mut out = BytesMut::with_capacity(self.bytes.len() + encoded.len());
        out.extend_from_slice(&self.bytes[..self.model_span.start]);
        out.extend_from_slice(encoded.as_bytes());
        out.extend_from_slice(&self.bytes[self.model_span.end..]);
        out.freeze()
    }
}

#[path = "raw_thinking.rs"]
mod thinking;

#[path = "raw_limits.rs"]
mod limits;

/// Where `part` (a slice borrowed from `whole`) sits inside `whole`.
fn span_of(whole: &[u8], part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (whole.get(start..end)? == part.as_bytes()).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<RawRequest, String> {
        RawRequest::parse(Bytes::from(s.to_string()), BodyKind::Messages)
    }

    #[test]
    fn model_rewrite_touches_nothing_else() {
        let body = r#"{ "max_tokens": 5, "model" : "claude-x", "messages": [{"role":"user","content":"model"}], "zz": {"model":"inner"} }"#;
        let r = parse(body).unwrap();
        assert_eq!(r.model(), "claude-x");
        let out = r.with_model("claude-sonnet-4-5-20250929");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            body.replace("\"claude-x\"", "\"claude-sonnet-4-5-20250929\"")
        );
        // same id: the very same bytes
        assert_eq!(r.with_model("claude-x").as_ptr(), r.bytes().as_ptr());
    }

    #[test]
    fn escaped_model_names() {
        let r = parse(r#"{"model":"a\u002db\"c","max_tokens":1,"messages":[]}"#).unwrap();
        assert_eq!(r.model(), "a-b\"c");
        let out = r.with_model("x\"y");
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["model"], "x\"y");
    }

    #[test]
    fn bad_input_table() {
        let long_model = format!(
            r#"{{"model":"{}","messages":[],"max_tokens":1}}"#,
            "m".repeat(900_000)
        );
        let rows: &[(&str, &str)] = &[
            ("{", "not valid JSON"),
            ("[]", "request body: expected a JSON object"),
            (r#"["m",[],1]"#, "request body: expected a JSON object"),
            ("", "request body is empty"),
            ("7", "expected a JSON object"),
            (r#"{"messages":[],"max_tokens":1}"#, "model: Field required"),
            (
                r#"{"model":7,"messages":[],"max_tokens":1}"#,
                "model: Input should be a valid string",
            ),
            (
                r#"{"model":"","messages":[],"max_tokens":1}"#,
                "model: String should not be empty",
            ),
            (
                &long_model,
                "model: String should have at most 256 characters",
            ),
            (
                r#"{"model":"m","max_tokens":1}"#,
                "messages: Field required",
            ),
            (
                r#"{"model":"m","messages":{},"max_tokens":1}"#,
                "messages: invalid type",
            ),
            (
                r#"{"model":"m","messages":[{"content":"x"}],"max_tokens":1}"#,
                "messages[0]: missing field `role`",
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":5}],"max_tokens":1}"#,
                "messages[0].content",
            ),
            (
                r#"{"model":"m","messages":[]}"#,
                "max_tokens: Field required",
            ),
            (
                r#"{"model":"m","messages":[],"max_tokens":"9"}"#,
                "max_tokens: invalid type",
            ),
            (
                r#"{"model":"m","messages":[],"max_tokens":-1}"#,
                "max_tokens: invalid value",
            ),
            (
                r#"{"model":"m","messages":[],"max_tokens":0}"#,
                "greater than or equal to 1",
            ),
            (
                r#"{"model":"m","messages":[],"max_tokens":1,"stream":"yes"}"#,
                "stream: invalid type",
            ),
            (
                r#"{"model":"a","model":"b","messages":[],"max_tokens":1}"#,
                "duplicate field `model`",
            ),
        ];
        for (body, want) in rows {
            let err = parse(body)
                .err()
                .unwrap_or_else(|| panic!("{body} should fail"));
            assert!(err.contains(want), "{body}: got {err:?}, want {want:?}");
            assert!(err.len() < 200, "the error does not echo the body");
        }
    }

    #[test]
    fn openai_bodies() {
        let b = Bytes::from_static(
            br#"{"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"be brief"},{"role":"assistant","content":null,"tool_calls":[]},{"role":"tool","tool_call_id":"c","content":"1"}]}"#,
        );
        let r = RawRequest::parse(b, BodyKind::ChatCompletions).unwrap();
        assert_eq!(
            (r.model(), r.is_stream(), r.include_usage(), r.dialect()),
            ("gpt-x", true, true, Dialect::OpenAi)
        );
        let bad = Bytes::from_static(br#"{"model":"m","messages":[{"role":"user","content":3}]}"#);
        assert!(RawRequest::parse(bad, BodyKind::ChatCompletions).is_err());
        let no_model = Bytes::from_static(br#"{"messages":[]}"#);
        assert!(
            RawRequest::parse(no_model, BodyKind::ChatCompletions)
                .unwrap_err()
                .contains("model")
        );
    }

    #[test]
    fn count_tokens_needs_no_max_tokens() {
        let b = Bytes::from_static(br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#);
        assert!(RawRequest::parse(b, BodyKind::CountTokens).is_ok());
    }

    #[test]
    fn claude_code_bodies_parse() {
        for name in [
            "claude_code_simple",
            "claude_code_tool_result",
            "claude_code_auto_mode",
        ] {
            let path = format!(
                "{}/tests/fixtures/anthropic/{name}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let r =
                RawRequest::parse(std::fs::read(path).unwrap().into(), BodyKind::Messages).unwrap();
            assert_eq!(r.model(), "claude-opus-5-5");
            assert!(r.is_stream());
        }
    }
}
