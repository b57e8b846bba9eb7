//! Routing: which models may serve a request, in what order, and why — and
//! the loop that tries them.
//!
//! A request for a configured model's own name goes to that model. Else the
//! first matching `[[routes]]` entry decides: a tier (whose chain is tried,
//! then the chains of the tiers after it), a list of models, or `auto` (the
//! complexity classifier picks the tier; a Claude Code session stays on the
//! tier it reached). Else model aliases decide. Targets that cannot do what
//! the request needs (tools, vision, thinking, context) are dropped. The
//! [`dispatch`] loop then retries, falls back, and skips targets whose
//! circuit is open. Routing never sees HTTP types of either side beyond the
//! request headers it matches on.

mod auto;
pub mod classifier;
pub mod conversation;
pub mod devset;
pub mod dispatch;
pub mod health;
pub mod learned;
mod lexicon;
pub mod material;
pub mod peers;
pub mod plan;
pub mod session;
pub mod turn;
pub mod words;

pub use crate::core::glob_match;
pub use auto::SessionTurn;
pub use plan::{Facts, Plan, Shadow};

use crate::config::{Capabilities, Config, ModelConfig, RouteAction, RoutingConfig, RoutingMode};
use crate::core::RawRequest;
use crate::error::GatewayError;
use crate::providers::Provider;
use classifier::{Classifier, Level, Thresholds};
use health::Health;
use http::HeaderMap;
use std::collections::HashMap;
use std::sync::Arc;

/// The header Claude Code names its session with.
pub const SESSION_HEADER: &str = "x-claude-code-session-id";

/// One model on one provider.
#[derive(Debug, Clone)]
pub struct Target {
    /// The configured model.
    pub model: Arc<ModelConfig>,
    /// The provider that serves it.
    pub provider: Arc<Provider>,
    /// The model id sent upstream.
    pub upstream_model: String,
    /// The tier it was taken from, when a tier was.
    pub tier: Option<String>,
}

impl Target {
    /// Key of its circuit breaker.
    pub fn key(&self) -> String {
        health::breaker_key(&self.provider.name, &self.upstream_model)
    }
}

/// Resolves requests to plans.
#[derive(Debug)]
pub struct Router {
    models: Vec<Arc<ModelConfig>>,
    providers: HashMap<String, Arc<Provider>>,
    routing: RoutingConfig,
    classifier: Classifier,
    thresholds: Thresholds,
    /// P(premium) from which a person's turn is planned on premium.
    plan_from: Option<f64>,
    health: Arc<Health>,
    sessions: Arc<session::Sessions>,
    /// Configured model name → its price, for the cost model.
    prices: HashMap<String, crate::core::Price>,
}

impl Router {
    /// Build providers, models and routing from config.
    pub fn new(config: &Config) -> Result<Self, String> {
        let mut providers = HashMap::new();
        for p in &config.providers {
            providers.insert(p.name.clone(), Arc::new(Provider::from_config(p)?));
        }
        let models = config.models.iter().cloned().map(Arc::new).collect();
        let routing = config.routing.clone();
        let classifier = Classifier::from_config(&routing.classifier)?;
        let own = classifier.thresholds();
        Ok(Router {
            models,
            providers,
            thresholds: Thresholds {
                cheap_from: routing.cheap_from.unwrap_or(own.cheap_from),
                premium_from: routing.premium_from.unwrap_or(own.premium_from),
            },
            plan_from: routing.plan_from.or(classifier.plan_from()),
            classifier,
            health: Arc::new(Health::new(routing.health)),
            sessions: Arc::new(session::Sessions::new(
                routing.session_idle,
                routing.cache_ttl,
            )),
            prices: HashMap::new(),
            routing,
        })
    }

