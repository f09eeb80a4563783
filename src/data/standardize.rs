//! Standardisation fitted on the training part only, so that no statistic of the validation or
//! test rows leaks into training.

use ndarray::{Array1, Array2, Axis};

use super::{Dataset, Split, TargetValues, Task};

/// Per-column affine standardisation x' = (x − mean) / std, and for regression targets
/// y' = (y − y_mean) / y_std.
///
/// The statistics are the training part's mean and population standard deviation
/// (divisor n, as scikit-learn's `StandardScaler`), accumulated in `f64`, so the transformed
/// training part has mean 0 and standard deviation 1 exactly up to rounding. A column that is
/// constant up to rounding (std ≤ 1e-10 · max(1, |mean|)) gets std 1, so it becomes 0 instead of
/// amplified noise. Predictions on the standardised target scale map back by
/// [`Standardizer::inverse_target`] (mean) and a factor `y_std` (standard deviation).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    pub x_mean: Vec<f32>,
    pub x_std: Vec<f32>,
    pub y_mean: f64,
    pub y_std: f64,
}

/// Mean and population standard deviation of `values` (two passes, in f64); (0, 1) when empty.
fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count();
    if n == 0 {
        return (0.0, 1.0);
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let std = var.sqrt();
    let floor = 1e-10 * mean.abs().max(1.0);
    (
        mean,
        if std.is_finite() && std > floor {
            std
        } else {
            1.0
        },
    )
}

impl Standardizer {
    /// Fits the statistics on `train`; the target is standardised only when
    /// `standardize_target` is set and the targets are real.
    pub fn fit(train: &Dataset, standardize_target: bool) -> Self {
        let (x_mean, x_std) = train
            .x
            .axis_iter(Axis(1))
            .map(|col| {
                let (m, s) = mean_std(col.iter().map(|&v| f64::from(v)));
                (m as f32, s as f32)
            })
            .unzip();
        let (y_mean, y_std) = match (&train.y, standardize_target) {
            (TargetValues::Real(y), true) => mean_std(y.iter().map(|&v| f64::from(v))),
            _ => (0.0, 1.0),
        };
        Standardizer {
            x_mean,
            x_std,
            y_mean,
            y_std,
        }
    }

    /// The transformation that changes nothing.
    pub fn identity(n_features: usize) -> Self {
        Standardizer {
            x_mean: vec![0.0; n_features],
            x_std: vec![1.0; n_features],
            y_mean: 0.0,
            y_std: 1.0,
        }
    }

    /// Standardised features: x'ᵢⱼ = (xᵢⱼ − meanⱼ) / stdⱼ, computed in f64.
    pub fn transform_x(&self, x: &Array2<f32>) -> Array2<f32> {
        assert_eq!(
            x.ncols(),
            self.x_mean.len(),
            "the standardizer was fitted on a different number of features"
        );
        let mut out = x.to_owned();
        for mut row in out.axis_iter_mut(Axis(0)) {
            for ((v, &m), &s) in row.iter_mut().zip(&self.x_mean).zip(&self.x_std) {
                *v = ((f64::from(*v) - f64::from(m)) / f64::from(s)) as f32;
            }
        }
        out
    }

    /// A standardised copy of `d`: features always, real targets by (y − y_mean) / y_std.
    pub fn transform(&self, d: &Dataset) -> Dataset {
        let y = match &d.y {
            TargetValues::Real(y) => TargetValues::Real(
                y.iter()
                    .map(|&v| ((f64::from(v) - self.y_mean) / self.y_std) as f32)
                    .collect::<Array1<f32>>(),
            ),
            classes => classes.clone(),
        };
        Dataset {
            x: self.transform_x(&d.x),
            y,
            feature_names: d.feature_names.clone(),
            target_name: d.target_name.clone(),
        }
    }

    /// A target (or predictive mean) on the original scale: y = y' · y_std + y_mean. A predictive
    /// standard deviation maps back by the factor `y_std` alone.
    pub fn inverse_target(&self, y: f64) -> f64 {
        y * self.y_std + self.y_mean
    }
}

/// The three parts of one split, standardised with statistics of the train part only, and the
/// inputs of the out-of-distribution parts (`[data.ood.<name>]`), by name, transformed alike.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub train: Dataset,
    pub valid: Dataset,
    pub test: Dataset,
    pub scaler: Standardizer,
    pub ood: Vec<(String, Array2<f32>)>,
}

impl Prepared {
    /// Adds out-of-distribution inputs (original scale), standardised with the training part's
    /// statistics as the test inputs are.
    pub fn with_ood(mut self, parts: Vec<(String, &Dataset)>) -> Self {
        self.ood = parts
            .into_iter()
            .map(|(name, set)| (name, self.scaler.transform_x(&set.x)))
            .collect();
        self
    }
}

