//! (being written: issue 14)

/// The tables this module owns, created by schema migration 4.
pub(crate) const TABLES: &str = "";
