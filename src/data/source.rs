//! From a `[data]` section to a [`Dataset`]: a CSV file read from disk (or one of the data sets
//! shipped inside the binary), or a toy generator.

use std::path::{Component, Path, PathBuf};

use super::{Dataset, check_split, load_csv, read_csv, read_idx, spirals, toy_gap_1d, two_moons};
use crate::error::DataError;
use crate::rng::rng_from_seed;
use crate::spec::{DataConfig, DataSourceKind};

/// Draws or reads the data set a data section names, and checks that every split of
/// `data.split` leaves rows in each part, so that a data set too small for its split is refused
/// before any run starts. Toy generators use the experiment's data seed, so every run of an
/// experiment sees the same data.
pub fn load_dataset(config: &DataConfig, seed: u64) -> Result<Dataset, DataError> {
    let (set, origin) = read_source(config, seed)?;
    check_split(set.len(), &config.split)
        .map_err(|e| DataError::Invalid(format!("{origin}: data.{e}")))?;
    Ok(set)
}

/// Reads the file data set of an out-of-distribution part (no split: every row is evaluated).
pub fn load_ood(config: &DataConfig) -> Result<Dataset, DataError> {
    read_source(config, 0).map(|(set, _)| set)
}

/// The data set a data section names, inputs divided by `divide_inputs_by`, and where it came
/// from (for messages).
fn read_source(config: &DataConfig, seed: u64) -> Result<(Dataset, String), DataError> {
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
            let (task, header) = (config.task(), config.header);
            let set = match shipped_data(path) {
                Some((name, bytes)) if !path.is_file() => {
                    read_csv(bytes, Path::new(name), target, task, header)?
                }
                _ => load_csv(path, target, task, header)?,
            };
            let origin = format!("{}, {} rows", path.display(), set.len());
            (set, origin)
        }
        DataSourceKind::Idx => {
            let missing = |key: &str| DataError::Invalid(format!("data.{key} is missing"));
            let path = config.path.as_ref().ok_or_else(|| missing("path"))?;
            let labels = config.labels.as_ref().ok_or_else(|| missing("labels"))?;
            let set = read_idx(&file_bytes(path)?, path, &file_bytes(labels)?, labels)?;
            let origin = format!("{}, {} images", path.display(), set.len());
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
    let mut set = set;
    if let Some(d) = config.divide_inputs_by {
        let d = d as f32;
        set.x.mapv_inplace(|v| v / d);
    }
    Ok((set, origin))
}

/// The bytes of a data file: the file at `path`, or the shipped copy it names when no such file
/// exists.
fn file_bytes(path: &Path) -> Result<std::borrow::Cow<'static, [u8]>, DataError> {
    if let Some((_, bytes)) = shipped_data(path).filter(|_| !path.is_file()) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    std::fs::read(path)
        .map(std::borrow::Cow::Owned)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
            hint: "Check the path (relative paths start at the working directory); see \
                   data/README.md for how to obtain the data sets"
                .to_string(),
        })
}

/// The data sets of `data/`, gzip-compressed, embedded so that the shipped experiments run from
/// any directory (after `cargo install` too): (path in the source tree, bytes).
pub const SHIPPED_DATA: &[(&str, &[u8])] = &[
    (
        "data/uci/boston_housing.csv.gz",
        include_bytes!("../../data/uci/boston_housing.csv.gz"),
    ),
    (
        "data/uci/concrete.csv.gz",
        include_bytes!("../../data/uci/concrete.csv.gz"),
    ),
    (
        "data/uci/winequality-red.csv.gz",
        include_bytes!("../../data/uci/winequality-red.csv.gz"),
    ),
    (
        "data/images/mnist_10k.csv.gz",
        include_bytes!("../../data/images/mnist_10k.csv.gz"),
    ),
    (
        "data/images/fashion-mnist/t10k-images-idx3-ubyte.gz",
        include_bytes!("../../data/images/fashion-mnist/t10k-images-idx3-ubyte.gz"),
    ),
    (
        "data/images/fashion-mnist/t10k-labels-idx1-ubyte.gz",
        include_bytes!("../../data/images/fashion-mnist/t10k-labels-idx1-ubyte.gz"),
    ),
];

