//! The shared server state: configuration, the model store, the loaded model versions with
//! their compute threads, metrics, and hot reload.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use nt_models::Forecaster;

use crate::batcher::{BatchConfig, Batcher, ComputePath};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::store::{ModelStore, Selector, VersionInfo};

/// Limits and knobs of a server. `Default` gives the values `nt serve` uses without flags.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The API key; writes (promote, AgentDB writes) need it and are refused (403) without one.
    pub api_key: Option<String>,
    /// Whether reads (predict, model listings, metrics, AgentDB reads) need the key too.
    /// `/health` and `/ready` never do. Default: false.
    pub auth_reads: bool,
    /// Opt-in: AgentDB writes (create collection, insert, batch insert, delete document)
    /// without the key, for clients that never send one (the published `nt-agentdb-client`
    /// 1.0). Model promotion still needs the key. [`crate::serve`] refuses to start with it
    /// unless the listener is bound to a loopback address, and it cannot be combined with
    /// `auth_reads`. Default: false (`nt serve --agentdb-open-writes`).
    pub agentdb_open_writes: bool,
    /// Largest request body in bytes (413 above). Default: 4 MiB.
    pub max_body: usize,
    /// Most history values per column in one series (422 above). Default: 100,000.
    pub max_history: usize,
    /// Most series in one `/v1/predict/batch` call (422 above). Default: 1,024.
    pub max_batch_items: usize,
    /// Most requests handled at once (503 above). Default: 4,096.
    pub max_in_flight: usize,
    /// Longest a request may take (503 after). Default: 30 s.
    pub request_timeout: Duration,
    /// Micro-batching: windows per gathered batch, the gathering wait, the compute path.
    /// Default: 64 windows, 200 µs, [`ComputePath::Batched`].
    pub batch: BatchConfig,
    /// Threads of the compute pool that runs forward passes (0: one per core). Default: 0.
    pub compute_threads: usize,
    /// How often the store's generation is polled for hot reload. Default: 250 ms.
    pub reload_interval: Duration,
    /// Most explicitly requested (non-production) versions kept loaded. Default: 8.
    pub max_cached_versions: usize,
    /// Weights of the CPU forward: f32 (exact, default) or bf16 (half the memory traffic,
    /// forecasts within about 1% of f32's; every answer of a loaded model uses the same
    /// precision). bf16 runs only where it is faster than f32 (`NeuralModel::set_precision`'s
    /// rule); `GET /v1/models/{name}` says what the served version runs and why.
    pub precision: nt_neural::Precision,
    /// Most sample paths one predict request may ask for (`paths`, 422 above). Default: 1,000.
    pub max_paths: usize,
    /// Whether answered forecasts are kept in the registry for live scoring (a server over a
    /// store without a registry keeps none). Default: true (`nt serve --no-forecast-log`).
    pub forecast_log: bool,
    /// Most served forecasts, actuals and matched points kept per model name (the oldest go
    /// first). Default: 100,000.
    pub forecast_retention: usize,
    /// How often the drift monitor checks the served versions. Default: 30 s.
    pub monitor_interval: Duration,
    /// The drift monitor's thresholds and window. Default: PSI warning 0.1, alarm 0.25, KS
    /// p ≤ 0.05, the last 1,000 values.
    pub drift: nt_eval::drift::DriftThresholds,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            auth_reads: false,
            agentdb_open_writes: false,
            max_body: 4 << 20,
            max_history: 100_000,
            max_batch_items: 1024,
            max_in_flight: 4096,
            request_timeout: Duration::from_secs(30),
            batch: BatchConfig {
                max_batch: 64,
                max_wait: Duration::from_micros(200),
                path: ComputePath::Batched,
            },
            compute_threads: 0,
            reload_interval: Duration::from_millis(250),
            max_cached_versions: 8,
            precision: nt_neural::Precision::F32,
            max_paths: 1000,
            forecast_log: true,
            forecast_retention: nt_registry::DEFAULT_FORECAST_RETENTION,
            monitor_interval: Duration::from_secs(30),
            drift: nt_eval::drift::DriftThresholds::default(),
        }
    }
}

