//! The Theta family (standard, optimized, dynamic, dynamic optimized) as statsforecast
//! implements them.
