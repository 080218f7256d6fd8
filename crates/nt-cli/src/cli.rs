//! The command line: clap definitions, parsed once into validated settings by each command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::neural_flags::NeuralFlags;

/// Neural Trader: forecast market time series, backtest honestly against the random walk.
#[derive(Debug, Parser)]
#[command(name = "nt", version, about, long_about = None)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Rolling-origin backtest of several models, with skill against the random walk.
    Backtest(BacktestArgs),
    /// Forecast the next H values after the end of the data, with prediction intervals.
    Forecast(ForecastArgs),
    /// Train a neural model or fit a classical one and save it as a model directory.
    Train(TrainArgs),
    /// Forecast with a saved model directory from the end of a data file.
    Predict(PredictArgs),
    /// Import weights trained elsewhere (neuralforecast) as an `nt` model directory.
    Import(ImportArgs),
    /// Benchmarks: a train step of every neural architecture (f32 and bf16: ms, steps/s, peak
    /// RSS, engine), then its size, predict latency, forward and batch throughput; AutoETS fit. One
    /// JSON line per case after a `cpu` line (set RAYON_NUM_THREADS to compare thread counts).
    Bench(BenchArgs),
    /// The main job on a built-in sample market (or --data FILE): backtest every model, print the
    /// leaderboard with skill against the random walk, write a plot.
    Demo(DemoArgs),
    /// The model registry: list, show, promote, rollback, archive, delete, events, route
    /// (canary, shadow), compare (live scores), similar, recommend, gc, backup (`--registry DIR`,
    /// else $NT_REGISTRY, else ./nt-registry).
    Registry(RegistryArgs),
    /// Serve the registry's models over HTTP: predictions with micro-batching, model listing
    /// and promotion, metrics, OpenAPI, AgentDB-protocol collections (127.0.0.1:8080 by default).
    Serve(crate::commands::serve::ServeArgs),
    /// Drift of a registered version on new data: PSI of levels, returns and forecasts, a KS test
    /// of residuals against its reference; recorded in the registry (one drift-alarm event per
    /// episode); --retrain-on-alarm retrains a candidate.
    Monitor(crate::commands::monitor::MonitorArgs),
    /// Hyper-parameter search for a neural model (TPE or random, median pruning, validation
    /// only): locally (--trials N --budget S), or planned (--plan DIR) and run by any number of
    /// workers (--worker DIR --registry REG) that claim trials through the registry.
    Tune(crate::commands::tune::TuneArgs),
}

/// Where the data comes from and how to read it.
#[derive(Debug, Args, Clone)]
pub(crate) struct DataArgs {
    /// CSV or Parquet file: a time column plus numeric columns (OHLCV, wide tables, pandas exports).
    #[arg(long, value_name = "FILE")]
    pub(crate) data: PathBuf,
    /// Column to forecast, or `all` for every numeric column. Default: `close` (any case) if
    /// present, else the last numeric column.
    #[arg(long, value_name = "COL|all")]
    pub(crate) target: Option<String>,
    /// Name of the time column (default: detected: date/timestamp/time/datetime or an unnamed first column).
    #[arg(long, value_name = "COL")]
    pub(crate) time_col: Option<String>,
    /// What to do with empty or NaN cells: error (default), ffill, linear, drop.
    #[arg(long, value_name = "POLICY", default_value = "error")]
    pub(crate) fill: String,
    /// Load only these value columns (comma-separated header names, in this order); other
    /// columns, text ones such as a ticker symbol included, are ignored. Default: every column
    /// but the time column, which must then all be numeric.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub(crate) columns: Vec<String>,
}

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned, human-first table.
    Table,
    /// One JSON object that scripts can rely on.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

/// Which split decides the test segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SplitArg {
    /// 70/10/20 train/val/test by row (the long-horizon literature's default).
    Ratio,
    /// 12/4/4 months train/val/test (ETT data sets); rows per day from the time step.
    Ett,
    /// The last `--windows` origins, `--step` apart (the trader's rolling backtest).
    Rolling,
}

