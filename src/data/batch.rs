//! Seeded mini-batching into reusable buffers, and bootstrap resampling.

use ndarray::{Array1, Array2, ArrayView2, s};

use super::random::{below, shuffle};
use super::{Dataset, TargetValues};
use crate::nn::Targets;
use crate::rng::Rng;

/// Mini-batches of a data set in a seeded random order, gathered into buffers allocated once.
///
/// Each epoch, [`Batcher::shuffle`] resets the row order to 0..n and applies a Fisher–Yates
/// shuffle ([`super::random::shuffle`]), so an epoch's order depends only on the generator's
/// state, not on earlier epochs. Batch b holds rows `order[b·B .. min((b+1)·B, n)]`; the last
/// batch is kept even when short (n mod B rows), so every row is seen exactly once per epoch.
/// Before the first shuffle the order is 0..n.
#[derive(Clone, Debug)]
pub struct Batcher {
    order: Vec<usize>,
    batch_size: usize,
    x: Array2<f32>,
    y_real: Array1<f32>,
    y_class: Vec<u32>,
}

impl Batcher {
    /// A batcher for `n_rows` rows of `n_features` features. The buffers hold
    /// min(batch_size, n_rows) rows. Panics if `batch_size` is 0.
    pub fn new(n_rows: usize, batch_size: usize, n_features: usize) -> Self {
        assert!(batch_size > 0, "Batcher: batch_size must be at least 1");
        let rows = batch_size.min(n_rows);
        Batcher {
            order: (0..n_rows).collect(),
            batch_size,
            x: Array2::zeros((rows, n_features)),
            y_real: Array1::zeros(rows),
            y_class: vec![0; rows],
        }
    }

    /// A new random order of the rows for the next epoch.
    pub fn shuffle(&mut self, rng: &mut Rng) {
        for (i, slot) in self.order.iter_mut().enumerate() {
            *slot = i;
        }
        shuffle(&mut self.order, rng);
    }

    /// ⌈n / batch_size⌉: the number of batches per epoch, the last possibly short.
    pub fn n_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// The current row order (row indices into the data set).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Gathers batch `b` of `data` (in the order of the last shuffle) into the internal buffers
    /// and returns views of them. Panics if `data` does not have the rows and features the
    /// batcher was made for, or if `b ≥ n_batches()`.
    pub fn batch<'a>(&'a mut self, data: &Dataset, b: usize) -> (ArrayView2<'a, f32>, Targets<'a>) {
        assert_eq!(
            (data.len(), data.n_features()),
            (self.order.len(), self.x.ncols()),
            "Batcher: the data set's shape differs from the batcher's"
        );
        assert!(b < self.n_batches(), "Batcher: batch {b} is out of range");
        let start = b * self.batch_size;
        let rows = &self.order[start..(start + self.batch_size).min(self.order.len())];
        let m = rows.len();
        for (i, &r) in rows.iter().enumerate() {
            self.x.row_mut(i).assign(&data.x.row(r));
        }
        let x = self.x.slice(s![..m, ..]);
        let y = match &data.y {
            TargetValues::Real(y) => {
                for (slot, &r) in self.y_real.iter_mut().zip(rows) {
                    *slot = y[r];
                }
                Targets::Real(self.y_real.slice(s![..m]))
            }
            TargetValues::Class { labels, .. } => {
                for (slot, &r) in self.y_class.iter_mut().zip(rows) {
                    *slot = labels[r];
                }
                Targets::Class(&self.y_class[..m])
            }
        };
        (x, y)
    }
}

