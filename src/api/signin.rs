//! The HTTP side of sign-in: the OAuth metadata Claude Code reads, the
//! device authorization and token endpoints it calls, the verification
//! page a person's browser opens, the provider's callback, revocation, and
//! `/protocol` (what this gateway serves of Claude Code's gateway
//! protocol). OAuth errors come back as `{"error": …}` (RFC 6749 / 8628);
//! answers are never cached.

use crate::signin::{DEVICE_TTL, POLL_INTERVAL, SignIn};
use crate::state::{AppState, ClientIp};
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// The cookie binding a provider's answer to the browser that asked.
const BROWSER_COOKIE: &str = "switchyard_signin";

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store(
        (
            status,
            axum::Json(json!({"error": error, "error_description": description})),
        )
            .into_response(),
    )
}

fn not_configured() -> Response {
    oauth_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "sign-in is not configured on this gateway ([signin] in its config)",
    )
}

fn signin(state: &AppState) -> Option<&Arc<SignIn>> {
    state.signin.as_ref()
}

/// The address this request reached the gateway at.
fn base(s: &SignIn, headers: &HeaderMap) -> String {
    s.base_url(headers.get(header::HOST).and_then(|h| h.to_str().ok()))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn metadata(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(s) = signin(&state) else {
        return not_configured();
    };
    let base = base(s, &headers);
    no_store(
        axum::Json(json!({
            "issuer": base,
            "device_authorization_endpoint": format!("{base}/oauth/device_authorization"),
            "token_endpoint": format!("{base}/oauth/token"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "profile", "email"],
            "gateway_protocol_version": 1,
        }))
        .into_response(),
    )
}

/// `POST /oauth/device_authorization` (RFC 8628 §3.1; extra form fields,
/// such as Claude Code's `surface`, are ignored).
pub async fn device_authorization(
    State(state): State<Arc<AppState>>,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
) -> Response {
    let Some(s) = signin(&state) else {
        return not_configured();
    };
    if !s.allow_attempt(ip.and_then(|Extension(c)| c.0)) {
        return oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            "too many sign-ins started from this address; wait a minute",
        );
    }
    let (device_code, user_code) = match s.start_device().await {
        Ok(codes) => codes,
        Err(e) => {
            tracing::error!("sign-in: {e}");
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the gateway cannot make a sign-in code now",
            );
        }
    };
    let base = base(s, &headers);
    let mut body = json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": format!("{base}/device"),
        "verification_uri_complete": format!("{base}/device?user_code={user_code}"),
        "expires_in": DEVICE_TTL.as_secs(),
        "interval": POLL_INTERVAL,
    });
    if let Some(n) = s.login_notice() {
        body["login_notice"] = json!(n);
    }
    no_store(axum::Json(body).into_response())
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}\
         input{{font-size:1.4rem;letter-spacing:.2rem;padding:.3rem}}button{{font-size:1rem;padding:.4rem 1rem}}</style>\
         </head><body><h1>{title}</h1>{body}</body></html>"
    );
    let mut r = Html(html).into_response();
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https: http:",
        ),
    );
    r.headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    no_store(r)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn code_form(prefill: &str, error: Option<&str>) -> Response {
    let error = error.map_or(String::new(), |e| {
        format!("<p><strong>{}</strong></p>", escape(e))
    });
    page(
        "Sign in to switchyard",
        &format!(
            "{error}<p>Check that this code matches the one in your terminal, then continue \
             to your company's sign-in.</p>\
             <form method=\"post\" action=\"/device\"><input name=\"user_code\" value=\"{}\" \
             autocomplete=\"off\" required> <button type=\"submit\">Continue</button></form>\
             <form method=\"post\" action=\"/device/deny\"><input type=\"hidden\" name=\"user_code\" \
             value=\"{}\"><p><button type=\"submit\">This was not me</button></p></form>",
            escape(prefill),
            escape(prefill)
        ),
    )
}

/// `GET /device`: the code, pre-filled but never submitted on its own
/// (RFC 8628 §5.4).
pub async fn device_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if signin(&state).is_none() {
        return not_configured();
    }
    code_form(q.get("user_code").map_or("", String::as_str), None)
}

/// The verification page's form.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    /// The code the person confirmed.
    #[serde(default)]
    pub user_code: String,
}

/// A form post must come from this gateway's own page.
fn same_origin(headers: &HeaderMap, base: &str) -> bool {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|o| o == base),
    }
}