/// Where prediction intervals come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum IntervalsArg {
    /// The model's own (its assumptions: ETS's state-space variance, a quantile loss, ...).
    Model,
    /// Split conformal: the point ± a quantile of absolute residuals on data the model was
    /// not fitted on, per horizon step.
    Conformal,
    /// GARCH widths (`nt train` only): the point ± z · s_h · sqrt(cumulated GARCH(1,1)
    /// variance of the model's recent one-step residuals), s_h calibrated per step.
    Garch,
}

/// Scale the errors are reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScaleArg {
    /// The data's own units.
    Original,
    /// Divided by the train rows' standard deviation (the long-horizon literature's scale).
    Standardized,
}

/// Model, horizon and evaluation settings shared by `backtest` and `demo`.
#[derive(Debug, Args, Clone)]
pub(crate) struct EvalArgs {
    /// Comma-separated models: naive, seasonal-naive, drift, mean, ets, mstl, elasticnet, arima,
    /// autoarima, theta, optimized-theta, dynamic-theta, dynamic-optimized-theta, garch (and its
    /// presets gjr-garch, garch-t, gjr-garch-t), and the neural nhits, nbeats,
    /// nbeats-interpretable, dlinear, nlinear, tcn, patchtst, lstm, gru, deepar (trained once on
    /// train+val; see the training flags; `nt train --help` describes each), ensemble (of
    /// --members, combined by --combiner) and hybrid (MSTL at --seasons + a --neural model of
    /// the seasonally adjusted series). Default: every
    /// classical model but arima (its orders are yours), autoarima (its search is slow on long
    /// seasonal series) and the GARCH family (it needs prices > 0).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) models: Option<Vec<String>>,
    /// Steps ahead to forecast.
    #[arg(long, short = 'H', default_value_t = 24)]
    pub(crate) horizon: usize,
    /// Past values a lag model sees: ElasticNet's lags (default: 2 seasons, at least 2 × horizon)
    /// and the neural models' input window (default: 5 × horizon).
    #[arg(long, value_name = "L")]
    pub(crate) input_size: Option<usize>,
    /// Season length in rows (default: from the time step: hourly 24, 15-min 96, daily 5, else 1).
    #[arg(long, value_name = "S")]
    pub(crate) season: Option<usize>,
    /// How the test segment is chosen.
    #[arg(long, value_enum, default_value_t = SplitArg::Ratio)]
    pub(crate) split: SplitArg,
    /// Cap on forecast origins (the last N of the test segment, evenly spaced); required meaning for `rolling`.
    #[arg(long, value_name = "N")]
    pub(crate) windows: Option<usize>,
    /// Rows between consecutive forecast origins.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub(crate) step: usize,
    /// Refit every K origins (0 = fit once on train+val, never refit: the long-horizon protocol).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub(crate) refit_every: usize,
    /// Training window when refitting: expanding, or sliding:N (the last N rows).
    #[arg(long, value_name = "expanding|sliding:N", default_value = "expanding")]
    pub(crate) train_window: String,
    /// Scale of the reported errors.
    #[arg(long, value_enum, default_value_t = ScaleArg::Original)]
    pub(crate) scale: ScaleArg,
    /// Central prediction-interval levels in percent, scored by coverage and pinball loss.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "80,95"
    )]
    pub(crate) level: Vec<f64>,
    #[command(flatten)]
    pub(crate) arima: ArimaOrderArgs,
    #[command(flatten)]
    pub(crate) ensemble: crate::ensemble_flags::EnsembleArgs,
    #[command(flatten)]
    pub(crate) hybrid: HybridArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Write a plot (history, forecasts, interval bands, actuals) to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub(crate) plot: Option<PathBuf>,
    /// Hide progress bars.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// Smallest MAE skill against the random walk that counts as beating it (a fraction, 0.01 =
    /// 1%), on top of a Diebold–Mariano p-value below 0.05: significance alone is not enough.
    #[arg(long, value_name = "F", default_value_t = nt_eval::DEFAULT_MIN_SKILL)]
    pub(crate) min_skill: f64,
}

