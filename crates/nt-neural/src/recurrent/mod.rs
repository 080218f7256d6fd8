//! The recurrent kernel: LSTM and GRU layers in plain Rust (PyTorch's `nn.LSTM`/`nn.GRU`
//! equations and weight layout), with backpropagation through time, shared by the LSTM, GRU
//! and DeepAR architectures.
