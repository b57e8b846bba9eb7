//! The spend-limits admin API in the shape of Anthropic's Admin API (master
//! key; answers and errors in the Anthropic envelope), so a script written
//! for `/v1/organizations/spend_limits` manages switchyard's caps:
//!
//! `POST /v1/organizations/spend_limits` (upsert by scope and period),
//! `GET /v1/organizations/spend_limits[?limit=&page=&scope_type=]`,
//! `GET|DELETE /v1/organizations/spend_limits/{id}`,
//! `GET /v1/organizations/spend_limits/effective` (each person's limit in
//! force and their spend so far).
//!
//! A change binds on this instance at once and on the others at their next
//! read of the table (about a second).

use crate::state::AppState;
use crate::store::Store;
use crate::teams::spend_limits::{LimitScope, SpendLimit, window_of_period};
use crate::teams::view::now_ms;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// Most limits on one page.
const MOST_PER_PAGE: usize = 1000;

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({"type": "error", "error": {"type": kind, "message": message.into()}});
    (status, Json(body)).into_response()
}

fn invalid(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "spend_limits table");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "api_error",
        "the spend_limits table could not be read or written",
    )
}

fn store(state: &AppState) -> Result<&Store, Box<Response>> {
    state.store.as_ref().ok_or_else(|| {
        Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "spend limits need the ledger database; this gateway runs without one",
        ))
    })
}

/// A posted amount: a whole number of cents as a decimal string (or, leniently,
/// a JSON integer); `null` is "no cap at this scope and period".
fn amount_of(v: Option<&Value>) -> Result<Option<i64>, String> {
    const WHAT: &str =
        "amount: must be a whole-number decimal string of cents (\"50000\" is $500.00) or null";
    match v {
        None => Err("amount: required (a string of cents, or null for no cap)".into()),
        Some(Value::Null) => Ok(None),
        Some(Value::String(s))
            if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse().map(Some).map_err(|_| WHAT.into())
        }
        Some(Value::Number(n)) => n.as_i64().filter(|c| *c >= 0).map(Some).ok_or(WHAT.into()),
        Some(_) => Err(WHAT.into()),
    }
}

/// Read a posted limit: its scope, window and amount.
fn posted(body: &[u8]) -> Result<(LimitScope, crate::config::BudgetWindow, Option<i64>), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
    let scope = v.get("scope").ok_or("scope: required")?;
    let kind = scope
        .get("type")
        .and_then(Value::as_str)
        .ok_or("scope.type: required")?;
    let id = match kind {
        "user" => scope.get("user_id"),
        "rbac_group" => scope.get("rbac_group_id"),
        _ => None,
    }
    .and_then(Value::as_str)
    .unwrap_or("");
    let scope = LimitScope::of(kind, id)?;
    let period = v
        .get("period")
        .and_then(Value::as_str)
        .ok_or("period: required (daily, weekly or monthly)")?;
    Ok((
        scope,
        window_of_period(period)?,
        amount_of(v.get("amount"))?,
    ))
}

/// A page of a listing: `limit` items from the `page` cursor (`p<offset>`).
struct Paging {
    per_page: usize,
    from: usize,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            per_page: 20,
            from: 0,
        }
    }
}

impl Paging {
    /// Take the `limit` or `page` query parameter.
    fn read(&mut self, key: &str, value: &str) -> Result<(), &'static str> {
        if key == "limit" {
            self.per_page = value
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MOST_PER_PAGE).contains(n))
                .ok_or("limit: must be a number from 1 to 1000")?;
        } else {
            self.from = value
                .strip_prefix('p')
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or("page: invalid page token")?;
        }
        Ok(())
    }

    /// This page of `all`.
    fn of<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let start = self.from.min(all.len());
        &all[start..(start + self.per_page).min(all.len())]
    }

    /// The listing's answer: `data`, and the cursor of the next page of
    /// `total` items, if any.
    fn answer(&self, data: Vec<Value>, total: usize) -> Response {
        let next = (self.from + self.per_page).min(total);
        let more = next < total;
        Json(json!({
            "data": data,
            "has_more": more,
            "next_page": more.then(|| format!("p{next}")),
        }))
        .into_response()
    }
}

