//! Usage: the record each request leaves and where it goes.
//!
//! Today a finished record becomes one structured log line and a set of
//! Prometheus metrics (see `crate::telemetry`); the spend ledger plugs in as
//! another [`RecordSink`].

pub mod baseline;
pub mod decision;
pub mod guard_audit;
pub mod ledger;
pub mod price_check;
pub mod price_table;
pub mod pricing;
pub mod reconcile;
mod record;
pub mod render;
pub mod reports;
pub mod setup;
mod spend_gauges;
pub mod templates;
pub mod trace;
pub mod writer;

pub use record::{
    CLIENT_CLOSED_STATUS, CacheUse, Outcome, RecordGuard, RecordSink, RequestRecord, Tee,
};
