//! What the server needs from a model store ([`ModelStore`]), an in-memory implementation
//! ([`MemoryStore`], for tests and embedding) and the registry-backed one ([`RegistryStore`]).
//!
//! Every method is blocking (the registry is SQLite): the server calls them from
//! `tokio::task::spawn_blocking`, never on an async worker.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use nt_models::Forecaster;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// Which version of a model a request names (`NAME`, `NAME@production`: production;
/// `NAME@latest`: latest; `NAME@3`: a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Selector {
    /// The version in the `production` stage.
    Production,
    /// The highest version number still registered.
    Latest,
    /// A numbered version.
    Number(u32),
}

impl Selector {
    /// The selector as written after `@` (`production`, `latest`, `3`).
    pub fn label(self) -> String {
        match self {
            Selector::Production => "production".into(),
            Selector::Latest => "latest".into(),
            Selector::Number(n) => n.to_string(),
        }
    }
}

/// One registered version, as the server reports it (`GET /v1/models/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    /// Model name.
    pub name: String,
    /// Version number (1, 2, ... per name).
    pub version: u32,
    /// Stage: `none`, `staging`, `production` or `archived`.
    pub stage: String,
    /// When it was registered (RFC 3339).
    pub created_at: String,
    /// Model: `ets`, `nhits`, `dlinear`, ... (the spec's `model`).
    pub kind: String,
    /// The model's spec (`{"model": "nhits", "input_size": 480, ...}`).
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    /// Columns it was trained on; the first is what `history.values` forecasts.
    pub targets: Vec<String>,
    /// Fewest history values one forecast needs (a neural model's input window: it reads the
    /// last this many).
    pub input_size: usize,
    /// Longest horizon it forecasts; 0 when any horizon up to the server's `max_history` is
    /// allowed (most classical models).
    pub horizon: usize,
    /// Backtest or training metrics.
    pub metrics: BTreeMap<String, f64>,
    /// Free-form tags.
    pub tags: BTreeMap<String, String>,
}

/// One model name, summarized (`GET /v1/models`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModelSummary {
    /// Model name.
    pub name: String,
    /// Number of versions.
    pub versions: u32,
    /// Highest version number.
    pub latest: u32,
    /// The production version, if any.
    pub production: Option<u32>,
}

/// The model store the server reads models from and promotes versions in.
///
/// Implementations are blocking and must be shareable across threads. `generation` must grow
/// whenever anything the other methods return changes (in any process), so polling it is
/// enough to notice a promotion made elsewhere.
pub trait ModelStore: Send + Sync + std::fmt::Debug + 'static {
    /// Every model name.
    fn list(&self) -> Result<Vec<ModelSummary>>;
    /// Every version of `name`, oldest first; [`Error::NotFound`] for an unknown name.
    fn versions(&self, name: &str) -> Result<Vec<VersionInfo>>;
    /// The version `sel` names; [`Error::NotFound`] when absent (or no production version).
    fn resolve(&self, name: &str, sel: Selector) -> Result<VersionInfo>;
    /// Loads one version (weights or fitted state verified by the store), as a fresh model
    /// the caller may configure (precision) before sharing it.
    fn load(&self, name: &str, version: u32) -> Result<Box<dyn Forecaster>>;
    /// Makes `version` the production version of `name` (the previous one is archived).
    fn promote(&self, name: &str, version: u32) -> Result<VersionInfo>;
    /// A counter that grows on every committed change.
    fn generation(&self) -> Result<u64>;
    /// The registry behind this store, for the `/agentdb` collection routes (none for
    /// stores that are not a registry, or while it is unavailable).
    fn registry(&self) -> Option<Arc<nt_registry::Registry>> {
        None
    }
    /// Checks that the store can be used (for a registry: its database file is still the one
    /// it opened and answers), and recovers when it can. Called by the server's poll loop every
    /// `reload_interval`; must be cheap. Default: always available.
    fn check_health(&self) -> StoreHealth {
        StoreHealth::Available
    }
    /// The traffic policy (canary, shadow) of `name`; [`Error::NotFound`] for an unknown name.
    /// Default: none.
    fn traffic(&self, name: &str) -> Result<Option<nt_registry::TrafficPolicy>> {
        self.versions(name)?;
        Ok(None)
    }
    /// Sets the traffic policy of `name` (a policy with neither route clears it), checked by
    /// [`nt_registry::TrafficPolicy::check`]: 422 naming `canary.version`, `canary.percent` or
    /// `shadow.version`. Must bump the generation. Default: refused (503).
    fn set_traffic(&self, name: &str, policy: nt_registry::TrafficPolicy) -> Result<()> {
        let _ = (name, policy);
        Err(Error::Unavailable {
            reason: "this model store keeps no traffic policies".into(),
        })
    }
    /// `(from, to)` of a rollback of `name` to the version that was production before the
    /// current one, without making it (422 on `name` when there is none). Default: refused.
    fn rollback_target(&self, name: &str) -> Result<(u32, u32)> {
        let _ = name;
        Err(Error::Unavailable {
            reason: "this model store keeps no promotion history to roll back along".into(),
        })
    }
    /// Makes the version that was production before the current one production again;
    /// returns `(from, to)`. Default: refused.
    fn rollback(&self, name: &str) -> Result<(u32, u32)> {
        self.rollback_target(name)
    }
}

