//! The HTTP server: routes, middleware, and graceful shutdown.
//!
//! [`Gateway::bind`] builds everything from a [`Config`] and binds the
//! listener; [`Gateway::run`] serves until the shutdown future resolves, then
//! lets in-flight requests finish for up to `shutdown_timeout`.

pub mod middleware;

use crate::api;
use crate::config::Config;
use crate::state::AppState;
use crate::usage::RecordSink;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

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
        .route("/", get(api::system::root).head(api::system::root))
        .route("/api/hello", get(api::system::root).head(api::system::root))
        .route("/health", get(api::system::health))
        .route("/metrics", get(api::system::metrics))
        .route("/admin/report/{kind}", get(api::admin::report))
        .route("/admin/requests/{id}", get(api::admin::request))
        .route("/admin/export", get(api::admin::export))
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
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.state.config.shutdown_timeout;
        let state = self.state.clone();
        let upkeep = tokio::spawn(crate::telemetry::run_metrics_upkeep());
        let listener = self.listener.tap_io(|tcp| {
            // SSE events are small writes; send each one now.
            let _ = tcp.set_nodelay(true);
        });
        let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
        // `into_make_service` shares the built router with every connection;
        // serving the `Router` itself rebuilds its route table per connection
        // (about 9 KB and some CPU each; see BENCHMARKS.md).
        let make_service = app(self.state).into_make_service();
        let server = axum::serve(listener, make_service).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!(
                grace_secs = grace.as_secs_f64(),
                "shutting down: finishing in-flight requests"
            );
            let _ = signalled_tx.send(());
        });
        let server = std::pin::pin!(server.into_future());
        let forced = async move {
            match signalled_rx.await {
                Ok(()) => tokio::time::sleep(grace).await,
                Err(_) => std::future::pending::<()>().await,
            }
        };
        let result = tokio::select! {
            r = server => r,
            () = forced => {
                tracing::warn!("shutdown timeout reached: dropping the requests still in flight");
                Ok(())
            }
        };
        upkeep.abort();
        if let Some(cache) = &state.cache
            && !cache.drain(grace).await
        {
            tracing::warn!("shutdown: some cache writes did not finish in time");
        }
        result
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