/// A model version in memory: its metadata, the model and the compute thread serving it.
/// Requests hold an `Arc<Loaded>` until they finish, so a swap never pulls a model from under
/// an in-flight request.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) info: VersionInfo,
    pub(crate) model: Arc<dyn Forecaster>,
    pub(crate) batcher: Batcher,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ModelStore>,
    config: ServerConfig,
    metrics: Arc<Metrics>,
    /// Runs forward passes (never on tokio's workers).
    pool: Arc<rayon::ThreadPool>,
    /// name -> its production version, loaded.
    production: RwLock<HashMap<String, Arc<Loaded>>>,
    /// Explicitly named versions, loaded on demand.
    versions: Mutex<Vec<Arc<Loaded>>>,
    /// name -> requests for it being parsed (shared by all its versions' batchers).
    arriving: Mutex<HashMap<String, Arc<AtomicUsize>>>,
    /// Serializes loads so that concurrent misses load a version once.
    load_lock: tokio::sync::Mutex<()>,
    ready: AtomicBool,
    generation: AtomicU64,
    failed: Mutex<Vec<String>>,
    /// Why the store is unavailable, while it is (see `health.rs`).
    store_down: Mutex<Option<String>>,
    /// The served-forecast log's writer (see `live.rs`).
    forecast_log: crate::live::ForecastLog,
    /// Each model's traffic policy (canary, shadow), as applied (see `traffic.rs`).
    traffic: crate::traffic::Policies,
}

/// The state every route shares: cheap to clone (one `Arc`), `Send + Sync`.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// Runs blocking work (registry calls, model loads) off the async workers.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("blocking task failed: {e}")))?
}

