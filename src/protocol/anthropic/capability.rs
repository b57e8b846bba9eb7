//! Claude Code's `capability_rejected: <class>` errors. When a provider
//! refuses a feature (a mid-conversation system message, a thinking block's
//! signature, the effort parameter, an image, a prompt too long, …) Claude
//! Code recovers — strips the block, drops the parameter, compacts — by
//! matching the provider's wording. Where switchyard writes the error body
//! itself (a translated provider's refusal), that wording is no longer
//! Anthropic's, so the gateway protocol asks for the stable token instead:
//! the message becomes exactly `capability_rejected: <class>`.
//!
//! Classes are tried in the contract's order and only on wording that
//! clearly names one; anything else keeps switchyard's own message (a
//! wrong token would set off the wrong recovery). The `beta_header:<value>`
//! class needs the caller's `anthropic-beta` values and is not produced.

use regex::Regex;
use std::sync::LazyLock;

/// The prefix Claude Code matches.
pub const PREFIX: &str = "capability_rejected: ";

/// A pattern of this module (each is checked to compile by a test).
fn pattern(p: &str) -> Option<Regex> {
    Regex::new(p).ok()
}

fn matches(re: &LazyLock<Option<Regex>>, text: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(text))
}

fn captures<'t>(re: &LazyLock<Option<Regex>>, text: &'t str) -> Option<regex::Captures<'t>> {
    re.as_ref().and_then(|r| r.captures(text))
}

static SYSTEM_ROLE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    pattern(
        r"(?i)role .{0,2}system.{0,2} must (precede an|follow a)|use the top-level .{0,2}system.{0,2} parameter|text-only role .{0,2}system.{0,2} messages require|unknown variant .{0,2}system\b.{0,2}, expected",
    )
});

static SYSTEM_WORDS: LazyLock<Option<Regex>> =
    LazyLock::new(|| pattern(r"(?i)system messages?\b|role .{0,2}system"));

static THINKING_TYPE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    pattern(
        r"(?is)thinking\.type[^a-z]{1,8}(enabled|adaptive).*?not supported|\b(adaptive) thinking is not supported",
    )
});

static MEDIA_PATH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    pattern(
        r"messages[.\[]\d+[\].]+content[.\[]\d+[\].]+(?:tool_result[.\[]content[.\[]\d+[\].]+)?(image|document|pdf)",
    )
});

const IMAGE_WORDS: &[&str] = &[
    "could not process image",
    "image exceeds",
    "image dimensions exceed",
    "image does not match the provided media type",
    "image cannot be empty",
    "images exceed the api limit",
    "unable to resize image",
    "unable to compress image",
];

const DOCUMENT_WORDS: &[&str] = &[
    "could not process pdf",
    "the pdf specified was not valid",
    "the pdf specified is password protected",
    "pdf cannot be empty",
    "does not support pdf input",
    "does not support pdfs",
];

fn mid_conv_system(message: &str, lower: &str) -> bool {
    matches(&SYSTEM_ROLE, message)
        || (message.contains("Unexpected role") && lower.contains("system"))
        || (message.contains("cache_control") && matches(&SYSTEM_WORDS, message))
        || (lower.contains("not supported") && matches(&SYSTEM_WORDS, message))
}

