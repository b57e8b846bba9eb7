//! How each configured model is priced — for `switchyard prices check` and
//! for the warnings `serve` prints: from the config, free (a local model),
//! exactly from the table, estimated from its family, per request (a model
//! that forwards whatever name the client asked for), or not at all.

use super::ledger::is_loopback_url;
use super::pricing::{Price, PriceBook};
use crate::config::{Config, ModelConfig, ProviderKind};

/// How one configured model is priced.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// `price = {…}` in its config.
    Config(Price),
    /// Served on this machine: $0.
    Local,
    /// Its own row of the price table.
    Exact {
        /// The upstream id.
        id: String,
        /// Its price.
        price: Price,
        /// Where the price came from, and when.
        source: String,
    },
    /// Not in the table: priced as the newest model of its family.
    Estimated {
        /// The upstream id.
        id: String,
        /// The model whose price is used.
        as_model: String,
        /// Its price.
        price: Price,
    },
    /// Forwards the name the client asked for: priced request by request.
    PerRequest,
    /// No price: its requests are recorded at $0 and flagged.
    Unpriced {
        /// The upstream id.
        id: String,
    },
}

impl Basis {
    /// A short phrase for output.
    pub fn describe(&self) -> String {
        match self {
            Basis::Config(_) => "priced in the config".into(),
            Basis::Local => "free (local)".into(),
            Basis::Exact { id, source, .. } => format!("{id}: exact ({source})"),
            Basis::Estimated { id, as_model, .. } => {
                format!("{id}: priced as {as_model}, estimated")
            }
            Basis::PerRequest => "forwards the requested name: priced per request".into(),
            Basis::Unpriced { id } => format!("{id}: UNPRICED (recorded at $0)"),
        }
    }

    /// Whether requests it serves get a cost that is not known to be right.
    pub fn is_doubtful(&self) -> bool {
        matches!(self, Basis::Estimated { .. } | Basis::Unpriced { .. })
    }
}

/// Whether a model runs on this machine (and so costs nothing).
pub fn is_local(config: &Config, model: &ModelConfig) -> bool {
    config.provider(&model.provider).is_some_and(|p| {
        p.kind == ProviderKind::Ollama
            || (p.kind == ProviderKind::OpenAi && is_loopback_url(&p.base_url))
    })
}

/// How `model` is priced.
pub fn basis(config: &Config, book: &PriceBook, model: &ModelConfig) -> Basis {
    if let Some(p) = model.price {
        return Basis::Config(p);
    }
    if is_local(config, model) {
        return Basis::Local;
    }
    let Some(id) = model.id.clone() else {
        return Basis::PerRequest;
    };
    if let Some(row) = book.row(&id) {
        return Basis::Exact {
            price: row.price,
            source: match row.date.as_str() {
                "" => row.source.clone(),
                date => format!("{}, {date}", row.source),
            },
            id,
        };
    }
    match book.lookup(&id) {
        Some(p) => Basis::Estimated {
            as_model: p.estimated_from.unwrap_or_default(),
            price: p.price,
            id,
        },
        None => Basis::Unpriced { id },
    }
}
