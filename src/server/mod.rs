//! The HTTP server: routes, middleware, and graceful shutdown.
//!
//! [`Gateway::bind`] builds everything from a [`Config`] and binds the
//! listener; [`Gateway::run`] serves until the shutdown future resolves, then
//! lets in-flight requests finish for up to `shutdown_timeout`.

mod connections;
pub mod middleware;

use crate::api;
use crate::config::Config;
use crate::state::{AppState, ClientIp};
use crate::usage::RecordSink;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The axum application for a state.
pub fn app(state: Arc<AppState>) -> axum::Router {
    use api::anthropic::handler as anthropic;
    use api::bedrock::handler as bedrock;
    axum::Router::new()
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
        .route(
            "/v1/chat/completions",
            post(api::openai::handler::chat_completions),
        )
        .route("/model/{model_id}/invoke", post(bedrock::invoke))
        .route(
            "/model/{model_id}/invoke-with-response-stream",
            post(bedrock::invoke_stream),
        )
        .route(
            "/model/{model_id}/count-tokens",
            post(bedrock::count_tokens),
        )
        .route("/v1/models", get(api::models::list_models))
        .route("/v1/models/{id}", get(api::models::get_model))
        .route("/v1/key", get(api::key_info::key_info))
        .route("/v1/metrics", post(api::telemetry::metrics))
        .route("/v1/logs", post(api::telemetry::logs))
        .route("/v1/traces", post(api::telemetry::traces))
        .route("/", get(api::system::root).head(api::system::root))
        .route("/api/hello", get(api::system::root).head(api::system::root))
        .route("/health", get(api::system::health))
        .route("/livez", get(api::system::livez))
        .route("/healthz", get(api::system::livez))
        .route("/readyz", get(api::system::readyz))
        .route("/metrics", get(api::system::metrics))
        .route("/admin/report/{kind}", get(api::admin::report))
        .route("/admin/requests/{id}", get(api::admin::request))
        .route("/admin/export", get(api::admin::export))
        .route(
            "/admin/keys",
            get(api::admin_keys::list).post(api::admin_keys::create),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(api::signin::metadata),
        )
        .route(
            "/oauth/device_authorization",
            post(api::signin::device_authorization),
        )
        .route("/oauth/token", post(api::signin::token))
        .route("/oauth/revoke", post(api::signin::revoke))
        .route("/oauth/callback", get(api::signin::callback))
        .route(
            "/device",
            get(api::signin::device_page).post(api::signin::device_submit),
        )
        .route("/device/deny", post(api::signin::device_deny))
        .route("/protocol", get(api::signin::protocol))
        .route("/managed/settings", get(api::signin::managed_settings))
        .route("/api/oauth/usage", get(api::signin::usage))
        .route("/admin/signin/revoke", post(api::signin::admin_revoke))
        .route(
            "/v1/organizations/spend_limits",
            get(api::spend_limits::list).post(api::spend_limits::upsert),
        )
        .route(
            "/v1/organizations/spend_limits/effective",
            get(api::spend_limits::effective),
        )
        .route(
            "/v1/organizations/spend_limits/{id}",
            get(api::spend_limits::show).delete(api::spend_limits::delete),
        )
        .route("/admin/keys/{id}", get(api::admin_keys::show))
        .route("/admin/keys/{id}/revoke", post(api::admin_keys::revoke))
        .route("/admin/keys/{id}/rotate", post(api::admin_keys::rotate))
        .route(
            "/admin/cache",
            axum::routing::delete(api::admin::purge_cache),
        )
        .merge(crate::ui::routes())
        .fallback(api::system::not_found)
        .method_not_allowed_fallback(api::system::method_not_allowed)
        .layer(from_fn_with_state(state.clone(), middleware::authenticate))
        .layer(from_fn(middleware::request_id))
        .with_state(state)
}

/// How long streams ended at shutdown get to deliver their error event.
const STOP_FLUSH: Duration = Duration::from_secs(2);

