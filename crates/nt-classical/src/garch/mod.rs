//! GARCH(p, q) and GJR-GARCH volatility models fitted by maximum likelihood to returns.
