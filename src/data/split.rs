//! Train / validation / test splits as lists of row indices.
//!
//! A split is a pure function of (number of rows, config, split index, seed), so any split can be
//! made alone, in any order, on any thread. Callers should derive the seed from the experiment and
//! data only (not the method), so that every method sees the same splits.

use super::random::permutation;
use crate::error::DataError;
use crate::rng::rng_for;

fn one() -> usize {
    1
}

/// The most splits a config may define (each is a run per method and seed).
pub const MAX_SPLITS: usize = 100_000;

/// How rows are divided into train, validation and test parts.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SplitConfig {
    /// `repeats` independent random splits with the given validation and test fractions; the
    /// protocol of Hernández-Lobato & Adams (2015) for the UCI benchmarks is 20 repeats with
    /// `test = 0.1`.
    Random {
        valid: f64,
        test: f64,
        #[serde(default = "one")]
        repeats: usize,
    },
    /// `k`-fold cross-validation: fold i is the test part; `valid` is the fraction of the other
    /// rows held out for validation.
    Kfold {
        k: usize,
        #[serde(default)]
        valid: f64,
    },
}

impl SplitConfig {
    /// How many splits the config defines: `repeats` or `k`.
    pub fn n_splits(&self) -> usize {
        match self {
            SplitConfig::Random { repeats, .. } => *repeats,
            SplitConfig::Kfold { k, .. } => *k,
        }
    }

    /// Checks the config alone (without the data size); `Err((key, message))` with the key
    /// relative to the split table.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let fraction = |key: &str, v: f64| {
            if v.is_finite() && (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err((
                    key.to_string(),
                    format!("must be a fraction in [0, 1), got {v}"),
                ))
            }
        };
        match *self {
            SplitConfig::Random {
                valid,
                test,
                repeats,
            } => {
                fraction("valid", valid)?;
                fraction("test", test)?;
                if valid + test >= 1.0 {
                    return Err((
                        "test".into(),
                        format!(
                            "valid + test must be below 1 to leave training rows, got {valid} + \
                             {test}"
                        ),
                    ));
                }
                if repeats == 0 {
                    return Err(("repeats".into(), "must be at least 1, got 0".into()));
                }
                if repeats > MAX_SPLITS {
                    return Err((
                        "repeats".into(),
                        format!("must be at most {MAX_SPLITS}, got {repeats}"),
                    ));
                }
            }
            SplitConfig::Kfold { k, valid } => {
                if k < 2 {
                    return Err(("k".into(), format!("must be at least 2, got {k}")));
                }
                if k > MAX_SPLITS {
                    return Err(("k".into(), format!("must be at most {MAX_SPLITS}, got {k}")));
                }
                fraction("valid", valid)?;
            }
        }
        Ok(())
    }
}

/// Row indices of the three parts, each in increasing order.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
}

/// Split number `index` (0-based) of `config` for `n` rows, fully determined by `seed` and
/// `index`.
///
/// Sizes round to the nearest integer (halves away from zero):
/// - `random`: n_test = round(test·n), n_valid = round(valid·n), the rest is train. The rows are
///   permuted by a generator seeded with `derive_seed(seed, ["split", "random", index])`; the
///   first n_test go to test, the next n_valid to validation.
/// - `kfold`: one permutation seeded with `derive_seed(seed, ["split", "kfold"])`, shared by all
///   folds, is cut into k consecutive folds, the first n mod k of size ⌈n/k⌉ and the others
///   ⌊n/k⌋ (as scikit-learn's `KFold`), so the test parts partition the rows. The validation part
///   of fold i is the first round(valid·(n − n_test)) of the remaining rows, taken in permutation
///   order starting just after fold i (wrapping around).
///
/// Each part is then sorted. Errors when the config is invalid, `index` is out of range, or a
/// part whose fraction is positive would be empty.
pub fn make_split(
    n: usize,
    config: &SplitConfig,
    index: usize,
    seed: u64,
) -> Result<Split, DataError> {
    config
        .validate()
        .map_err(|(key, message)| DataError::Invalid(format!("split.{key}: {message}")))?;
    if index >= config.n_splits() {
        return Err(DataError::Invalid(format!(
            "split index {index} is out of range: the split config defines {} splits",
            config.n_splits()
        )));
    }
    let (mut train, mut valid, mut test) = match *config {
        SplitConfig::Random { .. } => {
            let (_, n_valid, n_test) = part_sizes(n, config, index)?;
            let mut rng = rng_for(seed, &["split", "random", &index.to_string()]);
            let perm = permutation(n, &mut rng);
            let (te, rest) = perm.split_at(n_test);
            let (va, tr) = rest.split_at(n_valid);
            (tr.to_vec(), va.to_vec(), te.to_vec())
        }
        SplitConfig::Kfold { k, .. } => {
            let (_, n_valid, _) = part_sizes(n, config, index)?;
            let mut rng = rng_for(seed, &["split", "kfold"]);
            let perm = permutation(n, &mut rng);
            let (start, end) = fold_bounds(n, k, index);
            let rest: Vec<usize> = perm[end..].iter().chain(&perm[..start]).copied().collect();
            let (va, tr) = rest.split_at(n_valid);
            (tr.to_vec(), va.to_vec(), perm[start..end].to_vec())
        }
    };
    train.sort_unstable();
    valid.sort_unstable();
    test.sort_unstable();
    Ok(Split { train, valid, test })
}