/// The shipped data set a path names: its source-tree path (`data/uci/concrete.csv.gz`) or the
/// same without `.gz` (the name the shipped experiments use), `./` components ignored.
///
/// Reading a file that exists at the path comes first; this is the fallback for a path that does
/// not exist relative to the current directory. A path that is neither stays an error.
pub fn shipped_data(path: &Path) -> Option<(&'static str, &'static [u8])> {
    let path: PathBuf = path
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    SHIPPED_DATA.iter().copied().find(|(name, _)| {
        let name = Path::new(name);
        path == name || path == name.with_extension("")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped Fashion-MNIST test set: 10,000 images of 28×28, 1,000 of each of 10 classes
    /// (Xiao et al. 2017), read from the copy inside the binary.
    #[test]
    fn the_shipped_fashion_mnist_test_set_loads_from_any_directory() {
        // No such plain files exist (only the .gz ones), so both paths read the embedded copies.
        let text = "[data]\nsource = \"idx\"\n\
                    path = \"data/images/fashion-mnist/t10k-images-idx3-ubyte\"\n\
                    labels = \"./data/images/fashion-mnist/t10k-labels-idx1-ubyte\"\n";
        let config: DataConfig = toml::from_str::<toml::Table>(text).unwrap()["data"]
            .clone()
            .try_into()
            .unwrap();
        assert!(!config.path.as_ref().unwrap().is_file());
        let set = load_dataset(&config, 0).unwrap();
        assert_eq!(set.x.dim(), (10_000, 784));
        assert!(set.x.iter().all(|&v| (0.0..=255.0).contains(&v)));
        assert_eq!(set.x.iter().cloned().fold(0.0f32, f32::max), 255.0);
        let crate::data::TargetValues::Class {
            labels, n_classes, ..
        } = &set.y
        else {
            panic!("a classification set")
        };
        assert_eq!(*n_classes, 10);
        let mut counts = [0usize; 10];
        labels.iter().for_each(|&l| counts[l as usize] += 1);
        assert_eq!(counts, [1000; 10]);
    }

    #[test]
    fn divide_inputs_by_scales_every_feature_and_nothing_else() {
        let text = "[data]\nsource = \"spirals\"\nn = 60\nnoise = 0.1\n";
        let mut config: DataConfig = toml::from_str::<toml::Table>(text).unwrap()["data"]
            .clone()
            .try_into()
            .unwrap();
        let plain = load_dataset(&config, 3).unwrap();
        config.divide_inputs_by = Some(4.0);
        let scaled = load_dataset(&config, 3).unwrap();
        assert_eq!(scaled.x, plain.x.mapv(|v| v / 4.0));
        assert_eq!(format!("{:?}", scaled.y), format!("{:?}", plain.y));
    }

    #[test]
    fn shipped_paths_resolve_with_and_without_gz() {
        let (name, bytes) = shipped_data(Path::new("data/uci/concrete.csv")).unwrap();
        assert_eq!(name, "data/uci/concrete.csv.gz");
        assert!(bytes.starts_with(&[0x1f, 0x8b]));
        assert_eq!(
            shipped_data(Path::new("./data/uci/concrete.csv.gz")).map(|s| s.0),
            Some(name)
        );
        for other in [
            "data/uci/concrete",
            "uci/concrete.csv",
            "data/uci/nowhere.csv",
            "/data/uci/concrete.csv",
        ] {
            assert!(shipped_data(Path::new(other)).is_none(), "{other}");
        }
    }

    #[test]
    fn the_embedded_data_sets_are_the_files_of_the_tree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (name, bytes) in SHIPPED_DATA {
            assert_eq!(std::fs::read(root.join(name)).unwrap(), *bytes, "{name}");
        }
    }
}
