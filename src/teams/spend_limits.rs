//! Spend limits set through the admin API, in the shape of Anthropic's
//! Admin API (`/v1/organizations/spend_limits`): a cap in cents per scope
//! (`user`, `rbac_group` — a switchyard team — or `organization`) and
//! period (`daily`, `weekly`, `monthly`, UTC calendar windows).
//!
//! For each period the most specific limit binds a person: their own
//! `user` limit, else their team's `rbac_group` limit, else the
//! organization's; a limit whose amount is `null` is an explicit "no cap"
//! that stops the fallback. Configured `[[budgets]]` and a key's own
//! budget apply beside them. The limits become ordinary spend `Rule`s,
//! charged with reserve-then-settle like every budget.

// The held limits sit behind a std lock: read for a map lookup per request,
// written when the table changes, never held across an await.
#![allow(clippy::disallowed_types)]

use super::rules::{Measure, Rule};
use crate::config::{BudgetScope, BudgetWindow, RedisDown};
use crate::core::Identity;
use crate::store::SpendLimitRow;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Nano-dollars in a cent.
const NANOS_PER_CENT: i64 = 10_000_000;

/// What a limit applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitScope {
    /// One person (the ledger's `user_id`).
    User(String),
    /// One team (an IdP group listed in `[signin] teams`, or a key's team).
    Group(String),
    /// Everyone with a client key or a sign-in.
    Organization,
}

impl LimitScope {
    /// The scope's `type`, as the API names it.
    pub fn kind(&self) -> &'static str {
        match self {
            LimitScope::User(_) => "user",
            LimitScope::Group(_) => "rbac_group",
            LimitScope::Organization => "organization",
        }
    }

    /// The user or group id; empty for the organization.
    pub fn id(&self) -> &str {
        match self {
            LimitScope::User(id) | LimitScope::Group(id) => id,
            LimitScope::Organization => "",
        }
    }

    /// The scope from its stored or posted parts.
    pub fn of(kind: &str, id: &str) -> Result<LimitScope, String> {
        let id = id.trim();
        match kind {
            "user" if !id.is_empty() => Ok(LimitScope::User(id.to_string())),
            "rbac_group" if !id.is_empty() => Ok(LimitScope::Group(id.to_string())),
            "organization" => Ok(LimitScope::Organization),
            "user" => Err("scope.user_id: required for a user scope".into()),
            "rbac_group" => Err("scope.rbac_group_id: required for an rbac_group scope".into()),
            other => Err(format!(
                "scope.type: must be one of organization, rbac_group, user (got '{other}')"
            )),
        }
    }

    /// The scope as the API writes it.
    pub fn to_json(&self) -> Value {
        match self {
            LimitScope::User(id) => json!({"type": "user", "user_id": id}),
            LimitScope::Group(id) => json!({"type": "rbac_group", "rbac_group_id": id}),
            LimitScope::Organization => json!({"type": "organization"}),
        }
    }

    fn budget_scope(&self) -> BudgetScope {
        match self {
            LimitScope::User(u) => BudgetScope::User(u.clone()),
            LimitScope::Group(g) => BudgetScope::Team(g.clone()),
            LimitScope::Organization => BudgetScope::Organization,
        }
    }
}

/// The window a limit resets over.
pub fn window_of_period(period: &str) -> Result<BudgetWindow, String> {
    match period {
        "daily" => Ok(BudgetWindow::Day),
        "weekly" => Ok(BudgetWindow::Week),
        "monthly" => Ok(BudgetWindow::Month),
        other => Err(format!(
            "period: must be one of daily, weekly, monthly (got '{other}')"
        )),
    }
}

/// The API's name of a window.
pub fn period_of_window(window: BudgetWindow) -> &'static str {
    match window {
        BudgetWindow::Day => "daily",
        BudgetWindow::Week => "weekly",
        BudgetWindow::Month | BudgetWindow::Total => "monthly",
    }
}

