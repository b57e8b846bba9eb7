//! Guardrails: what may leave the machine. `secrets` finds secrets in
//! text, `files` knows which files hold them and which tool calls read them,
//! `request` reads a request for both (only its new turns) and redacts a
//! copy; the pipeline applies the configured action (allow, redact,
//! force_local, block).

pub mod files;
pub mod request;
pub mod secrets;

pub use request::{Found, Inspection, RequestGuard};
pub use secrets::{Detector, Finding};
