//! The one "store unavailable" state of a server: entered when the store's health check
//! ([`crate::ModelStore::check_health`], run by the poll loop every `reload_interval`) fails —
//! a registry whose database file was removed or replaced, and later a lost database
//! connection — and left by itself when the check passes again.
//!
//! While unavailable the server keeps serving the models it has loaded; `/ready` answers 503,
//! writes (promote, AgentDB writes) answer 503 before their body is read, and every other call
//! that needs the store answers 503 through the store's own [`crate::Error::Unavailable`]. The
//! change is logged once each way. On recovery the server reloads from the store.

use crate::api::Readiness;
use crate::error::Result;
use crate::state::{blocking, AppState};
use crate::store::StoreHealth;

/// What a health check found, relative to the state before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreState {
    /// Available, as before.
    Up,
    /// Available again after being unavailable: reload from it.
    Recovered,
    /// Unavailable (just now or still).
    Down,
}

impl AppState {
    /// Runs the store's health check off the async workers and records the outcome, logging
    /// each change: an error when the store becomes unavailable, an info line when it is back.
    pub(crate) async fn check_store(&self) -> Result<StoreState> {
        let store = self.store().clone();
        let health = blocking(move || Ok(store.check_health())).await?;
        Ok(match health {
            StoreHealth::Available => match self.set_store_unavailable(None) {
                None => StoreState::Up,
                Some(was) => {
                    tracing::info!(was = %was, "registry available again; reloading the models");
                    StoreState::Recovered
                }
            },
            StoreHealth::Unavailable { reason } => {
                if self.set_store_unavailable(Some(reason.clone())).is_none() {
                    tracing::error!(
                        %reason,
                        "registry unavailable: serving the models already loaded; /ready and \
                         writes answer 503 until it is back"
                    );
                }
                StoreState::Down
            }
        })
    }

    /// The `/ready` answer: ready once the initial load finished, every production version
    /// loaded, and the store is available. Names no file of the server: failed versions are
    /// `name@version`, with their reasons in the log.
    pub fn readiness(&self) -> Readiness {
        let loaded = self.is_ready();
        let failed = self.failed_loads();
        let down = self.store_unavailable().is_some();
        let reason = if down {
            Some("the registry is unavailable; the models already loaded are still served".into())
        } else if !loaded {
            Some("loading the production models".into())
        } else if !failed.is_empty() {
            Some(format!(
                "production versions failed to load: {} (reasons in the server log)",
                failed.join(", ")
            ))
        } else {
            None
        };
        Readiness {
            ready: reason.is_none(),
            models: self
                .production_versions()
                .into_iter()
                .map(|(n, v)| format!("{n}@{v}"))
                .collect(),
            failed,
            registry: if down { "unavailable" } else { "available" }.into(),
            reason,
        }
    }
}
