//! ARIMA with fixed orders and AutoARIMA (the stepwise search of statsforecast's port of R's
//! `auto.arima`).