/// A registry error on a traffic or rollback call: invalid input is a 422 naming its field
/// (`canary.percent`, `name`), the rest as usual.
fn field_error(e: nt_registry::Error) -> Error {
    match e {
        nt_registry::Error::InvalidInput { field, reason } => Error::invalid(field, reason),
        other => other.into(),
    }
}

/// A model held by a [`MemoryStore`]: its metadata and where it was saved.
#[derive(Debug, Clone)]
struct MemoryVersion {
    info: VersionInfo,
    dir: std::path::PathBuf,
}

#[derive(Debug, Default)]
struct MemoryInner {
    models: BTreeMap<String, Vec<MemoryVersion>>,
    generation: u64,
    /// name -> its traffic policy.
    traffic: BTreeMap<String, nt_registry::TrafficPolicy>,
    /// name -> the versions made production, in order (what rollback walks back along).
    promoted: BTreeMap<String, Vec<u32>>,
}

/// An in-memory [`ModelStore`] (for tests and embedding): models added with
/// [`MemoryStore::add`] are saved as model directories in a temporary directory the store owns,
/// and `load` reads them back (so a loaded model is a fresh copy with the same forecasts).
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
    root: tempfile::TempDir,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    ///
    /// # Panics
    /// When no temporary directory can be created (a broken system, not a user error).
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        Self {
            inner: Mutex::default(),
            root: tempfile::tempdir().expect("a temporary directory for the memory store"),
        }
    }

    /// Adds `model` as the next version of `name` in stage `stage` (`production` demotes the
    /// current production version to `archived`); returns its version info.
    pub fn add(&self, name: &str, model: &dyn Forecaster, stage: &str) -> Result<VersionInfo> {
        let mut inner = self.lock()?;
        let versions = inner.models.entry(name.to_string()).or_default();
        let version = versions.len() as u32 + 1;
        let dir = self.root.path().join(format!("{name}-{version}"));
        model.save(&dir)?;
        if stage == "production" {
            for v in versions.iter_mut() {
                if v.info.stage == "production" {
                    v.info.stage = "archived".into();
                }
            }
        }
        let spec = serde_json::to_value(model.spec()).map_err(Error::internal)?;
        let info = VersionInfo {
            name: name.to_string(),
            version,
            stage: stage.to_string(),
            created_at: String::new(),
            kind: model.name().to_string(),
            spec,
            targets: model.targets().to_vec(),
            input_size: model.min_history(),
            horizon: model.max_horizon().unwrap_or(0),
            metrics: BTreeMap::new(),
            tags: BTreeMap::new(),
        };
        versions.push(MemoryVersion {
            info: info.clone(),
            dir,
        });
        if stage == "production" {
            inner
                .promoted
                .entry(name.to_string())
                .or_default()
                .push(version);
        }
        inner.generation += 1;
        Ok(info)
    }

    /// The production version of `name` and whether `version` is registered (inside the lock).
    fn stages(inner: &MemoryInner, name: &str) -> Result<(Option<u32>, Vec<u32>)> {
        let vs = inner
            .models
            .get(name)
            .ok_or_else(|| Error::not_found(format!("model `{name}`")))?;
        let production = vs
            .iter()
            .find(|v| v.info.stage == "production")
            .map(|v| v.info.version);
        Ok((production, vs.iter().map(|v| v.info.version).collect()))
    }

    /// Makes `version` production (the current one archived) and removes the routes to it,
    /// inside the lock; `version` must exist.
    fn make_production(inner: &mut MemoryInner, name: &str, version: u32) -> Option<VersionInfo> {
        let mut out = None;
        if let Some(vs) = inner.models.get_mut(name) {
            for v in vs.iter_mut() {
                if v.info.version == version {
                    v.info.stage = "production".into();
                    out = Some(v.info.clone());
                } else if v.info.stage == "production" {
                    v.info.stage = "archived".into();
                }
            }
        }
        inner
            .promoted
            .entry(name.to_string())
            .or_default()
            .push(version);
        if let Some(p) = inner.traffic.get(name).copied() {
            let (left, _) = p.without_version(version);
            if left.is_empty() {
                inner.traffic.remove(name);
            } else {
                inner.traffic.insert(name.to_string(), left);
            }
        }
        inner.generation += 1;
        out
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryInner>> {
        self.inner
            .lock()
            .map_err(|_| Error::internal("memory store lock poisoned"))
    }

    fn find(&self, name: &str, version: u32) -> Result<MemoryVersion> {
        let inner = self.lock()?;
        inner
            .models
            .get(name)
            .and_then(|vs| vs.iter().find(|v| v.info.version == version))
            .cloned()
            .ok_or_else(|| Error::not_found(format!("version {version} of model `{name}`")))
    }
}

