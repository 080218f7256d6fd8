//! Registry health: whether the database file a [`Registry`] has open is still the file at its
//! path, and still answers a trivial query.
//!
//! SQLite keeps reading (and writing) a database file that was removed or replaced while it
//! was open: the connection holds the old file, and everything it commits is lost with it. A
//! long-running reader such as `nt serve` therefore records the file's identity right after
//! opening ([`Registry::db_file_id`]) and checks it periodically ([`Registry::health`]); on
//! [`RegistryHealth::Unavailable`] it stops using this `Registry` (dropping it closes the
//! connection) and opens the directory again once the file is back.

use std::path::PathBuf;

use crate::store::DB_FILE;
use crate::{Error, Registry, Result};

/// The identity of the database file: device and inode on Unix (elsewhere only the file's
/// existence is checked, and every identity compares equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbFileId {
    dev: u64,
    ino: u64,
}

/// The outcome of [`Registry::health`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryHealth {
    /// The database file is the one this `Registry` opened, and it answers.
    Healthy,
    /// The registry cannot be used: the file is missing or was replaced, or the database does
    /// not answer. The reason names the file by its name only, never by its absolute path.
    Unavailable {
        /// What is wrong.
        reason: String,
    },
}

fn file_id(path: &std::path::Path) -> std::io::Result<DbFileId> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(DbFileId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(DbFileId { dev: 0, ino: 0 })
    }
}

impl Registry {
    /// The database file (`DIR/registry.db`).
    pub fn db_path(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    /// The identity of the file at [`Registry::db_path`] now ([`Error::Io`] when it is
    /// missing). Taken right after [`Registry::open`], it is the identity of the file the
    /// connection holds.
    pub fn db_file_id(&self) -> Result<DbFileId> {
        let path = self.db_path();
        file_id(&path).map_err(|e| Error::io(&path, e))
    }

    /// Whether the database file is still `expected` (the identity taken after opening) and a
    /// trivial query on the connection works. Blocks on the connection like every call.
    pub fn health(&self, expected: DbFileId) -> RegistryHealth {
        let unavailable = |reason: String| RegistryHealth::Unavailable { reason };
        match file_id(&self.db_path()) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return unavailable(format!("the database file {DB_FILE} is missing"))
            }
            Err(e) => return unavailable(format!("the database file {DB_FILE}: {e}")),
            Ok(id) if id != expected => {
                return unavailable(format!(
                    "the database file {DB_FILE} was replaced by another file since it was opened"
                ))
            }
            Ok(_) => {}
        }
        let answer: rusqlite::Result<i64> =
            self.conn()
                .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                    r.get(0)
                });
        match answer {
            Ok(_) => RegistryHealth::Healthy,
            Err(e) => unavailable(format!("the database does not answer: {e}")),
        }
    }
}
