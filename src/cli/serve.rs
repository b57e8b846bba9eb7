//! `switchyard serve`: load the config, bind, serve until SIGTERM/SIGINT.

use super::check::describe;
use super::{ConfigArgs, load_config};
use crate::server::runtime;
use crate::server::{Gateway, shutdown_signal};
use crate::telemetry::{init_tracing, prometheus};
use std::net::SocketAddr;
use std::process::ExitCode;

/// Run the gateway.
pub fn run(args: &ConfigArgs, listen: Option<SocketAddr>) -> ExitCode {
    let mut config = match load_config(args) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // Lives until `run` returns, so the last log lines are written.
    let _log = init_tracing(config.log_json);
    if let Some(addr) = listen {
        if matches!(config.auth, crate::config::AuthConfig::Disabled)
            && !crate::config::is_loopback(&addr)
        {
            eprintln!(
                "refusing to listen on {addr} without a master key; set SWITCHYARD_MASTER_KEY or master_key"
            );
            return ExitCode::FAILURE;
        }
        config.listen = addr;
    }
    let runtime = match runtime(true) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        prometheus();
        let lines = describe(&config);
        let (ledger, writer, store) = match crate::usage::setup::open_ledger(&config).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(database = %redact_url(&config.database_url()), "ledger open");
        let gateway = match Gateway::bind(config, vec![ledger], Some(store)).await {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        for line in lines {
            tracing::info!("{line}");
        }
        for (provider, checked) in gateway.state().router.check_credentials().await {
            match checked {
                Ok(source) => tracing::info!("provider {provider}: credentials from {source}"),
                Err(e) => tracing::error!("provider {provider}: {e}"),
            }
        }
        match gateway.local_addr() {
            Ok(addr) => tracing::info!(
                "switchyard {} listening on http://{addr}",
                env!("CARGO_PKG_VERSION")
            ),
            Err(e) => tracing::warn!(error = %e, "listening (address unknown)"),
        }
        let traces = gateway.state().traces.clone();
        let served = gateway.run(shutdown_signal()).await;
        if let Some(spans) = traces {
            // The last requests' spans go before the process ends.
            let _ = tokio::task::spawn_blocking(move || spans.flush()).await;
        }
        let stats = writer.close().await;
        tracing::info!(written = stats.written, lost = stats.lost, "ledger flushed");
        match served {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("server error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// A database URL without its password, for logs.
fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
