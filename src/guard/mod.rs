//! Guardrails: what may leave the machine and what may come back. So far,
//! the detector of secrets in text (`secrets`); the policies that act on
//! its findings (allow, redact, force_local, block) come next.

pub mod secrets;

pub use secrets::{Detector, Finding};
