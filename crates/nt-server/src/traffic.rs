//! Canary and shadow routing: each model's traffic policy (re-read from the store on every
//! refresh, set through `PUT /v1/models/{name}/traffic`), the routing decision for a request
//! that names no version, and the shadow forecasts computed after the answer is ready.
//!
//! The rule (the registry's, [`nt_registry::TrafficPolicy`]): a request for `NAME` or
//! `NAME@production` (no body `version`) goes to the canary when its `route_key` hashes below
//! the canary's share (sticky: one key, one version, as long as the policy's seed stays), or,
//! without a key, when the model's request counter does. A request that names a version
//! (`NAME@3`, `NAME@latest`, a body `version`) bypasses the policy. A shadow version forecasts
//! every routed request in a task spawned once the answer is computed; its result is logged
//! with the role `shadow`, never answered, and its failures never reach the client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use nt_registry::{ServedRole, TrafficPolicy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::History;
use crate::batcher::Batcher;
use crate::error::{Error, Result};
use crate::routes::predict::Prepared;
use crate::state::{blocking, AppState, Loaded};
use crate::store::Selector;

/// Most shadow forecasts computing at once per server; a request arriving above it gets no
/// shadow forecast (counted as skipped), so a slow shadow can never pile up work.
const MAX_SHADOW_IN_FLIGHT: usize = 256;

/// Longest `route_key`, in characters.
pub(crate) const MAX_ROUTE_KEY: usize = 256;

/// A canary route in the API: `{"version": 3, "percent": 10}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CanaryBody {
    /// The canary version (registered, not the production version).
    pub version: u32,
    /// Its share of the requests for the production version, in percent: 0 < percent < 100.
    pub percent: f64,
}

/// A shadow route in the API: `{"version": 4}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShadowBody {
    /// The shadow version (registered, not the production version).
    pub version: u32,
}

/// `PUT /v1/models/{name}/traffic`: the whole policy; `{}` clears it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrafficRequest {
    /// The canary route (absent: none).
    #[serde(default)]
    pub canary: Option<CanaryBody>,
    /// The shadow route (absent: none).
    #[serde(default)]
    pub shadow: Option<ShadowBody>,
    /// Routing seed (default: the current policy's, else a hash of the model name). A new seed
    /// reshuffles which keys go to the canary.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// What this server routed for a model since it started (or since its policy last changed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrafficCounts {
    /// Requests the production version answered under the policy.
    pub production: u64,
    /// Requests the canary answered.
    pub canary: u64,
    /// Shadow forecasts computed (and handed to the forecast log).
    pub shadow_computed: u64,
    /// Shadow forecasts that failed (the shadow could not load, or refused the history).
    pub shadow_failed: u64,
    /// Shadow forecasts skipped because too many were computing.
    pub shadow_skipped: u64,
}

/// `GET` and `PUT /v1/models/{name}/traffic`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrafficResponse {
    /// Model name.
    pub name: String,
    /// The production version in the store.
    pub production: Option<u32>,
    /// The canary route, if any.
    pub canary: Option<CanaryBody>,
    /// The shadow route, if any.
    pub shadow: Option<ShadowBody>,
    /// The routing seed (absent without a policy).
    pub seed: Option<u64>,
    /// What this server routed under the policy it applies now.
    pub served: TrafficCounts,
}

/// `POST /v1/models/{name}/rollback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RollbackResponse {
    /// Model name.
    pub name: String,
    /// The version that was production.
    pub from: u32,
    /// The version that is production now (the one before `from`).
    pub to: u32,
    /// The new production version.
    pub production: crate::store::VersionInfo,
}

/// One model's policy as this server applies it, with its counters.
#[derive(Debug)]
struct Routing {
    policy: TrafficPolicy,
    /// Requests routed without a key (the keyless routing sequence's index).
    keyless: AtomicU64,
    production: AtomicU64,
    canary: AtomicU64,
    shadow_computed: AtomicU64,
    shadow_failed: AtomicU64,
    shadow_skipped: AtomicU64,
}