/// One live spend limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendLimit {
    /// `spl_…`.
    pub id: String,
    /// What it applies to.
    pub scope: LimitScope,
    /// The window it resets over.
    pub window: BudgetWindow,
    /// The cap in US cents; none: no cap at this scope and period.
    pub amount_cents: Option<i64>,
    /// Made at (unix ms).
    pub created_ms: i64,
    /// Last changed at (unix ms).
    pub updated_ms: i64,
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl SpendLimit {
    /// A stored limit (none when deleted or unreadable).
    pub fn from_row(row: &SpendLimitRow) -> Result<Option<SpendLimit>, String> {
        if row.deleted_ms.is_some() {
            return Ok(None);
        }
        Ok(Some(SpendLimit {
            id: row.id.clone(),
            scope: LimitScope::of(&row.scope_type, &row.scope_id)?,
            window: window_of_period(&row.period)?,
            amount_cents: row.amount_cents,
            created_ms: row.created_ms,
            updated_ms: row.updated_ms,
        }))
    }

    /// The row to store.
    pub fn to_row(&self) -> SpendLimitRow {
        SpendLimitRow {
            id: self.id.clone(),
            scope_type: self.scope.kind().into(),
            scope_id: self.scope.id().into(),
            period: period_of_window(self.window).into(),
            amount_cents: self.amount_cents,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
            deleted_ms: None,
        }
    }

    /// The limit as the API answers it.
    pub fn to_json(&self) -> Value {
        json!({
            "type": "spend_limit",
            "id": self.id,
            "amount": self.amount_cents.map(|c| c.to_string()),
            "currency": "USD",
            "is_enabled": true,
            "period": period_of_window(self.window),
            "scope": self.scope.to_json(),
            "created_at": rfc3339(self.created_ms),
            "updated_at": rfc3339(self.updated_ms),
        })
    }

    /// When the current period began (unix ms, UTC).
    pub fn period_start(&self, now_ms: i64) -> i64 {
        let clock = Rule {
            id: String::new(),
            scope: BudgetScope::Organization,
            measure: Measure::Spend {
                limit: 0,
                soft: None,
                window: self.window,
                offset_ms: 0,
                zone: None,
                step_down: false,
            },
            redis_down: RedisDown::Open,
        };
        clock.window_of(now_ms).0
    }

    /// The budget rule it enforces (none without an amount). Its id stays
    /// the same when the amount changes, so spend counted so far carries on.
    fn rule(&self, redis_down: RedisDown) -> Option<Rule> {
        let cents = self.amount_cents?;
        let scope = self.scope.budget_scope();
        Some(Rule {
            id: format!(
                "admin:{}={}/spend/{}",
                self.scope.kind(),
                self.scope.id(),
                self.window.as_str()
            ),
            scope,
            measure: Measure::Spend {
                limit: cents.saturating_mul(NANOS_PER_CENT),
                soft: None,
                window: self.window,
                offset_ms: 0,
                zone: None,
                step_down: false,
            },
            redis_down,
        })
    }
}

/// A limit held in memory with the rule it enforces.
#[derive(Debug, Clone)]
struct Held {
    limit: SpendLimit,
    rule: Option<Arc<Rule>>,
}

/// Every live limit set through the API, by scope and window.
#[derive(Debug, Default)]
pub struct AdminLimits {
    held: HashMap<(LimitScope, BudgetWindow), Held>,
    /// The latest change seen (unix ms), to poll from.
    pub seen_ms: i64,
}

/// The windows a limit can have, in the order limits are listed per scope.
const WINDOWS: [BudgetWindow; 3] = [BudgetWindow::Day, BudgetWindow::Week, BudgetWindow::Month];

impl AdminLimits {
    /// Take stored rows (new limits, changes, deletions); answers how many
    /// changed what is held.
    pub fn apply(&mut self, rows: &[SpendLimitRow], redis_down: RedisDown) -> usize {
        let mut changed = 0;
        for row in rows {
            self.seen_ms = self.seen_ms.max(row.updated_ms);
            let key = match (
                LimitScope::of(&row.scope_type, &row.scope_id),
                window_of_period(&row.period),
            ) {
                (Ok(scope), Ok(window)) => (scope, window),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(limit = %row.id, error = %e, "a stored spend limit is unreadable; skipped");
                    continue;
                }
            };
            match SpendLimit::from_row(row) {
                Ok(Some(limit)) => {
                    if self.held.get(&key).is_some_and(|h| h.limit == limit) {
                        continue;
                    }
                    let rule = limit.rule(redis_down).map(Arc::new);
                    self.held.insert(key, Held { limit, rule });
                    changed += 1;
                }
                Ok(None) => {
                    // Deleted: only if it is the row held (a newer limit for
                    // the scope may have replaced it).
                    if self.held.get(&key).is_some_and(|h| h.limit.id == row.id) {
                        self.held.remove(&key);
                        changed += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(limit = %row.id, error = %e, "a stored spend limit is unreadable; skipped");
                }
            }
        }
        changed
    }

    /// The limits that bind `who`: per window the most specific one.
    pub fn rules_for(&self, who: &Identity) -> Vec<Arc<Rule>> {
        self.binding(who)
            .into_iter()
            .filter_map(|h| h.rule.clone())
            .collect()
    }