/// `POST /device`: send the browser to the identity provider.
pub async fn device_submit(
    State(state): State<Arc<AppState>>,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let Some(s) = signin(&state) else {
        return not_configured();
    };
    let base = base(s, &headers);
    if !same_origin(&headers, &base) {
        return code_form(
            "",
            Some(
                "This request came from another site and was blocked. Open the link from your terminal directly.",
            ),
        );
    }
    if !s.allow_attempt(ip.and_then(|Extension(c)| c.0)) {
        return code_form(
            "",
            Some("Too many attempts from this address. Wait a minute and try again."),
        );
    }
    match s.begin_browser(&form.user_code, &base).await {
        Ok((url, browser)) => {
            let secure = if base.starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{BROWSER_COOKIE}={browser}; Max-Age=600; Path=/oauth/callback; HttpOnly; SameSite=Lax{secure}"
            );
            let mut r = StatusCode::FOUND.into_response();
            if let (Ok(loc), Ok(cookie)) =
                (HeaderValue::from_str(&url), HeaderValue::from_str(&cookie))
            {
                r.headers_mut().insert(header::LOCATION, loc);
                r.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            no_store(r)
        }
        Err(e) => code_form(&form.user_code, Some(&e)),
    }
}

/// `POST /device/deny`: the person did not start this sign-in.
pub async fn device_deny(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let Some(s) = signin(&state) else {
        return not_configured();
    };
    if same_origin(&headers, &base(s, &headers)) && s.deny(&form.user_code).await {
        page(
            "Sign-in refused",
            "<p>Nobody is signed in with that code. You can close this page.</p>",
        )
    } else {
        code_form("", Some("That code was not recognized."))
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `GET /oauth/callback`: the provider's answer.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(s) = signin(&state) else {
        return not_configured();
    };
    if let Some(e) = q.get("error") {
        let what = q.get("error_description").unwrap_or(e);
        return page(
            "Sign-in failed",
            &format!("<p>The identity provider said: {}</p>", escape(what)),
        );
    }
    let (Some(code), Some(st)) = (q.get("code"), q.get("state")) else {
        return page(
            "Sign-in failed",
            "<p>This sign-in link is incomplete. Start again from your terminal.</p>",
        );
    };
    let browser = cookie(&headers, BROWSER_COOKIE);
    match s.finish_browser(st, code, browser.as_deref()).await {
        Ok(p) => page(
            "Signed in",
            &format!(
                "<p>Signed in as {}. Go back to your terminal; you can close this page.</p>",
                escape(&p.user)
            ),
        ),
        Err(e) => page("Sign-in failed", &format!("<p>{}</p>", escape(&e))),
    }
}

/// `POST /oauth/token`: the device grant and refreshes.
pub async fn token(
    State(state): State<Arc<AppState>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(s) = signin(&state) else {
        return not_configured();
    };
    let grant = match form.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let Some(code) = form.get("device_code") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "device_code is missing",
                );
            };
            match s.poll(code).await {
                Ok(g) => g,
                Err(e) => {
                    return oauth_error(StatusCode::BAD_REQUEST, e, "the sign-in is not complete");
                }
            }
        }
        Some("refresh_token") => {
            let Some(r) = form.get("refresh_token") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is missing",
                );
            };
            match s.refresh(r).await {
                Ok(g) => g,
                Err(true) => {
                    return oauth_error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_grant",
                        "sign in again (/login)",
                    );
                }
                Err(false) => {
                    return oauth_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "the identity provider could not be reached",
                    );
                }
            }
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "device_code or refresh_token",
            );
        }
    };
    let mut body = json!({
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token,
        "token_type": "Bearer",
        "expires_in": s.session_secs(),
    });
    if let Some(e) = grant.email {
        body["email"] = json!(e);
    }
    no_store(axum::Json(body).into_response())
}

/// `POST /oauth/revoke` (RFC 7009): sign-out. Always 200.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(s) = signin(&state) else {
        return not_configured();
    };
    if let Some(t) = form.get("token") {
        let revoked = s.revoke_token(t);
        if let Err(e) = crate::signin::fleet::record(state.store.as_ref(), &revoked).await {
            tracing::warn!(error = %e, "a sign-out could not be recorded for the other instances");
        }
    }
    no_store(StatusCode::OK.into_response())
}

