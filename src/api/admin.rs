//! The admin JSON API (master key): reports, single requests, exports —
//! the same report code as `switchyard report`, so the numbers agree.
//!
//! `GET /admin/report/{daily|weekly|models|sessions|users|teams}?date=&from=&to=&user=&team=&format=json|md|csv&top=`
//! `GET /admin/requests/{id}`
//! `GET /admin/export?from=&to=&format=csv|jsonl`
//! `DELETE /admin/cache`
//! (client keys: `admin_keys`)

use crate::state::AppState;
use crate::store::Store;
use crate::usage::render::{EXPORT_HEADER, csv, export_csv, export_json, markdown};
use crate::usage::reports::{Kind, range_of};
use crate::usage::reports::{Range, build, parse_date};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn problem(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        json!({"error": {"message": message.to_string()}}).to_string(),
    )
        .into_response()
}

pub(super) fn store(state: &AppState) -> Result<&Store, Box<Response>> {
    state.store.as_ref().ok_or_else(|| {
        Box::new(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "this gateway runs without a ledger",
        ))
    })
}

/// `GET /admin/report/{kind}`.
pub async fn report(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let k = match kind.as_str() {
        "daily" => Kind::Daily,
        "weekly" => Kind::Weekly,
        "models" => Kind::Models,
        "sessions" => Kind::Sessions,
        "users" => Kind::Users,
        "teams" => Kind::Teams,
        "guardrails" => Kind::Guardrails,
        other => {
            return problem(
                StatusCode::NOT_FOUND,
                format!(
                    "no report '{other}' (daily, weekly, models, sessions, users, teams, guardrails)"
                ),
            );
        }
    };
    let arg = |k: &str| q.get(k).map(String::as_str);
    let range = match range_of(k, arg("date"), arg("from"), arg("to")) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let top = arg("top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(10)
        .clamp(0, 1000);
    let who = match (arg("user"), arg("team")) {
        (Some(u), _) => Some(crate::store::Who::User(u.to_string())),
        (_, Some(t)) => Some(crate::store::Who::Team(t.to_string())),
        _ => None,
    };
    let store = &store.only(who);
    let report = match build(store, &kind, range, &state.config.ledger.fixed_monthly, top).await {
        Ok(r) => r,
        Err(e) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("ledger query failed: {e}"),
            );
        }
    };
    match arg("format").unwrap_or("json") {
        "md" => (
            [(CONTENT_TYPE, "text/markdown; charset=utf-8")],
            markdown(&report),
        )
            .into_response(),
        "csv" => ([(CONTENT_TYPE, "text/csv; charset=utf-8")], csv(&report)).into_response(),
        _ => axum::Json(report).into_response(),
    }
}

/// `GET /admin/requests/{id}`.
pub async fn request(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match store.row(&id).await {
        Ok(Some(r)) => axum::Json(export_json(&r)).into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, format!("no request {id}")),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("ledger query failed: {e}"),
        ),
    }
}

/// `DELETE /admin/cache`: drop every cached answer.
pub async fn purge_cache(State(state): State<Arc<AppState>>) -> Response {
    let Some(cache) = &state.cache else {
        return problem(StatusCode::NOT_FOUND, "this gateway runs without a cache");
    };
    match cache.purge().await {
        Ok(n) => (
            [(CONTENT_TYPE, "application/json")],
            json!({"purged": n}).to_string(),
        )
            .into_response(),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cache purge failed: {e}"),
        ),
    }
}

/// `GET /admin/export?from=&to=&format=csv|jsonl`, streamed page by page.
pub async fn export(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let store = match store(&state) {
        Ok(s) => s.clone(),
        Err(r) => return *r,
    };
    let day = |k: &str| {
        q.get(k)
            .map(|d| parse_date(d))
            .unwrap_or_else(|| Ok(crate::usage::reports::today()))
    };
    let (from, to) = match (day("from"), day("to")) {
        (Ok(f), Ok(t)) if f <= t => (f, t),
        (Ok(_), Ok(_)) => return problem(StatusCode::BAD_REQUEST, "from is after to"),
        (Err(e), _) | (_, Err(e)) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let jsonl = q.get("format").is_some_and(|f| f == "jsonl");
    let (start, end) = Range { from, to }.millis();
    let header =
        (!jsonl).then(|| Ok::<_, std::io::Error>(bytes::Bytes::from(format!("{EXPORT_HEADER}\n"))));
    let pages = futures_util::stream::unfold(Some(None::<(i64, String)>), move |cursor| {
        let store = store.clone();
        async move {
            let after = cursor?;
            let page = store
                .rows_after(
                    start,
                    end,
                    after.as_ref().map(|(t, i)| (*t, i.as_str())),
                    2000,
                )
                .await;
            match page {
                Ok(rows) => {
                    let next =
                        (rows.len() == 2000).then(|| rows.last().map(|r| (r.ts_ms, r.id.clone())));
                    let text: String = rows
                        .iter()
                        .map(|r| if jsonl { export_json(r).to_string() } else { export_csv(r) } + "\n")
                        .collect();
                    Some((Ok(bytes::Bytes::from(text)), next.flatten().map(Some)))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let body = futures_util::stream::iter(header).chain(pages);
    let (mime, ext) = if jsonl {
        ("application/x-ndjson", "jsonl")
    } else {
        ("text/csv; charset=utf-8", "csv")
    };
    let mut resp = Response::new(Body::from_stream(body));
    resp.headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static(mime));
    if let Ok(v) = http::HeaderValue::from_str(&format!(
        "attachment; filename=\"switchyard-{from}-{to}.{ext}\""
    )) {
        resp.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    resp
}

use futures_util::StreamExt;
