//! Teams: a key per developer. Client keys are made by `switchyard keys`
//! (or the admin API), stored hashed in the ledger's database, and held in
//! memory by every gateway instance (`KeyRing`), which polls the database
//! for changes, so a revoked key stops working everywhere within a second
//! or two without a database query on the request path. The master key
//! stays the admin's: client keys reach the model endpoints only. Budgets
//! and rate limits (`limits`: `rules` counted by `counters`, shared between
//! instances by `shared`) limit what a key, developer or team may spend
//! and how fast.

mod counters;
pub mod keys;
pub mod limits;
mod ring;
pub mod rules;
mod shared;
pub mod spend_limits;
pub mod unified;
pub mod view;

pub use keys::{KeyLimits, NewKey, PREFIX, mint, successor};
pub use limits::{Limits, Refusal, RuleUse, Soft};
pub use ring::{ClientKey, KeyRing, SESSION_KEY_PREFIX, Verdict};
