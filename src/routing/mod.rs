//! Routing: which models and providers may serve a request, in what order,
//! and the loop that tries them.
//!
//! A [`Plan`] is an ordered list of targets with the reason it was chosen.
//! The [`dispatch`] loop retries a target on retryable failures and falls
//! back to the next on failures another target could avoid. Routing never
//! sees HTTP types of either side.

pub mod classifier;
pub mod conversation;
pub mod devset;
pub mod dispatch;
mod glob;
mod lexicon;

pub use glob::glob_match;

use crate::config::{Capabilities, Config, ModelConfig};
use crate::error::GatewayError;
use crate::providers::Provider;
use std::collections::HashMap;
use std::sync::Arc;

/// One model on one provider.
#[derive(Debug, Clone)]
pub struct Target {
    /// The configured model.
    pub model: Arc<ModelConfig>,
    /// The provider that serves it.
    pub provider: Arc<Provider>,
    /// The model id sent upstream.
    pub upstream_model: String,
}

/// Targets to try, in order, and why.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Never empty.
    pub targets: Vec<Target>,
    /// Human-readable reason, for headers and logs.
    pub reason: String,
}

/// Resolves requested model names to plans.
#[derive(Debug)]
pub struct Router {
    models: Vec<Arc<ModelConfig>>,
    providers: HashMap<String, Arc<Provider>>,
}

impl Router {
    /// Build providers and models from config.
    pub fn new(config: &Config) -> Result<Self, String> {
        let mut providers = HashMap::new();
        for p in &config.providers {
            providers.insert(p.name.clone(), Arc::new(Provider::from_config(p)?));
        }
        let models = config.models.iter().cloned().map(Arc::new).collect();
        Ok(Router { models, providers })
    }

    /// Ask every provider with `discover` on for its models and serve them
    /// by name (configured names win). A provider that is down is skipped.
    pub async fn discover(&mut self, timeout: std::time::Duration) {
        let mut providers: Vec<&Arc<Provider>> =
            self.providers.values().filter(|p| p.discover).collect();
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        let mut found = Vec::new();
        for p in providers {
            match p.discover_models(timeout).await {
                Some(Ok(listed)) => {
                    tracing::info!(provider = %p.name, models = listed.len(), "discovered models");
                    found.extend(listed.into_iter().map(|l| (p.name.clone(), l)));
                }
                Some(Err(e)) => {
                    tracing::warn!(provider = %p.name, error = %e, "model discovery failed")
                }
                None => {}
            }
        }
        for (provider, listed) in found {
            if self
                .resolve(&listed.name)
                .is_some_and(|m| m.name == listed.name)
            {
                continue;
            }
            self.models.push(Arc::new(ModelConfig {
                name: listed.name.clone(),
                provider,
                id: Some(listed.name),
                aliases: Vec::new(),
                capabilities: listed.capabilities.unwrap_or(Capabilities {
                    tools: true,
                    vision: false,
                    thinking: false,
                }),
                context_window: None,
            }));
        }
    }

    /// Configured models, in file order.
    pub fn models(&self) -> &[Arc<ModelConfig>] {
        &self.models
    }

    /// Find the model a requested name means: its own name, then a literal
    /// alias, then the first wildcard alias that matches (file order).
    pub fn resolve(&self, requested: &str) -> Option<&Arc<ModelConfig>> {
        self.models
            .iter()
            .find(|m| m.name == requested)
            .or_else(|| {
                self.models.iter().find(|m| {
                    m.aliases
                        .iter()
                        .any(|a| !is_pattern(a) && a.eq_ignore_ascii_case(requested))
                })
            })
            .or_else(|| {
                self.models.iter().find(|m| {
                    m.aliases
                        .iter()
                        .any(|a| is_pattern(a) && glob_match(a, requested))
                })
            })
    }

    /// The plan for a request that asked for `requested`.
    pub fn plan(&self, requested: &str) -> Result<Plan, GatewayError> {
        let model = self
            .resolve(requested)
            .ok_or_else(|| GatewayError::ModelNotFound(requested.to_string()))?;
        let provider = self.providers.get(&model.provider).ok_or_else(|| {
            GatewayError::Internal(format!("model {} has no provider", model.name))
        })?;
        let how = if model.name == requested {
            "name"
        } else {
            "alias"
        };
        Ok(Plan {
            targets: vec![Target {
                model: model.clone(),
                provider: provider.clone(),
                upstream_model: model.upstream_id(requested).to_string(),
            }],
            reason: format!("model {} by {how}", model.name),
        })
    }
}

fn is_pattern(alias: &str) -> bool {
    alias.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigSource, load_str};

    fn router() -> Router {
        let c = load_str(
            r#"
auth = "none"
[providers.a]
kind = "anthropic"
base_url = "http://127.0.0.1:1"
[models.haiku]
provider = "a"
id = "claude-haiku-4-5-20251001"
aliases = ["claude-*haiku*"]
[models.sonnet]
provider = "a"
id = "claude-sonnet-4-5-20250929"
aliases = ["sonnet-latest", "claude-sonnet-*"]
[models.claude]
provider = "a"
aliases = ["claude-*"]
"#,
            ConfigSource::Embedded,
            &|_| None,
        )
        .unwrap();
        Router::new(&c).unwrap()
    }

    #[test]
    fn resolution_order() {
        let r = router();
        let rows = [
            ("haiku", "haiku", "claude-haiku-4-5-20251001"),
            ("claude-haiku-5-5", "haiku", "claude-haiku-4-5-20251001"),
            (
                "claude-3-5-haiku-latest",
                "haiku",
                "claude-haiku-4-5-20251001",
            ),
            ("SONNET-LATEST", "sonnet", "claude-sonnet-4-5-20250929"),
            ("claude-sonnet-4-5", "sonnet", "claude-sonnet-4-5-20250929"),
            ("claude-opus-5-5", "claude", "claude-opus-5-5"),
        ];
        for (asked, model, upstream) in rows {
            let plan = r.plan(asked).unwrap();
            assert_eq!(plan.targets[0].model.name, model, "{asked}");
            assert_eq!(plan.targets[0].upstream_model, upstream, "{asked}");
        }
        assert!(matches!(
            r.plan("gpt-4o"),
            Err(GatewayError::ModelNotFound(_))
        ));
    }
}
