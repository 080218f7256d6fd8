//! Running the server on a socket: initial load, hot-reload task, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::error::{Error, Result};
use crate::routes::app;
use crate::state::{AppState, ServerConfig};

/// Checks `config` against the address the server listens on: key-less AgentDB writes
/// ([`ServerConfig::agentdb_open_writes`]) are allowed only on a loopback address (`127.0.0.1`,
/// `::1`), where only processes of this machine can reach them, and not with `auth_reads`
/// (which would close them again). [`serve`] calls it before accepting connections; `nt serve`
/// calls it before binding, for an early error.
pub fn check_listen_config(config: &ServerConfig, addr: SocketAddr) -> Result<()> {
    if !config.agentdb_open_writes {
        return Ok(());
    }
    if !addr.ip().is_loopback() {
        return Err(Error::Config {
            setting: "agentdb_open_writes".into(),
            reason: format!(
                "key-less AgentDB writes are allowed only on a loopback address (127.0.0.1 or \
                 ::1), and the server would listen on {addr}; bind to loopback, or give the \
                 clients the API key (`Authorization: Bearer KEY` or `X-API-Key: KEY`) instead"
            ),
        });
    }
    if config.auth_reads {
        return Err(Error::Config {
            setting: "agentdb_open_writes".into(),
            reason: "cannot be combined with auth_reads: with reads needing the key, the \
                     AgentDB writes would need it too"
                .into(),
        });
    }
    Ok(())
}

/// Serves `state` on `listener` until `shutdown` completes, then stops accepting connections
/// and waits for the requests in flight to finish.
///
/// Before accepting connections it checks the configuration against the listener's address
/// ([`check_listen_config`]: an [`Error::Config`] without serving), loads every model's
/// production version (so `/ready` is true from the first request), then polls the store for
/// changes and the registry's health every `reload_interval`, and checks the served versions
/// for drift every `monitor_interval` ([`crate::spawn_monitor`]). On shutdown the served-
/// forecast log is flushed.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    serve_router(listener, state.clone(), app(state), shutdown).await
}

/// [`serve`] with a router built by the caller (e.g. [`crate::app_with`] and extra routes);
/// `state` must be the router's state.
pub async fn serve_router(
    listener: TcpListener,
    state: AppState,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("listener address: {e}")))?;
    check_listen_config(state.config(), addr)?;
    if let Err(e) = state.refresh().await {
        tracing::error!(error = %e, "initial model load failed; serving what loads later");
    }
    let reloader = state.spawn_reloader();
    let monitor = crate::monitor::spawn_monitor(&state);
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::internal(format!("server: {e}")));
    reloader.abort();
    monitor.abort();
    // Forecasts still in the writer's buffer go to the registry before the process exits.
    state.flush_forecast_log().await;
    result
}

/// Completes on ctrl-c (SIGINT) or SIGTERM.
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
        () = ctrl_c => tracing::info!("ctrl-c: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}