fn new_id() -> Result<String, String> {
    crate::teams::keys::random::<12>().map(|b| format!("spl_{}", hex::encode(b)))
}

/// `POST /v1/organizations/spend_limits`: set the limit of a scope and
/// period, overwriting one that exists.
pub async fn upsert(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (scope, window, amount_cents) = match posted(&body) {
        Ok(p) => p,
        Err(e) => return invalid(e),
    };
    let id = match new_id() {
        Ok(id) => id,
        Err(e) => return failed(e),
    };
    let now = now_ms();
    let limit = SpendLimit {
        id,
        scope,
        window,
        amount_cents,
        created_ms: now,
        updated_ms: now,
    };
    let stored = match store.upsert_spend_limit(&limit.to_row()).await {
        Ok(row) => row,
        Err(e) => return failed(e),
    };
    state
        .limits
        .apply_spend_limits(std::slice::from_ref(&stored));
    // The new cap starts from what its scope has already spent this window.
    if let Err(e) = state.limits.reconcile(store, &[], now).await {
        tracing::warn!(error = %e, "cannot read a new spend limit's spend from the ledger");
    }
    match SpendLimit::from_row(&stored) {
        Ok(Some(l)) => Json(l.to_json()).into_response(),
        Ok(None) => failed("the stored limit reads as deleted"),
        Err(e) => failed(e),
    }
}

/// `GET /v1/organizations/spend_limits`: organization, group and user
/// limits in that order, `limit` to a page, `page` the cursor of the last.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let mut paging = Paging::default();
    let mut kinds: Vec<String> = Vec::new();
    for (k, v) in &query {
        match k.as_str() {
            "limit" | "page" => {
                if let Err(e) = paging.read(k, v) {
                    return invalid(e);
                }
            }
            "scope_type" | "scope_type[]" => {
                for kind in v.split(',') {
                    if !matches!(kind, "organization" | "rbac_group" | "user") {
                        return invalid(
                            "scope_type: must be one of organization, rbac_group, user",
                        );
                    }
                    kinds.push(kind.to_string());
                }
            }
            _ => {}
        }
    }
    let all: Vec<SpendLimit> = state
        .limits
        .spend_limits()
        .into_iter()
        .filter(|l| kinds.is_empty() || kinds.iter().any(|k| k == l.scope.kind()))
        .collect();
    let page: Vec<Value> = paging.of(&all).iter().map(SpendLimit::to_json).collect();
    paging.answer(page, all.len())
}

/// Cents from nano-dollars, as the API writes amounts: a decimal string,
/// whole when it is whole.
fn cents(nanos: i64) -> String {
    let c = rust_decimal::Decimal::new(nanos, 7).round_dp(6).normalize();
    c.to_string()
}

