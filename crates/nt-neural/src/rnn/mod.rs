//! LSTM and GRU forecasters as neuralforecast 3.3 codes them (direct and recurrent modes),
//! with an optional multi-head attention head over the encoder states.
//!
//! The network, for one window (`C_in = 1 + C_hist + C_futr` channels, neuralforecast's order:
//! the target, the historic exogenous channels, the future ones):
//! - **Direct mode** (`recurrent: false`, neuralforecast's default): the stacked recurrent
//!   layers (`nn.LSTM`/`nn.GRU`, batch-first, zero initial state, dropout between layers in
//!   training) over the `L` input rows; optionally the attention head over the last layer's
//!   states (the private `attention` module: causal multi-head self-attention, residual,
//!   LayerNorm); the states of the last `H` steps, or, when `H > L`, `Linear(L → H)` over time
//!   (`upsample_sequence`); the future channels' `H` horizon rows joined as extra channels;
//!   neuralforecast's MLP decoder per step.
//! - **Recurrent mode** (`recurrent: true`): the network reads `n = L + 1` rows (its
//!   BaseModel adds one). Step `t` reads the target of row `t`, the historic channels of row
//!   `t + 1` (zero from the first horizon row on) and the future channels of row `t + 1`, and
//!   its output forecasts row `t + 1`: for LSTM the last layer's `h` itself (`proj_size = Q`,
//!   `weight_hr_l{k}` in every layer), for GRU a linear map `proj` (`C → Q`). Training scores
//!   the last `h_train` steps of the sequence of the `n` window targets and the first
//!   `h_train − 1` true targets (teacher forcing). Forecasting runs the window, then one
//!   step per horizon step fed the mean of the previous step's outputs (neuralforecast's
//!   `_predict_step_recurrent_batch`), continuing the recurrent state: the plain-Rust engine
//!   of the private `fast` module. With attention, a recurrent LSTM has no projection and
//!   ends in `proj` like the GRU (the attention needs the `C`-wide states).
//!
//! Weight names are neuralforecast's `state_dict` names (`hist_encoder.weight_ih_l0`, ...,
//! `mlp_decoder.layers.{j}.*`, `upsample_sequence.*`, `proj.*`), so its checkpoints import as
//! they are; the attention's (`attention.*`) have no neuralforecast peer. Static exogenous
//! inputs are not supported.

mod attention;
pub(crate) mod config;
pub(crate) mod fast;
mod gru;
mod lstm;
pub(crate) mod network;

pub use config::{rnn_train_defaults, CellKind};
pub use gru::GruConfig;
pub use lstm::LstmConfig;
pub use network::Rnn;

#[cfg(test)]
mod tests;
