//! The OpenAI Chat Completions dialect: `POST /v1/chat/completions`, the
//! model list in OpenAI's shape, and errors in OpenAI's JSON format.
//!
//! OpenAI-compatible providers get the client's body as it is (model
//! rewritten); other providers get it translated through the canonical
//! request, and their answers are translated back.

pub mod handler;
