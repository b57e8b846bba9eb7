//! The OpenID Connect side of sign-in: the provider's discovery document,
//! the authorization URL (code flow with PKCE and a nonce), the code
//! exchange, refreshes, and the ID token's check — signature (the
//! provider's JWKS for RS/PS/ES algorithms, the client secret for HS),
//! issuer, audience, expiry and nonce.

use crate::config::SignInConfig;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// What the provider's discovery document says (the parts used here).
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// Its issuer identifier.
    pub issuer: String,
    /// Where browsers are sent to sign in.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: String,
    /// Its signing keys.
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

/// Tokens the provider answered with.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenSet {
    /// The ID token (absent on some refreshes).
    #[serde(default)]
    pub id_token: Option<String>,
    /// The provider's refresh token, when it issued one.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// Why talking to the provider failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdpError {
    /// The provider said the grant is no longer good (`invalid_grant`):
    /// the user was signed out or deprovisioned there.
    InvalidGrant,
    /// Anything else (unreachable, malformed, a bad token).
    Failed(String),
}

impl std::fmt::Display for IdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdpError::InvalidGrant => f.write_str("the identity provider refused the grant"),
            IdpError::Failed(m) => f.write_str(m),
        }
    }
}

/// A client of one provider.
#[derive(Debug)]
pub struct Idp {
    config: SignInConfig,
    http: reqwest::Client,
    metadata: tokio::sync::OnceCell<Metadata>,
}

fn failed(what: &str) -> impl Fn(reqwest::Error) -> IdpError + '_ {
    move |e| IdpError::Failed(format!("{what}: {e}"))
}

impl Idp {
    /// A client for the configured provider (nothing is fetched yet).
    pub fn new(config: &SignInConfig) -> Result<Idp, String> {
        crate::providers::upstream::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("sign-in HTTP client: {e}"))?;
        Ok(Idp {
            config: config.clone(),
            http,
            metadata: tokio::sync::OnceCell::new(),
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, IdpError> {
        self.http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed(what))?
            .json()
            .await
            .map_err(failed(what))
    }

    /// The discovery document (fetched once; a failure is retried next time).
    pub async fn metadata(&self) -> Result<&Metadata, IdpError> {
        self.metadata
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
                let m: Metadata = self.get_json(&url, "identity provider discovery").await?;
                if m.issuer.trim_end_matches('/') != self.config.issuer {
                    return Err(IdpError::Failed(format!(
                        "the provider's discovery document names issuer {:?}, not the configured {:?}",
                        m.issuer, self.config.issuer
                    )));
                }
                Ok(m)
            })
            .await
    }

    /// Where to send the browser: the code flow with PKCE (`challenge`),
    /// `state` and `nonce`.
    pub async fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        challenge: &str,
    ) -> Result<String, IdpError> {
        let m = self.metadata().await?;
        let mut url = reqwest::Url::parse(&m.authorization_endpoint)
            .map_err(|e| IdpError::Failed(format!("authorization_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.config.scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenSet, IdpError> {
        let m = self.metadata().await?;
        let mut form: Vec<(&str, &str)> = form.to_vec();
        form.push(("client_id", &self.config.client_id));
        let secret = self
            .config
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret());
        if let Some(secret) = secret {
            form.push(("client_secret", secret));
        }
        let resp = self
            .http
            .post(&m.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(failed("identity provider token endpoint"))?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(failed("identity provider token answer"))?;
        if !status.is_success() {
            let code = body["error"].as_str().unwrap_or("");
            return Err(if code == "invalid_grant" {
                IdpError::InvalidGrant
            } else {
                IdpError::Failed(format!("token endpoint answered {status}: {code}"))
            });
        }
        serde_json::from_value(body)
            .map_err(|e| IdpError::Failed(format!("token endpoint answer: {e}")))
    }

    /// Trade an authorization code (and the PKCE verifier) for tokens.
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenSet, IdpError> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect_uri),
        ])
        .await
    }

    /// Refresh at the provider: a deprovisioned user's grant fails here.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, IdpError> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// Check an ID token and return its claims; `nonce` must match when given.
    pub async fn verify(&self, id_token: &str, nonce: Option<&str>) -> Result<Value, IdpError> {
        let bad = |e: jsonwebtoken::errors::Error| IdpError::Failed(format!("ID token: {e}"));
        let header = jsonwebtoken::decode_header(id_token).map_err(bad)?;
        let key = match header.alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let secret = self.config.client_secret.as_ref().ok_or_else(|| {
                    IdpError::Failed("ID token signed with a client secret, and none is set".into())
                })?;
                DecodingKey::from_secret(secret.expose_secret().as_bytes())
            }
            _ => self.jwks_key(header.kid.as_deref()).await?,
        };
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[self.metadata().await?.issuer.as_str()]);
        v.set_audience(&[self.config.client_id.as_str()]);
        v.leeway = 60;
        let claims = jsonwebtoken::decode::<Value>(id_token, &key, &v)
            .map_err(bad)?
            .claims;
        if let Some(want) = nonce
            && claims["nonce"].as_str() != Some(want)
        {
            return Err(IdpError::Failed("ID token: nonce does not match".into()));
        }
        Ok(claims)
    }

    async fn jwks_key(&self, kid: Option<&str>) -> Result<DecodingKey, IdpError> {
        let uri = self.metadata().await?.jwks_uri.clone().ok_or_else(|| {
            IdpError::Failed("the provider publishes no jwks_uri to check ID tokens with".into())
        })?;
        let set: JwkSet = self.get_json(&uri, "identity provider keys").await?;
        let jwk = match kid {
            Some(kid) => set.find(kid),
            None => set.keys.first(),
        }
        .ok_or_else(|| {
            IdpError::Failed("ID token signed with a key the provider does not list".into())
        })?;
        DecodingKey::from_jwk(jwk).map_err(|e| IdpError::Failed(format!("provider key: {e}")))
    }
}
