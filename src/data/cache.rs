//! The data sets of a batch, loaded once each and shared by its runs, and the prepared
//! (split, standardised) parts of one run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Dataset, Prepared, load_dataset, make_split, prepare};
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
        let key = Self::key(config);
        if let Some(set) = self
            .sets
            .lock()
            .expect("no panics hold this lock")
            .get(&key)
        {
            return Ok(Arc::clone(set));
        }
        let set = Arc::new(load_dataset(&config.data, config.data_seed())?);
        self.sets
            .lock()
            .expect("no panics hold this lock")
            .insert(key, Arc::clone(&set));
        Ok(set)
    }

    /// The standardised train/valid/test parts of a run's split.
    pub fn prepare(&self, config: &RunConfig) -> Result<Prepared, DataError> {
        let set = self.get(config)?;
        let split = make_split(
            set.len(),
            &config.data.split,
            config.split as usize,
            config.split_seed(),
        )?;
        Ok(prepare(&set, &split, config.data.standardize))
    }
}
