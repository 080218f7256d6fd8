//! Similarity search over the model versions' embeddings (`similar`, `recommend`) and the
//! cached index behind it, rebuilt when the registry's generation changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::embedding::{cosine, profile_block, skill_of, PROFILE_RANGE};
use crate::index::{VectorIndex, HNSW_THRESHOLD};
use crate::store::{ModelsIndex, Registry};
use crate::{DataProfile, Recommendation, Result, SimilarModel, VersionSelector};

impl Registry {
    /// The model versions and their embedding index, rebuilt when the generation moved.
    pub(crate) fn models_index(&self) -> Result<Arc<ModelsIndex>> {
        let generation = self.generation()?;
        let mut cache = self.models_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.as_ref().filter(|c| c.generation == generation) {
            return Ok(Arc::clone(c));
        }
        let versions = self.all_versions()?;
        let vectors: Vec<Vec<f32>> = versions.iter().map(|v| v.embedding.clone()).collect();
        let metadata = versions
            .iter()
            .map(crate::collections::model_metadata)
            .collect();
        let index = VectorIndex::build(crate::EMBEDDING_DIM, &vectors, metadata, HNSW_THRESHOLD);
        let built = Arc::new(ModelsIndex {
            generation,
            versions,
            index,
        });
        *cache = Some(Arc::clone(&built));
        Ok(built)
    }

    /// The `k` versions (other than `name@version` itself) whose embeddings are closest by
    /// cosine, best first.
    pub fn similar(&self, name: &str, version: u32, k: usize) -> Result<Vec<SimilarModel>> {
        let me = self.get(name, VersionSelector::Number(version))?;
        let idx = self.models_index()?;
        let hits = idx.index.search(&me.embedding, k + 1, None, None);
        Ok(hits
            .into_iter()
            .filter_map(|h| {
                let m = &idx.versions[h.row];
                (!(m.name == me.name && m.version == me.version)).then(|| SimilarModel {
                    score: h.score,
                    model: m.clone(),
                })
            })
            .take(k)
            .collect())
    }

    /// Proposes configurations for a new series: every version with a recorded data profile is
    /// scored by the cosine between its data block and `profile`'s, plus `0.25 ×
    /// clamp(skill, -1, 1)` when its skill against the random walk is known; the best version
    /// of each model name is kept and the `k` best are returned, best first.
    pub fn recommend(&self, profile: &DataProfile, k: usize) -> Result<Vec<Recommendation>> {
        let query = profile_block(Some(profile));
        let idx = self.models_index()?;
        let mut best: BTreeMap<&str, Recommendation> = BTreeMap::new();
        for m in &idx.versions {
            if m.profile.is_none() || m.embedding.len() < PROFILE_RANGE.end {
                continue;
            }
            let sim = cosine(&query, &m.embedding[PROFILE_RANGE]);
            let skill = skill_of(&m.metrics);
            let score = sim + 0.25 * skill.map(|s| s.clamp(-1.0, 1.0) as f32).unwrap_or(0.0);
            let rec = Recommendation {
                data_similarity: sim,
                skill,
                score,
                model: m.clone(),
            };
            match best.get(m.name.as_str()) {
                Some(b) if b.score >= score => {}
                _ => {
                    best.insert(m.name.as_str(), rec);
                }
            }
        }
        let mut out: Vec<Recommendation> = best.into_values().collect();
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.model.name.cmp(&b.model.name))
        });
        out.truncate(k);
        Ok(out)
    }
}
