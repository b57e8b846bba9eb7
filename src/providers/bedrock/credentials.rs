//! How the gateway proves itself to Bedrock: SigV4 with credentials from
//! the standard AWS chain (environment, shared profile with SSO and role
//! assumption, web identity, container, IMDSv2) or from the config, cached
//! and refreshed five minutes before they expire — or a Bedrock API key
//! (`Authorization: Bearer`, no signing).

use crate::config::ProviderConfig;
use crate::error::{UpstreamError, UpstreamErrorKind};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, SystemTime};
use tokio::sync::{OnceCell, RwLock};

/// Refresh credentials this long before they expire.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// What the chain tries, for error messages.
pub const CHAIN: &str = "environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), shared profile \
    (~/.aws/config and credentials, incl. SSO and role assumption), web identity \
    (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), container credentials, and EC2 instance metadata (IMDSv2)";

/// The ways to authenticate.
#[derive(Debug)]
pub enum BedrockAuth {
    /// A Bedrock API key.
    Bearer(SecretString),
    /// Fixed keys from the config.
    Static(Credentials),
    /// The default AWS chain (loaded on first use).
    Chain {
        /// Region for STS / SSO.
        region: String,
        /// Shared-config profile.
        profile: Option<String>,
        /// The loaded provider.
        provider: OnceCell<Option<SharedCredentialsProvider>>,
        /// The last credentials.
        cached: RwLock<Option<Credentials>>,
    },
}

/// Credentials ready for one request.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// `Authorization: Bearer`.
    Bearer(String),
    /// Sign with these.
    Sigv4(Credentials),
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn missing(detail: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::new(
        UpstreamErrorKind::Auth,
        format!(
            "no AWS credentials for Bedrock ({detail}); tried {CHAIN}. Fix: export AWS_PROFILE or \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run `aws sso login`, set a Bedrock API key in \
             AWS_BEARER_TOKEN_BEDROCK, or set access_key_id / secret_access_key on the provider"
        ),
    )
}

async fn load_chain(region: &str, profile: Option<&str>) -> Option<SharedCredentialsProvider> {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .http_client(http);
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    loader.load().await.credentials_provider()
}

fn fresh(c: &Credentials) -> bool {
    c.expiry()
        .is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE)
}

impl BedrockAuth {
    /// How a Bedrock provider authenticates: its API key, its configured
    /// access keys, `AWS_BEARER_TOKEN_BEDROCK`, or the AWS chain (`None` for
    /// other kinds of provider).
    pub fn from_config(config: &ProviderConfig) -> Self {
        let default = crate::config::BedrockSettings {
            region: "us-east-1".into(),
            ..Default::default()
        };
        let b = config.bedrock.as_ref().unwrap_or(&default);
        if let Some(key) = &config.api_key {
            return BedrockAuth::Bearer(key.clone());
        }
        if let (Some(id), Some(secret)) = (&b.access_key_id, &b.secret_access_key) {
            let token = b
                .session_token
                .as_ref()
                .map(|t| t.expose_secret().to_string());
            let creds =
                Credentials::new(id, secret.expose_secret(), token, None, "switchyard-config");
            return BedrockAuth::Static(creds);
        }
        if let Ok(key) = std::env::var("AWS_BEARER_TOKEN_BEDROCK")
            && !key.trim().is_empty()
        {
            return BedrockAuth::Bearer(SecretString::from(key));
        }
        BedrockAuth::Chain {
            region: b.region.clone(),
            profile: b.profile.clone(),
            provider: OnceCell::new(),
            cached: RwLock::new(None),
        }
    }