fn cache_control_field(message: &str, lower: &str) -> bool {
    message.contains("cache_control")
        && !matches(&SYSTEM_WORDS, message)
        && !lower.contains("ttl")
        && [
            "not permitted",
            "cannot be set",
            "unknown field",
            "unknown name",
            "unrecognized",
            "additional propert",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

fn thinking_signature(lower: &str) -> bool {
    let lower = lower.replace('`', "");
    lower.contains("signature in thinking block")
        || lower.contains("invalid data in redacted_thinking block")
        || (lower.contains("thinking.signature") && lower.contains("field required"))
        || ((lower.contains("thinking block") || lower.contains("redacted_thinking"))
            && (lower.contains("cannot be modified") || lower.contains("invalid signature")))
}

fn effort_unsupported(lower: &str) -> bool {
    (lower.contains("effort parameter") && lower.contains("not support"))
        || (lower.contains("output_config")
            && (lower.contains("extra inputs are not permitted")
                || lower.contains("requires a model that supports")))
}

fn media_block(message: &str, lower: &str) -> Option<&'static str> {
    if let Some(m) = captures(&MEDIA_PATH, message) {
        return Some(if &m[1] == "image" {
            "image_block"
        } else {
            "document_block"
        });
    }
    if IMAGE_WORDS.iter().any(|w| lower.contains(w)) {
        return Some("image_block");
    }
    DOCUMENT_WORDS
        .iter()
        .any(|w| lower.contains(w))
        .then_some("document_block")
}

fn prompt_too_long(lower: &str) -> bool {
    lower.contains("prompt is too long") || lower.contains("input is too long for requested model")
}

/// The class of a provider's refusal with `status`, if its wording names
/// one clearly.
pub fn classify(status: u16, message: &str) -> Option<String> {
    let lower = message.to_lowercase();
    if status == 413 {
        return (prompt_too_long(&lower) || lower.contains("context window"))
            .then(|| "prompt_too_long".to_string());
    }
    if status != 400 {
        return None;
    }
    let class = if mid_conv_system(message, &lower) {
        "mid_conv_system"
    } else if cache_control_field(message, &lower) {
        "cache_control_field"
    } else if thinking_signature(&lower) {
        "thinking_signature"
    } else if let Some(m) = captures(&THINKING_TYPE, message) {
        let value = m.get(1).or(m.get(2)).map(|v| v.as_str().to_lowercase());
        return value.map(|v| format!("thinking_type:{v}"));
    } else if lower.contains("output_config.format: extra inputs are not permitted") {
        "structured_outputs_unsupported"
    } else if effort_unsupported(&lower) {
        "effort_unsupported"
    } else if lower.contains("too much media") {
        "media_budget"
    } else if let Some(media) = media_block(message, &lower) {
        media
    } else if prompt_too_long(&lower) {
        "prompt_too_long"
    } else if lower
        .replace('`', "")
        .contains("input length and max_tokens exceed context limit")
    {
        "max_tokens_context_overflow"
    } else {
        return None;
    };
    Some(class.to_string())
}

/// The message Claude Code acts on for a refusal, if it has a class.
pub fn token(status: u16, message: &str) -> Option<String> {
    classify(status, message).map(|c| format!("{PREFIX}{c}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for re in [&SYSTEM_ROLE, &SYSTEM_WORDS, &THINKING_TYPE, &MEDIA_PATH] {
            assert!(re.is_some());
        }
    }

    #[test]
    fn each_class_from_the_wording_providers_use() {
        for (status, message, class) in [
            (
                400,
                "messages.3: role 'system' must precede an assistant message",
                "mid_conv_system",
            ),
            (
                400,
                "Unexpected role \"system\". The input message role must be user or assistant",
                "mid_conv_system",
            ),
            (
                400,
                "cache_control: Extra inputs are not permitted",
                "cache_control_field",
            ),
            (
                400,
                "messages.1.content.0: Invalid `signature` in `thinking` block",
                "thinking_signature",
            ),
            (
                400,
                "Invalid data in redacted_thinking block",
                "thinking_signature",
            ),
            (
                400,
                "thinking.type: 'adaptive' is not supported for this model",
                "thinking_type:adaptive",
            ),
            (
                400,
                "Adaptive thinking is not supported on this model",
                "thinking_type:adaptive",
            ),
            (
                400,
                "output_config.format: Extra inputs are not permitted",
                "structured_outputs_unsupported",
            ),
            (
                400,
                "This model does not support the effort parameter.",
                "effort_unsupported",
            ),
            (
                400,
                "Too much media: 90 document pages + 20 images > 100",
                "media_budget",
            ),
            (
                400,
                "messages.0.content.1.image.source.base64: image exceeds 5 MB maximum",
                "image_block",
            ),
            (400, "Could not process image", "image_block"),
            (
                400,
                "The model does not support PDF input",
                "document_block",
            ),
            (
                400,
                "prompt is too long: 210000 tokens > 200000 maximum",
                "prompt_too_long",
            ),
            (
                413,
                "Input is too long for requested model.",
                "prompt_too_long",
            ),
            (
                400,
                "input length and `max_tokens` exceed context limit: 190000 + 20000 > 200000",
                "max_tokens_context_overflow",
            ),
        ] {
            assert_eq!(
                classify(status, message).as_deref(),
                Some(class),
                "{message}"
            );
        }
    }

    #[test]
    fn other_wording_and_statuses_keep_their_message() {
        for (status, message) in [
            (400, "max_tokens: must be at least 1"),
            (400, "model 'x' not found"),
            (500, "prompt is too long"),
            (429, "Could not process image"),
            (400, "cache_control.ttl: must be 5m or 1h"),
        ] {
            assert_eq!(classify(status, message), None, "{message}");
        }
        assert_eq!(
            token(400, "upstream returned 400: Could not process image").as_deref(),
            Some("capability_rejected: image_block")
        );
    }
}