/// A bound, ready-to-run gateway.
pub struct Gateway {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl Gateway {
    /// Build from config and bind the listen address.
    pub async fn bind(
        config: Config,
        sinks: Vec<Arc<dyn RecordSink>>,
        store: Option<crate::store::Store>,
    ) -> Result<Self, String> {
        let listen = config.listen;
        let state = Arc::new(AppState::new(config, sinks, store).await?);
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        Ok(Gateway { listener, state })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Serve until `shutdown` resolves; then stop accepting, let in-flight
    /// requests finish for up to `shutdown_timeout`, and return.
    ///
    /// Connections are served by hyper directly (HTTP/1 and HTTP/2) so that
    /// clients are bounded: a connection cap ([`connections`]: the oldest
    /// connection that has sent nothing makes room, else new ones are
    /// closed on arrival) and a header-read timeout that also ends idle
    /// keep-alive connections.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let config = &self.state.config;
        let (grace, drain, limits) = (
            config.shutdown_timeout,
            config.shutdown_drain,
            config.clients,
        );
        let state = self.state.clone();
        let upkeep = tokio::spawn(crate::telemetry::run_metrics_upkeep());
        let router = app(self.state);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        builder.http2().timer(TokioTimer::new());
        let graceful = GracefulShutdown::new();
        let mut admission = connections::Admission::new(limits.max_connections);
        let listener = self.listener;
        let mut shutdown: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(shutdown);
        loop {
            let tcp = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => tcp,
                    Err(e) => {
                        // Out of file descriptors, say: wait a little, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => {
                    if drain.is_zero() || state.draining() {
                        break;
                    }
                    // Readiness fails now; keep serving while the load
                    // balancer notices, then stop accepting.
                    state.start_draining();
                    tracing::info!(drain_secs = drain.as_secs_f64(), "shutting down: readiness fails, still accepting");
                    shutdown = Box::pin(tokio::time::sleep(drain));
                    continue;
                }
            };
            let Some(ticket) = admission.admit().await else {
                continue; // dropping the socket closes it
            };
            // SSE events are small writes; send each one now.
            let _ = tcp.set_nodelay(true);
            // Who is calling, for throttling failed authentication.
            let peer = ClientIp(tcp.peer_addr().ok().map(|a| a.ip()));
            let service = TowerToHyperService::new(router.clone().map_request(
                move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(peer);
                    req
                },
            ));
            let builder = builder.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                // Telling HTTP/1 from HTTP/2 waits for the first bytes, with
                // no timeout of hyper's: a client that sends nothing goes.
                // Until then it may be closed to make room for another.
                let mut first = [0u8; 2];
                let peeked = tokio::select! {
                    read = tokio::time::timeout(limits.header_timeout, tcp.peek(&mut first)) => {
                        match read {
                            Ok(Ok(n)) if n > 0 => Some(n),
                            _ => None,
                        }
                    }
                    () = ticket.evicted() => None,
                };
                ticket.spoke();
                let Some(peeked) = peeked else {
                    return;
                };
                // Left to tell the versions apart, hyper reads the first 24
                // bytes on their own, and its HTTP/1 read buffer, finding
                // them unparsed, grows to 16 KB for the rest: 8 KB more for
                // every connection, held as long as the connection lives.
                // (No route upgrades a connection, so none is served with
                // upgrades: that path always reads the 24 bytes.)
                let builder = if surely_http1(&first[..peeked]) {
                    builder.http1_only()
                } else {
                    builder
                };
                let connection = builder.serve_connection(TokioIo::new(tcp), service);
                let _ = watcher.watch(connection).await;
                drop(ticket);
            });
        }
        drop(listener);
        state.start_draining();
        tracing::info!(
            grace_secs = grace.as_secs_f64(),
            "shutting down: finishing in-flight requests"
        );
        let mut finished = std::pin::pin!(graceful.shutdown());
        tokio::select! {
            () = &mut finished => {}
            () = tokio::time::sleep(grace) => {
                // Streams still running end with an error event and their
                // ledger rows; a moment to deliver them, then what is left goes.
                tracing::warn!("shutdown timeout reached: ending the streams still in flight");
                state.stop_streams();
                if tokio::time::timeout(STOP_FLUSH, &mut finished).await.is_err() {
                    tracing::warn!("dropping the connections still open");
                }
            }
        }
        upkeep.abort();
        if let Some(cache) = &state.cache
            && !cache.drain(grace).await
        {
            tracing::warn!("shutdown: some cache writes did not finish in time");
        }
        Ok(())
    }
}

/// Whether a connection whose first bytes are `first` speaks HTTP/1: every
/// HTTP/1 request starts with a method, and none of them with "PR", as the
/// HTTP/2 preface (`PRI * HTTP/2.0`) does. One `P` alone cannot tell.
fn surely_http1(first: &[u8]) -> bool {
    match first {
        [] | [b'P'] => false,
        [b'P', second, ..] => *second != b'R',
        _ => true,
    }
}

/// A Tokio runtime for a command: multi-threaded for servers, else one
/// thread.
pub fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, String> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::surely_http1;

    #[test]
    fn only_the_http2_preface_is_left_to_hyper_to_tell() {
        for start in [
            "GET /",
            "POST /v1/messages",
            "PUT /",
            "PATCH /",
            "OPTIONS *",
        ] {
            assert!(surely_http1(&start.as_bytes()[..2]), "{start}");
        }
        assert!(!surely_http1(b"PRI * HTTP/2.0"[..2].as_ref()));
        assert!(!surely_http1(b"P"));
        assert!(!surely_http1(b""));
    }
}
