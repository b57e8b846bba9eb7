//! Integration tests: a real HTTP client drives an in-process gateway that
//! talks to scripted mock upstreams over real sockets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_types
)]

mod bedrock;
mod bedrock_ingress;
mod cache;
mod cache_shared;
mod capability;
mod clients;
mod day;
mod errors;
mod faults;
mod fleet;
mod guard;
mod guard_tools;
mod key_access;
mod keys;
mod ledger;
mod lifecycle;
mod limits;
mod local_model;
mod messages;
mod output_limits;
mod prices;
mod routing;
#[cfg(feature = "local-embed")]
mod semantic_pairs;
mod shadow;
mod signin;
mod signin_fleet;
mod spend_limits;
mod support;
mod system;
mod telemetry_relay;
mod timeouts;
mod traces;
mod translate;
mod whole;
