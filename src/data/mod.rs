//! Data: tabular data sets (CSV), toy generators, train/valid/test splits, standardisation and
//! seeded mini-batching.
//!
//! This module owns turning files and seeds into in-memory [`Dataset`]s and index [`Split`]s; it
//! never trains, scores or writes results. Every random choice takes an explicit [`Rng`] or seed
//! and uses only generators defined here on top of the ChaCha stream (see [`random`]), so a split
//! or a batch order (integer arithmetic only) is the same on every machine and every `rand`
//! release, and a toy data set wherever `f64` `ln`, `sin` and `cos` round alike.
//!
//! Still to come, in their own submodules: word-level text corpora (Penn Treebank, Mikolov
//! version: vocabulary, `<eos>` per line, contiguous batches for truncated BPTT), character-level
//! corpora (Shakespeare) and images in IDX format (MNIST, Fashion-MNIST). They will share
//! [`Task`], [`Split`] and the seeding conventions used here.

mod batch;
mod cache;
mod csv;
mod idx;
pub mod random;
mod source;
mod split;
mod standardize;
mod toy;

pub use batch::{Batcher, bootstrap};
pub use cache::DataCache;
pub use csv::{load_csv, read_csv};
pub use idx::read_idx;
pub use source::{SHIPPED_DATA, load_dataset, load_ood, shipped_data};
pub use split::{Split, SplitConfig, check_split, make_split};
pub use standardize::{Prepared, Standardizer, prepare};
pub use toy::{spirals, toy_gap_1d, toy_gap_1d_f, toy_gap_1d_grid, two_moons};

pub use crate::error::DataError;
pub use crate::rng::Rng;

use crate::nn::Targets;
use ndarray::{Array1, Array2, Axis};

/// What is predicted from the features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A real-valued target.
    Regression,
    /// A class index in `0..n_classes`.
    Classification,
}

/// The targets of a whole data set, owned.
#[derive(Clone, Debug)]
pub enum TargetValues {
    /// Real-valued targets (regression).
    Real(Array1<f32>),
    /// Class indices in `0..n_classes`; `names[k]` is the text of class `k` in the source.
    Class {
        labels: Vec<u32>,
        n_classes: usize,
        names: Vec<String>,
    },
}

impl TargetValues {
    /// A borrowed view, the form the network heads consume.
    pub fn view(&self) -> Targets<'_> {
        match self {
            TargetValues::Real(y) => Targets::Real(y.view()),
            TargetValues::Class { labels, .. } => Targets::Class(labels),
        }
    }

    /// The number of targets.
    pub fn len(&self) -> usize {
        match self {
            TargetValues::Real(y) => y.len(),
            TargetValues::Class { labels, .. } => labels.len(),
        }
    }

    /// True when there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets of `rows`, in that order.
    fn select(&self, rows: &[usize]) -> TargetValues {
        match self {
            TargetValues::Real(y) => TargetValues::Real(rows.iter().map(|&r| y[r]).collect()),
            TargetValues::Class {
                labels,
                n_classes,
                names,
            } => TargetValues::Class {
                labels: rows.iter().map(|&r| labels[r]).collect(),
                n_classes: *n_classes,
                names: names.clone(),
            },
        }
    }
}

/// A table of `f32` features (one row per example) and its targets.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Features, `n × d`.
    pub x: Array2<f32>,
    /// Targets, `n` of them.
    pub y: TargetValues,
    /// The `d` feature names (CSV header names, or `x`, `x1`, `x2` for toy data).
    pub feature_names: Vec<String>,
    /// The target's name.
    pub target_name: String,
}

impl Dataset {
    /// The number of rows (examples).
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of feature columns.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// The number of classes for classification, `None` for regression.
    pub fn n_classes(&self) -> Option<usize> {
        match &self.y {
            TargetValues::Real(_) => None,
            TargetValues::Class { n_classes, .. } => Some(*n_classes),
        }
    }

    /// A new data set made of copies of `rows`, in the given order (repeats allowed, as for a
    /// bootstrap resample). Panics if a row index is out of range.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        Dataset {
            x: self.x.select(Axis(0), rows),
            y: self.y.select(rows),
            feature_names: self.feature_names.clone(),
            target_name: self.target_name.clone(),
        }
    }

    /// Regression for real targets, classification for class targets.
    pub fn task(&self) -> Task {
        match self.y {
            TargetValues::Real(_) => Task::Regression,
            TargetValues::Class { .. } => Task::Classification,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn select_copies_rows_in_order_with_repeats() {
        let d = Dataset {
            x: array![[0.0f32, 1.0], [2.0, 3.0], [4.0, 5.0]],
            y: TargetValues::Class {
                labels: vec![0, 1, 2],
                n_classes: 3,
                names: vec!["a".into(), "b".into(), "c".into()],
            },
            feature_names: vec!["u".into(), "v".into()],
            target_name: "t".into(),
        };
        let s = d.select(&[2, 0, 2]);
        assert_eq!(s.x, array![[4.0f32, 5.0], [0.0, 1.0], [4.0, 5.0]]);
        match s.y.view() {
            Targets::Class(l) => assert_eq!(l, &[2, 0, 2]),
            Targets::Real(_) => panic!("class targets expected"),
        }
        assert_eq!(s.task(), Task::Classification);
        assert_eq!((s.len(), s.n_features(), s.n_classes()), (3, 2, Some(3)));
    }
}