/// Cuts `data` by `split` and, when `standardize` is set, standardises the features of all three
/// parts (and the target, for regression) with the training part's statistics; otherwise the
/// scaler is the identity.
pub fn prepare(data: &Dataset, split: &Split, standardize: bool) -> Prepared {
    let train = data.select(&split.train);
    let valid = data.select(&split.valid);
    let test = data.select(&split.test);
    if !standardize {
        return Prepared {
            train,
            valid,
            test,
            scaler: Standardizer::identity(data.n_features()),
            ood: Vec::new(),
        };
    }
    let scaler = Standardizer::fit(&train, data.task() == Task::Regression);
    Prepared {
        train: scaler.transform(&train),
        valid: scaler.transform(&valid),
        test: scaler.transform(&test),
        scaler,
        ood: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn regression(x: Array2<f32>, y: Vec<f32>) -> Dataset {
        Dataset {
            feature_names: (0..x.ncols()).map(|j| format!("x{j}")).collect(),
            x,
            y: TargetValues::Real(Array1::from(y)),
            target_name: "y".into(),
        }
    }

    #[test]
    fn fit_gives_hand_computed_statistics() {
        // Column 0: 1, 2, 3, 6 → mean 3, population variance (4 + 1 + 0 + 9)/4 = 3.5.
        // Column 1 is constant → std 1. Target 10, 20, 30, 40 → mean 25, variance 125.
        let d = regression(
            array![[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [6.0, 5.0]],
            vec![10.0, 20.0, 30.0, 40.0],
        );
        let s = Standardizer::fit(&d, true);
        assert_eq!(s.x_mean, [3.0, 5.0]);
        assert_eq!(s.x_std, [3.5f64.sqrt() as f32, 1.0]);
        assert_eq!((s.y_mean, s.y_std), (25.0, 125f64.sqrt()));
        let t = s.transform(&d);
        assert_eq!(t.x.column(1).to_vec(), [0.0; 4]);
        assert!((t.x[[3, 0]] - (3.0 / 3.5f32.sqrt())).abs() < 1e-6);
        // Back through f32 storage: |error| ≤ 25 · 2⁻²⁴ ≈ 1.5e-6.
        assert!((s.inverse_target(f64::from(t.y.view_real()[0])) - 10.0).abs() < 1e-5);
        let no_y = Standardizer::fit(&d, false);
        assert_eq!((no_y.y_mean, no_y.y_std), (0.0, 1.0));
    }

    #[test]
    fn train_part_has_mean_zero_std_one_and_test_rows_do_not_matter() {
        let mut rng = crate::rng::rng_from_seed(5);
        let n = 200;
        let x = Array2::from_shape_fn((n, 3), |(_, j)| {
            (super::super::random::normal(&mut rng) * (j as f64 + 1.0) + 10.0 * j as f64) as f32
        });
        let y = (0..n).map(|i| (i as f32).powi(2)).collect();
        let mut d = regression(x, y);
        let split = Split {
            train: (0..150).collect(),
            valid: (150..170).collect(),
            test: (170..200).collect(),
        };
        let p = prepare(&d, &split, true);
        // f32 storage of standardised values near 1 carries a relative error of ~6e-8 per
        // value; 1e-5 bounds the accumulated effect over 150 rows with room to spare.
        for col in p.train.x.axis_iter(Axis(1)) {
            let (m, s) = mean_std(col.iter().map(|&v| f64::from(v)));
            assert!(m.abs() < 1e-5 && (s - 1.0).abs() < 1e-5, "mean {m} std {s}");
        }
        let (m, s) = mean_std(p.train.y.view_real().iter().map(|&v| f64::from(v)));
        assert!(m.abs() < 1e-5 && (s - 1.0).abs() < 1e-5, "mean {m} std {s}");

        // Changing every test row changes nothing in the scaler or the train part.
        d.x.slice_mut(ndarray::s![170.., ..]).fill(1e6);
        let q = prepare(&d, &split, true);
        assert_eq!(q.scaler.x_mean, p.scaler.x_mean);
        assert_eq!(q.scaler.x_std, p.scaler.x_std);
        assert_eq!(q.train.x, p.train.x);
        assert_ne!(q.test.x, p.test.x);

        let raw = prepare(&d, &split, false);
        assert_eq!(raw.train.x, d.x.slice(ndarray::s![..150, ..]));
        assert_eq!(raw.scaler.x_std, [1.0; 3]);
    }

    impl TargetValues {
        fn view_real(&self) -> &Array1<f32> {
            match self {
                TargetValues::Real(y) => y,
                TargetValues::Class { .. } => panic!("real targets expected"),
            }
        }
    }
}