/// The neural model and seasons of `hybrid` (MSTL + neural); other models refuse them.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct HybridArgs {
    /// `hybrid`: the neural model of the seasonally adjusted series (nhits, dlinear, nbeats,
    /// ...; default nhits), configured by the neural training flags.
    #[arg(long, value_name = "NAME")]
    pub(crate) neural: Option<String>,
    /// `hybrid`: MSTL seasons in rows, comma-separated (default from the time step: hourly
    /// 24,168; 15-minute 96,672; trading days 5; else --season).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) seasons: Option<Vec<usize>>,
}

/// The orders of `--model arima` (fixed-order ARIMA); other models refuse them.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ArimaOrderArgs {
    /// `arima`'s non-seasonal order p,d,q (AR terms, differences, MA terms; default 1,0,0).
    #[arg(long, value_name = "P,D,Q", value_parser = parse_order)]
    pub(crate) order: Option<[usize; 3]>,
    /// `arima`'s seasonal order P,D,Q over `--season` (default 0,0,0).
    #[arg(long, value_name = "P,D,Q", value_parser = parse_order)]
    pub(crate) seasonal_order: Option<[usize; 3]>,
    /// `autoarima`'s search scoring: `on` scores candidates by CSS and refits the best with
    /// CSS-ML (fast), `off` fits every candidate by CSS-ML (statsforecast's `AutoARIMA` class),
    /// `auto` (the default) is `auto_arima_f`'s rule: on above 150 rows or a season above 12.
    #[arg(long, value_enum, value_name = "auto|on|off")]
    pub(crate) approximation: Option<ApproximationArg>,
}

/// `autoarima`'s `--approximation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ApproximationArg {
    /// statsforecast's `auto_arima_f` rule: on above 150 rows or a season above 12.
    Auto,
    /// CSS scores during the search, CSS-ML refits of the best.
    On,
    /// CSS-ML for every candidate.
    Off,
}

/// Parses `p,d,q`: three non-negative integers separated by commas.
fn parse_order(text: &str) -> Result<[usize; 3], String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [p, d, q] = parts.as_slice() else {
        return Err(format!(
            "expected three comma-separated integers like 1,1,1, got `{text}`"
        ));
    };
    let one = |v: &str| {
        v.parse::<usize>()
            .map_err(|_| format!("`{v}` in `{text}` is not a non-negative integer"))
    };
    Ok([one(p)?, one(d)?, one(q)?])
}

/// `nt backtest`.
#[derive(Debug, Args)]
pub(crate) struct BacktestArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    #[command(flatten)]
    pub(crate) eval: EvalArgs,
    /// GARCH models in --models: returns in the rolling-variance baseline of the volatility
    /// table (N; 20 = about a month of trading days).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) vol_window: usize,
    /// Intervals to score, side by side: `model` (each model's own), `conformal` (split
    /// conformal from the residuals known at each origin, see nt-eval's conformal module), or
    /// both: model,conformal.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "model")]
    pub(crate) intervals: Vec<IntervalsArg>,
    /// Training settings of the neural models in `--models`.
    #[command(flatten, next_help_heading = "Neural training")]
    pub(crate) neural: NeuralFlags,
}