/// Checks that every split of `config` leaves non-empty parts for `n` rows (the rules of
/// [`make_split`]), so a data set too small for its split is refused before any run starts.
pub fn check_split(n: usize, config: &SplitConfig) -> Result<(), DataError> {
    config
        .validate()
        .map_err(|(key, message)| DataError::Invalid(format!("split.{key}: {message}")))?;
    match config {
        // Every random split has the same sizes.
        SplitConfig::Random { .. } => part_sizes(n, config, 0).map(|_| ()),
        SplitConfig::Kfold { k, .. } => {
            (0..*k).try_for_each(|i| part_sizes(n, config, i).map(|_| ()))
        }
    }
}

/// The first and one-past-last position of fold `index` in the permutation: the first n mod k
/// folds have ⌈n/k⌉ rows, the others ⌊n/k⌋.
fn fold_bounds(n: usize, k: usize, index: usize) -> (usize, usize) {
    let (small, extra) = (n / k, n % k);
    let start = index * small + index.min(extra);
    (start, start + small + usize::from(index < extra))
}

/// (train, validation, test) row counts of split `index`, or why a part would be empty.
fn part_sizes(
    n: usize,
    config: &SplitConfig,
    index: usize,
) -> Result<(usize, usize, usize), DataError> {
    let count = |what: &str, fraction: f64, of: usize| {
        let m = (fraction * of as f64).round() as usize;
        if fraction > 0.0 && m == 0 {
            Err(DataError::Invalid(format!(
                "split.{what} = {fraction} of {of} rows rounds to 0 rows; raise it or set it to 0"
            )))
        } else {
            Ok(m)
        }
    };
    match *config {
        SplitConfig::Random { valid, test, .. } => {
            let n_test = count("test", test, n)?;
            let n_valid = count("valid", valid, n)?;
            if n_test + n_valid >= n {
                return Err(DataError::Invalid(format!(
                    "split: {n} rows leave no training rows after {n_test} test and {n_valid} \
                     validation rows; lower split.valid or split.test"
                )));
            }
            Ok((n - n_test - n_valid, n_valid, n_test))
        }
        SplitConfig::Kfold { k, valid } => {
            if n < k {
                return Err(DataError::Invalid(format!(
                    "split: {k}-fold cross-validation needs at least {k} rows, the data has {n}; \
                     lower split.k"
                )));
            }
            let (start, end) = fold_bounds(n, k, index);
            let rest = n - (end - start);
            let n_valid = count("valid", valid, rest)?;
            if n_valid >= rest {
                return Err(DataError::Invalid(format!(
                    "split: fold {index} leaves no training rows after {n_valid} validation rows; \
                     lower split.valid"
                )));
            }
            Ok((rest - n_valid, n_valid, end - start))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(valid: f64, test: f64, repeats: usize) -> SplitConfig {
        SplitConfig::Random {
            valid,
            test,
            repeats,
        }
    }

    /// Checks the three parts are disjoint and cover 0..n.
    fn assert_partition(s: &Split, n: usize) {
        let mut all: Vec<usize> = s
            .train
            .iter()
            .chain(&s.valid)
            .chain(&s.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn random_split_sizes_follow_the_rounding_rule() {
        // Boston, 90/10 as in Hernández-Lobato & Adams: round(50.6) = 51 test rows.
        let s = make_split(506, &random(0.0, 0.1, 20), 0, 1).unwrap();
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (455, 0, 51));
        assert_partition(&s, 506);
        // 1,599 rows: round(159.9) = 160, round(319.8) = 320.
        let s = make_split(1599, &random(0.2, 0.1, 1), 0, 1).unwrap();
        assert_eq!(
            (s.train.len(), s.valid.len(), s.test.len()),
            (1119, 320, 160)
        );
        assert_partition(&s, 1599);
        assert!(s.train.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn random_split_is_reproducible_and_differs_by_index_and_seed() {
        let c = random(0.1, 0.1, 3);
        let a = make_split(100, &c, 1, 42).unwrap();
        assert_eq!(a, make_split(100, &c, 1, 42).unwrap());
        assert_ne!(a, make_split(100, &c, 2, 42).unwrap());
        assert_ne!(a, make_split(100, &c, 1, 43).unwrap());
    }

    #[test]
    fn kfold_test_parts_partition_the_rows() {
        // 10 rows, 3 folds: sizes 4, 3, 3.
        let c = SplitConfig::Kfold { k: 3, valid: 0.0 };
        let mut tests = Vec::new();
        for i in 0..3 {
            let s = make_split(10, &c, i, 7).unwrap();
            assert_partition(&s, 10);
            assert!(s.valid.is_empty());
            tests.push(s.test);
        }
        assert_eq!(tests.iter().map(Vec::len).collect::<Vec<_>>(), [4, 3, 3]);
        let mut all: Vec<usize> = tests.concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn kfold_validation_part_is_drawn_from_the_other_folds() {
        // 103 rows, 5 folds: the test folds have 21, 21, 21, 20, 20 rows; fold 4 leaves 83 rows,
        // round(0.25 · 83) = round(20.75) = 21 of them for validation.
        let c = SplitConfig::Kfold { k: 5, valid: 0.25 };
        let s = make_split(103, &c, 4, 9).unwrap();
        assert_partition(&s, 103);
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (62, 21, 20));
        assert_eq!(s, make_split(103, &c, 4, 9).unwrap());
        assert_ne!(s.test, make_split(103, &c, 3, 9).unwrap().test);
    }

    #[test]
    fn impossible_splits_are_refused_with_the_key() {
        let msg = |n, c: SplitConfig, i| make_split(n, &c, i, 0).unwrap_err().to_string();
        assert!(msg(4, random(0.1, 0.1, 1), 0).contains("split.test = 0.1 of 4 rows rounds to 0"));
        assert!(msg(100, random(0.5, 0.5, 1), 0).contains("split.test"));
        assert!(msg(100, random(0.1, 0.1, 2), 2).contains("out of range"));
        assert!(msg(3, SplitConfig::Kfold { k: 4, valid: 0.0 }, 0).contains("at least 4 rows"));
        assert_eq!(
            SplitConfig::Kfold { k: 1, valid: 0.0 }.validate(),
            Err(("k".to_string(), "must be at least 2, got 1".to_string()))
        );
        assert_eq!(random(-0.1, 0.1, 1).validate().unwrap_err().0, "valid");
        assert_eq!(random(0.1, 0.1, 0).validate().unwrap_err().0, "repeats");
    }

    #[test]
    fn config_reads_from_toml_with_defaults_and_refuses_unknown_keys() {
        let c: SplitConfig = toml::from_str("kind = \"random\"\nvalid = 0.1\ntest = 0.2").unwrap();
        assert_eq!(c, random(0.1, 0.2, 1));
        assert_eq!(c.n_splits(), 1);
        let c: SplitConfig = toml::from_str("kind = \"kfold\"\nk = 10").unwrap();
        assert_eq!(c, SplitConfig::Kfold { k: 10, valid: 0.0 });
        assert_eq!(c.n_splits(), 10);
        assert!(toml::from_str::<SplitConfig>("kind = \"kfold\"\nk = 10\nfolds = 3").is_err());
    }

    #[test]
    fn check_split_refuses_exactly_what_make_split_refuses() {
        let configs = [
            random(0.1, 0.1, 3),
            random(0.0, 0.3, 1),
            random(0.45, 0.45, 1),
            SplitConfig::Kfold { k: 3, valid: 0.0 },
            SplitConfig::Kfold { k: 5, valid: 0.1 },
            SplitConfig::Kfold { k: 4, valid: 0.7 },
        ];
        for n in [0, 1, 2, 3, 4, 5, 7, 10, 11, 23] {
            for c in &configs {
                let each = (0..c.n_splits()).all(|i| make_split(n, c, i, 5).is_ok());
                assert_eq!(check_split(n, c).is_ok(), each, "n = {n}, {c:?}");
            }
        }
    }
}
