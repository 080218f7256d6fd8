//! The forecast horizon.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How many steps ahead to forecast; always at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "usize", into = "usize")]
pub struct Horizon(usize);

impl Horizon {
    /// A horizon of `steps` steps; an error when `steps` is 0.
    pub fn new(steps: usize) -> Result<Self> {
        if steps == 0 {
            return Err(Error::invalid("horizon", "must be at least 1 step"));
        }
        Ok(Self(steps))
    }

    /// The number of steps.
    pub fn get(self) -> usize {
        self.0
    }
}

impl TryFrom<usize> for Horizon {
    type Error = Error;
    fn try_from(steps: usize) -> Result<Self> {
        Self::new(steps)
    }
}

impl From<Horizon> for usize {
    fn from(h: Horizon) -> usize {
        h.0
    }
}

impl std::fmt::Display for Horizon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_rejected_and_serde_validates() {
        assert!(Horizon::new(0).is_err());
        assert_eq!(Horizon::new(24).map(Horizon::get).ok(), Some(24));
        assert!(serde_json::from_str::<Horizon>("0").is_err());
        assert_eq!(
            serde_json::from_str::<Horizon>("7").ok(),
            Horizon::new(7).ok()
        );
    }
}
