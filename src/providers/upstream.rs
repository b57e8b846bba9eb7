//! The one HTTP client that talks to providers: connection pooling, the
//! connect and first-byte timeouts, and turning transport failures into
//! [`UpstreamError`]s. Adapters build requests; only this module sends them.

use crate::config::Timeouts;
use crate::error::{TimeoutKind, UpstreamError, UpstreamErrorKind};
use crate::stream::ByteStream;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::sync::Once;
use std::time::Duration;
use tokio::time::Instant;

/// Largest upstream error body read (the rest is dropped).
const ERROR_BODY_CAP: usize = 64 * 1024;
/// Largest non-streamed answer read.
pub(super) const ANSWER_CAP: usize = 64 * 1024 * 1024;

/// Install rustls' ring crypto provider once per process.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only if another provider was installed first, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A pooled HTTP client for one provider.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
}

impl UpstreamClient {
    /// A client with this provider's connect timeout.
    pub fn new(timeouts: &Timeouts) -> Result<Self, String> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(UpstreamClient { http })
    }

    /// Send `request`; fail with a timeout if the response headers have not
    /// arrived by `headers_by` — the total timeout when that is `deadline`
    /// (whole answers: their headers come after the generation), else the
    /// first-byte one.
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
        headers_by: Instant,
        deadline: Instant,
    ) -> Result<reqwest::Response, UpstreamError> {
        let late = if headers_by >= deadline {
            TimeoutKind::Total
        } else {
            TimeoutKind::FirstByte
        };
        let request = reqwest::Request::try_from(request).map_err(|e| {
            UpstreamError::new(
                UpstreamErrorKind::Transport,
                format!("bad upstream request: {e}"),
            )
        })?;
        match tokio::time::timeout_at(headers_by, self.http.execute(request)).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(transport_error(e)),
            Err(_) => Err(UpstreamError::timeout(late)),
        }
    }
}

/// Describe a reqwest failure without its URL, with its causes.
pub fn transport_error(e: reqwest::Error) -> UpstreamError {
    let e = e.without_url();
    if e.is_timeout() && e.is_connect() {
        return UpstreamError::timeout(TimeoutKind::Connect);
    }
    if e.is_timeout() {
        return UpstreamError::timeout(TimeoutKind::FirstByte);
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    let prefix = if e.is_connect() {
        "cannot connect to upstream"
    } else {
        "upstream transport"
    };
    UpstreamError::new(UpstreamErrorKind::Transport, format!("{prefix}: {message}"))
}

/// The response body as a stream of chunks.
pub fn body_stream(resp: reqwest::Response) -> ByteStream {
    Box::pin(resp.bytes_stream().map(|r| {
        r.map_err(|e| {
            let mut err = transport_error(e);
            err.message = format!("upstream stream broke: {}", err.message);
            err
        })
    }))
}

/// Read a whole body, up to `cap` bytes, by `deadline`.
async fn read_capped(
    resp: reqwest::Response,
    cap: usize,
    deadline: Instant,
    idle: Option<std::time::Duration>,
) -> Result<(Bytes, bool), UpstreamError> {
    let read = async {
        let mut body = BytesMut::new();
        let mut stream = resp.bytes_stream();
        loop {
            let next = match idle {
                Some(gap) => tokio::time::timeout(gap, stream.next())
                    .await
                    .map_err(|_| UpstreamError::timeout(TimeoutKind::Idle))?,
                None => stream.next().await,
            };
            let Some(chunk) = next else {
                break;
            };
            let chunk = chunk.map_err(transport_error)?;
            let room = cap.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if chunk.len() > room {
                return Ok((body.freeze(), true));
            }
        }
        Ok((body.freeze(), false))
    };
    tokio::time::timeout_at(deadline, read)
        .await
        .unwrap_or_else(|_| Err(UpstreamError::timeout(TimeoutKind::Total)))
}

/// Read an error body (truncated at 64 KB).
pub async fn read_error_body(resp: reqwest::Response, deadline: Instant) -> Bytes {
    read_capped(resp, ERROR_BODY_CAP, deadline, None)
        .await
        .map(|(b, _)| b)
        .unwrap_or_default()
}

/// Read a whole answer. Its body is ready when its headers are sent, so
/// all of it is due within one `idle` gap of them (a body that stops, or
/// drips, is an idle timeout and the next target can answer), and by the
/// deadline.
pub async fn read_answer(
    resp: reqwest::Response,
    deadline: Instant,
    idle: std::time::Duration,
) -> Result<Bytes, UpstreamError> {
    let by = (Instant::now() + idle).min(deadline);
    match read_capped(resp, ANSWER_CAP, by, Some(idle)).await {
        Err(e) if by < deadline && e.kind == UpstreamErrorKind::Timeout(TimeoutKind::Total) => {
            Err(UpstreamError::timeout(TimeoutKind::Idle))
        }
        Err(e) => Err(e),
        Ok((_, true)) => Err(UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("upstream answer larger than {ANSWER_CAP} bytes"),
        )),
        Ok((body, false)) => Ok(body),
    }
}
