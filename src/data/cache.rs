//! The data sets of a batch, loaded once each and shared by its runs, and the prepared
//! (split, standardised) parts of one run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Dataset, Prepared, load_dataset, load_ood, make_split, prepare};
use crate::error::DataError;
use crate::spec::{RunConfig, RunSpec};

/// Data sets of a batch, loaded once each (keyed by the data section and its seed), on first
/// use; search trials may ask for new ones.
#[derive(Default)]
pub struct DataCache {
    sets: Mutex<BTreeMap<String, Arc<Dataset>>>,
}

impl DataCache {
    /// Loads every distinct data set the runs use; a missing or malformed file is an error here,
    /// before any run starts.
    pub fn load(runs: &[RunSpec]) -> Result<Self, DataError> {
        let cache = DataCache::default();
        for run in runs {
            cache.get(&run.config)?;
            cache.ood(&run.config)?;
        }
        Ok(cache)
    }

    fn key(config: &RunConfig) -> String {
        format!(
            "{}#{}",
            serde_json::to_string(&config.data).unwrap_or_default(),
            config.data_seed()
        )
    }

    /// The data set of a run (loaded now if it was not yet).
    pub fn get(&self, config: &RunConfig) -> Result<Arc<Dataset>, DataError> {
        self.cached(Self::key(config), || {
            load_dataset(&config.data, config.data_seed())
        })
    }

    /// A data set read from a `[data]`-like section, cached under `key`.
    fn cached(
        &self,
        key: String,
        load: impl FnOnce() -> Result<Dataset, DataError>,
    ) -> Result<Arc<Dataset>, DataError> {
        if let Some(set) = self
            .sets
            .lock()
            .expect("no panics hold this lock")
            .get(&key)
        {
            return Ok(Arc::clone(set));
        }
        let set = Arc::new(load()?);
        self.sets
            .lock()
            .expect("no panics hold this lock")
            .insert(key, Arc::clone(&set));
        Ok(set)
    }

    /// The out-of-distribution data sets of a run, by name, each cut to its `rows`; an error when
    /// one has not as many input features as the training data.
    pub fn ood(&self, config: &RunConfig) -> Result<Vec<(String, Arc<Dataset>)>, DataError> {
        let features = self.get(config)?.n_features();
        config
            .data
            .ood
            .iter()
            .map(|(name, ood)| {
                let key = format!("ood#{}", serde_json::to_string(ood).unwrap_or_default());
                let set = self.cached(key, || {
                    let set = load_ood(&ood.as_data())?;
                    Ok(match ood.rows {
                        Some(rows) if rows < set.len() => {
                            set.select(&(0..rows).collect::<Vec<_>>())
                        }
                        _ => set,
                    })
                })?;
                if set.n_features() != features {
                    return Err(DataError::Invalid(format!(
                        "data.ood.{name}: {} has {} input features, the training data {features};                          an OOD part must have the inputs the model takes",
                        ood.path.display(),
                        set.n_features()
                    )));
                }
                Ok((name.clone(), set))
            })
            .collect()
    }

    /// The standardised train/valid/test parts of a run's split, and its OOD inputs.
    pub fn prepare(&self, config: &RunConfig) -> Result<Prepared, DataError> {
        let set = self.get(config)?;
        let split = make_split(
            set.len(),
            &config.data.split,
            config.split as usize,
            config.split_seed(),
        )?;
        let ood = self.ood(config)?;
        let prepared = prepare(&set, &split, config.data.standardize);
        Ok(prepared.with_ood(ood.iter().map(|(n, s)| (n.clone(), s.as_ref())).collect()))
    }
}
