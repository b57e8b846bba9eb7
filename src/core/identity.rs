//! Who sent a request: the client key that authenticated it, and the
//! developer and team it belongs to (the ledger's `key_id`, `user_id` and
//! `team`).

/// The owner of a client key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The key's public id (`key_…`).
    pub key_id: String,
    /// The key's name.
    pub name: String,
    /// The developer.
    pub user: Option<String>,
    /// Their team.
    pub team: Option<String>,
}
