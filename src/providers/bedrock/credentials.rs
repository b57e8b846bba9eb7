//! How the gateway proves itself to Bedrock: SigV4 with credentials from
//! the standard AWS chain (environment, shared profile with SSO and role
//! assumption, web identity, container, IMDSv2) or from the config, cached
//! and refreshed five minutes before they expire — or a Bedrock API key
//! (`Authorization: Bearer`, no signing).

use crate::error::{UpstreamError, UpstreamErrorKind};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, SystemTime};
use tokio::sync::{Mutex, OnceCell};

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
        cached: Mutex<Option<Credentials>>,
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
                let mut cached = cached.lock().await;
                if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
                    return Ok(Resolved::Sigv4(c.clone()));
                }
                let chain = provider
                    .get_or_init(|| load_chain(region, profile.as_deref()))
                    .await;
                let Some(chain) = chain else {
                    return Err(missing("no credentials provider"));
                };
                let creds = chain.provide_credentials().await.map_err(missing)?;
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