/// `nt train`.
#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Default: the `--config`'s model, else nhits.
    #[arg(long, value_name = "NAME", long_help = crate::commands::menu::model_help(), help = crate::commands::menu::model_names_help())]
    pub(crate) model: Option<String>,
    /// Steps ahead the model forecasts (default: the `--config`'s, else 24).
    #[arg(long, short = 'H')]
    pub(crate) horizon: Option<usize>,
    /// Past values a neural model sees (default: the `--config`'s, else 120).
    #[arg(long, value_name = "L")]
    pub(crate) input_size: Option<usize>,
    /// Classical models: season length in rows (default: from the time step).
    #[arg(long, value_name = "S")]
    pub(crate) season: Option<usize>,
    /// Classical models: ElasticNet's lags (default: 2 seasons, at least 2 × horizon).
    #[arg(long, value_name = "N")]
    pub(crate) lags: Option<usize>,
    /// Classical models: central prediction-interval levels in percent.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values_t = [80.0, 95.0])]
    pub(crate) level: Vec<f64>,
    #[command(flatten)]
    pub(crate) arima: ArimaOrderArgs,
    #[command(flatten)]
    pub(crate) ensemble: crate::ensemble_flags::EnsembleArgs,
    #[command(flatten)]
    pub(crate) hybrid: HybridArgs,
    /// Where the prediction intervals come from: `model` (the model's own) or `conformal`
    /// (split conformal at --level, any model: a classical model is calibrated on the last
    /// --calibration-rows rows by a fit without them, then refitted on all rows; a neural model
    /// on its validation tail, --val-fraction), or `garch` (widths from a GARCH(1,1) of the
    /// model's recent one-step residuals, scaled per step on the same calibration rows).
    #[arg(long, value_enum, default_value_t = IntervalsArg::Model)]
    pub(crate) intervals: IntervalsArg,
    /// Classical models with --intervals conformal: rows held out at the end of the data for
    /// calibration (default: max(20% of the rows, 2 × horizon)).
    #[arg(long, value_name = "N")]
    pub(crate) calibration_rows: Option<usize>,
    /// The model directory to write (model.json, weights.safetensors, optimizer.safetensors,
    /// train_log.jsonl). Required, except with --from (which registers the result).
    #[arg(long, value_name = "DIR", required_unless_present = "from")]
    pub(crate) out: Option<PathBuf>,
    /// Retrain the registered version NAME@V (NAME: the production version) on --data and
    /// register the result as the next version of NAME with parent V, scored before and after
    /// on the new data's held-out tail. A neural model warm-starts: its weights and, when the
    /// version has them, Adam's moments (else fresh moments, said plainly); the learning-rate
    /// schedule restarts over --max-steps new steps (default: the parent's max_steps).
    /// Training flags (--lr, --seed, ...) apply over the parent's settings. A classical model
    /// refits. Not with --model, --config, --input-size, --horizon or --resume.
    #[arg(long, value_name = "NAME@V")]
    pub(crate) from: Option<String>,
    /// Continue an interrupted run from DIR/checkpoint (same data, spec and seed give the same weights).
    #[arg(long)]
    pub(crate) resume: bool,
    /// Save a resumable checkpoint every N steps (0 = never).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) checkpoint_every: usize,
    /// Print the training summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// Register the trained model in the registry under NAME (next version), with its data
    /// profile and validation metrics.
    #[arg(long, value_name = "NAME")]
    pub(crate) register: Option<String>,
    /// Registry directory for --register and --from (default: $NT_REGISTRY, else ./nt-registry).
    #[arg(long, value_name = "DIR")]
    pub(crate) registry: Option<PathBuf>,
    #[command(flatten, next_help_heading = "Training")]
    pub(crate) flags: NeuralFlags,
}