impl ModelStore for MemoryStore {
    fn list(&self) -> Result<Vec<ModelSummary>> {
        let inner = self.lock()?;
        Ok(inner
            .models
            .iter()
            .map(|(name, vs)| ModelSummary {
                name: name.clone(),
                versions: vs.len() as u32,
                latest: vs.len() as u32,
                production: vs
                    .iter()
                    .find(|v| v.info.stage == "production")
                    .map(|v| v.info.version),
            })
            .collect())
    }

    fn versions(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let inner = self.lock()?;
        inner
            .models
            .get(name)
            .map(|vs| vs.iter().map(|v| v.info.clone()).collect())
            .ok_or_else(|| Error::not_found(format!("model `{name}`")))
    }

    fn resolve(&self, name: &str, sel: Selector) -> Result<VersionInfo> {
        match sel {
            Selector::Number(v) => Ok(self.find(name, v)?.info),
            Selector::Latest => self
                .versions(name)?
                .into_iter()
                .max_by_key(|v| v.version)
                .ok_or_else(|| Error::not_found(format!("a version of model `{name}`"))),
            Selector::Production => self
                .versions(name)?
                .into_iter()
                .find(|v| v.stage == "production")
                .ok_or_else(|| Error::not_found(format!("production version of model `{name}`"))),
        }
    }

    fn load(&self, name: &str, version: u32) -> Result<Box<dyn Forecaster>> {
        let v = self.find(name, version)?;
        Ok(nt_models::load_dir(&v.dir)?)
    }

    fn promote(&self, name: &str, version: u32) -> Result<VersionInfo> {
        let mut inner = self.lock()?;
        let vs = inner
            .models
            .get_mut(name)
            .ok_or_else(|| Error::not_found(format!("model `{name}`")))?;
        if !vs.iter().any(|v| v.info.version == version) {
            return Err(Error::not_found(format!(
                "version {version} of model `{name}`"
            )));
        }
        Self::make_production(&mut inner, name, version)
            .ok_or_else(|| Error::internal("promoted version vanished"))
    }

    fn generation(&self) -> Result<u64> {
        Ok(self.lock()?.generation)
    }

    fn traffic(&self, name: &str) -> Result<Option<nt_registry::TrafficPolicy>> {
        let inner = self.lock()?;
        Self::stages(&inner, name)?;
        Ok(inner.traffic.get(name).copied())
    }

    fn set_traffic(&self, name: &str, policy: nt_registry::TrafficPolicy) -> Result<()> {
        let mut inner = self.lock()?;
        let (production, versions) = Self::stages(&inner, name)?;
        if policy.is_empty() {
            if inner.traffic.remove(name).is_some() {
                inner.generation += 1;
            }
            return Ok(());
        }
        policy
            .check(name, |v| versions.contains(&v), production)
            .map_err(field_error)?;
        inner.traffic.insert(name.to_string(), policy);
        inner.generation += 1;
        Ok(())
    }

    fn rollback_target(&self, name: &str) -> Result<(u32, u32)> {
        let inner = self.lock()?;
        let (production, versions) = Self::stages(&inner, name)?;
        let current = production.ok_or_else(|| {
            Error::invalid(
                "name",
                format!("{name} has no production version to roll back from"),
            )
        })?;
        let promoted = inner.promoted.get(name).cloned().unwrap_or_default();
        let before = match promoted.iter().rposition(|&v| v == current) {
            Some(i) => &promoted[..i],
            None => &promoted[..],
        };
        before
            .iter()
            .rev()
            .find(|&&v| v != current && versions.contains(&v))
            .map(|&to| (current, to))
            .ok_or_else(|| {
                Error::invalid(
                    "name",
                    format!("{name} has no earlier production version to roll back to"),
                )
            })
    }

