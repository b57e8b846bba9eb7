//! A mock OpenID Connect provider for the sign-in tests, and the steps
//! Claude Code and a person's browser take against the gateway: metadata, a
//! device code, the browser's approval at the provider, polls, refreshes.
//! The provider signs in whoever `next_user` names at once and answers HS256
//! ID tokens signed with the client secret; it refuses refreshes of anyone
//! `deprovisioned`.

use super::TestGateway;
use super::mock::MockUpstream;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "switchyard-test";
pub const CLIENT_SECRET: &str = "idp-client-secret-for-tests";

/// A person at the provider: their e-mail and groups.
pub type User = (String, Vec<String>);

/// A code the provider handed out, waiting to be exchanged.
struct Issued {
    user: User,
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

/// A small OpenID Connect provider: whoever `signs_in` is approves at once.
#[derive(Clone, Default)]
pub struct MockIdp {
    url: Arc<Mutex<String>>,
    signs_in: Arc<Mutex<User>>,
    codes: Arc<Mutex<HashMap<String, Issued>>>,
    refresh: Arc<Mutex<HashMap<String, User>>>,
    pub deprovisioned: Arc<Mutex<HashSet<String>>>,
}

impl MockIdp {
    pub async fn start() -> MockIdp {
        let idp = MockIdp::default();
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(discovery),
            )
            .route("/authorize", axum::routing::get(authorize))
            .route("/token", axum::routing::post(token))
            .with_state(idp.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *idp.url.lock().unwrap() = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        idp
    }

    pub fn url(&self) -> String {
        self.url.lock().unwrap().clone()
    }

    pub fn next_user(&self, email: &str, groups: &[&str]) {
        *self.signs_in.lock().unwrap() = (
            email.to_string(),
            groups.iter().map(|g| g.to_string()).collect(),
        );
    }

    fn id_token(&self, user: &User, nonce: Option<&str>) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "iss": self.url(), "aud": CLIENT_ID, "sub": format!("id-{}", user.0),
            "email": user.0, "groups": user.1, "iat": now, "exp": now + 300,
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
        )
        .unwrap()
    }
}

async fn discovery(State(idp): State<MockIdp>) -> axum::Json<Value> {
    let u = idp.url();
    axum::Json(json!({
        "issuer": u, "authorization_endpoint": format!("{u}/authorize"),
        "token_endpoint": format!("{u}/token"), "jwks_uri": format!("{u}/jwks"),
    }))
}

async fn authorize(
    State(idp): State<MockIdp>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    let code = format!("code-{}", uuid::Uuid::now_v7().simple());
    idp.codes.lock().unwrap().insert(
        code.clone(),
        Issued {
            user: idp.signs_in.lock().unwrap().clone(),
            nonce: q["nonce"].clone(),
            challenge: q["code_challenge"].clone(),
            redirect_uri: q["redirect_uri"].clone(),
        },
    );
    let to = format!("{}?code={code}&state={}", q["redirect_uri"], q["state"]);
    (http::StatusCode::FOUND, [(http::header::LOCATION, to)]).into_response()
}

async fn token(State(idp): State<MockIdp>, Form(f): Form<HashMap<String, String>>) -> Response {
    let bad = |e: &str| {
        (
            http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": e})),
        )
            .into_response()
    };
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return bad("invalid_client");
    }
    match f["grant_type"].as_str() {
        "authorization_code" => {
            let Some(issued) = idp.codes.lock().unwrap().remove(&f["code"]) else {
                return bad("invalid_grant");
            };
            let pkce = URL_SAFE_NO_PAD.encode(Sha256::digest(f["code_verifier"].as_bytes()));
            if pkce != issued.challenge || f["redirect_uri"] != issued.redirect_uri {
                return bad("invalid_grant");
            }
            let refresh = format!("idp-refresh-{}", uuid::Uuid::now_v7().simple());
            idp.refresh
                .lock()
                .unwrap()
                .insert(refresh.clone(), issued.user.clone());
            axum::Json(json!({
                "access_token": "idp-access", "token_type": "Bearer", "expires_in": 300,
                "id_token": idp.id_token(&issued.user, Some(&issued.nonce)), "refresh_token": refresh,
            }))
            .into_response()
        }
        "refresh_token" => {
            let user = idp
                .refresh
                .lock()
                .unwrap()
                .get(&f["refresh_token"])
                .cloned();
            match user {
                Some(u) if !idp.deprovisioned.lock().unwrap().contains(&u.0) => axum::Json(json!({
                    "access_token": "idp-access-2", "token_type": "Bearer", "expires_in": 300,
                    "id_token": idp.id_token(&u, None),
                }))
                .into_response(),
                _ => bad("invalid_grant"),
            }
        }
        _ => bad("unsupported_grant_type"),
    }
}