/// `nt predict`.
#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// A model directory written by `nt train` or `nt import`, or a registry reference: NAME (the
    /// production version), NAME@VERSION or NAME@latest. An existing directory of that name wins.
    #[arg(long, value_name = "DIR|NAME[@V]")]
    pub(crate) model: String,
    /// Registry for a `--model` reference (default: $NT_REGISTRY, else ./nt-registry).
    #[arg(long, value_name = "DIR")]
    pub(crate) registry: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Steps to forecast (at most the model's horizon; default: the model's horizon).
    #[arg(long, short = 'H')]
    pub(crate) horizon: Option<usize>,
    /// Weights of the single-window path: f32 (exact) or bf16 (half the memory traffic,
    /// forecasts within about 1% of f32's; where bf16 would not be faster on this CPU at this
    /// model's size, f32 runs and a line on stderr says so).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub(crate) precision: PrecisionArg,
    /// For a model with future-known exogenous columns (`--futr-exog`): a CSV/Parquet file with
    /// those columns over at least the model's horizon of rows after the data's last timestamp.
    #[arg(long, value_name = "FILE")]
    pub(crate) future: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Write a plot of the history tail, the forecast and its bands to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub(crate) plot: Option<PathBuf>,
    /// For a model that forecasts by sample paths (deepar): write every path to FILE.csv or
    /// FILE.parquet, one row per (target, path, step): columns target, path, step, timestamp,
    /// value. The printed point and bands are the mean and quantiles of the same paths.
    #[arg(long, value_name = "FILE")]
    pub(crate) paths: Option<PathBuf>,
    /// Sample paths per forecast for such a model (1 to 100000; default 100, neuralforecast's
    /// `trajectory_samples`). Without --paths the forecast still comes from them.
    #[arg(long, value_name = "N")]
    pub(crate) samples: Option<usize>,
    /// Seed of the sample paths: the same seed gives the same paths.
    #[arg(long, value_name = "SEED")]
    pub(crate) seed: Option<u64>,
}

/// `--precision` of `nt predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PrecisionArg {
    /// 32-bit float weights.
    F32,
    /// bfloat16 weights, f32 accumulation.
    Bf16,
}

/// `nt import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Where the weights come from: `neuralforecast` (a state_dict saved with safetensors).
    #[arg(long, default_value = "neuralforecast")]
    pub(crate) from: String,
    /// The weights file (`.safetensors`).
    #[arg(value_name = "WEIGHTS")]
    pub(crate) weights: PathBuf,
    /// The model spec JSON describing the same architecture: `{"model": "nhits", "input_size": 24, ...}`
    /// (the older `{"model": ..., "config": {...}}` is read too), or the bare config without
    /// `model` that tools/reference writes, with `--model`.
    #[arg(long, value_name = "FILE.json")]
    pub(crate) config: PathBuf,
    /// The architecture of a bare `--config` (nhits, nbeats, dlinear, nlinear, ...); when the
    /// config names its model, the two must agree.
    #[arg(long, value_name = "NAME")]
    pub(crate) model: Option<String>,
    /// The model directory to write.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

/// `nt forecast`.
#[derive(Debug, Args)]
pub(crate) struct ForecastArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// The model to fit on all the data: naive, seasonal-naive, drift, mean, ets, mstl,
    /// elasticnet, ... or ensemble (of --members, combined by --combiner).
    #[arg(long, default_value = "ets")]
    pub(crate) model: String,
    /// Steps ahead to forecast.
    #[arg(long, short = 'H', default_value_t = 24)]
    pub(crate) horizon: usize,
    /// Past values the model sees (ElasticNet's lags). Default: 2 seasons, at least 2 × horizon.
    #[arg(long, value_name = "L")]
    pub(crate) input_size: Option<usize>,
    /// Season length in rows (default: from the time step).
    #[arg(long, value_name = "S")]
    pub(crate) season: Option<usize>,
    /// Central prediction-interval levels in percent.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "80,95"
    )]
    pub(crate) level: Vec<f64>,
    #[command(flatten)]
    pub(crate) arima: ArimaOrderArgs,
    #[command(flatten)]
    pub(crate) ensemble: crate::ensemble_flags::EnsembleArgs,
    #[command(flatten)]
    pub(crate) hybrid: HybridArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Write a plot of the history tail, the forecast and its bands to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub(crate) plot: Option<PathBuf>,
}

