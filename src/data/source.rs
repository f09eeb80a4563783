//! From a `[data]` section to a [`Dataset`]: a CSV file read from disk, or a toy generator.

use super::{Dataset, check_split, load_csv, spirals, toy_gap_1d, two_moons};
use crate::error::DataError;
use crate::rng::rng_from_seed;
use crate::spec::{DataConfig, DataSourceKind};

/// Draws or reads the data set a data section names, and checks that every split of
/// `data.split` leaves rows in each part, so that a data set too small for its split is refused
/// before any run starts. Toy generators use the experiment's data seed, so every run of an
/// experiment sees the same data.
pub fn load_dataset(config: &DataConfig, seed: u64) -> Result<Dataset, DataError> {
    let mut rng = rng_from_seed(seed);
    let n = config.n.unwrap_or(0);
    let noise = config.noise.unwrap_or(0.0);
    let (set, origin) = match config.source {
        DataSourceKind::Csv => {
            let path = config
                .path
                .as_ref()
                .ok_or_else(|| DataError::Invalid("data.path is missing".into()))?;
            let target = config
                .target
                .as_deref()
                .ok_or_else(|| DataError::Invalid("data.target is missing".into()))?;
            let set = load_csv(path, target, config.task(), config.header)?;
            let origin = format!("{}, {} rows", path.display(), set.len());
            (set, origin)
        }
        DataSourceKind::ToyGap1d => (
            toy_gap_1d(n, noise, &mut rng),
            format!("toy_gap_1d (n = {n})"),
        ),
        DataSourceKind::TwoMoons => (
            two_moons(n, noise, &mut rng),
            format!("two_moons (n = {n})"),
        ),
        DataSourceKind::Spirals => {
            let set = spirals(n, config.classes.unwrap_or(3), noise, &mut rng);
            (set, format!("spirals (n = {n})"))
        }
    };
    check_split(set.len(), &config.split)
        .map_err(|e| DataError::Invalid(format!("{origin}: data.{e}")))?;
    Ok(set)
}
