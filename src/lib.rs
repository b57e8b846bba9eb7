//! switchyard: an LLM gateway that sends each request to the cheapest model
//! that can do it, and records what it cost.
//!
//! Request flow: `api` (client dialect) → `core` (canonical types) →
//! `routing` (plan + attempt loop) → `providers` (adapters + upstream I/O) →
//! `stream` (relay back in the client's dialect) → `usage` (one record per
//! request). `server` wires it into axum; `config` and `cli` sit on top.

pub mod adopt;
pub mod api;
pub mod bench;
pub mod cache;
pub mod cli;
pub mod config;
pub mod core;
pub mod error;
pub mod guard;
pub mod pipeline;
pub mod protocol;
pub mod providers;
pub mod routing;
pub mod server;
pub mod signin;
pub mod state;
pub mod store;
pub mod stream;
pub mod teams;
pub mod telemetry;
pub mod ui;
pub mod usage;
