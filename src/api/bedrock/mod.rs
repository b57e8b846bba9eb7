//! The Bedrock dialect, so clients built for AWS Bedrock (Claude Code with
//! `CLAUDE_CODE_USE_BEDROCK=1`, the Anthropic Bedrock SDKs) can use the
//! gateway: `POST /model/{id}/invoke`, `/invoke-with-response-stream` and
//! `/count-tokens`, answered with event-stream frames and Bedrock-style
//! errors.
//!
//! Bodies are turned into Anthropic Messages bodies on arrival (model and
//! stream from the URL, betas into the `anthropic-beta` header), then routed
//! like any other request.

pub mod handler;