/// `GET /v1/organizations/spend_limits/effective`: for each person (those
/// named by `user_ids`, else everyone who made a request this month), one
/// row per period they resolve a limit for: the limit in force, where it
/// comes from (`source`), and what they spent so far in that period.
/// Paged by person (`limit`, `page`); `period` keeps only those periods.
pub async fn effective(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let mut paging = Paging::default();
    let (mut periods, mut users): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for (k, v) in &query {
        match k.as_str() {
            "limit" | "page" => {
                if let Err(e) = paging.read(k, v) {
                    return invalid(e);
                }
            }
            "period" | "period[]" => {
                for p in v.split(',') {
                    if let Err(e) = window_of_period(p) {
                        return invalid(e);
                    }
                    periods.push(p.to_string());
                }
            }
            "user_ids" | "user_ids[]" => users.extend(v.split(',').map(str::to_string)),
            _ => {}
        }
    }
    if users.len() > 100 {
        return invalid("user_ids: at most 100 entries per request");
    }
    let now = now_ms();
    let seen = match store
        .users_since(crate::teams::rules::month_start(now))
        .await
    {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let people: Vec<(String, Option<String>)> = if users.is_empty() {
        seen
    } else {
        users
            .iter()
            .map(|u| {
                let team = seen
                    .iter()
                    .find(|(s, _)| s == u)
                    .and_then(|(_, t)| t.clone());
                (u.clone(), team)
            })
            .collect()
    };
    let mut data = Vec::new();
    for (user, team) in paging.of(&people) {
        let who = crate::core::Identity {
            key_id: String::new(),
            name: user.clone(),
            user: Some(user.clone()),
            team: team.clone(),
        };
        for limit in state.limits.effective_spend_limits(&who) {
            let period = crate::teams::spend_limits::period_of_window(limit.window);
            if !periods.is_empty() && !periods.iter().any(|p| p == period) {
                continue;
            }
            let mine = crate::store::Who::User(user.clone());
            let spent = match store.spent_since(&mine, limit.period_start(now)).await {
                Ok(n) => n,
                Err(e) => return failed(e),
            };
            data.push(json!({
                "actor": {"type": "user_actor", "user_id": user,
                          "email_address": user.contains('@').then_some(user), "name": null},
                "amount": limit.amount_cents.map(|c| c.to_string()),
                "currency": "USD",
                "period": period,
                "period_to_date_spend": cents(spent),
                "scope": {"type": "user", "user_id": user},
                "source": limit.scope.to_json(),
                "spend_limit_id": limit.id,
            }));
        }
    }
    paging.answer(data, people.len())
}

async fn stored(state: &AppState, id: &str) -> Result<SpendLimit, Box<Response>> {
    let store = store(state)?;
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("{id}: no spend limit with this id"),
        )
    };
    if !id.starts_with("spl_") {
        return Err(Box::new(not_found()));
    }
    match store.spend_limit(id).await {
        Ok(Some(row)) => match SpendLimit::from_row(&row) {
            Ok(Some(l)) => Ok(l),
            Ok(None) => Err(Box::new(not_found())),
            Err(e) => Err(Box::new(failed(e))),
        },
        Ok(None) => Err(Box::new(not_found())),
        Err(e) => Err(Box::new(failed(e))),
    }
}

/// `GET /v1/organizations/spend_limits/{id}`.
pub async fn show(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match stored(&state, &id).await {
        Ok(l) => Json(l.to_json()).into_response(),
        Err(r) => *r,
    }
}

/// `DELETE /v1/organizations/spend_limits/{id}`: the scope falls back to
/// the next limit that applies to it (its team's, the organization's).
pub async fn delete(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    if let Err(r) = stored(&state, &id).await {
        return *r;
    }
    let Ok(store) = store(&state) else {
        return failed("no ledger");
    };
    let now = now_ms();
    match store.delete_spend_limit(&id, now).await {
        Ok(Some(mut row)) => {
            row.deleted_ms = Some(now);
            row.updated_ms = now;
            state.limits.apply_spend_limits(std::slice::from_ref(&row));
            Json(json!({"id": id, "type": "spend_limit_deleted"})).into_response()
        }
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("{id}: no spend limit with this id"),
        ),
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posted_limits_are_read_strictly() {
        let (scope, window, cents) = posted(
            br#"{"scope":{"type":"user","user_id":"alice"},"period":"daily","amount":"2500"}"#,
        )
        .unwrap();
        assert_eq!(scope, LimitScope::User("alice".into()));
        assert_eq!(window, crate::config::BudgetWindow::Day);
        assert_eq!(cents, Some(2500));
        let org = posted(br#"{"scope":{"type":"organization"},"period":"monthly","amount":null}"#)
            .unwrap();
        assert_eq!((org.0, org.2), (LimitScope::Organization, None));
        for (body, says) in [
            (
                &br#"{"period":"daily","amount":"1"}"#[..],
                "scope: required",
            ),
            (
                br#"{"scope":{"type":"user"},"period":"daily","amount":"1"}"#,
                "user_id",
            ),
            (
                br#"{"scope":{"type":"organization"},"period":"yearly","amount":"1"}"#,
                "period",
            ),
            (
                br#"{"scope":{"type":"organization"},"period":"daily","amount":"12.50"}"#,
                "whole-number",
            ),
            (
                br#"{"scope":{"type":"organization"},"period":"daily","amount":"-5"}"#,
                "whole-number",
            ),
            (
                br#"{"scope":{"type":"organization"},"period":"daily"}"#,
                "amount: required",
            ),
            (
                br#"{"scope":{"type":"seat_tier","seat_tier":"x"},"period":"daily","amount":"1"}"#,
                "must be one of",
            ),
            (b"not json", "invalid JSON"),
        ] {
            let e = posted(body).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}