    fn rollback(&self, name: &str) -> Result<(u32, u32)> {
        let (from, to) = self.rollback_target(name)?;
        let mut inner = self.lock()?;
        Self::make_production(&mut inner, name, to);
        Ok((from, to))
    }
}

/// The registry-backed [`ModelStore`] `nt serve --registry DIR` uses: every call goes to the
/// SQLite registry (blocking); weights are verified against their sha256 on load.
///
/// It watches its database file ([`ModelStore::check_health`]): when the file is removed or
/// replaced, or stops answering, the store drops its registry (closing the connection, so
/// nothing is written into a file nobody will read again) and answers every call with
/// [`Error::Unavailable`]; once a database file is at the path again, it reopens the directory.
/// It never creates a registry in place of a missing file, nor in a file that is not yet a
/// SQLite database (empty, or still being copied).
#[derive(Debug, Clone)]
pub struct RegistryStore {
    dir: std::path::PathBuf,
    current: Arc<RwLock<Option<OpenRegistry>>>,
    /// The files of the registry opened last (kept once it is dropped: its `-wal` and `-shm`
    /// must not be applied to another database file put at the path).
    last_files: Arc<Mutex<Option<nt_registry::DbFiles>>>,
}

/// The open registry and the identities of its files, taken right after opening.
#[derive(Debug, Clone)]
struct OpenRegistry {
    registry: Arc<nt_registry::Registry>,
    files: Option<nt_registry::DbFiles>,
}

/// What [`ModelStore::check_health`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreHealth {
    /// The store answers.
    Available,
    /// The store cannot be used now (its database was removed, replaced or does not answer);
    /// it may recover by itself. The reason is for the log.
    Unavailable {
        /// What is wrong.
        reason: String,
    },
}

const UNAVAILABLE: &str = "the registry is unavailable (its database file was removed or \
                           replaced, or does not answer); the models already loaded are still \
                           served";

/// Whether `path` starts with SQLite's 16-byte header and holds at least its 100-byte header.
fn is_sqlite_file(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 100];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head.starts_with(b"SQLite format 3\0")
}

impl RegistryStore {
    /// A store over an open registry.
    pub fn new(registry: Arc<nt_registry::Registry>) -> Self {
        let files = registry.db_files().ok();
        Self {
            dir: registry.dir().to_path_buf(),
            current: Arc::new(RwLock::new(Some(OpenRegistry { registry, files }))),
            last_files: Arc::new(Mutex::new(files)),
        }
    }

    /// Opens (creating if needed) the registry in `dir`.
    pub fn open(dir: &std::path::Path) -> Result<Self> {
        Ok(Self::new(Arc::new(nt_registry::Registry::open(dir)?)))
    }

    /// The open registry, or [`Error::Unavailable`].
    fn reg(&self) -> Result<Arc<nt_registry::Registry>> {
        self.current
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|o| o.registry.clone()))
            .ok_or_else(|| Error::Unavailable {
                reason: UNAVAILABLE.into(),
            })
    }

    fn set(&self, value: Option<OpenRegistry>) {
        if let Ok(mut c) = self.current.write() {
            *c = value;
        }
    }

    /// Reopens the directory when a database file is there again (never creating one).
    fn reopen(&self) -> StoreHealth {
        let db = self.dir.join(nt_registry::DB_FILE);
        if !db.is_file() {
            return StoreHealth::Unavailable {
                reason: format!("the database file {} is missing", nt_registry::DB_FILE),
            };
        }
        // SQLite would take an empty (or truncated, or half-copied) file for a new database
        // and the registry would create an empty one in it: wait for a real database file.
        if !is_sqlite_file(&db) {
            return StoreHealth::Unavailable {
                reason: format!(
                    "the file {} is not a SQLite database (empty or still being copied?)",
                    nt_registry::DB_FILE
                ),
            };
        }
        let last = self.last_files.lock().ok().and_then(|l| *l);
        if let Some(files) = last {
            match nt_registry::remove_stale_sidecars(&self.dir, &files) {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    removed = n,
                    "removed the -wal/-shm files the previous database file left behind"
                ),
                Err(e) => {
                    return StoreHealth::Unavailable {
                        reason: format!("removing the previous database file's WAL: {e}"),
                    }
                }
            }
        }
        match nt_registry::Registry::open(&self.dir) {
            Ok(r) => match r.db_files() {
                Ok(files) => match r.health(files.db) {
                    nt_registry::RegistryHealth::Healthy => {
                        if let Ok(mut l) = self.last_files.lock() {
                            *l = Some(files);
                        }
                        self.set(Some(OpenRegistry {
                            registry: Arc::new(r),
                            files: Some(files),
                        }));
                        StoreHealth::Available
                    }
                    nt_registry::RegistryHealth::Unavailable { reason } => {
                        StoreHealth::Unavailable { reason }
                    }
                },
                Err(e) => StoreHealth::Unavailable {
                    reason: format!("reopening: {e}"),
                },
            },
            Err(e) => StoreHealth::Unavailable {
                reason: format!("reopening: {e}"),
            },
        }
    }
}

