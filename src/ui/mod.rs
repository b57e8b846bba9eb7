//! The dashboard at `/ui`: costs against the baseline, where requests went,
//! what failed, what the cache saved, the dearest requests and sessions,
//! what the guardrails did, and live provider health — server-rendered HTML with SVG charts, all
//! embedded in the binary.
//!
//! Sign-in exchanges the master key for a session cookie ([`auth`]). Every
//! figure comes from [`crate::usage::reports::build`], the code behind
//! `switchyard report` and `/admin/report`, so the numbers agree; exports
//! are the admin API's.

pub mod auth;
pub mod charts;
mod guard;
pub mod health;
mod html;
mod pages;
mod request;
mod teams;

use crate::state::AppState;
use crate::usage::reports::{Range, parse_date, today};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::header::{CACHE_CONTROL, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;

/// The dashboard's routes.
pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/ui", get(overview))
        .route("/ui/", get(overview))
        .route("/ui/models", get(models))
        .route("/ui/spend", get(spend))
        .route("/ui/teams", get(teams))
        .route("/ui/guardrails", get(guardrails))
        .route("/ui/health", get(health))
        .route("/ui/requests/{id}", get(request))
        .route("/ui/sessions/{id}", get(session))
        .route("/ui/export", get(export))
        .route("/ui/report", get(report_json))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .layer(axum::middleware::map_response(locked_down))
}

/// What the dashboard's pages may do: inline styles and SVG, forms to
/// itself; no scripts, no framing, no sniffing, no referrer.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn locked_down(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    resp
}

/// Query parameters of every page.
type Params = Query<HashMap<String, String>>;

/// The range asked for (`from`, `to`; default the last 7 days) and the
/// query string that keeps it across links.
fn range_of(q: &HashMap<String, String>) -> Result<(Range, String), String> {
    let day = |k: &str| {
        q.get(k)
            .filter(|s| !s.is_empty())
            .map(|s| parse_date(s))
            .transpose()
    };
    let to = day("to")?.unwrap_or_else(today);
    let from = day("from")?.unwrap_or(to - time::Duration::days(6));
    if from > to {
        return Err("the start of the range is after its end".into());
    }
    if (to - from).whole_days() > 366 {
        return Err("ranges are at most a year".into());
    }
    Ok((Range { from, to }, format!("?from={from}&to={to}")))
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Run `page` when signed in (else off to the sign-in form) with the range.
async fn guarded<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    page: F,
) -> Response
where
    F: FnOnce(Range, String) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    if !signed_in(state, headers) {
        return Redirect::to("/ui/login").into_response();
    }
    if state.store.is_none() {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "this gateway runs without a ledger",
        );
    }
    let (range, query) = match range_of(q) {
        Ok(r) => r,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e),
    };
    match page(range, query).await {
        Ok(body) => no_store(Html(body).into_response()),
        Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = html::page(
        "Error",
        "",
        "",
        None,
        &format!(
            "<h1>{}</h1><p><a href='/ui'>Back to the overview</a></p>",
            html::esc(message)
        ),
    );
    no_store((status, Html(body)).into_response())
}

async fn overview(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    guarded(&s, &headers, &q, |r, qs| pages::overview(&s, r, qs)).await
}

async fn models(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Params) -> Response {
    guarded(&s, &headers, &q, |r, qs| pages::models(&s, r, qs)).await
}

async fn spend(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Params) -> Response {
    guarded(&s, &headers, &q, |r, qs| pages::spend(&s, r, qs)).await
}

async fn teams(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Params) -> Response {
    guarded(&s, &headers, &q, |r, qs| teams::teams(&s, r, qs)).await
}

async fn guardrails(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    guarded(&s, &headers, &q, |r, qs| guard::guardrails(&s, r, qs)).await
}

async fn health(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Params) -> Response {
    guarded(&s, &headers, &q, |_, qs| health::health(&s, qs)).await
}

async fn request(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    guarded(&s, &headers, &q, |_, qs| request::request(&s, id, qs)).await
}

async fn session(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    guarded(&s, &headers, &q, |r, qs| pages::session(&s, id, r, qs)).await
}

/// Rows of the range shown, as the admin export gives them.
async fn export(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Params) -> Response {
    if !signed_in(&s, &headers) {
        return Redirect::to("/ui/login").into_response();
    }
    crate::api::admin::export(State(s), Query(q)).await
}

/// The report of the range shown, as `/admin/report` gives it.
async fn report_json(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if !signed_in(&s, &headers) {
        return Redirect::to("/ui/login").into_response();
    }
    crate::api::admin::report(State(s), Path("models".to_string()), Query(q)).await
}

async fn login_page(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if signed_in(&s, &headers) {
        return Redirect::to("/ui").into_response();
    }
    no_store(Html(html::login(None)).into_response())
}

#[derive(serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    key: String,
}

async fn login(
    State(s): State<Arc<AppState>>,
    ip: Option<axum::Extension<crate::state::ClientIp>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = ip.and_then(|axum::Extension(c)| c.0);
    if s.auth_failures.throttled(ip) {
        let page = Html(html::login(Some(
            "Too many wrong keys from this address; try again in a minute.",
        )));
        return no_store((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    if !auth::key_matches(&s.config.auth, &form.key) {
        s.auth_failures
            .failed(ip, || "dashboard sign-in with a wrong key".to_string());
        let page = Html(html::login(Some("That is not the master key.")));
        return no_store((StatusCode::UNAUTHORIZED, page).into_response());
    }
    let mut resp = Redirect::to("/ui").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&s.config.auth)) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    no_store(resp)
}

/// Whether the request carries a live, unrevoked session cookie.
fn signed_in(state: &AppState, headers: &HeaderMap) -> bool {
    auth::signed_in(&state.config.auth, headers, &|v| {
        state.revoked_sessions.contains_key(v)
    })
}

/// Sign out: the cookie is revoked here and cleared in the browser.
async fn logout(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(v) = auth::cookie_value(&headers) {
        s.revoked_sessions.insert(v.to_string(), ());
    }
    let mut resp = Redirect::to("/ui/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie()) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_default_to_the_last_week_and_are_checked() {
        let (r, q) = range_of(&HashMap::new()).unwrap();
        assert_eq!(r.days(), 7);
        assert!(q.starts_with("?from="));
        let q = |f: &str, t: &str| {
            HashMap::from([
                ("from".to_string(), f.to_string()),
                ("to".to_string(), t.to_string()),
            ])
        };
        assert_eq!(
            range_of(&q("2026-11-01", "2026-11-28")).unwrap().0.days(),
            28
        );
        assert!(range_of(&q("2026-11-28", "2026-11-01")).is_err());
        assert!(range_of(&q("yesterday", "2026-11-01")).is_err());
        assert!(range_of(&q("2024-01-01", "2026-11-01")).is_err());
    }
}
