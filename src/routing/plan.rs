//! Plans: the ordered targets for one request, and the facts and rules that
//! decide them (route matching, tier chains with escalation, capability
//! gating).

use super::Target;
use super::classifier::Classification;
use crate::config::{Capabilities, RouteMatch};
use crate::core::RawRequest;
use crate::core::glob_match;
use http::HeaderMap;

/// Targets to try, in order, and why.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Never empty.
    pub targets: Vec<Target>,
    /// The route that decided (`model`, `alias`, a route's name).
    pub route: String,
    /// The tier chosen, when a tier decided.
    pub tier: Option<String>,
    /// The classifier's verdict, for `auto` routes.
    pub classification: Option<Classification>,
    /// One line: how the decision was made.
    pub reason: String,
    /// The conversation's turn to remember once served (Claude Code
    /// sessions on `auto` routes).
    pub session: Option<super::SessionTurn>,
    /// The deciding route's cache settings (unset: `[cache]` decides).
    pub cache: crate::config::RouteCache,
    /// In shadow mode: where routing would have sent the request (it is
    /// served as asked).
    pub shadow: Option<Shadow>,
}

/// Routing's decision for a request served as asked (shadow mode).
#[derive(Debug, Clone, PartialEq)]
pub struct Shadow {
    /// The configured model routing would have chosen first.
    pub model: String,
    /// Its upstream id.
    pub upstream_model: String,
    /// Its tier.
    pub tier: Option<String>,
}

impl Plan {
    /// The reason header: the decision, then the classifier's top reasons.
    pub fn reason_line(&self) -> String {
        let mut line = self.reason.clone();
        if let Some(c) = &self.classification {
            let top: Vec<&str> = c.reasons.iter().take(3).map(String::as_str).collect();
            if !top.is_empty() {
                line.push_str(": ");
                line.push_str(&top.join("; "));
            }
        }
        line
    }
}

/// The facts of a request that routes match on.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The model the client asked for.
    pub model: &'a str,
    /// The request offers tools.
    pub tools: bool,
    /// Extended thinking is explicitly enabled (`type: "enabled"`); the
    /// adaptive kind is the model's choice and needs nothing of it.
    pub thinking: bool,
    /// Some turn carries an image.
    pub images: bool,
    /// Estimated input tokens.
    pub input_tokens: u64,
    /// The client's headers.
    pub headers: &'a HeaderMap,
    /// The shape of a background call (see [`is_background`]).
    pub background: bool,
}

/// Whether a request has the shape of a client's background call — Claude
/// Code's title and summary helpers — whatever model it names: no tools,
/// one or two turns, and either a structured answer asked for
/// (`output_config.format` / `response_format` with a JSON schema) or a
/// Haiku model named (older releases asked for Haiku by name).
pub fn is_background(raw: &RawRequest) -> bool {
    if raw.has_tools() || raw.messages().len() > 2 {
        return false;
    }
    if glob_match("claude-*haiku*", raw.model()) {
        return true;
    }
    #[derive(serde::Deserialize)]
    struct Format {
        #[serde(rename = "type")]
        kind: String,
    }
    #[derive(serde::Deserialize)]
    struct OutputConfig {
        format: Option<Format>,
    }
    #[derive(serde::Deserialize)]
    struct Shape {
        output_config: Option<OutputConfig>,
        response_format: Option<Format>,
    }
    let bytes = raw.bytes();
    let mentions = |key: &[u8]| memchr::memmem::find(bytes, key).is_some();
    if !mentions(b"\"output_config\"") && !mentions(b"\"response_format\"") {
        return false;
    }
    serde_json::from_slice::<Shape>(bytes).is_ok_and(|s| {
        let format = s.output_config.and_then(|o| o.format).or(s.response_format);
        format.is_some_and(|f| f.kind == "json_schema")
    })
}