    /// Resolve the credentials of every provider that needs them (Bedrock),
    /// warming their caches: one line per provider, sorted by name.
    pub async fn check_credentials(&self) -> Vec<(String, Result<String, String>)> {
        let mut providers: Vec<&Arc<Provider>> = self.providers.values().collect();
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::new();
        for p in providers {
            if let Some(checked) = p.check_credentials().await {
                out.push((p.name.clone(), checked));
            }
        }
        out
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
            if self.models.iter().any(|m| m.name == listed.name) {
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
                price: None,
            }));
        }
    }

    /// The prices the cost model weighs turns with (configured model name →
    /// price); models left out are not compared by cost.
    pub fn set_prices(&mut self, prices: HashMap<String, crate::core::Price>) {
        self.prices = prices;
    }

    /// Configured and discovered models.
    pub fn models(&self) -> &[Arc<ModelConfig>] {
        &self.models
    }

    /// The circuit breakers.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The breakers, to record how a stream that outlives the request's
    /// planning ended.
    pub fn health_handle(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// The conversations remembered (shared with other instances through
    /// `peers`), and how many tiers their ranks index.
    pub fn sessions_handle(&self) -> (Arc<session::Sessions>, usize) {
        (self.sessions.clone(), self.routing.tiers.len())
    }

    /// The routing config.
    pub fn routing(&self) -> &RoutingConfig {
        &self.routing
    }

    /// The model named `name`.
    pub fn model(&self, name: &str) -> Option<&Arc<ModelConfig>> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Find the model a requested name means: its own name, then a literal
    /// alias, then the first wildcard alias that matches (file order).
    pub fn resolve(&self, requested: &str) -> Option<&Arc<ModelConfig>> {
        let pattern = |a: &String| a.contains(['*', '?']);
        self.model(requested)
            .or_else(|| {
                self.models.iter().find(|m| {
                    m.aliases
                        .iter()
                        .any(|a| !pattern(a) && a.eq_ignore_ascii_case(requested))
                })
            })
            .or_else(|| {
                self.models.iter().find(|m| {
                    m.aliases
                        .iter()
                        .any(|a| pattern(a) && glob_match(a, requested))
                })
            })
    }

    fn target(
        &self,
        model: &Arc<ModelConfig>,
        requested: &str,
        tier: Option<&str>,
    ) -> Result<Target, GatewayError> {
        let provider = self.providers.get(&model.provider).ok_or_else(|| {
            GatewayError::Internal(format!("model {} has no provider", model.name))
        })?;
        let tier = tier
            .map(str::to_string)
            .or_else(|| self.tier_of(&model.name));
        Ok(Target {
            model: model.clone(),
            provider: provider.clone(),
            upstream_model: model.upstream_id(requested).to_string(),
            tier,
        })
    }

    fn tier_of(&self, model: &str) -> Option<String> {
        self.routing
            .tiers
            .iter()
            .find(|t| t.models.iter().any(|m| m == model))
            .map(|t| t.name.clone())
    }

    fn tier_rank(&self, name: &str) -> Option<usize> {
        self.routing.tiers.iter().position(|t| t.name == name)
    }

    /// The tier `auto` uses for a level: its namesake, else the next dearer
    /// one that exists, else the next cheaper.
    fn rank_for(&self, level: Level) -> Option<usize> {
        let dearer = Level::ALL.into_iter().filter(|l| *l >= level);
        let cheaper = Level::ALL.into_iter().rev().filter(|l| *l < level);
        dearer
            .chain(cheaper)
            .find_map(|l| self.tier_rank(l.as_str()))
    }

    /// The models of tier `rank` and then of every dearer tier, once each.
    fn chain(&self, rank: usize, requested: &str) -> Result<Vec<Target>, GatewayError> {
        let mut out: Vec<Target> = Vec::new();
        for tier in self.routing.tiers.iter().skip(rank) {
            for name in &tier.models {
                if out.iter().any(|t| &t.model.name == name) {
                    continue;
                }
                if let Some(m) = self.model(name) {
                    out.push(self.target(m, requested, Some(&tier.name))?);
                }
            }
        }
        Ok(out)
    }

    fn single(
        &self,
        model: &Arc<ModelConfig>,
        requested: &str,
        route: &str,
        reason: String,
    ) -> Result<Plan, GatewayError> {
        Ok(Plan {
            targets: vec![self.target(model, requested, None)?],
            route: route.to_string(),
            tier: self.tier_of(&model.name),
            classification: None,
            reason,
            session: None,
            cache: crate::config::RouteCache::default(),
            shadow: None,
        })
    }

    /// The plan for a request.
    pub fn plan(&self, raw: &RawRequest, headers: &HeaderMap) -> Result<Plan, GatewayError> {
        let requested = raw.model();
        if let Some(m) = self.model(requested) {
            return self.single(
                m,
                requested,
                "model",
                format!("model {} asked for by name", m.name),
            );
        }
        let facts = Facts::of(raw, headers);
        if let Some(route) = self
            .routing
            .routes
            .iter()
            .find(|r| facts.matches(&r.matcher))
        {
            let mut plan = self.route_plan(route, raw, &facts)?;
            let (kept, dropped) = plan::gate(std::mem::take(&mut plan.targets), &facts)
                .map_err(GatewayError::InvalidRequest)?;
            plan.targets = kept;
            if !dropped.is_empty() {
                plan.reason
                    .push_str(&format!(" (skipped: {})", dropped.join(", ")));
            }
            if route.mode.unwrap_or(self.routing.mode) == RoutingMode::Shadow {
                return self.shadow(plan, requested);
            }
            return Ok(plan);
        }
        match self.resolve(requested) {
            Some(m) => self.single(m, requested, "alias", format!("model {} by alias", m.name)),
            None => Err(GatewayError::ModelNotFound(requested.to_string())),
        }
    }

    /// Serve `plan` from the tier below its own (a budget past its soft
    /// limit asks so): that tier's chain, as far as the request's needs
    /// allow. False, and `plan` untouched, when there is no cheaper tier
    /// that can serve it.
    pub fn step_down(
        &self,
        plan: &mut Plan,
        raw: &RawRequest,
        headers: &HeaderMap,
        why: &str,
    ) -> bool {
        let Some(rank) = plan.tier.as_deref().and_then(|t| self.tier_rank(t)) else {
            return false;
        };
        let Some(below) = rank.checked_sub(1) else {
            return false;
        };
        let Ok(chain) = self.chain(below, raw.model()) else {
            return false;
        };
        let facts = Facts::of(raw, headers);
        let Ok((kept, _)) = plan::gate(chain, &facts) else {
            return false;
        };
        if kept.is_empty() {
            return false;
        }
        let name = self.routing.tiers[below].name.clone();
        plan.reason
            .push_str(&format!("; stepped down to tier {name}: {why}"));
        plan.targets = kept;
        plan.tier = Some(name);
        true
    }

    /// Keep only targets on local providers, for a request that must not
    /// leave the machine: the plan's own local targets, else the first
    /// tier, cheapest first, with local models that can serve it. False,
    /// and `plan` untouched, when no local model can.
    pub fn keep_local(
        &self,
        plan: &mut Plan,
        raw: &RawRequest,
        headers: &HeaderMap,
        why: &str,
    ) -> bool {
        if plan.targets.iter().any(|t| t.provider.local) {
            plan.targets.retain(|t| t.provider.local);
            plan.reason.push_str(&format!("; local models only: {why}"));
            return true;
        }
        let facts = Facts::of(raw, headers);
        for rank in 0..self.routing.tiers.len() {
            let Ok(chain) = self.chain(rank, raw.model()) else {
                continue;
            };
            let local: Vec<Target> = chain.into_iter().filter(|t| t.provider.local).collect();
            let Ok((kept, _)) = plan::gate(local, &facts) else {
                continue;
            };
            if kept.is_empty() {
                continue;
            }
            let name = self.routing.tiers[rank].name.clone();
            plan.reason
                .push_str(&format!("; moved to tier {name}, local models only: {why}"));
            plan.targets = kept;
            plan.tier = Some(name);
            return true;
        }
        false
    }

    /// Serve `routed`'s request as asked (the model it names, else the
    /// baseline), and keep where routing would have sent it.
    fn shadow(&self, routed: Plan, requested: &str) -> Result<Plan, GatewayError> {
        let asked = self
            .resolve(requested)
            .or_else(|| self.routing.baseline.as_deref().and_then(|b| self.model(b)))
            .ok_or_else(|| GatewayError::ModelNotFound(requested.to_string()))?;
        let would = routed.targets.first().map(|t| Shadow {
            model: t.model.name.clone(),
            upstream_model: t.upstream_model.clone(),
            tier: routed.tier.clone().or_else(|| t.tier.clone()),
        });
        let mut served = self.single(asked, requested, &routed.route, String::new())?;
        served.reason = format!(
            "shadow: served as asked ({}); routing would choose {}: {}",
            asked.name,
            would.as_ref().map_or("nothing", |w| w.model.as_str()),
            routed.reason
        );
        served.classification = routed.classification;
        served.session = routed.session;
        served.cache = routed.cache;
        served.shadow = would;
        Ok(served)
    }

    fn route_plan(
        &self,
        route: &crate::config::RouteConfig,
        raw: &RawRequest,
        facts: &Facts<'_>,
    ) -> Result<Plan, GatewayError> {
        let requested = raw.model();
        let mut plan = Plan {
            targets: Vec::new(),
            route: route.name.clone(),
            tier: None,
            classification: None,
            reason: String::new(),
            session: None,
            cache: route.cache,
            shadow: None,
        };
        match &route.action {
            RouteAction::Tier(t) => {
                let rank = self
                    .tier_rank(t)
                    .ok_or_else(|| GatewayError::Internal(format!("no tier {t}")))?;
                plan.targets = self.chain(rank, requested)?;
                plan.tier = Some(t.clone());
                plan.reason = format!("route {} → tier {t}", route.name);
            }
            RouteAction::Targets(names) => {
                for name in names {
                    if let Some(m) = self.model(name) {
                        plan.targets.push(self.target(m, requested, None)?);
                    }
                }
                plan.tier = plan.targets.first().and_then(|t| t.tier.clone());
                plan.reason = format!("route {} → {}", route.name, names.join(", "));
            }
            RouteAction::Auto => {
                let d = self.decide(raw, facts.headers, facts.input_tokens)?;
                plan.targets = self.chain(d.rank, requested)?;
                plan.tier = Some(self.routing.tiers[d.rank].name.clone());
                plan.reason = d.reason;
                plan.classification = d.classification;
                plan.session = d.session;
            }
        }
        if plan.targets.is_empty() {
            return Err(GatewayError::Internal(format!(
                "route {} has no usable models",
                route.name
            )));
        }
        let models = &plan.targets;
        let mixed = models.iter().any(|t| t.model.name != models[0].model.name);
        if plan.session.is_none() && mixed {
            let rank = plan.tier.as_deref().and_then(|t| self.tier_rank(t));
            plan.session =
                self.authors_turn(raw, facts.headers, facts.input_tokens, rank.unwrap_or(0));
        }
        Ok(plan)
    }
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;