pub async fn start(idp: &MockIdp, upstream: &MockUpstream) -> TestGateway {
    start_with(idp, upstream, "").await
}

pub async fn start_with(idp: &MockIdp, upstream: &MockUpstream, more: &str) -> TestGateway {
    TestGateway::start(
        &upstream.url(),
        &format!(
            "[signin]\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
             teams = [\"payments\", \"platform\"]\nallowed_groups = [\"engineering\"]\n\
             login_notice = \"Use your example.com account\"\n{more}",
            idp.url()
        ),
    )
    .await
}

/// A `[signin]` section whose session secret every instance shares, for
/// gateways with their own ledger (`TestGateway::with_ledger`).
pub fn shared_signin(idp: &MockIdp) -> String {
    format!(
        "[signin]\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         session_secret = \"a-secret-every-instance-shares-0123456789\"\n\
         teams = [\"payments\", \"platform\"]\nallowed_groups = [\"engineering\"]\n",
        idp.url()
    )
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn form(url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    client().post(url).form(fields).send().await.unwrap()
}

/// What Claude Code does up to the browser: metadata, then a device code.
pub async fn device_code(gw: &TestGateway) -> Value {
    let meta: Value = client()
        .get(format!("{}/.well-known/oauth-authorization-server", gw.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], gw.url.as_str());
    let endpoint = meta["device_authorization_endpoint"].as_str().unwrap();
    assert_eq!(endpoint, format!("{}/oauth/device_authorization", gw.url));
    let resp = form(endpoint, &[("surface", "claude_code")]).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// What the person's browser does: open the link, confirm the code, sign in
/// at the provider, come back. Returns the final page.
pub async fn approve(gw: &TestGateway, device: &Value) -> String {
    let (browser, cookie, back) = to_provider(gw, device).await;
    assert!(
        back.starts_with(&format!("{}/oauth/callback?", gw.url)),
        "{back}"
    );
    come_back(&browser, &back, &cookie).await
}

/// The browser's first half: open the link, confirm the code on `gw`'s
/// page, sign in at the provider. Returns the browser, the cookie the
/// gateway set, and the callback address the provider sends it back to.
pub async fn to_provider(gw: &TestGateway, device: &Value) -> (reqwest::Client, String, String) {
    let b = client();
    let page = b
        .get(device["verification_uri_complete"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = device["user_code"].as_str().unwrap();
    assert!(page.contains(code), "the code is pre-filled: {page}");
    let resp = b
        .post(format!("{}/device", gw.url))
        .header("origin", &gw.url)
        .form(&[("user_code", code)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302, "{:?}", resp.text().await);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let at_idp = resp.headers()["location"].to_str().unwrap().to_string();
    let resp = b.get(&at_idp).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let back = resp.headers()["location"].to_str().unwrap().to_string();
    (b, cookie, back)
}

/// The browser's second half: the provider's callback, with the cookie.
/// Returns the final page.
pub async fn come_back(browser: &reqwest::Client, back: &str, cookie: &str) -> String {
    browser
        .get(back)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn poll(gw: &TestGateway, device: &Value) -> (u16, Value) {
    let resp = form(
        &format!("{}/oauth/token", gw.url),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    (resp.status().as_u16(), resp.json().await.unwrap())
}

pub async fn ask(gw: &TestGateway, bearer: &str) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", gw.url))
        .bearer_auth(bearer)
        .json(&json!({"model": "sonnet", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
}

pub async fn refresh(gw: &TestGateway, token: &str) -> (u16, Value) {
    let resp = form(
        &format!("{}/oauth/token", gw.url),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await;
    (resp.status().as_u16(), resp.json().await.unwrap())
}

pub async fn signed_in(gw: &TestGateway, idp: &MockIdp, email: &str, groups: &[&str]) -> String {
    idp.next_user(email, groups);
    let device = device_code(gw).await;
    assert!(approve(gw, &device).await.contains("Signed in"));
    let (status, grant) = poll(gw, &device).await;
    assert_eq!(status, 200, "{grant}");
    grant["access_token"].as_str().unwrap().to_string()
}

pub async fn settings(gw: &TestGateway, token: &str, etag: Option<&str>) -> reqwest::Response {
    let mut req = client()
        .get(format!("{}/managed/settings", gw.url))
        .bearer_auth(token);
    if let Some(e) = etag {
        req = req.header("if-none-match", e);
    }
    req.send().await.unwrap()
}