impl AppState {
    /// A state over `store` with `config`. Nothing is loaded yet: call [`AppState::refresh`]
    /// (what [`crate::serve`] does before accepting connections) or let requests load lazily.
    ///
    /// Fails only when the compute pool's threads cannot be started.
    pub fn new(store: Arc<dyn ModelStore>, config: ServerConfig) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.compute_threads)
            .thread_name(|i| format!("nt-compute-{i}"))
            .build()
            .map_err(|e| Error::internal(format!("cannot start the compute pool: {e}")))?;
        let metrics = Arc::new(Metrics::new());
        let forecast_log = crate::live::ForecastLog::start(
            store.clone(),
            config.forecast_log,
            config.forecast_retention,
            metrics.clone(),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                config,
                metrics,
                pool: Arc::new(pool),
                production: RwLock::new(HashMap::new()),
                versions: Mutex::new(Vec::new()),
                arriving: Mutex::new(HashMap::new()),
                load_lock: tokio::sync::Mutex::new(()),
                ready: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                failed: Mutex::new(Vec::new()),
                store_down: Mutex::new(None),
                forecast_log,
                traffic: crate::traffic::Policies::default(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ModelStore> {
        &self.inner.store
    }

    /// Each model's traffic policy as this server applies it.
    pub(crate) fn policies(&self) -> &crate::traffic::Policies {
        &self.inner.traffic
    }

    /// The served-forecast log.
    pub(crate) fn forecast_log(&self) -> &crate::live::ForecastLog {
        &self.inner.forecast_log
    }

    /// Waits until every forecast answered so far is in the registry (a no-op without the
    /// log). The server calls it on shutdown; the actuals route before matching.
    pub async fn flush_forecast_log(&self) {
        self.inner.forecast_log.flush().await
    }

    /// Whether the initial load finished.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Acquire)
    }

    /// `(name, version)` of every loaded production model, sorted.
    pub fn production_versions(&self) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = match self.inner.production.read() {
            Ok(p) => p
                .values()
                .map(|l| (l.info.name.clone(), l.info.version))
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }

    /// The precision the served production version of `name` runs in, with the note saying
    /// why when bf16 was asked for (see `nt_neural::NeuralModel::set_precision`); `None` when
    /// no version of `name` is served or the model is not neural.
    pub fn serving_precision(&self, name: &str) -> Option<(nt_neural::Precision, Option<String>)> {
        let production = self.inner.production.read().ok()?;
        let neural = production.get(name)?.model.as_neural()?;
        Some((
            neural.precision(),
            neural.precision_note().map(str::to_string),
        ))
    }

    /// Models whose production version failed to load at the last refresh (`name@version`;
    /// the reason is logged, never put here, as it may name files of the server).
    pub fn failed_loads(&self) -> Vec<String> {
        self.inner
            .failed
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    /// Whether `name` is a loaded model (used to keep metric labels bounded).
    pub(crate) fn is_known(&self, name: &str) -> bool {
        self.inner
            .production
            .read()
            .map(|p| p.contains_key(name))
            .unwrap_or(false)
            || self
                .inner
                .versions
                .lock()
                .map(|v| v.iter().any(|l| l.info.name == name))
                .unwrap_or(false)
    }

    /// The counter of requests for `name` that are being parsed.
    pub(crate) fn arriving(&self, name: &str) -> Result<Arc<AtomicUsize>> {
        let mut a = self
            .inner
            .arriving
            .lock()
            .map_err(|_| Error::internal("arriving map poisoned"))?;
        // Bounded: only names of models that exist get an entry kept (see `model`).
        Ok(a.entry(name.to_string()).or_default().clone())
    }

    fn production_of(&self, name: &str) -> Option<Arc<Loaded>> {
        self.inner
            .production
            .read()
            .ok()
            .and_then(|p| p.get(name).cloned())
    }

    fn cached_version(&self, name: &str, version: u32) -> Option<Arc<Loaded>> {
        if let Some(p) = self
            .production_of(name)
            .filter(|l| l.info.version == version)
        {
            return Some(p);
        }
        self.inner.versions.lock().ok().and_then(|v| {
            v.iter()
                .find(|l| l.info.name == name && l.info.version == version)
                .cloned()
        })
    }

    /// The loaded model `name` at the version `sel` names, loading it from the store on a
    /// miss. `Latest` is resolved to its number first (one store call), then served as that
    /// number.
    pub(crate) async fn model(&self, name: &str, sel: Selector) -> Result<Arc<Loaded>> {
        let version = match sel {
            Selector::Production => None,
            Selector::Number(v) => Some(v),
            Selector::Latest => {
                let store = self.inner.store.clone();
                let n = name.to_string();
                Some(
                    blocking(move || store.resolve(&n, Selector::Latest))
                        .await?
                        .version,
                )
            }
        };
        let cached = match version {
            None => self.production_of(name),
            Some(v) => self.cached_version(name, v),
        };
        if let Some(l) = cached {
            return Ok(l);
        }
        let _guard = self.inner.load_lock.lock().await;
        // Someone may have loaded it while we waited.
        let cached = match version {
            None => self.production_of(name),
            Some(v) => self.cached_version(name, v),
        };
        if let Some(l) = cached {
            return Ok(l);
        }
        let store = self.inner.store.clone();
        let (n, sel) = (
            name.to_string(),
            version.map_or(Selector::Production, Selector::Number),
        );
        let info = match blocking(move || store.resolve(&n, sel)).await {
            Err(Error::NotFound { .. }) if version.is_none() => {
                return Err(Error::not_found(format!(
                    "a production version of model `{name}` (promote one, or name a version: \
                     `{name}@latest`, `{name}@N` or `version`)"
                )))
            }
            other => other?,
        };
        let loaded = self.load(info).await?;
        match version {
            None => {
                if let Ok(mut p) = self.inner.production.write() {
                    p.insert(name.to_string(), loaded.clone());
                }
            }
            Some(_) => self.cache_version(loaded.clone()),
        }
        Ok(loaded)
    }

    fn cache_version(&self, loaded: Arc<Loaded>) {
        if let Ok(mut v) = self.inner.versions.lock() {
            v.push(loaded);
            let max = self.inner.config.max_cached_versions.max(1);
            while v.len() > max {
                let old = v.remove(0);
                if !self.is_production(&old) {
                    self.inner
                        .metrics
                        .set_loaded(&old.info.name, old.info.version, false);
                }
            }
        }
    }

    fn is_production(&self, l: &Loaded) -> bool {
        self.production_of(&l.info.name)
            .is_some_and(|p| p.info.version == l.info.version)
    }

    /// Loads the weights of `info` from the store and starts its compute thread.
    async fn load(&self, info: VersionInfo) -> Result<Arc<Loaded>> {
        let store = self.inner.store.clone();
        let (n, v) = (info.name.clone(), info.version);
        let precision = self.inner.config.precision;
        let model: Arc<dyn Forecaster> = Arc::from(
            blocking(move || {
                let mut m = store.load(&n, v)?;
                m.set_precision(precision);
                if let Some(note) = m.as_neural().and_then(|m| m.precision_note()) {
                    tracing::info!(model = %n, version = v, "{note}");
                }
                Ok(m)
            })
            .await?,
        );
        let arriving = self.arriving(&info.name)?;
        let label = info.name.clone();
        let batcher = Batcher::spawn(
            model.clone(),
            label,
            self.inner.config.batch,
            arriving,
            self.inner.metrics.clone(),
            self.inner.pool.clone(),
        )?;
        self.inner
            .metrics
            .set_loaded(&info.name, info.version, true);
        tracing::info!(model = %info.name, version = info.version, "model loaded");
        Ok(Arc::new(Loaded {
            info,
            model,
            batcher,
        }))
    }

    /// Re-reads the store and makes every model's production version the one served: loads
    /// new production versions, drops models without one. In-flight requests keep the version
    /// they started with. Marks the server ready when done.
    pub async fn refresh(&self) -> Result<()> {
        let _guard = self.inner.load_lock.lock().await;
        let store = self.inner.store.clone();
        let gen = blocking({
            let store = store.clone();
            move || store.generation()
        })
        .await?;
        let list = blocking(move || store.list()).await?;
        let mut failed = Vec::new();
        for m in &list {
            let current = self.production_of(&m.name).map(|l| l.info.version);
            match m.production {
                Some(v) if current != Some(v) => {
                    let reused = self.inner.versions.lock().ok().and_then(|vs| {
                        vs.iter()
                            .find(|l| l.info.name == m.name && l.info.version == v)
                            .cloned()
                    });
                    let loaded = match reused {
                        Some(l) => Ok(l),
                        None => {
                            let store = self.inner.store.clone();
                            let name = m.name.clone();
                            match blocking(move || store.resolve(&name, Selector::Number(v))).await
                            {
                                Ok(info) => self.load(info).await,
                                Err(e) => Err(e),
                            }
                        }
                    };
                    match loaded {
                        Ok(l) => self.swap_production(l),
                        Err(e) => {
                            tracing::error!(model = %m.name, version = v, error = %e, "cannot load production version");
                            failed.push(format!("{}@{v}", m.name));
                        }
                    }
                }
                None => self.drop_production(&m.name),
                _ => {}
            }
        }
        let names: Vec<String> = list.iter().map(|m| m.name.clone()).collect();
        let gone: Vec<String> = self
            .inner
            .production
            .read()
            .map(|p| p.keys().filter(|k| !names.contains(k)).cloned().collect())
            .unwrap_or_default();
        for name in gone {
            self.drop_production(&name);
        }
        self.refresh_traffic(names).await;
        if let Ok(mut f) = self.inner.failed.lock() {
            *f = failed;
        }
        self.inner.generation.store(gen, Ordering::Release);
        self.inner.ready.store(true, Ordering::Release);
        Ok(())
    }

    fn swap_production(&self, l: Arc<Loaded>) {
        let old = self
            .inner
            .production
            .write()
            .ok()
            .and_then(|mut p| p.insert(l.info.name.clone(), l.clone()));
        tracing::info!(model = %l.info.name, version = l.info.version, "serving production version");
        if let Some(old) = old.filter(|o| o.info.version != l.info.version) {
            self.inner
                .metrics
                .set_loaded(&old.info.name, old.info.version, false);
        }
    }

    fn drop_production(&self, name: &str) {
        let old = self
            .inner
            .production
            .write()
            .ok()
            .and_then(|mut p| p.remove(name));
        if let Some(old) = old {
            self.inner
                .metrics
                .set_loaded(&old.info.name, old.info.version, false);
        }
    }

    /// Promotes `version` of `name`: loads it first (so a version that cannot load is never
    /// promoted), records the promotion in the store, then switches traffic to it at once.
    pub(crate) async fn promote(&self, name: &str, version: u32) -> Result<VersionInfo> {
        let loaded = self.model(name, Selector::Number(version)).await?;
        let store = self.inner.store.clone();
        let n = name.to_string();
        let info = blocking(move || store.promote(&n, version)).await?;
        if let Ok(mut v) = self.inner.versions.lock() {
            v.retain(|l| !Arc::ptr_eq(l, &loaded));
        }
        self.swap_production(loaded);
        // Promoting the canary or the shadow removed its route.
        self.reload_traffic(name).await;
        Ok(info)
    }

    /// Checks the store's health (`AppState::check_store`), then polls its generation and
    /// refreshes when it changed or the store just came back; returns whether it refreshed.
    /// While the store is unavailable nothing is reloaded or dropped: the loaded models stay
    /// served.
    pub async fn poll_reload(&self) -> Result<bool> {
        match self.check_store().await? {
            crate::health::StoreState::Down => return Ok(false),
            crate::health::StoreState::Recovered => {
                self.refresh().await?;
                return Ok(true);
            }
            crate::health::StoreState::Up => {}
        }
        let store = self.inner.store.clone();
        let gen = blocking(move || store.generation()).await?;
        if gen == self.inner.generation.load(Ordering::Acquire) {
            return Ok(false);
        }
        self.refresh().await?;
        Ok(true)
    }

    /// Why the store is unavailable, while it is (`None` when it answers).
    pub fn store_unavailable(&self) -> Option<String> {
        self.inner.store_down.lock().ok().and_then(|d| d.clone())
    }

    /// Records whether the store is unavailable; returns what was recorded before.
    pub(crate) fn set_store_unavailable(&self, reason: Option<String>) -> Option<String> {
        match self.inner.store_down.lock() {
            Ok(mut d) => std::mem::replace(&mut *d, reason),
            Err(_) => None,
        }
    }

    /// Starts the hot-reload task: every `reload_interval`, [`AppState::poll_reload`]. Errors
    /// are logged and the task keeps polling.
    pub fn spawn_reloader(&self) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(state.inner.config.reload_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = state.poll_reload().await {
                    tracing::warn!(error = %e, "hot reload poll failed");
                }
            }
        })
    }
}
