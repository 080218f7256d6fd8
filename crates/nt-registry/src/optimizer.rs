//! Optimizer state of neural versions: the `optimizer.safetensors` a training run writes beside
//! the weights (Adam's moments and step count, `nt_neural::warm_start`), stored as a
//! content-addressed blob like the weights and named in the version's stored manifest
//! (`optimizer_sha256`). Versions registered before optimizer files existed, imports and
//! classical models have none. Warm-start retraining reads it back with
//! [`Registry::optimizer_state`]; [`Registry::export`] writes it into the exported directory.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::store::{parse_json, write_durable, Registry};
use crate::{Error, Result};

/// The optimizer file named by a model directory's manifest, read and checked against the
/// manifest's sha256: `(sha256, bytes)`, or `None` when the manifest names none.
pub(crate) fn read_from_dir(
    model_dir: &Path,
    manifest: &nt_models::Manifest,
) -> Result<Option<(String, Vec<u8>)>> {
    let (Some(file), Some(expected)) = (&manifest.optimizer_file, &manifest.optimizer_sha256)
    else {
        return Ok(None);
    };
    let path = model_dir.join(file);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let got = nt_neural::checkpoint::sha256_hex(&bytes);
    if &got != expected {
        return Err(Error::Corrupt {
            path: path.display().to_string(),
            expected: expected.clone(),
            got,
        });
    }
    Ok(Some((got, bytes)))
}

/// The `optimizer_sha256` of a stored manifest's JSON text, if any.
fn sha_of_manifest(text: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()?
        .get("optimizer_sha256")?
        .as_str()
        .map(str::to_string)
}

/// Every optimizer blob the versions in `conn` reference (what gc keeps and backup copies).
pub(crate) fn referenced(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT manifest FROM versions")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for text in rows {
        if let Some(sha) = sha_of_manifest(&text?) {
            out.push(sha);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

impl Registry {
    /// The optimizer file of `name@version` (bytes of `optimizer.safetensors`, read with
    /// `nt_neural::OptimizerState::from_bytes`), after checking the blob's sha256 against the
    /// one recorded at registration ([`Error::Corrupt`] otherwise); `None` for a version
    /// registered without one.
    pub fn optimizer_state(&self, name: &str, version: u32) -> Result<Option<Vec<u8>>> {
        crate::validate_name(name)?;
        let manifest: Option<String> = {
            let conn = self.conn();
            conn.query_row(
                "SELECT manifest FROM versions WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?
        };
        let Some(manifest) = manifest else {
            self.get(name, crate::VersionSelector::Number(version))?;
            return Err(Error::not_found("version", format!("{name}@{version}")));
        };
        let Some(sha) = sha_of_manifest(&manifest) else {
            return Ok(None);
        };
        let path = self.blob_path(&sha);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let got = nt_neural::checkpoint::sha256_hex(&bytes);
        if got != sha {
            return Err(Error::Corrupt {
                path: path.display().to_string(),
                expected: sha,
                got,
            });
        }
        Ok(Some(bytes))
    }

    /// Writes the optimizer file of `name@version`, when it has one, into the model directory
    /// `out_dir` (already exported) and records it in that directory's `model.json`.
    pub(crate) fn export_optimizer(&self, name: &str, version: u32, out_dir: &Path) -> Result<()> {
        let Some(bytes) = self.optimizer_state(name, version)? else {
            return Ok(());
        };
        let file = nt_neural::warm_start::OPTIMIZER_FILE;
        write_durable(&out_dir.join(file), &bytes)?;
        let mpath = out_dir.join(nt_models::MODEL_JSON);
        let text = std::fs::read_to_string(&mpath).map_err(|e| Error::io(&mpath, e))?;
        let mut manifest: nt_models::Manifest = parse_json(&text, &mpath.display().to_string())?;
        manifest.optimizer_file = Some(file.to_string());
        manifest.optimizer_sha256 = Some(nt_neural::checkpoint::sha256_hex(&bytes));
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Json {
            context: mpath.display().to_string(),
            source: e,
        })?;
        write_durable(&mpath, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_optimizer_sha_of_a_manifest_or_none() {
        assert_eq!(
            sha_of_manifest(r#"{"optimizer_sha256": "ab", "weights_sha256": "cd"}"#),
            Some("ab".into())
        );
        assert_eq!(sha_of_manifest(r#"{"weights_sha256": "cd"}"#), None);
        assert_eq!(sha_of_manifest("not json"), None);
    }
}