impl<'a> Facts<'a> {
    /// The facts of a request.
    pub fn of(raw: &'a RawRequest, headers: &'a HeaderMap) -> Self {
        Facts {
            model: raw.model(),
            tools: raw.has_tools(),
            thinking: raw.thinking() == Some("enabled"),
            images: raw.has_images(),
            input_tokens: raw.estimated_input_tokens(),
            headers,
            background: is_background(raw),
        }
    }

    /// Does a route's `match` hold?
    pub fn matches(&self, m: &RouteMatch) -> bool {
        (m.models.is_empty() || m.models.iter().any(|p| glob_match(p, self.model)))
            && m.tools.is_none_or(|t| t == self.tools)
            && m.thinking.is_none_or(|t| t == self.thinking)
            && m.images.is_none_or(|i| i == self.images)
            && m.input_tokens_above.is_none_or(|n| self.input_tokens > n)
            && m.background.is_none_or(|b| b == self.background)
            && m.headers.iter().all(|(name, pattern)| {
                self.headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| glob_match(pattern, v))
            })
    }

    /// What a model must be able to do for this request, if it can't.
    pub fn missing(
        &self,
        caps: &Capabilities,
        context_window: Option<u64>,
    ) -> Option<&'static str> {
        if self.tools && !caps.tools {
            Some("tools")
        } else if self.images && !caps.vision {
            Some("vision")
        } else if self.thinking && !caps.thinking {
            Some("thinking")
        } else if context_window.is_some_and(|w| self.input_tokens > w.saturating_mul(95) / 100) {
            Some("a larger context window")
        } else {
            None
        }
    }
}

/// Keep the targets that can serve the request; say what was dropped.
pub fn gate(targets: Vec<Target>, facts: &Facts<'_>) -> Result<(Vec<Target>, Vec<String>), String> {
    let mut kept = Vec::with_capacity(targets.len());
    let mut dropped = Vec::new();
    let mut needs = Vec::new();
    for t in targets {
        match facts.missing(&t.model.capabilities, t.model.context_window) {
            None => kept.push(t),
            Some(need) => {
                dropped.push(format!("{} lacks {need}", t.model.name));
                if !needs.contains(&need) {
                    needs.push(need);
                }
            }
        }
    }
    if kept.is_empty() {
        return Err(format!(
            "no configured model can serve this request: it needs {}",
            needs.join(" and ")
        ));
    }
    Ok((kept, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::BodyKind;
    use bytes::Bytes;

    fn raw(body: &serde_json::Value) -> RawRequest {
        RawRequest::parse(Bytes::from(body.to_string()), BodyKind::Messages).unwrap()
    }

    /// Claude Code 2.1.332's own requests: the title helper is a background
    /// call whatever model it names; the agent's turns are not.
    #[test]
    fn background_calls_are_known_by_their_shape() {
        let captures = crate::core::fixtures::captured_bodies();
        let messages: Vec<_> = captures
            .iter()
            .filter(|(name, _)| name.contains("POST_v1_messages.json"))
            .collect();
        assert!(messages.len() >= 4, "{} captures", messages.len());
        for (name, body) in messages {
            let want = name.contains("title_helper");
            assert_eq!(is_background(&raw(body)), want, "{name}");
            // The shape holds when the helper asks for the main model, as
            // 2.1.332 does with a gateway key.
            let mut renamed = body.clone();
            renamed["model"] = serde_json::json!("claude-opus-5-5");
            assert_eq!(is_background(&raw(&renamed)), want, "{name} as opus");
        }
        // An OpenAI client's structured one-shot is one too; a plain question is not.
        let openai = serde_json::json!({"model": "gpt-x", "messages": [{"role": "user", "content": "title?"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema": {}}}});
        let parsed =
            RawRequest::parse(Bytes::from(openai.to_string()), BodyKind::ChatCompletions).unwrap();
        assert!(is_background(&parsed));
        let plain = serde_json::json!({"model": "claude-opus-5-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": "explain lifetimes"}]});
        assert!(!is_background(&raw(&plain)));
    }
}
