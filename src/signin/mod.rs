//! Sign-in with the company's identity provider, the way Claude Code's
//! `/login` expects a gateway to offer it.
//!
//! Claude Code reads the gateway's OAuth metadata, runs the RFC 8628 device
//! flow against it and polls for a token; the developer approves the code
//! in a browser at `/device`, which switchyard sends on to the OpenID
//! Connect provider (authorization code with PKCE). When the provider
//! answers, switchyard checks the ID token, decides whether this person may
//! sign in (`allowed_groups`, `allowed_domains`) and mints its own session
//! token (`tokens`) carrying the user, their e-mail and groups; Claude Code
//! sends it as its bearer and refreshes it silently before it expires. A
//! refresh goes back to the provider when it issued a refresh token (kept
//! sealed inside ours, `seal`), so a person removed there is signed out
//! here at their next refresh, whichever instance it reaches. Revocation (a
//! user, or one sign-in) works at once, across a fleet through the ledger
//! database (`fleet`).
//!
//! Sign-ins in progress (device codes, browser flows) are kept in the
//! ledger database when there is one (`pending`), so each step may reach
//! any instance of a fleet; otherwise in memory. Session tokens are checked
//! by any instance that shares `session_secret`.

pub mod device;
pub mod fleet;
pub mod idp;
mod pending;
pub mod policy;
pub mod relay;
mod seal;
pub mod tokens;

use crate::config::SignInConfig;
use crate::core::Identity;
use crate::teams::ClientKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokens::{Claims, Rejected, Signer};

/// How long a device code and its browser flow stay good.
pub const DEVICE_TTL: Duration = Duration::from_secs(600);
/// Seconds Claude Code waits between polls.
pub const POLL_INTERVAL: u64 = 5;
/// Sign-in attempts one address may start per minute.
const ATTEMPTS_PER_MINUTE: u64 = 20;

/// Tokens handed to Claude Code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The session token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// The account that approved the code.
    pub email: Option<String>,
}

/// A browser sent to the provider, waiting for its answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Flow {
    device_key: String,
    redirect_uri: String,
    verifier: String,
    nonce: String,
    browser_hash: String,
}

/// Who signed in, as the provider said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    /// The user (`user_claim`).
    pub user: String,
    /// Their e-mail address.
    pub email: Option<String>,
    /// Their groups.
    pub groups: Vec<String>,
}

/// The sign-in service.
#[derive(Debug)]
pub struct SignIn {
    config: SignInConfig,
    idp: idp::Idp,
    signer: Signer,
    devices: device::Devices,
    flows: moka::sync::Cache<String, Flow>,
    /// `user:<name>` or `sid:<id>` → revoked at (unix seconds).
    revoked: moka::sync::Cache<String, i64>,
    /// Seals the provider's refresh token into the gateway's, and what a
    /// sign-in in progress keeps in the database.
    sealer: seal::Sealer,
    /// Where sign-ins in progress are shared (none: this instance's memory).
    store: std::sync::OnceLock<crate::store::Store>,
    attempts: moka::sync::Cache<String, Arc<std::sync::atomic::AtomicU64>>,
    policies: Vec<policy::Managed>,
    relay: Option<relay::Relay>,
}

/// `N` random bytes from the OS as base64url (an error when the OS has
/// none: a guessable code or token is never handed out).
pub fn random_token<const N: usize>() -> Result<String, String> {
    Ok(URL_SAFE_NO_PAD.encode(crate::teams::keys::random::<N>()?))
}

/// SHA-256 as hex.
fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn ttl<V: Clone + Send + Sync + 'static>(d: Duration) -> moka::sync::Cache<String, V> {
    moka::sync::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(d)
        .build()
}

fn now_s() -> i64 {
    crate::teams::view::now_ms() / 1000
}