    /// Per window, the most specific limit set for `who` (one with no
    /// amount included: it is what lifts the fallback).
    fn binding(&self, who: &Identity) -> Vec<&Held> {
        if self.held.is_empty() {
            return Vec::new();
        }
        let mut scopes = Vec::with_capacity(3);
        if let Some(u) = &who.user {
            scopes.push(LimitScope::User(u.clone()));
        }
        if let Some(t) = &who.team {
            scopes.push(LimitScope::Group(t.clone()));
        }
        scopes.push(LimitScope::Organization);
        WINDOWS
            .iter()
            .filter_map(|w| scopes.iter().find_map(|s| self.held.get(&(s.clone(), *w))))
            .collect()
    }

    /// The limits in force for `who`, one per window they resolve one for.
    pub fn effective_for(&self, who: &Identity) -> Vec<SpendLimit> {
        self.binding(who)
            .into_iter()
            .map(|h| h.limit.clone())
            .collect()
    }

    /// Every rule with an amount (for reconciling spend and reports).
    pub fn rules(&self) -> Vec<Arc<Rule>> {
        self.held.values().filter_map(|h| h.rule.clone()).collect()
    }

    /// Every live limit: organization, groups, users, each by window.
    pub fn list(&self) -> Vec<SpendLimit> {
        let mut out: Vec<SpendLimit> = self.held.values().map(|h| h.limit.clone()).collect();
        let rank = |s: &LimitScope| match s {
            LimitScope::Organization => 0,
            LimitScope::Group(_) => 1,
            LimitScope::User(_) => 2,
        };
        out.sort_by(|a, b| {
            (rank(&a.scope), a.scope.id(), a.window as u8, &a.id).cmp(&(
                rank(&b.scope),
                b.scope.id(),
                b.window as u8,
                &b.id,
            ))
        });
        out
    }
}

impl super::Limits {
    fn admin(&self) -> std::sync::RwLockReadGuard<'_, AdminLimits> {
        self.admin.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The API-set limits that bind `who`.
    pub(super) fn admin_rules_for(&self, who: &Identity) -> Vec<Arc<Rule>> {
        self.admin().rules_for(who)
    }

    /// Every API-set limit with an amount.
    pub(super) fn admin_rules(&self) -> Vec<Arc<Rule>> {
        self.admin().rules()
    }

    /// No API-set limit has an amount.
    pub(super) fn admin_is_empty(&self) -> bool {
        self.admin().held.values().all(|h| h.rule.is_none())
    }

    /// Every live API-set limit, for the admin API.
    pub fn spend_limits(&self) -> Vec<SpendLimit> {
        self.admin().list()
    }

    /// The API-set limits in force for `who`, one per window.
    pub fn effective_spend_limits(&self, who: &Identity) -> Vec<SpendLimit> {
        self.admin().effective_for(who)
    }

    /// Take stored rows of the `spend_limits` table.
    pub fn apply_spend_limits(&self, rows: &[SpendLimitRow]) -> usize {
        let mut admin = self.admin.write().unwrap_or_else(|e| e.into_inner());
        admin.apply(rows, self.admin_redis_down)
    }

    /// Read what changed in the `spend_limits` table since the last read
    /// (again a little further back: another instance's clock may lag);
    /// answers how many changed what this instance held.
    pub async fn refresh_spend_limits(
        &self,
        store: &crate::store::Store,
    ) -> Result<usize, sqlx::Error> {
        let since = self.admin().seen_ms;
        let from = if since == 0 { 0 } else { since - 10_000 };
        let rows = store.spend_limits_changed_since(from).await?;
        Ok(self.apply_spend_limits(&rows))
    }
}

/// Poll the `spend_limits` table every `every`, so a limit set on one
/// instance binds on all of them within about that.
pub fn spawn_refresher(
    limits: Arc<super::Limits>,
    store: crate::store::Store,
    every: std::time::Duration,
) {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            tokio::time::sleep(every).await;
            match limits.refresh_spend_limits(&store).await {
                Ok(changed) => {
                    if failing {
                        failing = false;
                        tracing::info!("spend limits: reading the spend_limits table again");
                    }
                    // A limit new to this instance starts from what its
                    // scope has spent this window.
                    if changed > 0
                        && let Err(e) = limits
                            .reconcile(&store, &[], crate::teams::view::now_ms())
                            .await
                    {
                        tracing::warn!(error = %e, "spend limits: cannot read their spend from the ledger");
                    }
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "spend limits: cannot read the spend_limits table; keeping the limits known");
                }
                Err(_) => {}
            }
        }
    });
}

#[cfg(test)]
#[path = "spend_limits_tests.rs"]
mod tests;