/// `nt demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Run on this file instead of the built-in sample market.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<PathBuf>,
    /// Column to forecast in --data (default: close, else the last column).
    #[arg(long, value_name = "COL")]
    pub(crate) target: Option<String>,
    /// Seed of the sample market.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Hourly rows of the sample market.
    #[arg(long, default_value_t = 24 * 7 * 26)]
    pub(crate) rows: usize,
    /// Steps ahead to forecast.
    #[arg(long, short = 'H', default_value_t = 24)]
    pub(crate) horizon: usize,
    /// Forecast origins scored (the last N, `--step` apart).
    #[arg(long, default_value_t = 40)]
    pub(crate) windows: usize,
    /// Rows between origins.
    #[arg(long, default_value_t = 24)]
    pub(crate) step: usize,
    /// Training steps of the demo's NHITS (0 leaves the neural model out).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub(crate) neural_steps: usize,
    /// Where to write the plot.
    #[arg(long, value_name = "FILE", default_value = "nt-demo.svg")]
    pub(crate) plot: PathBuf,
    /// Output format of the leaderboard.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Hide progress bars.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// Registry the demo's best model is registered in (default: $NT_REGISTRY, else
    /// ./nt-registry): the best model that beats the random walk, promoted to production; when
    /// none does, the NHITS, not promoted.
    #[arg(long, value_name = "DIR")]
    pub(crate) registry: Option<PathBuf>,
    /// Smallest MAE skill against the random walk that counts as beating it (a fraction), on
    /// top of a Diebold–Mariano p-value below 0.05.
    #[arg(long, value_name = "F", default_value_t = nt_eval::DEFAULT_MIN_SKILL)]
    pub(crate) min_skill: f64,
    /// Do not register anything.
    #[arg(long)]
    pub(crate) no_register: bool,
}

/// `nt bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Input size of every benchmarked model (neuralforecast's long-horizon default 480 = 5 × 96).
    #[arg(long, value_name = "L", default_value_t = 480)]
    pub(crate) input_size: usize,
    /// Horizon of every benchmarked model.
    #[arg(long, short = 'H', default_value_t = 96)]
    pub(crate) horizon: usize,
    /// Timed training steps per train-step case (after one untimed warm-up step).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) steps: usize,
    /// Repetitions of each latency case.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) reps: usize,
    /// Neural architectures benchmarked (train steps in f32 and bf16, then size, latency and
    /// throughput), comma-separated, or `all`. AutoETS runs with `all` only.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "all",
          value_parser = clap::builder::PossibleValuesParser::new(
              std::iter::once("all").chain(nt_neural::NeuralSpec::NAMES.iter().copied())))]
    pub(crate) arch: Vec<String>,
    /// Windows per training step (default: each architecture's reference batch, the
    /// `windows_batch_size` neuralforecast trains it with: 1,024 for NHITS, N-BEATS, the linear
    /// models and PatchTST, 128 for TCN).
    #[arg(long, value_name = "W")]
    pub(crate) windows_batch_size: Option<usize>,
}

/// Output format of `nt registry` listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RegFormat {
    /// Aligned, human-first table.
    Table,
    /// JSON for scripts.
    Json,
}

/// `nt registry`.
#[derive(Debug, Args)]
pub(crate) struct RegistryArgs {
    /// Registry directory (default: $NT_REGISTRY, else ./nt-registry).
    #[arg(long, value_name = "DIR", global = true)]
    pub(crate) registry: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RegFormat::Table, global = true)]
    pub(crate) format: RegFormat,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: RegistryCommand,
}

