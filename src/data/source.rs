//! From a `[data]` section to a [`Dataset`]: a CSV file read from disk, or a toy generator.

use super::{Dataset, load_csv, spirals, toy_gap_1d, two_moons};
use crate::error::DataError;
use crate::rng::rng_from_seed;
use crate::spec::{DataConfig, DataSourceKind};

/// Draws or reads the data set a data section names. Toy generators use the experiment's data
/// seed, so every run of an experiment sees the same data.
pub fn load_dataset(config: &DataConfig, seed: u64) -> Result<Dataset, DataError> {
    let mut rng = rng_from_seed(seed);
    let n = config.n.unwrap_or(0);
    let noise = config.noise.unwrap_or(0.0);
    Ok(match config.source {
        DataSourceKind::Csv => {
            let path = config
                .path
                .as_ref()
                .ok_or_else(|| DataError::Invalid("data.path is missing".into()))?;
            let target = config
                .target
                .as_deref()
                .ok_or_else(|| DataError::Invalid("data.target is missing".into()))?;
            load_csv(path, target, config.task(), config.header)?
        }
        DataSourceKind::ToyGap1d => toy_gap_1d(n, noise, &mut rng),
        DataSourceKind::TwoMoons => two_moons(n, noise, &mut rng),
        DataSourceKind::Spirals => spirals(n, config.classes.unwrap_or(3), noise, &mut rng),
    })
}