impl SignIn {
    /// The service for `config`.
    pub fn new(config: &SignInConfig) -> Result<SignIn, String> {
        let secret = match &config.session_secret {
            Some(s) => s.expose_secret().as_bytes().to_vec(),
            None => random_token::<32>()?.into_bytes(),
        };
        Ok(SignIn {
            idp: idp::Idp::new(config)?,
            signer: Signer::new(
                &secret,
                config.public_url.as_deref().unwrap_or("switchyard"),
            ),
            devices: device::Devices::default(),
            flows: ttl(DEVICE_TTL),
            revoked: ttl(config.refresh_ttl),
            sealer: seal::Sealer::new(&secret)?,
            store: std::sync::OnceLock::new(),
            attempts: ttl(Duration::from_secs(60)),
            policies: config.policies.iter().map(policy::Managed::new).collect(),
            relay: relay::Relay::new(config)?,
            config: config.clone(),
        })
    }

    /// Where Claude Code's own telemetry is relayed (none: dropped).
    pub fn relay(&self) -> Option<&relay::Relay> {
        self.relay.as_ref()
    }

    /// The address developers sign in to: the configured `public_url`, or
    /// else the address the request came to (`host`), over plain HTTP —
    /// which Claude Code accepts on loopback only.
    pub fn base_url(&self, host: Option<&str>) -> String {
        match (&self.config.public_url, host) {
            (Some(url), _) => url.clone(),
            (None, Some(host)) => format!("http://{host}"),
            (None, None) => "http://127.0.0.1".to_string(),
        }
    }

    /// What Claude Code shows next to the sign-in code.
    pub fn login_notice(&self) -> Option<&str> {
        self.config.login_notice.as_deref()
    }

    /// Whether `ip` may start another sign-in step this minute.
    pub fn allow_attempt(&self, ip: Option<std::net::IpAddr>) -> bool {
        let key = ip.map_or_else(|| "unknown".to_string(), |i| i.to_string());
        let n = self.attempts.get_with(key, Default::default);
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < ATTEMPTS_PER_MINUTE
    }

    /// The browser submitted `user_code` on the page at `base`: where to
    /// send it at the provider, and the cookie value that binds the answer
    /// to this browser.
    pub async fn begin_browser(
        &self,
        user_code: &str,
        base: &str,
    ) -> Result<(String, String), String> {
        let key = self.pending_key(user_code).await.ok_or(
            "That code was not recognized; it may have expired. Check your terminal and try again.",
        )?;
        let verifier = random_token::<32>()?;
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let (state, nonce, browser) = (
            random_token::<24>()?,
            random_token::<16>()?,
            random_token::<32>()?,
        );
        let redirect_uri = format!("{base}/oauth/callback");
        let url = self
            .idp
            .authorize_url(&redirect_uri, &state, &nonce, &challenge)
            .await
            .map_err(|e| format!("The identity provider could not be reached: {e}"))?;
        self.keep_flow(
            state,
            Flow {
                device_key: key,
                redirect_uri,
                verifier,
                nonce,
                browser_hash: sha256_hex(&browser),
            },
        )
        .await?;
        Ok((url, browser))
    }

    /// The provider answered: check everything, sign the person in, and
    /// settle the device code. The error is shown in the browser.
    pub async fn finish_browser(
        &self,
        state: &str,
        code: &str,
        browser: Option<&str>,
    ) -> Result<Person, String> {
        let flow = self
            .take_flow(state)
            .await
            .ok_or("This sign-in link has expired. Start again from your terminal.")?;
        if browser.map(sha256_hex).as_deref() != Some(flow.browser_hash.as_str()) {
            return Err("This sign-in was started in another browser. Open the link on the device that showed the code.".into());
        }
        if !self.still_pending(&flow.device_key).await {
            return Err("This code was already used or has expired.".into());
        }
        let outcome = async {
            let tokens = self
                .idp
                .exchange(code, &flow.verifier, &flow.redirect_uri)
                .await
                .map_err(|e| format!("Sign-in could not be completed: {e}"))?;
            let id_token = tokens
                .id_token
                .ok_or("The identity provider sent no ID token.")?;
            let claims = self
                .idp
                .verify(&id_token, Some(&flow.nonce))
                .await
                .map_err(|e| format!("Sign-in could not be completed: {e}"))?;
            let person = self.person(&claims)?;
            self.may_sign_in(&person)?;
            Ok::<_, String>((person, tokens.refresh_token, random_token::<16>()?))
        }
        .await;
        match outcome {
            Ok((person, provider_refresh, sid)) => {
                let approved = (&person, sid.as_str(), provider_refresh.as_deref());
                if !self.settle(&flow.device_key, Some(approved)).await {
                    return Err("This code was already used or has expired.".into());
                }
                tracing::info!(user = %person.user, "signed in through the identity provider");
                Ok(person)
            }
            Err(e) => {
                self.settle(&flow.device_key, None).await;
                tracing::warn!("sign-in refused: {e}");
                Err(e)
            }
        }
    }