    /// Credentials for the next request.
    pub async fn resolve(&self) -> Result<Resolved, UpstreamError> {
        match self {
            BedrockAuth::Bearer(key) => Ok(Resolved::Bearer(key.expose_secret().to_string())),
            BedrockAuth::Static(c) => Ok(Resolved::Sigv4(c.clone())),
            BedrockAuth::Chain {
                region,
                profile,
                provider,
                cached,
            } => {
                if let Some(c) = cached.read().await.as_ref().filter(|c| fresh(c)) {
                    return Ok(Resolved::Sigv4(c.clone()));
                }
                // One refresh at a time; the others wait and reuse it.
                let mut cached = cached.write().await;
                if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
                    return Ok(Resolved::Sigv4(c.clone()));
                }
                let chain = provider
                    .get_or_init(|| load_chain(region, profile.as_deref()))
                    .await;
                let Some(chain) = chain else {
                    return Err(missing("no credentials provider"));
                };
                let creds = chain
                    .provide_credentials()
                    .await
                    .map_err(|e| missing(error_chain(&e)))?;
                *cached = Some(creds.clone());
                Ok(Resolved::Sigv4(creds))
            }
        }
    }

    /// A short description, for `serve` and `check-config`.
    pub fn describe(&self) -> &'static str {
        match self {
            BedrockAuth::Bearer(_) => "Bedrock API key",
            BedrockAuth::Static(_) => "access keys from the config",
            BedrockAuth::Chain { .. } => "the AWS credential chain",
        }
    }
}

/// Check that every Bedrock provider of `providers` has credentials: one
/// line per provider, `Err` naming what was tried and how to fix it.
pub async fn check_all(providers: &[ProviderConfig]) -> Vec<(String, Result<String, String>)> {
    let mut out = Vec::new();
    for p in providers {
        if p.bedrock.is_none() {
            continue;
        }
        let auth = BedrockAuth::from_config(p);
        out.push((p.name.clone(), auth.check().await));
    }
    out
}

impl BedrockAuth {
    /// Resolve once (bounded to 15 s), describing where credentials came from.
    pub async fn check(&self) -> Result<String, String> {
        match tokio::time::timeout(Duration::from_secs(15), self.resolve()).await {
            Ok(Ok(Resolved::Bearer(_))) => Ok(self.describe().to_string()),
            Ok(Ok(Resolved::Sigv4(c))) => Ok(format!(
                "{} (access key {}…)",
                self.describe(),
                c.access_key_id().chars().take(4).collect::<String>()
            )),
            Ok(Err(e)) => Err(e.message),
            Err(_) => Err(missing("the credential chain took longer than 15 s").message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::future;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out keys that expire `ttl` from now, counting the calls.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        ttl: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let expiry = SystemTime::now() + self.ttl;
            let creds = Credentials::new(format!("AKID{n}"), "s", None, Some(expiry), "test");
            future::ProvideCredentials::ready(Ok(creds))
        }
    }

    fn chain(ttl: Duration) -> (BedrockAuth, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = SharedCredentialsProvider::new(Counting {
            calls: calls.clone(),
            ttl,
        });
        let auth = BedrockAuth::Chain {
            region: "us-east-1".into(),
            profile: None,
            provider: OnceCell::new_with(Some(Some(provider))),
            cached: RwLock::new(None),
        };
        (auth, calls)
    }

    async fn key_id(auth: &BedrockAuth) -> String {
        match auth.resolve().await {
            Ok(Resolved::Sigv4(c)) => c.access_key_id().to_string(),
            other => format!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn credentials_are_cached_until_close_to_expiry() {
        let (auth, calls) = chain(Duration::from_secs(3600));
        assert_eq!(key_id(&auth).await, "AKID0");
        assert_eq!(key_id(&auth).await, "AKID0");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "an hour left: reused");

        let (auth, calls) = chain(Duration::from_secs(120));
        assert_eq!(key_id(&auth).await, "AKID0");
        assert_eq!(key_id(&auth).await, "AKID1");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "two minutes left: refreshed"
        );
    }

    #[tokio::test]
    async fn bearer_keys_need_no_signing() {
        let auth = BedrockAuth::Bearer(SecretString::from("k".to_string()));
        assert!(matches!(auth.resolve().await, Ok(Resolved::Bearer(k)) if k == "k"));
        assert_eq!(auth.check().await.as_deref(), Ok("Bedrock API key"));
    }
}
