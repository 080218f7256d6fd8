//! An ensemble's model directory: `model.json` (the ensemble spec) beside one payload file,
//! `ensemble.bin`, because a registry stores exactly one payload per version.
//!
//! `ensemble.bin` is a container: the magic line `NTENSEMBLE1\n`, the length of a JSON header
//! as 8 little-endian bytes, the header, then the members' payloads back to back. The header
//! holds the weights, the validation summary and, per member, its whole manifest (spec,
//! targets, meta, the sha256 of its payload, a calibration) and its payload's offset and
//! length after the header. Each member is written by its own `save` into a temporary
//! directory inside the target one, read back and removed, so the bytes are exactly what the
//! member writes alone; loading checks every member payload against its manifest's sha256.

use std::path::Path;

use nt_neural::checkpoint::sha256_hex;
use serde::{Deserialize, Serialize};

use super::{EnsembleModel, EnsembleSpec, Validation};
use crate::persist::{from_parts, read_manifest, write_model_dir, Manifest};
use crate::{Error, Forecaster, Result};

/// The payload file of an ensemble directory.
pub const ENSEMBLE_FILE: &str = "ensemble.bin";
/// The first bytes of [`ENSEMBLE_FILE`].
const MAGIC: &[u8] = b"NTENSEMBLE1\n";

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    weights: Vec<Vec<f64>>,
    validation: Validation,
    members: Vec<MemberEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MemberEntry {
    manifest: Manifest,
    offset: u64,
    len: u64,
}

/// Writes `model` as a directory: `ensemble.bin` then `model.json`, each atomically.
pub(crate) fn save(model: &EnsembleModel, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut members = Vec::new();
    let mut blobs: Vec<u8> = Vec::new();
    for (i, member) in model.members().iter().enumerate() {
        let tmp = dir.join(format!(".ensemble-member-{i}.tmp"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
        }
        let written = member.save(&tmp).and_then(|()| {
            let manifest = read_manifest(&tmp)?;
            let path = tmp.join(&manifest.weights_file);
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            Ok((manifest, bytes))
        });
        let cleaned = std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e));
        let (mut manifest, bytes) = written?;
        cleaned?;
        // Only the payload travels; an optimizer state stays out of the ensemble.
        manifest.optimizer_file = None;
        manifest.optimizer_sha256 = None;
        members.push(MemberEntry {
            manifest,
            offset: blobs.len() as u64,
            len: bytes.len() as u64,
        });
        blobs.extend_from_slice(&bytes);
    }
    let header = Header {
        weights: model.weights().to_vec(),
        validation: model.validation().clone(),
        members,
    };
    let header = serde_json::to_vec(&header)
        .map_err(|e| Error::model_dir(dir.display().to_string(), e.to_string()))?;
    let mut payload = Vec::with_capacity(MAGIC.len() + 8 + header.len() + blobs.len());
    payload.extend_from_slice(MAGIC);
    payload.extend_from_slice(&(header.len() as u64).to_le_bytes());
    payload.extend_from_slice(&header);
    payload.extend_from_slice(&blobs);
    write_model_dir(
        dir,
        &model.spec(),
        model.targets(),
        model.meta(),
        model.params(),
        ENSEMBLE_FILE,
        &payload,
    )
}

/// Rebuilds an ensemble of `spec` from its manifest and its (verified) `ensemble.bin` bytes.
pub(crate) fn load(
    spec: &EnsembleSpec,
    manifest: &Manifest,
    payload: &[u8],
) -> Result<Box<dyn Forecaster>> {
    let bad = |reason: String| Error::model_dir(ENSEMBLE_FILE, reason);
    let rest = payload
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("not an ensemble container (magic line missing)".into()))?;
    if rest.len() < 8 {
        return Err(bad("truncated before the header length".into()));
    }
    let (len, rest) = rest.split_at(8);
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(len);
    let header_len = usize::try_from(u64::from_le_bytes(len_bytes))
        .map_err(|_| bad("header length overflows".into()))?;
    if rest.len() < header_len {
        return Err(bad(format!(
            "header of {header_len} bytes, {} left",
            rest.len()
        )));
    }
    let (header, blobs) = rest.split_at(header_len);
    let header: Header = serde_json::from_slice(header).map_err(|e| bad(format!("header: {e}")))?;
    if header.members.len() != spec.members.len() {
        return Err(bad(format!(
            "{} members stored, the spec lists {}",
            header.members.len(),
            spec.members.len()
        )));
    }
    let mut members = Vec::with_capacity(header.members.len());
    for (i, entry) in header.members.iter().enumerate() {
        let start = usize::try_from(entry.offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(entry.len).unwrap_or(usize::MAX));
        let bytes = blobs
            .get(start..end)
            .ok_or_else(|| bad(format!("member {i}'s payload lies outside the file")))?;
        let got = sha256_hex(bytes);
        if got != entry.manifest.weights_sha256 {
            return Err(bad(format!(
                "member {i}'s payload has sha256 {got}, its manifest records {}",
                entry.manifest.weights_sha256
            )));
        }
        members.push(from_parts(&entry.manifest, bytes)?);
    }
    Ok(Box::new(EnsembleModel::new(
        spec.clone(),
        members,
        header.weights,
        header.validation,
        manifest.meta.clone(),
    )?))
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}
