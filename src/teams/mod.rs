//! Teams: a key per developer. Client keys are made by `switchyard keys`
//! (or the admin API), stored hashed in the ledger's database, and held in
//! memory by every gateway instance (`KeyRing`), which polls the database
//! for changes, so a revoked key stops working everywhere within a second
//! or two without a database query on the request path. The master key
//! stays the admin's: client keys reach the model endpoints only. Budgets
//! (`budget`) limit what a key, developer or team may spend.

pub mod budget;
pub mod keys;
mod ring;
pub mod view;

pub use keys::{NewKey, PREFIX, mint, successor};
pub use ring::{ClientKey, KeyRing, Verdict};