    /// Read who signed in from ID token claims.
    pub fn person(&self, claims: &Value) -> Result<Person, String> {
        let email = claims["email"].as_str().map(str::to_string);
        let user = claims[self.config.user_claim.as_str()]
            .as_str()
            .or(claims["sub"].as_str())
            .ok_or("The identity provider named no user.")?
            .to_string();
        let groups = match &claims[self.config.groups_claim.as_str()] {
            Value::Array(a) => a
                .iter()
                .filter_map(|g| g.as_str())
                .map(str::to_string)
                .collect(),
            Value::String(s) => s
                .split([',', ' '])
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Person {
            user,
            email,
            groups,
        })
    }

    /// Whether this person may sign in here.
    pub fn may_sign_in(&self, p: &Person) -> Result<(), String> {
        let c = &self.config;
        let in_group =
            c.allowed_groups.is_empty() || p.groups.iter().any(|g| c.allowed_groups.contains(g));
        let domain = p
            .email
            .as_deref()
            .or(Some(p.user.as_str()))
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_lowercase());
        let in_domain = c.allowed_domains.is_empty()
            || domain.is_some_and(|d| c.allowed_domains.iter().any(|a| a.eq_ignore_ascii_case(&d)));
        if in_group && in_domain {
            Ok(())
        } else {
            Err(format!(
                "{} may not sign in to this gateway; ask its admin.",
                p.user
            ))
        }
    }

    /// Session and refresh tokens for `p`'s sign-in `sid`; the refresh
    /// token carries the provider's (`provider_refresh`), sealed.
    fn grant(&self, p: &Person, sid: &str, provider_refresh: Option<&str>) -> Grant {
        let now = now_s();
        let sealed = provider_refresh.and_then(|r| match self.sealer.seal(r) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "the provider's refresh token could not be kept; refreshes will not ask the provider");
                None
            }
        });
        let claims = |typ: &str, ttl: Duration| Claims {
            sub: p.user.clone(),
            email: p.email.clone(),
            groups: p.groups.clone(),
            iat: now,
            exp: now + ttl.as_secs() as i64,
            sid: sid.to_string(),
            typ: typ.to_string(),
            iss: String::new(),
            prt: None,
        };
        Grant {
            access_token: self.signer.sign(claims("access", self.config.session_ttl)),
            refresh_token: self.signer.sign(Claims {
                prt: sealed,
                ..claims("refresh", self.config.refresh_ttl)
            }),
            email: p.email.clone(),
        }
    }

    /// Seconds a session token lives.
    pub fn session_secs(&self) -> u64 {
        self.config.session_ttl.as_secs()
    }

    fn is_revoked(&self, c: &Claims) -> bool {
        let at = |k: String| self.revoked.get(&k).is_some_and(|t| t >= c.iat);
        at(format!("user:{}", c.sub)) || at(format!("sid:{}", c.sid))
    }

    /// Trade a refresh token for a new grant. `Err(true)`: the grant is no
    /// good (`invalid_grant`, sign in again); `Err(false)`: the provider
    /// could not be asked now.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Grant, bool> {
        let c = self
            .signer
            .check(refresh_token, "refresh")
            .map_err(|_| true)?;
        if self.is_revoked(&c) {
            return Err(true);
        }
        let mut person = Person {
            user: c.sub.clone(),
            email: c.email.clone(),
            groups: c.groups.clone(),
        };
        // The provider's refresh token, sealed in ours: ask it again.
        let mut provider = c.prt.as_deref().and_then(|p| self.sealer.open(p));
        if let Some(r) = provider.clone() {
            let tokens = self
                .idp
                .refresh(&r)
                .await
                .map_err(|e| e == idp::IdpError::InvalidGrant)?;
            if let Some(id) = tokens.id_token
                && let Ok(claims) = self.idp.verify(&id, None).await
                && let Ok(p) = self.person(&claims)
            {
                person = p;
            }
            if tokens.refresh_token.is_some() {
                provider = tokens.refresh_token;
            }
        }
        self.may_sign_in(&person).map_err(|_| true)?;
        Ok(self.grant(&person, &c.sid, provider.as_deref()))
    }

    /// Sign out everything `user` holds, now; answers the revocation, for
    /// the other instances.
    pub fn revoke_user(&self, user: &str) -> Vec<crate::store::Revocation> {
        let revoked = vec![(format!("user:{user}"), now_s())];
        self.apply_revocations(&revoked);
        revoked
    }

    /// Sign out the sign-in a token (access or refresh) belongs to;
    /// answers the revocation, for the other instances.
    pub fn revoke_token(&self, token: &str) -> Vec<crate::store::Revocation> {
        let mut revoked = Vec::new();
        for typ in ["access", "refresh"] {
            if let Ok(c) = self.signer.check(token, typ) {
                revoked.push((format!("sid:{}", c.sid), now_s()));
            }
        }
        self.apply_revocations(&revoked);
        revoked
    }

    /// Take revocations (this instance's or another's); one older than a
    /// sign-in can live is of no use and dropped.
    pub fn apply_revocations(&self, revoked: &[crate::store::Revocation]) {
        let oldest = now_s() - i64::try_from(self.config.refresh_ttl.as_secs()).unwrap_or(i64::MAX);
        for (subject, at) in revoked.iter().filter(|(_, at)| *at >= oldest) {
            if self.revoked.get(subject).is_none_or(|t| t < *at) {
                self.revoked.insert(subject.clone(), *at);
            }
        }
    }

    /// The managed settings for the person a session token names (`None`:
    /// no policy for them, or not a good session token).
    pub fn managed_settings(&self, token: &str) -> Option<&policy::Managed> {
        let c = self.signer.check(token, "access").ok()?;
        policy::pick(&self.policies, &c.groups)
    }

    /// The client key a session token stands for, or why it is refused.
    pub fn authenticate(&self, token: &str) -> Result<Arc<ClientKey>, String> {
        let c = self.signer.check(token, "access").map_err(|e| match e {
            Rejected::Expired => "your sign-in has expired; run /login again".to_string(),
            Rejected::Invalid | Rejected::WrongKind => {
                "not a session token of this gateway; run /login again".to_string()
            }
        })?;
        if self.is_revoked(&c) {
            return Err(format!(
                "the sign-in of {} was revoked; run /login again",
                c.sub
            ));
        }
        let team = self
            .config
            .teams
            .iter()
            .find(|t| c.groups.contains(t))
            .or(if self.config.teams.is_empty() {
                c.groups.first()
            } else {
                None
            })
            .cloned();
        Ok(Arc::new(ClientKey {
            identity: Arc::new(Identity {
                key_id: format!("{}{}", crate::teams::SESSION_KEY_PREFIX, c.sub),
                name: c.email.clone().unwrap_or_else(|| c.sub.clone()),
                user: Some(c.sub.clone()),
                team,
            }),
            hint: format!("signed in as {}", c.sub),
            models: policy::pick(&self.policies, &c.groups)
                .map(|p| p.models.clone())
                .unwrap_or_default(),
            tiers: Vec::new(),
            expires_ms: Some(c.exp * 1000),
            revoked_ms: None,
            rules: Vec::new(),
            guard: None,
            max_tokens: None,
        }))
    }
}

#[cfg(test)]
mod tests;