/// Bootstrap resample indices (Efron 1979): `n` draws uniform on 0..n with replacement, for
/// bagging.
pub fn bootstrap(n: usize, rng: &mut Rng) -> Vec<usize> {
    (0..n).map(|_| below(rng, n as u64) as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;

    /// Row i has features (i, 10 i) and target i, so a batch tells which rows it holds.
    fn indexed(n: usize, classes: bool) -> Dataset {
        let x = Array2::from_shape_fn((n, 2), |(i, j)| (i * (1 + 9 * j)) as f32);
        let y = if classes {
            TargetValues::Class {
                labels: (0..n as u32).collect(),
                n_classes: n,
                names: (0..n).map(|i| i.to_string()).collect(),
            }
        } else {
            TargetValues::Real((0..n).map(|i| i as f32).collect())
        };
        Dataset {
            x,
            y,
            feature_names: vec!["a".into(), "b".into()],
            target_name: "y".into(),
        }
    }

    /// The rows of one epoch, batch by batch, read back from the returned views.
    fn epoch(bt: &mut Batcher, d: &Dataset) -> Vec<Vec<usize>> {
        (0..bt.n_batches())
            .map(|b| {
                let (x, y) = bt.batch(d, b);
                let rows: Vec<usize> = x.column(0).iter().map(|&v| v as usize).collect();
                for (i, &r) in rows.iter().enumerate() {
                    assert_eq!(x[[i, 1]], (10 * r) as f32);
                }
                match y {
                    Targets::Real(y) => {
                        assert_eq!(
                            y.to_vec(),
                            rows.iter().map(|&r| r as f32).collect::<Vec<_>>()
                        )
                    }
                    Targets::Class(c) => {
                        assert_eq!(c, rows.iter().map(|&r| r as u32).collect::<Vec<_>>())
                    }
                }
                rows
            })
            .collect()
    }

    #[test]
    fn every_row_once_per_epoch_with_a_short_last_batch() {
        for classes in [false, true] {
            let d = indexed(23, classes);
            let mut bt = Batcher::new(23, 5, 2);
            assert_eq!(bt.n_batches(), 5);
            let mut rng = rng_from_seed(8);
            let mut previous = Vec::new();
            for _ in 0..3 {
                bt.shuffle(&mut rng);
                let batches = epoch(&mut bt, &d);
                assert_eq!(
                    batches.iter().map(Vec::len).collect::<Vec<_>>(),
                    [5, 5, 5, 5, 3]
                );
                let mut all = batches.concat();
                assert_ne!(all, previous, "two epochs had the same order");
                previous = all.clone();
                all.sort_unstable();
                assert_eq!(all, (0..23).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn same_seed_same_order_and_unshuffled_is_identity() {
        let d = indexed(10, false);
        let mut a = Batcher::new(10, 4, 2);
        assert_eq!(epoch(&mut a, &d).concat(), (0..10).collect::<Vec<_>>());
        let mut b = Batcher::new(10, 4, 2);
        a.shuffle(&mut rng_from_seed(1));
        b.shuffle(&mut rng_from_seed(1));
        assert_eq!(epoch(&mut a, &d), epoch(&mut b, &d));
        // The order after a shuffle does not depend on earlier shuffles.
        let mut r = rng_from_seed(2);
        a.shuffle(&mut r);
        let mut r2 = r.clone();
        a.shuffle(&mut r);
        b.shuffle(&mut r2);
        assert_eq!(a.order(), b.order());
    }

    #[test]
    fn batch_larger_than_data_and_empty_data() {
        let d = indexed(3, false);
        let mut bt = Batcher::new(3, 100, 2);
        assert_eq!(bt.n_batches(), 1);
        assert_eq!(epoch(&mut bt, &d), [vec![0, 1, 2]]);
        assert_eq!(Batcher::new(0, 4, 2).n_batches(), 0);
    }

    #[test]
    fn bootstrap_draws_with_replacement() {
        let idx = bootstrap(1000, &mut rng_from_seed(4));
        assert_eq!(idx.len(), 1000);
        assert!(idx.iter().all(|&i| i < 1000));
        // The expected share of distinct rows is 1 − (1 − 1/n)ⁿ ≈ 0.632; its sd at n = 1000 is
        // ≈ 0.011, so ±0.05 is over 4 sd.
        let mut u = idx.clone();
        u.sort_unstable();
        u.dedup();
        let share = u.len() as f64 / 1000.0;
        assert!((share - 0.632).abs() < 0.05, "{share}");
        assert_eq!(idx, bootstrap(1000, &mut rng_from_seed(4)));
    }
}
