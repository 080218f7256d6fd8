//! Registry upkeep: garbage collection of unreferenced blobs and online backups.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::store::{is_sha256_hex, write_durable, Registry, BLOBS_DIR, DB_FILE, TEMP_GRACE};
use crate::{Error, GcReport, Result};

impl Registry {
    /// Deletes blobs that no registered version references and temporary files abandoned by
    /// killed writers (older than a minute). Holds the write lock meanwhile, so a concurrent
    /// registration (which re-checks its blob under that lock) never loses its weights.
    /// Deletes blobs that no registered version references and temporary files abandoned by
    /// killed writers (older than a minute). Holds the write lock meanwhile, so a concurrent
    /// registration (which re-checks its blob under that lock) never loses its weights.
    pub fn gc(&self) -> Result<GcReport> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.sql(e))?;
        let referenced: std::collections::HashSet<String> = {
            let mut stmt = tx
                .prepare("SELECT DISTINCT weights_sha256 FROM versions")
                .map_err(|e| self.sql(e))?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(|e| self.sql(e))?;
            let mut set: std::collections::HashSet<String> = rows
                .collect::<rusqlite::Result<_>>()
                .map_err(|e| self.sql(e))?;
            // Optimizer states (warm-start retraining) are blobs too.
            set.extend(crate::optimizer::referenced(&tx).map_err(|e| self.sql(e))?);
            set
        };
        let blobs = self.dir.join(BLOBS_DIR);
        let mut report = GcReport::default();
        let entries = std::fs::read_dir(&blobs).map_err(|e| Error::io(&blobs, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&blobs, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let meta = entry.metadata().map_err(|e| Error::io(&path, e))?;
            if name.starts_with(".tmp-") {
                let old = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|age| age > TEMP_GRACE);
                if old {
                    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                    report.removed_temp_files += 1;
                }
            } else if is_sha256_hex(&name) {
                if referenced.contains(&name) {
                    report.kept_blobs += 1;
                } else {
                    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                    report.removed_blobs += 1;
                    report.freed_bytes += meta.len();
                }
            }
        }
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(report)
    }

    /// Copies the registry into `dest_dir` while it may be in use: the database through
    /// SQLite's online backup API (one consistent snapshot), then every blob that snapshot
    /// references (blobs are immutable). `dest_dir` must not already hold a registry. The copy
    /// opens with [`Registry::open`] like the original.
    pub fn backup(&self, dest_dir: &Path) -> Result<()> {
        let dest_db = dest_dir.join(DB_FILE);
        if dest_db.exists() {
            return Err(Error::invalid(
                "backup destination",
                format!("{} already holds a registry", dest_dir.display()),
            ));
        }
        if let (Ok(a), Ok(b)) = (dest_dir.canonicalize(), self.dir.canonicalize()) {
            if a == b {
                return Err(Error::invalid(
                    "backup destination",
                    "it is the registry directory itself",
                ));
            }
        }
        std::fs::create_dir_all(dest_dir.join(BLOBS_DIR)).map_err(|e| Error::io(dest_dir, e))?;
        let dsql = |e: rusqlite::Error| Error::Sqlite {
            path: dest_db.display().to_string(),
            source: e,
        };
        let mut dest = Connection::open(&dest_db).map_err(dsql)?;
        {
            let conn = self.conn();
            let backup = rusqlite::backup::Backup::new(&conn, &mut dest).map_err(dsql)?;
            // One step over every page: a single read snapshot of the source.
            backup
                .run_to_completion(i32::MAX, Duration::from_millis(0), None)
                .map_err(dsql)?;
        }
        let shas: Vec<String> = {
            let mut stmt = dest
                .prepare("SELECT DISTINCT weights_sha256 FROM versions")
                .map_err(dsql)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(dsql)?;
            let mut shas: Vec<String> = rows.collect::<rusqlite::Result<_>>().map_err(dsql)?;
            shas.extend(crate::optimizer::referenced(&dest).map_err(dsql)?);
            shas
        };
        for sha in shas {
            let src = self.blob_path(&sha);
            let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
            write_durable(&dest_dir.join(BLOBS_DIR).join(&sha), &bytes)?;
        }
        dest.close().map_err(|(_, e)| dsql(e))?;
        Ok(())
    }
}
