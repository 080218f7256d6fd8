//! DeepAR (Salinas et al., 2020): an autoregressive LSTM with a distribution head, trained by
//! likelihood, forecasting by sample paths.
