//! `nt serve`: the HTTP prediction server over a registry (crate `nt-server`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use nt_server::{AppState, BatchConfig, ComputePath, RegistryStore, ServerConfig};

use crate::exit::UsageError;

/// How forward passes are computed (see the nt-server README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ComputeArg {
    /// Each window alone, the windows of a batch spread over the compute threads.
    PerWindow,
    /// Each gathered batch in one forward that shares the weight loads (same bits per window).
    Batched,
}

/// `nt serve` flags.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Registry directory (default: $NT_REGISTRY, else ./nt-registry).
    #[arg(long, value_name = "DIR")]
    pub(crate) registry: Option<PathBuf>,
    /// Address to listen on; loopback unless told otherwise. Port 0 picks a free port (printed).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub(crate) addr: SocketAddr,
    /// Environment variable holding the API key (needed for promote and AgentDB writes; without
    /// it writes are refused).
    #[arg(long, value_name = "VAR")]
    pub(crate) api_key_env: Option<String>,
    /// Require the API key for reads too (predict, listings, metrics); /health and /ready stay open.
    #[arg(long)]
    pub(crate) auth_reads: bool,
    /// Let AgentDB clients that send no key (the published nt-agentdb-client 1.0) create
    /// collections, insert, batch insert and delete documents. Refused unless --addr is a
    /// loopback address; model promotion still needs the key.
    #[arg(long)]
    pub(crate) agentdb_open_writes: bool,
    /// Largest request body in bytes (413 above).
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub(crate) max_body: usize,
    /// Most windows in one forward pass.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub(crate) max_batch: usize,
    /// Longest a forming batch waits for requests still being parsed, in microseconds.
    #[arg(long, value_name = "U", default_value_t = 200)]
    pub(crate) max_wait_us: u64,
    /// Most history values per column in one request (422 above).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub(crate) max_history: usize,
    /// Most requests in flight (503 above).
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub(crate) max_in_flight: usize,
    /// Request timeout in milliseconds (503 after).
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    pub(crate) timeout_ms: u64,
    /// How forward passes are computed.
    #[arg(long, value_enum, default_value = "batched")]
    pub(crate) compute: ComputeArg,
    /// Weights of the CPU forward: f32 (exact) or bf16 (half the memory traffic, forecasts
    /// within about 1% of f32's).
    #[arg(long, value_enum, default_value_t = crate::cli::PrecisionArg::F32)]
    pub(crate) precision: crate::cli::PrecisionArg,
    /// Async worker threads (HTTP parsing and routing); default: the number of cores.
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<usize>,
    /// Keep no served forecasts (live scoring then matches only forecasts other servers kept).
    #[arg(long)]
    pub(crate) no_forecast_log: bool,
    /// Most served forecasts, actuals and matched points kept per model (oldest dropped).
    #[arg(long, value_name = "N", default_value_t = nt_registry::DEFAULT_FORECAST_RETENTION)]
    pub(crate) forecast_retention: usize,
    /// Seconds between drift checks of the served versions.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub(crate) monitor_interval: u64,
    /// PSI at or above which a drift check warns.
    #[arg(long, value_name = "PSI", default_value_t = 0.1)]
    pub(crate) psi_warning: f64,
    /// PSI at or above which a drift check raises an alarm.
    #[arg(long, value_name = "PSI", default_value_t = 0.25)]
    pub(crate) psi_alarm: f64,
    /// KS p-value at or below which the residual check raises an alarm.
    #[arg(long, value_name = "P", default_value_t = 0.05)]
    pub(crate) ks_alpha: f64,
    /// Most recent forecasts and matched points a drift check compares with the reference.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) drift_window: usize,
}

/// Starts the server and blocks until SIGTERM or ctrl-c, then finishes the requests in flight.
pub(crate) fn run(args: &ServeArgs) -> Result<()> {
    let api_key = match &args.api_key_env {
        None => None,
        Some(var) => match std::env::var(var) {
            Ok(k) if k.len() >= 16 => Some(k),
            Ok(_) => {
                return Err(UsageError(format!(
                    "the API key in ${var} must be at least 16 characters"
                ))
                .into())
            }
            Err(_) => {
                return Err(UsageError(format!("--api-key-env {var}: ${var} is not set")).into())
            }
        },
    };
    if args.max_batch == 0 {
        return Err(UsageError("--max-batch must be at least 1".into()).into());
    }
    if args.forecast_retention == 0 {
        return Err(UsageError("--forecast-retention must be at least 1".into()).into());
    }
    if args.monitor_interval == 0 {
        return Err(UsageError("--monitor-interval must be at least 1 second".into()).into());
    }
    let drift = nt_eval::drift::DriftThresholds {
        psi_warning: args.psi_warning,
        psi_alarm: args.psi_alarm,
        ks_alpha: args.ks_alpha,
        window: args.drift_window,
        ..nt_eval::drift::DriftThresholds::default()
    };
    drift.validate().map_err(|e| {
        let flag = match &e {
            nt_eval::Error::InvalidConfig { field, .. } if field == "window" => {
                "drift-window".into()
            }
            nt_eval::Error::InvalidConfig { field, .. } => field.replace('_', "-"),
            _ => "drift".to_string(),
        };
        UsageError(format!("--{flag}: {e}"))
    })?;
    let config = ServerConfig {
        api_key,
        auth_reads: args.auth_reads,
        agentdb_open_writes: args.agentdb_open_writes,
        max_body: args.max_body,
        max_history: args.max_history,
        max_in_flight: args.max_in_flight,
        request_timeout: Duration::from_millis(args.timeout_ms.max(1)),
        batch: BatchConfig {
            max_batch: args.max_batch,
            max_wait: Duration::from_micros(args.max_wait_us),
            path: match args.compute {
                ComputeArg::PerWindow => ComputePath::PerWindow,
                ComputeArg::Batched => ComputePath::Batched,
            },
        },
        precision: match args.precision {
            crate::cli::PrecisionArg::F32 => nt_neural::Precision::F32,
            crate::cli::PrecisionArg::Bf16 => nt_neural::Precision::Bf16,
        },
        forecast_log: !args.no_forecast_log,
        forecast_retention: args.forecast_retention,
        monitor_interval: Duration::from_secs(args.monitor_interval),
        drift,
        ..ServerConfig::default()
    };
    nt_server::check_listen_config(&config, args.addr).map_err(|e| {
        UsageError(match e {
            nt_server::Error::Config { reason, .. } => format!("--agentdb-open-writes: {reason}"),
            other => other.to_string(),
        })
    })?;
    let dir = nt_registry::Registry::resolve_dir(args.registry.as_deref());
    let store = RegistryStore::open(&dir)
        .with_context(|| format!("opening the registry {}", dir.display()))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        rt.worker_threads(n.max(1));
    }
    let rt = rt
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .map_err(|e| UsageError(format!("cannot listen on {}: {e}", args.addr)))?;
        let local = listener.local_addr().context("reading the bound address")?;
        let state = AppState::new(Arc::new(store), config)?;
        eprintln!(
            "nt serve: registry {}, listening on http://{local}",
            dir.display()
        );
        nt_server::serve(listener, state, nt_server::shutdown_signal()).await?;
        eprintln!("nt serve: stopped");
        Ok(())
    })
}