/// `POST /admin/signin/revoke` `{"user": …}`: sign a person out everywhere,
/// at once here and on every instance sharing the database within about a
/// second (admin key).
pub async fn admin_revoke(
    State(state): State<Arc<AppState>>,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> Response {
    let Some(s) = signin(&state) else {
        return not_configured();
    };
    match body["user"].as_str().filter(|u| !u.is_empty()) {
        Some(user) => {
            let revoked = s.revoke_user(user);
            tracing::info!(user, "sign-in revoked by the admin");
            match crate::signin::fleet::record(state.store.as_ref(), &revoked).await {
                Ok(()) => axum::Json(json!({"revoked": user})).into_response(),
                Err(e) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(json!({"error": format!(
                        "{user} is signed out on this instance, but it could not be recorded for the others: {e}"
                    )})),
                )
                    .into_response(),
            }
        }
        None => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "give the user to sign out: {\"user\": \"…\"}"})),
        )
            .into_response(),
    }
}

/// `GET /managed/settings` (bearer: a session token): the person's group
/// policy as Claude Code's managed settings, `304` when its
/// `If-None-Match` already names them, `404` when no policy applies.
pub async fn managed_settings(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(s) = signin(&state) else {
        return not_configured();
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(m) = token.and_then(|t| s.managed_settings(t)) else {
        return no_store((StatusCode::NOT_FOUND, "no managed policy").into_response());
    };
    let etag = format!("\"{}\"", m.checksum);
    let mut r = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], m.body.clone()).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    no_store(r)
}

/// `GET /api/oauth/usage` (bearer): the caller's spend caps in dollars for
/// Claude Code's `/usage` and status line (a signed-in person; `404` for
/// anyone else, so Claude Code shows the percent alone).
pub async fn usage(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<crate::api::RequestId>,
) -> Response {
    let Some(key) = id.1.filter(|k| k.is_session()) else {
        return no_store((StatusCode::NOT_FOUND, "no spend caps for this caller").into_response());
    };
    let now = crate::teams::view::now_ms();
    let uses = state.limits.usage_of(&key.identity, &key.rules, now).await;
    let doc = crate::teams::unified::usage_document(&crate::teams::unified::standings(&uses));
    no_store(axum::Json(doc).into_response())
}

/// `GET /protocol`: what this gateway serves of Claude Code's gateway
/// protocol, as markdown.
pub async fn protocol(State(state): State<Arc<AppState>>) -> Response {
    let signin = if state.signin.is_some() {
        "on"
    } else {
        "off ([signin] not configured)"
    };
    let text = format!(
        "# switchyard: Claude Code gateway protocol\n\n\
         Sign-in: {signin}. Protocol version 1.\n\n\
         | Path | Served |\n|---|---|\n\
         | `GET /.well-known/oauth-authorization-server` | OAuth metadata (RFC 8414) |\n\
         | `POST /oauth/device_authorization` | device flow (RFC 8628) |\n\
         | `GET/POST /device` | verification page, then the OpenID Connect provider (code + PKCE) |\n\
         | `POST /oauth/token` | device grant; refresh (re-checked at the provider) |\n\
         | `POST /oauth/revoke` | sign-out (RFC 7009) |\n\
         | `GET /managed/settings` | the person's group policy (`[[signin.policies]]`), ETag / 304 |\n\
         | `GET /api/oauth/usage` | the person's spend caps in dollars |\n\
         | spend caps (`[[budgets]]`, or the admin API below) | `anthropic-ratelimit-unified-*` headers; `429 billing_error` at the cap |\n\
         | `GET/POST /v1/organizations/spend_limits`, `GET/DELETE …/{{id}}`, `GET …/effective` | Anthropic Admin API's spend limits (master key): user, rbac_group (a team), organization; daily, weekly, monthly |\n\
         | `POST /v1/messages`, `/v1/messages/count_tokens` | Anthropic Messages, routed by tier; a translated provider's refusal of a capability is `capability_rejected: <class>` |\n\
         | `POST /v1/metrics`, `/v1/logs`, `/v1/traces` | OTLP/HTTP, `200`; relayed to `[signin] telemetry_forward_to` |\n\
         | `GET /v1/models` | the models this gateway serves |\n\
         | `GET /livez`, `/readyz` | liveness, readiness |\n\n\
         Bearer: a session token (JWT, HS256) naming the user and their groups; \
         gateway keys (`sk-sy-…`) keep working for scripts and CI.\n"
    );
    no_store(
        (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            text,
        )
            .into_response(),
    )
}
