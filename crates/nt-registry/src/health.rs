//! Registry health: whether the database file a [`Registry`] has open is still the file at its
//! path, and still answers a trivial query.
//!
//! SQLite keeps reading (and writing) a database file that was removed or replaced while it
//! was open: the connection holds the old file, and everything it commits is lost with it. A
//! long-running reader such as `nt serve` therefore records the files' identities right after
//! opening ([`Registry::db_files`]) and checks them periodically ([`Registry::health`]); on
//! [`RegistryHealth::Unavailable`] it stops using this `Registry` (dropping it closes the
//! connection) and opens the directory again once a database file is back, after
//! [`remove_stale_sidecars`]: SQLite neither checkpoints nor deletes the `-wal` and `-shm`
//! files of a database file that was removed, and would apply that WAL to whatever file is put
//! at the path next.

use std::path::{Path, PathBuf};

use crate::store::DB_FILE;
use crate::{Error, Registry, Result};

/// The identity of a file: device, inode and, where the file system records it, creation
/// time (an inode number freed by a removed file can be reused by the next file created, such
/// as a restored copy; its creation time differs). Elsewhere than on Unix only the creation
/// time, when known, is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbFileId {
    dev: u64,
    ino: u64,
    born: Option<std::time::SystemTime>,
}

/// The identities of a registry's database file and of its `-wal` and `-shm` files, taken
/// right after opening ([`Registry::db_files`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbFiles {
    /// The database file.
    pub db: DbFileId,
    wal: Option<DbFileId>,
    shm: Option<DbFileId>,
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
            born: meta.created().ok(),
        })
    }
    #[cfg(not(unix))]
    {
        Ok(DbFileId {
            dev: 0,
            ino: 0,
            born: meta.created().ok(),
        })
    }
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// After the database file a registry opened (with `files`, from [`Registry::db_files`]) was
/// removed or replaced: removes the `-wal` and `-shm` files in `dir` that are still the ones
/// that registry had, unless the database file at the path is the very file it had (then they
/// are its own, and may hold committed transactions). Call it before opening `dir` again;
/// returns how many files it removed.
///
/// SQLite does not checkpoint or delete the WAL of a database file that was moved away, and it
/// would apply those frames, written for another file, to the file now at the path.
pub fn remove_stale_sidecars(dir: &Path, files: &DbFiles) -> Result<usize> {
    let db = dir.join(DB_FILE);
    if file_id(&db).ok() == Some(files.db) {
        return Ok(0);
    }
    let mut removed = 0;
    for (suffix, id) in [("-wal", files.wal), ("-shm", files.shm)] {
        let path = sidecar(&db, suffix);
        if id.is_some() && file_id(&path).ok() == id {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
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

    /// The identities of the database file and its `-wal` / `-shm` files now (taken right after
    /// [`Registry::open`]: the files the connection holds). [`Error::Io`] when the database
    /// file is missing.
    pub fn db_files(&self) -> Result<DbFiles> {
        let db = self.db_path();
        Ok(DbFiles {
            db: self.db_file_id()?,
            wal: file_id(&sidecar(&db, "-wal")).ok(),
            shm: file_id(&sidecar(&db, "-shm")).ok(),
        })
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
