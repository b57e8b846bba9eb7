//! Guardrails: what may leave the machine, and what may come back.
//!
//! Out: `secrets` finds secrets in text, `files` knows which files hold
//! them and which tool calls read them, `request` reads a request for both
//! (only its new turns) and redacts a copy; the pipeline applies the
//! configured action (allow, redact, force_local, block).
//!
//! Back: `tools` checks the tool calls an answer proposes (path jail,
//! sensitive files, read-only, dangerous shell commands — `shell` parses
//! commands, `commands` judges them, `workspace` knows the roots);
//! `tool_gate` holds each call of an answer until it is judged, and
//! `event_gate` does so for answers relayed as bytes.

pub mod commands;
pub mod event_gate;
pub mod files;
pub mod request;
pub mod secrets;
pub mod shell;
pub mod tool_gate;
pub mod tools;
pub mod workspace;

pub use request::{Found, Inspection, RequestGuard};
pub use secrets::{Detector, Finding};
