//! Volatility forecasts scored against realized squared returns (QLIKE, MSE) with a
//! Diebold–Mariano test against a rolling-variance baseline.