impl From<nt_registry::ModelVersion> for VersionInfo {
    fn from(v: nt_registry::ModelVersion) -> Self {
        VersionInfo {
            name: v.name,
            version: v.version,
            stage: v.stage.to_string(),
            created_at: v.created_at,
            kind: v.kind,
            spec: serde_json::to_value(&v.spec).unwrap_or_default(),
            targets: v.targets,
            input_size: v.input_size,
            horizon: v.horizon,
            metrics: v.metrics,
            tags: v.tags,
        }
    }
}

impl ModelStore for RegistryStore {
    fn list(&self) -> Result<Vec<ModelSummary>> {
        Ok(self
            .reg()?
            .list()?
            .into_iter()
            .map(|s| ModelSummary {
                name: s.name,
                versions: s.versions,
                latest: s.latest,
                production: s.production,
            })
            .collect())
    }

    fn versions(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let vs = self.reg()?.versions(name)?;
        if vs.is_empty() {
            return Err(Error::not_found(format!("model `{name}`")));
        }
        Ok(vs.into_iter().map(VersionInfo::from).collect())
    }

    fn resolve(&self, name: &str, sel: Selector) -> Result<VersionInfo> {
        let sel = match sel {
            Selector::Production => nt_registry::VersionSelector::Production,
            Selector::Latest => nt_registry::VersionSelector::Latest,
            Selector::Number(v) => nt_registry::VersionSelector::Number(v),
        };
        Ok(self.reg()?.get(name, sel)?.into())
    }

    fn load(&self, name: &str, version: u32) -> Result<Box<dyn Forecaster>> {
        Ok(self.reg()?.load(name, version)?)
    }

    fn promote(&self, name: &str, version: u32) -> Result<VersionInfo> {
        Ok(self
            .reg()?
            .set_stage(name, version, nt_registry::Stage::Production)?
            .into())
    }

    fn generation(&self) -> Result<u64> {
        Ok(self.reg()?.generation()?)
    }

    fn traffic(&self, name: &str) -> Result<Option<nt_registry::TrafficPolicy>> {
        Ok(self.reg()?.traffic(name)?)
    }

    fn set_traffic(&self, name: &str, policy: nt_registry::TrafficPolicy) -> Result<()> {
        self.reg()?.set_traffic(name, policy).map_err(field_error)?;
        Ok(())
    }

    fn rollback_target(&self, name: &str) -> Result<(u32, u32)> {
        self.reg()?.rollback_target(name).map_err(field_error)
    }

    fn rollback(&self, name: &str) -> Result<(u32, u32)> {
        self.reg()?.rollback(name).map_err(field_error)
    }

    fn registry(&self) -> Option<Arc<nt_registry::Registry>> {
        self.reg().ok()
    }

    fn check_health(&self) -> StoreHealth {
        let open = self.current.read().ok().and_then(|c| c.clone());
        let Some(open) = open else {
            return self.reopen();
        };
        let health = match open.files {
            Some(files) => open.registry.health(files.db),
            None => match open.registry.db_file_id() {
                Ok(id) => open.registry.health(id),
                Err(_) => nt_registry::RegistryHealth::Unavailable {
                    reason: format!("the database file {} is missing", nt_registry::DB_FILE),
                },
            },
        };
        match health {
            nt_registry::RegistryHealth::Healthy => StoreHealth::Available,
            nt_registry::RegistryHealth::Unavailable { reason } => {
                // Drop our handle: the connection closes once the requests holding it finish.
                self.set(None);
                StoreHealth::Unavailable { reason }
            }
        }
    }
}