impl Routing {
    fn new(policy: TrafficPolicy) -> Self {
        Routing {
            policy,
            keyless: AtomicU64::new(0),
            production: AtomicU64::new(0),
            canary: AtomicU64::new(0),
            shadow_computed: AtomicU64::new(0),
            shadow_failed: AtomicU64::new(0),
            shadow_skipped: AtomicU64::new(0),
        }
    }

    fn counts(&self) -> TrafficCounts {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TrafficCounts {
            production: get(&self.production),
            canary: get(&self.canary),
            shadow_computed: get(&self.shadow_computed),
            shadow_failed: get(&self.shadow_failed),
            shadow_skipped: get(&self.shadow_skipped),
        }
    }
}

/// Every model's traffic policy, as this server applies it (part of the server state).
#[derive(Debug, Default)]
pub(crate) struct Policies {
    by_name: RwLock<HashMap<String, Arc<Routing>>>,
    shadow_in_flight: AtomicUsize,
}

impl Policies {
    fn get(&self, name: &str) -> Option<Arc<Routing>> {
        self.by_name.read().ok().and_then(|m| m.get(name).cloned())
    }

    /// Applies `policy` to `name` (`None` or an empty policy: none). An unchanged policy keeps
    /// its counters (and so its keyless routing sequence).
    fn set(&self, name: &str, policy: Option<TrafficPolicy>) {
        let Ok(mut m) = self.by_name.write() else {
            return;
        };
        match policy.filter(|p| !p.is_empty()) {
            None => {
                m.remove(name);
            }
            Some(p) => {
                if m.get(name).is_none_or(|r| r.policy != p) {
                    tracing::info!(model = %name, policy = %p.describe(), "traffic policy applied");
                    m.insert(name.to_string(), Arc::new(Routing::new(p)));
                }
            }
        }
    }

    /// Keeps only the names in `names`.
    fn retain(&self, names: &[String]) {
        if let Ok(mut m) = self.by_name.write() {
            m.retain(|k, _| names.contains(k));
        }
    }
}

/// Where one request goes.
#[derive(Debug, Clone)]
pub(crate) struct Routed {
    /// The version to answer with.
    pub(crate) selector: Selector,
    /// Why that version answers.
    pub(crate) role: ServedRole,
    /// The shadow version that also forecasts it, if any.
    pub(crate) shadow: Option<u32>,
    routing: Option<Arc<Routing>>,
}

/// Checks an optional `route_key` (at `field`): 1 to [`MAX_ROUTE_KEY`] characters.
pub(crate) fn check_route_key(key: Option<&str>, field: &str) -> Result<()> {
    match key {
        Some(k) if k.is_empty() || k.chars().count() > MAX_ROUTE_KEY => Err(Error::invalid(
            field,
            format!(
                "a routing key has 1 to {MAX_ROUTE_KEY} characters, got {}",
                k.chars().count()
            ),
        )),
        _ => Ok(()),
    }
}

/// The model name of a traffic route's `{name}`: a plain name, no `@version`.
pub(crate) fn plain_name(s: &str) -> Result<String> {
    if s.contains('@') {
        return Err(Error::invalid(
            "name",
            format!("`{s}`: a traffic policy belongs to a model name; give NAME, not NAME@VERSION"),
        ));
    }
    nt_registry::validate_name(s).map_err(|e| match e {
        nt_registry::Error::InvalidInput { reason, .. } => Error::invalid("name", reason),
        other => Error::invalid("name", other.to_string()),
    })?;
    Ok(s.to_string())
}

impl AppState {
    /// Where a request for `name` with selector `sel` (after the body's `version`) goes:
    /// `Selector::Production` follows the model's policy, any other selector is explicit.
    pub(crate) fn route(&self, name: &str, sel: Selector, key: Option<&str>) -> Routed {
        if sel != Selector::Production {
            return Routed {
                selector: sel,
                role: ServedRole::Explicit,
                shadow: None,
                routing: None,
            };
        }
        let Some(routing) = self.policies().get(name) else {
            return Routed {
                selector: sel,
                role: ServedRole::Production,
                shadow: None,
                routing: None,
            };
        };
        let p = &routing.policy;
        let to_canary = match key {
            Some(k) => p.canary_for_key(k),
            None => {
                p.canary.is_some()
                    && p.canary_for_count(routing.keyless.fetch_add(1, Ordering::Relaxed))
            }
        };
        let (selector, role) = match p.canary {
            Some(c) if to_canary => (Selector::Number(c.version), ServedRole::Canary),
            _ => (Selector::Production, ServedRole::Production),
        };
        Routed {
            selector,
            role,
            shadow: p.shadow.map(|s| s.version),
            routing: Some(routing),
        }
    }

