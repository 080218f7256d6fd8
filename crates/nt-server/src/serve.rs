//! Running the server on a socket: initial load, hot-reload task, graceful shutdown.

use std::future::Future;

use tokio::net::TcpListener;

use crate::error::{Error, Result};
use crate::routes::app;
use crate::state::AppState;

/// Serves `state` on `listener` until `shutdown` completes, then stops accepting connections
/// and waits for the requests in flight to finish.
///
/// Before accepting connections it loads every model's production version (so `/ready` is
/// true from the first request), then polls the store for changes every `reload_interval`.
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
    if let Err(e) = state.refresh().await {
        tracing::error!(error = %e, "initial model load failed; serving what loads later");
    }
    let reloader = state.spawn_reloader();
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::internal(format!("server: {e}")));
    reloader.abort();
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
