//! [`LstmConfig`]: neuralforecast 3.3's `LSTM` (an `nn.LSTM` encoder and an MLP decoder, or a
//! recurrent one-step forecaster with the LSTM's own output projection).

use super::config::{rnn_config, CellKind};

rnn_config!(
    /// LSTM's hyper-parameters (neuralforecast's names; its defaults as of 3.3.0).
    ///
    /// | field | default | meaning | range |
    /// |---|---|---|---|
    /// | `input_size` | 288 | past values L (neuralforecast's default is 3·H; 288 = 3·96); the network reads L + 1 in recurrent mode | ≥ 1 |
    /// | `horizon` | 96 | steps forecast H | ≥ 1 |
    /// | `recurrent` | `false` | forecast one step at a time, each forecast fed back as the next input | |
    /// | `h_train` | 1 | recurrent mode: steps each training window scores, the true targets fed in (teacher forcing) | ≥ 1 |
    /// | `encoder_n_layers` | 2 | stacked LSTM layers | ≥ 1 |
    /// | `encoder_hidden_size` | 128 | hidden units C | ≥ 1 |
    /// | `encoder_bias` | `true` | biases `b_ih`, `b_hh` | |
    /// | `encoder_dropout` | 0.0 | dropout on every layer's output but the last (training only) | [0, 1) |
    /// | `decoder_hidden_size` | 128 | width of the decoder MLP's hidden layers (direct mode) | ≥ 1 |
    /// | `decoder_layers` | 2 | linear layers of the decoder (1: one linear map) (direct mode) | ≥ 1 |
    /// | `decoder_activation` | `ReLU` | after each hidden decoder layer (direct mode) | [`crate::Activation`] |
    /// | `attention_heads` | 0 | heads of the causal self-attention over the encoder states (0: none, neuralforecast's network) | 0, or divides C |
    /// | `hist_exog_list` | `[]` | historic exogenous columns | distinct names |
    /// | `futr_exog_list` | `[]` | future-known exogenous columns | distinct names |
    /// | `train` | [`super::rnn_train_defaults`] | training loop | |
    ///
    /// In recurrent mode the LSTM has neuralforecast's `proj_size = Q` (its last layer's `h` is
    /// the forecast) and no MLP decoder; with attention it has no projection and a `proj`
    /// linear map after the attention instead (see [`super`]). Static exogenous inputs are not
    /// supported; neuralforecast's deprecated `context_size` is not a field.
    LstmConfig,
    CellKind::Lstm,
    128,
    "lstm",
    "LSTM: stacked LSTM encoder and an MLP decoder, or recurrent one-step mode (exogenous inputs, optional attention)"
);