/// The `nt registry` subcommands. Model references are NAME (the production version),
/// NAME@VERSION, NAME@latest or NAME@production: the server's rule too.
#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// One line per model: versions, latest, production version, kind, skill.
    List,
    /// Everything recorded about one version.
    Show {
        /// NAME (production), NAME@VERSION or NAME@latest.
        model: String,
    },
    /// Move NAME@VERSION to production (the previous production version is archived).
    Promote {
        /// NAME@VERSION.
        model: String,
    },
    /// Move NAME@VERSION to the archived stage.
    Archive {
        /// NAME@VERSION.
        model: String,
    },
    /// Delete NAME@VERSION (its number is never reused; `gc` frees its weights). A production
    /// version needs --force.
    Delete {
        /// NAME@VERSION.
        model: String,
        /// Delete even a production version (servers loading it by name then have none).
        #[arg(long)]
        force: bool,
    },
    /// The event log (trained, registered, promoted, stage-changed, drift-alarm, drift-cleared,
    /// traffic-changed, deleted).
    Events {
        /// Only this model's events.
        name: Option<String>,
        /// The most recent N events (0 = all).
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
    },
    /// The registered versions whose embeddings are closest to this one's.
    Similar {
        /// NAME (production), NAME@VERSION or NAME@latest.
        model: String,
        /// How many.
        #[arg(short = 'k', long, default_value_t = 5)]
        k: usize,
    },
    /// Configurations of the best models trained on data most similar to FILE.
    Recommend {
        /// CSV or Parquet file to profile.
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
        /// Column to profile (default: close, else the last numeric column).
        #[arg(long, value_name = "COL")]
        target: Option<String>,
        /// Name of the time column (default: detected).
        #[arg(long, value_name = "COL")]
        time_col: Option<String>,
        /// What to do with empty or NaN cells: error, ffill, linear, drop.
        #[arg(long, value_name = "POLICY", default_value = "error")]
        fill: String,
        /// How many.
        #[arg(short = 'k', long, default_value_t = 5)]
        k: usize,
    },
    /// Delete weights no registered version references, and stale temporary files.
    Gc,
    /// Copy the registry to DEST while it may be in use (SQLite online backup + blobs).
    Backup {
        /// Destination directory (must not hold a registry yet).
        dest: PathBuf,
    },
    /// Canary and shadow routes of a model: servers send a canary its share of the requests for
    /// NAME (sticky on the request's `route_key`) and have a shadow forecast every one of them
    /// without answering. Routes not named are kept; with no flags, prints the policy.
    Route {
        /// Model name.
        name: String,
        /// NAME@VERSION:PERCENT (e.g. m@3:10% or m@3:10): that version answers that share
        /// (0 < percent < 100) of the requests for NAME.
        #[arg(long, value_name = "NAME@V:P%")]
        canary: Option<String>,
        /// NAME@VERSION: that version forecasts every request for NAME; only production (or
        /// the canary) answers.
        #[arg(long, value_name = "NAME@V")]
        shadow: Option<String>,
        /// Remove the canary route.
        #[arg(long)]
        no_canary: bool,
        /// Remove the shadow route.
        #[arg(long)]
        no_shadow: bool,
        /// Remove every route (all requests to production).
        #[arg(long)]
        clear: bool,
        /// Routing seed (default: kept, or a hash of NAME): a new seed reshuffles which keys go
        /// to the canary.
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
    },
    /// Two versions' live scores side by side (last 100, last 1,000, since deployment) and a
    /// Diebold–Mariano test on their paired errors: which is better, and whether the
    /// difference is significant at 5%.
    Compare {
        /// NAME@A (or NAME for production, NAME@latest).
        a: String,
        /// NAME@B.
        b: String,
        /// Per-origin loss the test compares: squared or absolute error.
        #[arg(long, value_enum, default_value_t = CompareLoss::Squared)]
        loss: CompareLoss,
    },
    /// Make the version that was production before the current one production again (a
    /// second rollback undoes the first); servers switch at their next reload.
    Rollback {
        /// Model name.
        name: String,
    },
}

/// The loss `nt registry compare` tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CompareLoss {
    /// Squared error.
    Squared,
    /// Absolute error.
    Absolute,
}

impl CompareLoss {
    /// The lowercase name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CompareLoss::Squared => "squared",
            CompareLoss::Absolute => "absolute",
        }
    }
}