    /// The loaded version a routed request answers with. A canary that cannot be loaded
    /// (deleted since the policy was read, damaged weights) is logged and production answers
    /// instead, so a broken canary never fails requests.
    pub(crate) async fn routed_model(
        &self,
        name: &str,
        routed: &mut Routed,
    ) -> Result<Arc<Loaded>> {
        let loaded = match self.model(name, routed.selector).await {
            Ok(l) => l,
            Err(e) if routed.role == ServedRole::Canary => {
                tracing::warn!(model = %name, selector = %routed.selector.label(), error = %e,
                               "canary version cannot be loaded; production answers");
                routed.selector = Selector::Production;
                routed.role = ServedRole::Production;
                self.model(name, Selector::Production).await?
            }
            Err(e) => return Err(e),
        };
        if let Some(r) = &routed.routing {
            match routed.role {
                ServedRole::Canary => r.canary.fetch_add(1, Ordering::Relaxed),
                _ => r.production.fetch_add(1, Ordering::Relaxed),
            };
        }
        Ok(loaded)
    }

    /// Computes the shadow forecast of a routed request in a spawned task (when the policy has
    /// a shadow): the shadow version loaded if needed, the history checked against it, its
    /// forecast handed to `log`. Returns at once; nothing it does reaches the client.
    pub(crate) fn spawn_shadow<F>(
        &self,
        name: &str,
        routed: &Routed,
        history: &History,
        horizon: Option<usize>,
        log: F,
    ) where
        F: FnOnce(&AppState, &Loaded, &History, Prepared, Vec<nt_core::Forecast>) -> Result<()>
            + Send
            + 'static,
    {
        let (Some(version), Some(routing)) = (routed.shadow, routed.routing.clone()) else {
            return;
        };
        let in_flight = &self.policies().shadow_in_flight;
        if in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_SHADOW_IN_FLIGHT {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            routing.shadow_skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let (state, name, history) = (self.clone(), name.to_string(), history.clone());
        tokio::spawn(async move {
            let outcome = state
                .shadow_forecast(&name, version, &history, horizon, log)
                .await;
            state
                .policies()
                .shadow_in_flight
                .fetch_sub(1, Ordering::AcqRel);
            match outcome {
                Ok(()) => routing.shadow_computed.fetch_add(1, Ordering::Relaxed),
                Err(e) => {
                    tracing::debug!(model = %name, version, error = %e, "shadow forecast failed");
                    routing.shadow_failed.fetch_add(1, Ordering::Relaxed)
                }
            };
        });
    }

    async fn shadow_forecast<F>(
        &self,
        name: &str,
        version: u32,
        history: &History,
        horizon: Option<usize>,
        log: F,
    ) -> Result<()>
    where
        F: FnOnce(&AppState, &Loaded, &History, Prepared, Vec<nt_core::Forecast>) -> Result<()>,
    {
        let loaded = self.model(name, Selector::Number(version)).await?;
        // The shadow forecasts as far as the request asked, or as far as it can.
        let horizon = match (horizon, loaded.model.max_horizon()) {
            (Some(h), Some(max)) => Some(h.min(max)),
            (h, _) => h,
        };
        let p = crate::routes::predict::prepare(self, &loaded, history, horizon, None, "")?;
        let rx = loaded.batcher.submit(p.windows.clone(), p.horizon, None)?;
        let forecasts = Batcher::wait(rx).await?;
        log(self, &loaded, history, p, forecasts)
    }

    /// Re-reads the traffic policy of every model in `names` from the store (after a refresh:
    /// setting a policy bumps the generation) and forgets the others. A policy the store cannot
    /// read now is kept as it was.
    pub(crate) async fn refresh_traffic(&self, names: Vec<String>) {
        let store = self.store().clone();
        let wanted = names.clone();
        let read = blocking(move || {
            Ok(wanted
                .into_iter()
                .map(|n| {
                    let p = store.traffic(&n);
                    (n, p)
                })
                .collect::<Vec<_>>())
        })
        .await;
        let Ok(read) = read else {
            return;
        };
        for (name, policy) in read {
            match policy {
                Ok(p) => self.policies().set(&name, p),
                Err(e) => {
                    tracing::warn!(model = %name, error = %e, "cannot read the traffic policy; keeping the one applied")
                }
            }
        }
        self.policies().retain(&names);
    }

    /// Re-reads one model's policy (after a promotion or rollback removed a route).
    pub(crate) async fn reload_traffic(&self, name: &str) {
        let store = self.store().clone();
        let n = name.to_string();
        match blocking(move || store.traffic(&n)).await {
            Ok(p) => self.policies().set(name, p),
            Err(e) => tracing::warn!(model = %name, error = %e, "cannot read the traffic policy"),
        }
    }

    /// The traffic state of `name`: the store's policy and production version, with what this
    /// server routed under it.
    pub(crate) async fn traffic(&self, name: &str) -> Result<TrafficResponse> {
        let store = self.store().clone();
        let n = name.to_string();
        let (versions, policy) =
            blocking(move || Ok((store.versions(&n)?, store.traffic(&n)?))).await?;
        self.policies().set(name, policy);
        let served = self
            .policies()
            .get(name)
            .map(|r| r.counts())
            .unwrap_or_default();
        Ok(TrafficResponse {
            name: name.to_string(),
            production: versions
                .iter()
                .find(|v| v.stage == "production")
                .map(|v| v.version),
            canary: policy.and_then(|p| p.canary).map(|c| CanaryBody {
                version: c.version,
                percent: c.percent,
            }),
            shadow: policy
                .and_then(|p| p.shadow)
                .map(|s| ShadowBody { version: s.version }),
            seed: policy.map(|p| p.seed),
            served,
        })
    }

    /// Sets (or with neither route, clears) the traffic policy of `name` in the store and
    /// applies it here at once.
    pub(crate) async fn set_traffic(
        &self,
        name: &str,
        req: TrafficRequest,
    ) -> Result<TrafficResponse> {
        let store = self.store().clone();
        let n = name.to_string();
        blocking(move || {
            let current = store.traffic(&n)?;
            let policy = TrafficPolicy {
                canary: req.canary.map(|c| nt_registry::CanaryRoute {
                    version: c.version,
                    percent: c.percent,
                }),
                shadow: req
                    .shadow
                    .map(|s| nt_registry::ShadowRoute { version: s.version }),
                seed: req
                    .seed
                    .or(current.map(|p| p.seed))
                    .unwrap_or_else(|| TrafficPolicy::default_seed(&n)),
            };
            store.set_traffic(&n, policy)
        })
        .await?;
        self.traffic(name).await
    }

    /// Rolls `name` back to its previous production version: the target is loaded first (a
    /// version that cannot load is never made production), then the store records the
    /// rollback, then this server serves it at once.
    pub(crate) async fn rollback(&self, name: &str) -> Result<RollbackResponse> {
        let store = self.store().clone();
        let n = name.to_string();
        let (_, target) = blocking(move || store.rollback_target(&n)).await?;
        self.model(name, Selector::Number(target)).await?;
        let store = self.store().clone();
        let n = name.to_string();
        let (from, to) = blocking(move || store.rollback(&n)).await?;
        // The refresh serves the new production version (loaded above, so it is reused).
        self.refresh().await?;
        let store = self.store().clone();
        let n = name.to_string();
        let production = blocking(move || store.resolve(&n, Selector::Number(to))).await?;
        Ok(RollbackResponse {
            name: name.to_string(),
            from,
            to,
            production,
        })
    }
}
