//! A cached answer: the complete answer in canonical form (so any dialect
//! can replay it, whole or as a stream), who produced it, and the usage it
//! cost then (what a hit saves).

use crate::core::{ChatResponse, Usage};
use serde::{Deserialize, Serialize};

/// Who produced an answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// The configured model that served it.
    pub model: String,
    /// Its provider.
    pub provider: String,
    /// The upstream model id.
    pub upstream_model: String,
    /// Its tier, if any.
    #[serde(default)]
    pub tier: Option<String>,
}

/// One stored answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The answer.
    pub answer: ChatResponse,
    /// Who produced it.
    #[serde(flatten)]
    pub origin: Origin,
    /// The usage it was metered at.
    pub usage: Usage,
}

impl Entry {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Read a stored form (`None` if it is damaged or from another version).
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        serde_json::from_slice(bytes).ok()
    }
}
