//! LSTM and GRU forecasters as neuralforecast 3.3 codes them (direct and recurrent modes),
//! with an optional multi-head attention head over the encoder states.
