//! Experiment files: TOML in, a validated plan of runs out.
//!
//! The flow: parse the text ([`toml::Table`]), apply `--set` overrides, expand the `[sweep]` into
//! variants, merge each method's `model`/`train` overrides over the shared sections, deserialise
//! into typed configurations (unknown keys refused, the key path in every error), check every
//! range, and list one [`RunSpec`] per (variant, method, split, seed). Nothing here trains or
//! writes; the runner never sees an unchecked value.

pub mod benchmark;
pub mod overrides;
pub mod report;
pub mod search_plan;
pub mod tune;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::data::{SplitConfig, Task};
use crate::error::SpecError;
use crate::nn::{Activation, HeadKind, Init};
use crate::optim::{OptimizerConfig, Schedule};
use crate::rng::derive_seed;
use crate::sgmcmc::{CyclicalSchedule, PriorConfig, SamplerConfig};
use report::ReportOptions;

pub use search_plan::{SEARCH_PLAN_FILE, SearchPlan};

/// The shipped quickstart experiment, embedded so `bayeslab run` works with no file at hand.
pub const QUICKSTART: &str = include_str!("../../experiments/quickstart.toml");

/// Where the data come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSourceKind {
    /// A CSV file with a header (`path`, `target`).
    Csv,
    /// An IDX image file (`path`) and its IDX label file (`labels`): MNIST's format, a
    /// classification set.
    Idx,
    /// 1-D regression with a gap in the inputs (`n`, `noise`).
    #[serde(rename = "toy_gap_1d")]
    ToyGap1d,
    /// Two interleaved half circles, 2 classes (`n`, `noise`).
    TwoMoons,
    /// K-arm spirals (`n`, `classes`, `noise`).
    Spirals,
}

/// The `[data]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// A label for the data set (names sweep variants: `data=boston`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub source: DataSourceKind,
    /// CSV path, relative to the current directory; a shipped data set's path
    /// (`data/uci/boston_housing.csv`) reads the copy inside the binary when no such file exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// CSV target column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// IDX label file (source `idx`), found like `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    /// Whether the CSV's first line names the columns. `false`: every line is data and the
    /// columns are named by 0-based index ("0", "1", …); unset: a header, and a first line of
    /// numbers only is refused as a likely headerless file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// Regression or classification; toy sources imply theirs, CSV defaults to regression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// Number of rows a toy generator draws.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// Noise level of a toy generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<f64>,
    /// Number of classes (spirals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    #[serde(default = "default_split")]
    pub split: SplitConfig,
    /// Divide every input feature by this when the data load, before any standardisation
    /// (255 maps 8-bit pixels to [0, 1]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divide_inputs_by: Option<f64>,
    /// Standardise inputs (and regression targets) with statistics of the training part.
    #[serde(default = "yes")]
    pub standardize: bool,
    /// Out-of-distribution evaluation parts, by name (`[data.ood.fashion_mnist]`): inputs of
    /// another data set, never trained on, fed through the training part's standardisation.
    /// Each gets its own predictive, scored by its entropy and mutual information and, against
    /// the test part, by OOD AUROC, AUPR and FPR at 95 % TPR.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ood: BTreeMap<String, OodConfig>,
}

/// One `[data.ood.<name>]` section: a file data set whose inputs (not labels) are an
/// out-of-distribution part of a classifier's evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OodConfig {
    /// `idx` or `csv`; read as `[data]` reads it.
    pub source: DataSourceKind,
    pub path: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divide_inputs_by: Option<f64>,
    /// Only the first `rows` examples (all when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
}

/// Split names an OOD part may not take.
const RESERVED_PARTS: &[&str] = &["train", "valid", "test", "grid"];

impl OodConfig {
    /// The `[data]` section that reads this part's file (its split is unused).
    pub fn as_data(&self) -> DataConfig {
        DataConfig {
            name: None,
            source: self.source,
            path: Some(self.path.clone()),
            target: self.target.clone(),
            labels: self.labels.clone(),
            header: self.header,
            task: Some(Task::Classification),
            n: None,
            noise: None,
            classes: None,
            split: default_split(),
            divide_inputs_by: self.divide_inputs_by,
            standardize: false,
            ood: BTreeMap::new(),
        }
    }

    /// Whether `name` can name an OOD part: lower-case letters, digits and `_`, not a reserved
    /// part (train, valid, test, grid).
    pub fn valid_name(name: &str) -> bool {
        !RESERVED_PARTS.contains(&name)
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    fn validate(
        &self,
        name: &str,
        err: &dyn Fn(&str, String) -> SpecError,
    ) -> Result<(), SpecError> {
        let prefix = format!("data.ood.{name}");
        if !OodConfig::valid_name(name) {
            return Err(err(
                &prefix,
                format!(
                    "an OOD part's name is lower-case letters, digits and `_`, and not one of \
                     {}; e.g. [data.ood.fashion_mnist]",
                    RESERVED_PARTS.join(", ")
                ),
            ));
        }
        if !matches!(self.source, DataSourceKind::Csv | DataSourceKind::Idx) {
            return Err(err(
                &format!("{prefix}.source"),
                "an OOD part reads a file: source = \"idx\" or \"csv\"".into(),
            ));
        }
        if self.rows == Some(0) {
            return Err(err(
                &format!("{prefix}.rows"),
                "must be >= 1 (leave it out for every row)".into(),
            ));
        }
        // The file keys are checked as `[data]` checks them, under this part's key path.
        self.as_data()
            .validate(&|key: &str, message: String| err(&key.replacen("data", &prefix, 1), message))
    }
}

/// The most rows a toy generator draws (more would only exhaust memory).
const MAX_TOY_ROWS: usize = 10_000_000;

/// The number of points spirals draw when `n` is not given.
const SPIRALS_DEFAULT_N: usize = 600;

fn default_split() -> SplitConfig {
    SplitConfig::Random {
        valid: 0.1,
        test: 0.1,
        repeats: 1,
    }
}

fn yes() -> bool {
    true
}

impl DataConfig {
    /// The task, resolved from the source when not given.
    pub fn task(&self) -> Task {
        match (self.task, self.source) {
            (Some(task), _) => task,
            (None, DataSourceKind::TwoMoons | DataSourceKind::Spirals | DataSourceKind::Idx) => {
                Task::Classification
            }
            (None, _) => Task::Regression,
        }
    }

    /// The source's name as written in spec files.
    fn source_name(&self) -> &'static str {
        match self.source {
            DataSourceKind::Csv => "csv",
            DataSourceKind::Idx => "idx",
            DataSourceKind::ToyGap1d => "toy_gap_1d",
            DataSourceKind::TwoMoons => "two_moons",
            DataSourceKind::Spirals => "spirals",
        }
    }

    /// Fills every default so the resolved configuration (and so the run id) says what ran.
    fn resolve(&mut self) {
        self.task = Some(self.task());
        match self.source {
            DataSourceKind::Csv | DataSourceKind::Idx => {}
            DataSourceKind::ToyGap1d => {
                self.n.get_or_insert(160);
                self.noise.get_or_insert(3.0);
            }
            DataSourceKind::TwoMoons => {
                self.n.get_or_insert(400);
                self.noise.get_or_insert(0.1);
            }
            DataSourceKind::Spirals => {
                self.n.get_or_insert(SPIRALS_DEFAULT_N);
                self.noise.get_or_insert(0.2);
                self.classes.get_or_insert(3);
            }
        }
    }

    fn validate(&self, err: &dyn Fn(&str, String) -> SpecError) -> Result<(), SpecError> {
        if let Some(d) = self.divide_inputs_by
            && !(d.is_finite() && d > 0.0 && (d as f32).is_normal())
        {
            return Err(err(
                "data.divide_inputs_by",
                format!("must be a positive finite number, e.g. 255 for 8-bit pixels; got {d}"),
            ));
        }
        let file = matches!(self.source, DataSourceKind::Csv | DataSourceKind::Idx);
        if !file {
            for (key, given) in [
                ("path", self.path.is_some()),
                ("target", self.target.is_some()),
                ("header", self.header.is_some()),
                ("labels", self.labels.is_some()),
            ] {
                if given {
                    return Err(err(
                        &format!("data.{key}"),
                        "only csv and idx sources read files; remove this key or set source = \
                         \"csv\""
                            .into(),
                    ));
                }
            }
            if let Some(n) = self.n
                && !(10..=MAX_TOY_ROWS).contains(&n)
            {
                return Err(err(
                    "data.n",
                    format!("must be in 10..={MAX_TOY_ROWS}, got {n}"),
                ));
            }
            if let Some(noise) = self.noise {
                if noise.is_nan() || noise < 0.0 {
                    return Err(err("data.noise", format!("must be >= 0, got {noise}")));
                }
                if !noise.is_finite() {
                    return Err(err(
                        "data.noise",
                        format!("must be a finite number, got {noise}"),
                    ));
                }
            }
        } else {
            for (key, given) in [("n", self.n.is_some()), ("noise", self.noise.is_some())] {
                if given {
                    return Err(err(
                        &format!("data.{key}"),
                        "only toy sources draw data; remove this key for a file source".into(),
                    ));
                }
            }
            let example = match self.source {
                DataSourceKind::Idx => "data/images/fashion-mnist/t10k-images-idx3-ubyte",
                _ => "data/uci/boston_housing.csv",
            };
            let path = self.path.as_ref().ok_or_else(|| {
                err(
                    "data.path",
                    format!(
                        "a {} source needs `path = \"{example}\"`",
                        self.source_name()
                    ),
                )
            })?;
            let mut files = vec![("data.path", path)];
            if self.source == DataSourceKind::Idx {
                for (key, given) in [
                    ("target", self.target.is_some()),
                    ("header", self.header.is_some()),
                ] {
                    if given {
                        return Err(err(
                            &format!("data.{key}"),
                            "is a key of csv sources; an idx source takes its targets from \
                             `labels`"
                                .into(),
                        ));
                    }
                }
                let labels = self.labels.as_ref().ok_or_else(|| {
                    err(
                        "data.labels",
                        "an idx source needs its label file, e.g. `labels = \
                         \"data/images/fashion-mnist/t10k-labels-idx1-ubyte\"`"
                            .into(),
                    )
                })?;
                files.push(("data.labels", labels));
            } else {
                if self.target.is_none() {
                    return Err(err(
                        "data.target",
                        "a csv source needs the target column, e.g. `target = \"medv\"`".into(),
                    ));
                }
                if self.labels.is_some() {
                    return Err(err(
                        "data.labels",
                        "is a key of idx sources; a csv source names its `target` column".into(),
                    ));
                }
            }
            for (key, path) in files {
                if !path.is_file() && crate::data::shipped_data(path).is_none() {
                    let shipped: Vec<&str> = crate::data::SHIPPED_DATA
                        .iter()
                        .map(|(name, _)| name.trim_end_matches(".gz"))
                        .collect();
                    return Err(err(
                        key,
                        format!(
                            "no such file: {} (relative paths start at the current directory \
                             {}); data/README.md says how to obtain the data sets. Shipped with \
                             bayeslab, found from any directory: {}",
                            path.display(),
                            std::env::current_dir()
                                .map(|d| d.display().to_string())
                                .unwrap_or_default(),
                            shipped.join(", ")
                        ),
                    ));
                }
            }
        }
        match (self.source, self.classes) {
            (DataSourceKind::Spirals, Some(k)) => {
                // At least 10 points per arm, as `n >= 10` asks of the whole set.
                let n = self.n.unwrap_or(SPIRALS_DEFAULT_N);
                if k < 2 {
                    return Err(err("data.classes", format!("must be >= 2, got {k}")));
                }
                if k > n / 10 {
                    return Err(err(
                        "data.classes",
                        format!(
                            "{k} arms need at least 10 points each, and n = {n}; lower \
                             data.classes or raise data.n to at least {}",
                            10 * k
                        ),
                    ));
                }
            }
            (DataSourceKind::Spirals, _) | (_, None) => {}
            (_, Some(_)) => {
                return Err(err(
                    "data.classes",
                    "only the spirals source takes `classes`".into(),
                ));
            }
        }
        if self.source != DataSourceKind::Csv
            && let Some(task) = self.task
            && task != self.task()
        {
            return Err(err(
                "data.task",
                format!("a {} source fixes its own task", self.source_name()),
            ));
        }
        self.split
            .validate()
            .map_err(|(key, message)| err(&format!("data.split.{key}"), message))?;
        if !self.ood.is_empty() && self.task() != Task::Classification {
            return Err(err(
                "data.ood",
                "out-of-distribution parts are scored by a classifier's predictive entropy;                  this data set is a regression task"
                    .into(),
            ));
        }
        for (name, ood) in &self.ood {
            ood.validate(name, err)?;
        }
        Ok(())
    }
}

/// The network family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Mlp,
}

/// The `[model]` section (a method may override any key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    #[serde(default = "default_model_kind")]
    pub kind: ModelKind,
    /// Widths of the hidden layers.
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    #[serde(default = "default_activation")]
    pub activation: Activation,
    #[serde(default = "default_init")]
    pub init: Init,
    /// Dropout probability after every hidden activation.
    #[serde(default)]
    pub dropout: f64,
    /// Output head; defaults to `gaussian` for regression, `softmax` for classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<HeadKind>,
    /// Noise precision τ of `gaussian_fixed` (and the start of `gaussian_learned`), on the
    /// standardised target scale.
    #[serde(default = "default_noise_precision")]
    pub noise_precision: f64,
}

fn default_model_kind() -> ModelKind {
    ModelKind::Mlp
}
fn default_hidden() -> Vec<usize> {
    vec![50]
}
fn default_activation() -> Activation {
    Activation::Relu
}
fn default_init() -> Init {
    Init::He
}
fn default_noise_precision() -> f64 {
    1.0
}

impl ModelConfig {
    fn validate(&self, task: Task, at: &dyn Fn(&str) -> String) -> Result<(), (String, String)> {
        if self.hidden.contains(&0) || self.hidden.iter().any(|&w| w > 1 << 16) {
            return Err((
                at("hidden"),
                format!("every width must be in 1..=65536, got {:?}", self.hidden),
            ));
        }
        // The network keeps p in f32, where a p just below 1 rounds to 1.
        if !(0.0..1.0).contains(&self.dropout) || self.dropout as f32 >= 1.0 {
            return Err((
                at("dropout"),
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        if !(self.noise_precision > 0.0 && self.noise_precision.is_finite()) {
            return Err((
                at("noise_precision"),
                format!("must be > 0, got {}", self.noise_precision),
            ));
        }
        // The heads keep τ in f32 and predict the variance 1/τ in f32: a standard deviation
        // between 1e-6 and 1e6 times the target's keeps both finite and non-zero.
        if !(1e-12..=1e12).contains(&self.noise_precision) {
            return Err((
                at("noise_precision"),
                format!("must be in [1e-12, 1e12], got {}", self.noise_precision),
            ));
        }
        let head = self.head.unwrap_or(default_head(task));
        let fits = match task {
            Task::Classification => head == HeadKind::Softmax,
            Task::Regression => head != HeadKind::Softmax,
        };
        if !fits {
            return Err((
                at("head"),
                format!(
                    "`{}` does not fit a {} task; use {}",
                    serde_name(&head),
                    serde_name(&task),
                    match task {
                        Task::Classification => "softmax",
                        Task::Regression => "gaussian, gaussian_fixed or gaussian_learned",
                    }
                ),
            ));
        }
        Ok(())
    }
}

/// The head a task gets when the spec names none.
pub fn default_head(task: Task) -> HeadKind {
    match task {
        Task::Regression => HeadKind::Gaussian,
        Task::Classification => HeadKind::Softmax,
    }
}

/// The `[train]` section (a method may override any key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Clip the gradient's L2 norm to this value (Pascanu et al. 2013).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_norm: Option<f64>,
    #[serde(default)]
    pub schedule: Schedule,
    /// Evaluate on the validation and test parts every this many epochs (and after the last).
    #[serde(default = "one")]
    pub eval_every: usize,
}

fn default_batch_size() -> usize {
    32
}
fn one() -> usize {
    1
}

impl TrainConfig {
    fn validate(&self, at: &dyn Fn(&str) -> String) -> Result<(), (String, String)> {
        if self.epochs == 0 || self.epochs > 1_000_000 {
            return Err((
                at("epochs"),
                format!("must be in 1..=1000000, got {}", self.epochs),
            ));
        }
        if self.batch_size == 0 {
            return Err((at("batch_size"), "must be >= 1, got 0".into()));
        }
        if self.eval_every == 0 {
            return Err((at("eval_every"), "must be >= 1, got 0".into()));
        }
        // Training clips in f32, where a tiny bound would round to 0.
        if let Some(c) = self.clip_norm
            && !(c > 0.0 && c.is_finite() && c as f32 > 0.0)
        {
            return Err((at("clip_norm"), format!("must be > 0, got {c}")));
        }
        self.schedule
            .validate()
            .map_err(|(key, message)| (at(&format!("schedule.{key}")), message))
    }
}

/// What a method does with the model, data and training budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MethodConfig {
    /// One network trained by an optimiser; its predictive is a single model.
    Point { optimizer: OptimizerConfig },
    /// One network trained with dropout by an optimiser; its predictive averages `passes`
    /// forward passes with fresh dropout masks (see [`crate::method::mc_dropout`]).
    McDropout {
        optimizer: OptimizerConfig,
        #[serde(default = "default_passes")]
        passes: usize,
    },
    /// M networks from their own initial weights and batch orders; their equal mixture (see
    /// [`crate::method::ensemble`]).
    SeedEnsemble {
        optimizer: OptimizerConfig,
        members: usize,
    },
    /// M networks, each on a bootstrap resample of the training part; their equal mixture.
    Bagging {
        optimizer: OptimizerConfig,
        members: usize,
    },
    /// Networks of different configurations (the variants of the sweep `members` over the
    /// method's optimizer, model and training keys); their equal mixture.
    ConfigEnsemble { members: Vec<ConfigMember> },
    /// One network trained with a cyclic cosine learning rate; its predictive averages the
    /// snapshots at the last `keep_last` cycle ends (see [`crate::method::snapshot`]).
    SnapshotEnsemble {
        optimizer: OptimizerConfig,
        cycles: usize,
        /// How many of the last snapshots to average; all of them when unset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_last: Option<usize>,
    },
    /// A chain of stochastic-gradient MCMC over the weights; its predictive is the average of
    /// the kept samples' predictives (see [`crate::method::sgmcmc`]).
    Sgmcmc {
        sampler: SamplerConfig,
        #[serde(default)]
        prior: PriorConfig,
        /// Epochs before the first kept sample.
        #[serde(default)]
        burn_in_epochs: usize,
        /// Updates before the first kept sample, instead of `burn_in_epochs`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        burn_in_steps: Option<usize>,
        /// Keep every `thin`-th update after the burn-in (with `cyclical`: the spacing of a
        /// cycle's samples).
        thin: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_samples: Option<usize>,
        /// Independent chains, pooled into one predictive; ESS and R̂ are computed over them.
        #[serde(default = "one", skip_serializing_if = "is_one")]
        chains: usize,
        /// Cyclical SG-MCMC (Zhang et al. 2020): the cosine step-size cycles, no noise while
        /// exploring, samples at the end of each cycle.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cyclical: Option<CyclicalSchedule>,
        /// Samples kept at the end of each cycle, `thin` updates apart.
        #[serde(default = "one", skip_serializing_if = "is_one")]
        samples_per_cycle: usize,
    },
}

/// One member of a config ensemble: its sweep label and its resolved configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigMember {
    /// The member's sweep assignment, e.g. `optimizer.lr=0.001,model.dropout=0.1`.
    pub label: String,
    pub model: ModelConfig,
    pub train: TrainConfig,
    pub optimizer: OptimizerConfig,
}

/// Gal & Ghahramani (2016) average T = 100 stochastic passes.
fn default_passes() -> usize {
    100
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

impl MethodConfig {
    /// Whether the method trains members one after another (an ensemble whose finished members
    /// can be checkpointed).
    pub fn has_members(&self) -> bool {
        matches!(
            self,
            MethodConfig::SeedEnsemble { .. }
                | MethodConfig::Bagging { .. }
                | MethodConfig::ConfigEnsemble { .. }
        )
    }

    /// The kind's name as written in spec files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            MethodConfig::Point { .. } => "point",
            MethodConfig::McDropout { .. } => "mc_dropout",
            MethodConfig::SnapshotEnsemble { .. } => "snapshot_ensemble",
            MethodConfig::SeedEnsemble { .. } => "seed_ensemble",
            MethodConfig::Bagging { .. } => "bagging",
            MethodConfig::ConfigEnsemble { .. } => "config_ensemble",
            MethodConfig::Sgmcmc { .. } => "sgmcmc",
        }
    }
}

/// Method kinds accepted in `[[methods]] kind = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MethodKind {
    Point,
    McDropout,
    SnapshotEnsemble,
    SeedEnsemble,
    Bagging,
    ConfigEnsemble,
    Sgmcmc,
}

impl MethodKind {
    /// The kind's name as written in spec files.
    fn name(self) -> &'static str {
        match self {
            MethodKind::Point => "point",
            MethodKind::McDropout => "mc_dropout",
            MethodKind::SnapshotEnsemble => "snapshot_ensemble",
            MethodKind::SeedEnsemble => "seed_ensemble",
            MethodKind::Bagging => "bagging",
            MethodKind::ConfigEnsemble => "config_ensemble",
            MethodKind::Sgmcmc => "sgmcmc",
        }
    }
}

/// A `[[methods]]` entry as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MethodSection {
    name: String,
    kind: MethodKind,
    #[serde(default)]
    optimizer: Option<OptimizerConfig>,
    #[serde(default)]
    sampler: Option<SamplerConfig>,
    #[serde(default)]
    prior: Option<PriorConfig>,
    #[serde(default)]
    burn_in_epochs: Option<usize>,
    #[serde(default)]
    burn_in_steps: Option<usize>,
    #[serde(default)]
    thin: Option<usize>,
    #[serde(default)]
    max_samples: Option<usize>,
    #[serde(default)]
    chains: Option<usize>,
    #[serde(default)]
    cyclical: Option<CyclicalSchedule>,
    #[serde(default)]
    samples_per_cycle: Option<usize>,
    #[serde(default)]
    passes: Option<usize>,
    #[serde(default)]
    cycles: Option<usize>,
    #[serde(default)]
    keep_last: Option<usize>,
    #[serde(default)]
    members: Option<usize>,
    #[serde(default)]
    model: Table,
    #[serde(default)]
    train: Table,
}

/// The file as written (shared model/train sections kept raw for merging).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_seeds")]
    seeds: Value,
    #[serde(default)]
    master_seed: u64,
    /// Store per-example predictions (test part, and a grid for 1-D inputs) for plots.
    #[serde(default)]
    predictions: bool,
    data: Table,
    #[serde(default)]
    model: Table,
    train: Table,
    methods: Vec<Value>,
    #[serde(default)]
    report: Option<Table>,
}

fn default_seeds() -> Value {
    Value::Integer(3)
}

/// Everything one run needs; its JSON is the `config` column and hashes to the run id.
///
/// The run id must not change when a later version adds a configuration field at its default
/// (stored results would be orphaned): every field added after results format 1 is skipped
/// when serialised at its default (`skip_serializing_if`), so the JSON of an old configuration
/// is unchanged. `run_ids_of_shipped_experiments_are_pinned` (tests/it) guards this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub experiment: String,
    pub method: String,
    pub variant: String,
    pub master_seed: u64,
    pub seed: u32,
    pub split: u32,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
    pub method_config: MethodConfig,
    pub predictions: bool,
}

impl RunConfig {
    /// A stable 16-hex-digit id: [`derive_seed`]'s FNV-1a/SplitMix64 hash of the configuration's
    /// JSON. Same configuration, same id, on every machine and in every plan order.
    pub fn run_id(&self) -> String {
        let json = serde_json::to_string(self).expect("a run configuration serialises");
        format!("{:016x}", derive_seed(0, &["run", &json]))
    }

    /// The epochs of training the run does, for progress bars: `train.epochs`, times the
    /// members of an ensemble.
    pub fn epochs_of_work(&self) -> u64 {
        if let MethodConfig::ConfigEnsemble { members } = &self.method_config {
            return members.iter().map(|m| m.train.epochs as u64).sum();
        }
        let members = match self.method_config {
            MethodConfig::SeedEnsemble { members, .. } | MethodConfig::Bagging { members, .. } => {
                members
            }
            MethodConfig::Sgmcmc { chains, .. } => chains,
            _ => 1,
        };
        (self.train.epochs * members) as u64
    }

    /// The seed of a random stream of this run that belongs to the method (`purpose`: "noise"
    /// for dropout masks, a sampler's noise): it differs between methods and variants.
    pub fn stream_seed(&self, purpose: &str) -> u64 {
        derive_seed(
            self.master_seed,
            &[
                &self.experiment,
                &self.method,
                &self.variant,
                &format!("seed{}", self.seed),
                &format!("split{}", self.split),
                purpose,
            ],
        )
    }

    /// The seed of a random stream shared by every method of the experiment whose data and
    /// model sections are the same (`purpose`: "init" for the initial weights, "batches" for the
    /// batch order): common random numbers, so that at one seed and split such methods start
    /// from the same weights and see the same batches, and their difference is a paired one.
    /// The stream depends on the seed, the split and the JSON of the data and model
    /// configuration, never on the method's name, its optimizer or sampler, or the variant's
    /// label.
    pub fn shared_stream_seed(&self, purpose: &str) -> u64 {
        let setting = serde_json::to_string(&(&self.data, &self.model))
            .expect("a data and model configuration serialises");
        derive_seed(
            self.master_seed,
            &[
                &self.experiment,
                &setting,
                &format!("seed{}", self.seed),
                &format!("split{}", self.split),
                purpose,
            ],
        )
    }

    /// The seed of split `split`: shared by every method, variant and seed, so methods are compared
    /// on the same splits.
    pub fn split_seed(&self) -> u64 {
        derive_seed(self.master_seed, &[&self.experiment, "split"])
    }

    /// The seed a toy generator draws its data with: shared by every run of the experiment.
    pub fn data_seed(&self) -> u64 {
        derive_seed(self.master_seed, &[&self.experiment, "data"])
    }
}

/// One planned run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    pub run_id: String,
    pub config: RunConfig,
}

/// A validated experiment and its plan.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// Where the spec came from (a path, or `<embedded quickstart>`).
    pub file: String,
    pub name: String,
    pub description: String,
    pub master_seed: u64,
    pub seeds: Vec<u32>,
    /// The spec as run: the file with every `--set` applied.
    pub resolved_toml: String,
    pub report: ReportOptions,
    /// Variant labels in plan order (`default` when there is no sweep).
    pub variants: Vec<String>,
    /// Method names in file order.
    pub methods: Vec<String>,
    pub runs: Vec<RunSpec>,
    /// The hyperparameter search of the `[tune]` section, if any.
    pub tune: Option<tune::TuneSpec>,
    /// A benchmark of search strategies on test functions (a `[benchmark]` experiment, which has
    /// no data, model or methods).
    pub benchmark: Option<benchmark::BenchmarkSpec>,
}

/// Reads and validates an experiment file.
pub fn load_file(path: &Path, sets: &[String]) -> Result<Experiment, SpecError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        SpecError::new(
            &file,
            "(file)",
            format!("cannot read the experiment file: {e}; `bayeslab list` shows the shipped ones"),
        )
    })?;
    parse(&file, &text, sets)
}

/// Validates an experiment given as text. `file` names it in errors.
pub fn parse(file: &str, text: &str, sets: &[String]) -> Result<Experiment, SpecError> {
    let mut table: Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
            .unwrap_or(0);
        SpecError::new(
            file,
            format!("line {line}"),
            format!("not valid TOML: {}", e.message().trim()),
        )
    })?;
    for assignment in sets {
        let (key, value) = overrides::parse_assignment(assignment)
            .map_err(|m| SpecError::new(file, "--set", m))?;
        overrides::set_path(&mut table, &key, value)
            .map_err(|m| SpecError::new(file, format!("--set {key}"), m))?;
    }
    if table.contains_key("benchmark") {
        return parse_benchmark(file, table);
    }
    let mut experiment = parse_table(file, &table)?;
    if let Some(tune_table) = table.get("tune") {
        let tune_table = match tune_table {
            Value::Table(t) => t.clone(),
            other => {
                return Err(SpecError::new(
                    file,
                    "tune",
                    format!("must be a table, got a {}", other.type_str()),
                ));
            }
        };
        experiment.tune = Some(tune::TuneSpec::from_table(
            file,
            &table,
            tune_table,
            &experiment,
        )?);
    }
    Ok(experiment)
}

/// Validates an experiment table (overrides applied) without its `[tune]` section.
pub(crate) fn parse_table(file: &str, table: &Table) -> Result<Experiment, SpecError> {
    let resolved_toml = toml::to_string(table).map_err(|e| {
        SpecError::new(
            file,
            "(file)",
            format!("cannot write the resolved spec: {e}"),
        )
    })?;
    let mut table = table.clone();
    table.remove("tune");

    let variants = expand_sweep(file, &table)?;
    let mut runs = Vec::new();
    let mut header = None;
    let mut variant_labels = Vec::new();
    for (label, variant_table) in variants {
        let (head, variant_runs) = resolve_variant(file, &label, variant_table)?;
        header.get_or_insert(head);
        variant_labels.push(label);
        runs.extend(variant_runs);
    }
    let head = header.expect("a sweep expands to at least one variant");
    let mut seen = BTreeSet::new();
    for run in &runs {
        if !seen.insert(run.run_id.clone()) {
            return Err(SpecError::new(
                file,
                "sweep",
                format!(
                    "two runs resolve to the same configuration (method `{}`, variant `{}`); \
                     a sweep key probably has no effect on that method",
                    run.config.method, run.config.variant
                ),
            ));
        }
    }
    Ok(Experiment {
        file: file.to_string(),
        name: head.name,
        description: head.description,
        master_seed: head.master_seed,
        seeds: head.seeds,
        resolved_toml,
        report: head.report,
        variants: variant_labels,
        methods: head.methods,
        runs,
        tune: None,
        benchmark: None,
    })
}

/// The top level of a benchmark experiment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BenchmarkFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    master_seed: u64,
    benchmark: Table,
    #[serde(default)]
    report: Option<Table>,
}

fn parse_benchmark(file: &str, table: Table) -> Result<Experiment, SpecError> {
    let resolved_toml = toml::to_string(&table).map_err(|e| {
        SpecError::new(
            file,
            "(file)",
            format!("cannot write the resolved spec: {e}"),
        )
    })?;
    let raw: BenchmarkFile = deserialize_at(file, "", table)?;
    if !valid_name(&raw.name) {
        return Err(SpecError::new(
            file,
            "name",
            format!("`{}` must be 1-64 letters, digits, `_` or `-`", raw.name),
        ));
    }
    let report = deserialize_at::<ReportOptions>(file, "report", raw.report.unwrap_or_default())?;
    report
        .validate()
        .map_err(|(key, message)| SpecError::new(file, format!("report.{key}"), message))?;
    let benchmark = benchmark::BenchmarkSpec::from_table(file, raw.benchmark)?;
    Ok(Experiment {
        file: file.to_string(),
        name: raw.name,
        description: raw.description,
        master_seed: raw.master_seed,
        seeds: Vec::new(),
        resolved_toml,
        report,
        variants: Vec::new(),
        methods: Vec::new(),
        runs: Vec::new(),
        tune: None,
        benchmark: Some(benchmark),
    })
}

/// Parts of the experiment shared by all variants.
struct Header {
    name: String,
    description: String,
    master_seed: u64,
    seeds: Vec<u32>,
    report: ReportOptions,
    methods: Vec<String>,
}

/// Expands `[sweep]` (cartesian product over dotted keys, keys in sorted order) into labelled
/// tables with the sweep applied and removed.
fn expand_sweep(file: &str, table: &Table) -> Result<Vec<(String, Table)>, SpecError> {
    let mut base = table.clone();
    let sweep = match base.remove("sweep") {
        None => Table::new(),
        Some(Value::Table(t)) => t,
        Some(other) => {
            return Err(SpecError::new(
                file,
                "sweep",
                format!(
                    "must be a table of `\"key.path\" = [values]`, got a {}",
                    other.type_str()
                ),
            ));
        }
    };
    let mut variants = vec![(Vec::<String>::new(), base)];
    for (key, values) in &sweep {
        let values = match values {
            Value::Array(values) if !values.is_empty() => values,
            _ => {
                return Err(SpecError::new(
                    file,
                    format!("sweep.\"{key}\""),
                    "must be a non-empty array of values, e.g. [0.0, 0.1]",
                ));
            }
        };
        let mut next = Vec::with_capacity(variants.len() * values.len());
        for (labels, variant) in &variants {
            for value in values {
                let mut t = variant.clone();
                let canonical = overrides::set_path(&mut t, key, value.clone())
                    .map_err(|m| SpecError::new(file, format!("sweep.\"{key}\""), m))?;
                let mut l = labels.clone();
                l.push(format!("{canonical}={}", overrides::value_label(value)));
                next.push((l, t));
            }
        }
        variants = next;
    }
    Ok(variants
        .into_iter()
        .map(|(labels, t)| {
            let label = if labels.is_empty() {
                "default".to_string()
            } else {
                labels.join(",")
            };
            (label, t)
        })
        .collect())
}

/// Variant labels of a spec table in plan order (`default` without a sweep); empty when the
/// sweep is malformed. The report orders its rows by them.
pub fn variant_labels(table: &Table) -> Vec<String> {
    expand_sweep("", table)
        .map(|variants| variants.into_iter().map(|(label, _)| label).collect())
        .unwrap_or_default()
}

fn deserialize_at<T: DeserializeOwned>(
    file: &str,
    prefix: &str,
    table: Table,
) -> Result<T, SpecError> {
    serde_path_to_error::deserialize(table).map_err(|e| {
        let path = e.path().to_string();
        let key = match (prefix.is_empty(), path.as_str()) {
            (true, p) => p.to_string(),
            (false, ".") => prefix.to_string(),
            (false, p) => format!("{prefix}.{p}"),
        };
        SpecError::new(file, key, e.into_inner().message().trim().to_string())
    })
}

fn parse_seeds(file: &str, value: &Value) -> Result<Vec<u32>, SpecError> {
    let bad = |m: String| SpecError::new(file, "seeds", m);
    match value {
        Value::Integer(n) if (1..=100_000).contains(n) => Ok((0..*n as u32).collect()),
        Value::Integer(n) => Err(bad(format!(
            "a count of seeds must be in 1..=100000, got {n}"
        ))),
        Value::Array(items) if !items.is_empty() => {
            let seeds = items
                .iter()
                .map(|v| match v.as_integer() {
                    Some(s) if (0..=i64::from(u32::MAX)).contains(&s) => Ok(s as u32),
                    _ => Err(bad(format!(
                        "each seed must be a whole number in 0..=4294967295, got {v}"
                    ))),
                })
                .collect::<Result<Vec<u32>, _>>()?;
            let distinct: BTreeSet<_> = seeds.iter().collect();
            if distinct.len() != seeds.len() {
                return Err(bad("seeds must be distinct".into()));
            }
            Ok(seeds)
        }
        other => Err(bad(format!(
            "must be a count (seeds = 3) or a non-empty list (seeds = [0, 1, 2]), got {other}"
        ))),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn resolve_variant(
    file: &str,
    variant: &str,
    table: Table,
) -> Result<(Header, Vec<RunSpec>), SpecError> {
    let spec: ExperimentFile = deserialize_at(file, "", table)?;
    let err = |key: &str, message: String| SpecError::new(file, key, message);
    if !valid_name(&spec.name) {
        return Err(err(
            "name",
            format!(
                "`{}` must be 1-64 letters, digits, `_` or `-` (it names results/<name>/)",
                spec.name
            ),
        ));
    }
    let seeds = parse_seeds(file, &spec.seeds)?;
    let mut data: DataConfig = deserialize_at(file, "data", spec.data)?;
    data.validate(&err)?;
    data.resolve();
    let task = data.task();
    let report = match spec.report {
        Some(t) => deserialize_at::<ReportOptions>(file, "report", t)?,
        None => deserialize_at::<ReportOptions>(file, "report", Table::new())?,
    };
    let ood_parts: Vec<&str> = data.ood.keys().map(String::as_str).collect();
    report
        .validate()
        .and_then(|()| report.validate_parts(&ood_parts))
        .map_err(|(key, message)| err(&format!("report.{key}"), message))?;
    if spec.methods.is_empty() {
        return Err(err(
            "methods",
            "at least one [[methods]] entry is needed".into(),
        ));
    }

    let mut names = Vec::new();
    let mut runs = Vec::new();
    for (i, raw) in spec.methods.into_iter().enumerate() {
        let at_method = format!("methods[{i}]");
        let table = match raw {
            Value::Table(t) => t,
            other => {
                return Err(err(
                    &at_method,
                    format!("must be a table, got a {}", other.type_str()),
                ));
            }
        };
        let mut table = table;
        // A config ensemble's `members` is a sweep over the method's own keys, expanded below.
        let members_sweep = if table.get("kind").and_then(Value::as_str) == Some("config_ensemble")
        {
            match table.remove("members") {
                Some(Value::Table(t)) if !t.is_empty() => t,
                _ => {
                    return Err(err(
                        &format!("{at_method}.members"),
                        "a config ensemble needs its members as a sweep over the method's keys, \
                         e.g. `members = { \"optimizer.lr\" = [0.001, 0.003, 0.01] }`"
                            .into(),
                    ));
                }
            }
        } else {
            Table::new()
        };
        let section: MethodSection = deserialize_at(file, &at_method, table)?;
        if !valid_name(&section.name) {
            return Err(err(
                &format!("{at_method}.name"),
                format!(
                    "`{}` must be 1-64 letters, digits, `_` or `-`",
                    section.name
                ),
            ));
        }
        if names.contains(&section.name) {
            return Err(err(
                &format!("{at_method}.name"),
                format!("`{}` names two methods; names must be unique", section.name),
            ));
        }
        names.push(section.name.clone());

        let (model, train, method_config) = if section.kind == MethodKind::ConfigEnsemble {
            let members = config_members(
                file,
                &at_method,
                &section,
                &members_sweep,
                (&spec.model, &spec.train),
                task,
            )?;
            let (model, train) = (members[0].model.clone(), members[0].train.clone());
            (model, train, MethodConfig::ConfigEnsemble { members })
        } else {
            resolve_method(
                file,
                &at_method,
                section.clone(),
                &spec.model,
                &spec.train,
                task,
            )?
        };

        for split in 0..data.split.n_splits() as u32 {
            for &seed in &seeds {
                let config = RunConfig {
                    experiment: spec.name.clone(),
                    method: section.name.clone(),
                    variant: variant.to_string(),
                    master_seed: spec.master_seed,
                    seed,
                    split,
                    data: data.clone(),
                    model: model.clone(),
                    train: train.clone(),
                    method_config: method_config.clone(),
                    predictions: spec.predictions,
                };
                runs.push(RunSpec {
                    run_id: config.run_id(),
                    config,
                });
            }
        }
    }
    report
        .validate_methods(&names)
        .map_err(|(key, message)| err(&format!("report.{key}"), message))?;
    let header = Header {
        name: spec.name,
        description: spec.description,
        master_seed: spec.master_seed,
        seeds,
        report,
        methods: names,
    };
    Ok((header, runs))
}

/// The members of a `config_ensemble` method: the variants of the sweep `members` over the
/// method's own keys (`optimizer.*`, `model.*`, `train.*`), in the order a top-level `[sweep]`
/// would give them, each resolved as a point method. At most 1,000 members.
fn config_members(
    file: &str,
    at_method: &str,
    section: &MethodSection,
    sweep: &Table,
    (shared_model, shared_train): (&Table, &Table),
    task: Task,
) -> Result<Vec<ConfigMember>, SpecError> {
    let err = |key: String, message: String| SpecError::new(file, key, message);
    let mut base = Table::new();
    base.insert("sweep".into(), Value::Table(sweep.clone()));
    if let Some(optimizer) = &section.optimizer {
        base.insert(
            "optimizer".into(),
            Value::try_from(optimizer).expect("an optimizer serialises"),
        );
    }
    base.insert("model".into(), Value::Table(section.model.clone()));
    base.insert("train".into(), Value::Table(section.train.clone()));
    for key in sweep.keys() {
        let top = key.split('.').next().unwrap_or(key);
        if !["optimizer", "model", "train"].contains(&top) {
            return Err(err(
                format!("{at_method}.members.\"{key}\""),
                "a member may change only optimizer.*, model.* or train.* keys".into(),
            ));
        }
    }
    let variants = expand_sweep(file, &base).map_err(|mut e| {
        e.key = format!("{at_method}.members{}", e.key.trim_start_matches("sweep"));
        e
    })?;
    if variants.len() > 1000 {
        return Err(err(
            format!("{at_method}.members"),
            format!("gives {} members; at most 1000", variants.len()),
        ));
    }
    let mut members = Vec::with_capacity(variants.len());
    for (label, table) in variants {
        let member = MethodSection {
            kind: MethodKind::Point,
            optimizer: match table.get("optimizer") {
                Some(Value::Table(t)) => Some(deserialize_at(
                    file,
                    &format!("{at_method}.optimizer"),
                    t.clone(),
                )?),
                _ => None,
            },
            model: table
                .get("model")
                .and_then(Value::as_table)
                .cloned()
                .unwrap_or_default(),
            train: table
                .get("train")
                .and_then(Value::as_table)
                .cloned()
                .unwrap_or_default(),
            ..section.clone()
        };
        let (model, train, method) =
            resolve_method(file, at_method, member, shared_model, shared_train, task).map_err(
                |mut e| {
                    e.message = format!("{} (member {label})", e.message);
                    e
                },
            )?;
        let MethodConfig::Point { optimizer } = method else {
            unreachable!("members resolve as point methods")
        };
        members.push(ConfigMember {
            label,
            model,
            train,
            optimizer,
        });
    }
    Ok(members)
}

/// A method section's model, training and method configuration, validated; errors name keys
/// under `at_method` when the method set them.
fn resolve_method(
    file: &str,
    at_method: &str,
    section: MethodSection,
    shared_model: &Table,
    shared_train: &Table,
    task: Task,
) -> Result<(ModelConfig, TrainConfig, MethodConfig), SpecError> {
    let err = |key: &str, message: String| SpecError::new(file, key, message);
    let mut model: ModelConfig = merged(file, "model", at_method, shared_model, &section.model)?;
    let train: TrainConfig = merged(file, "train", at_method, shared_train, &section.train)?;
    // A key that the method overrides is reported at the method, others at their section.
    let where_is = |section_name: &str, over: &Table| {
        let over = over.clone();
        let section_name = section_name.to_string();
        let at_method = at_method.to_string();
        move |key: &str| {
            let top = key.split(['.', '[']).next().unwrap_or(key);
            if over.contains_key(top) {
                format!("{at_method}.{section_name}.{key}")
            } else {
                format!("{section_name}.{key}")
            }
        }
    };
    model
        .validate(task, &where_is("model", &section.model))
        .map_err(|(k, m)| err(&k, m))?;
    train
        .validate(&where_is("train", &section.train))
        .map_err(|(k, m)| err(&k, m))?;
    model.head.get_or_insert(default_head(task));

    let method_config = match section.kind {
        MethodKind::ConfigEnsemble => unreachable!("config ensembles resolve their members"),
        MethodKind::Point
        | MethodKind::McDropout
        | MethodKind::SnapshotEnsemble
        | MethodKind::SeedEnsemble
        | MethodKind::Bagging => {
            let kind = section.kind.name();
            let optimizer = section.optimizer.ok_or_else(|| {
                err(
                    &format!("{at_method}.optimizer"),
                    format!(
                        "a {kind} method needs an optimizer, e.g. \
                         `optimizer = {{ kind = \"adam\", lr = 0.001 }}`"
                    ),
                )
            })?;
            optimizer
                .validate()
                .map_err(|(k, m)| err(&format!("{at_method}.optimizer.{k}"), m))?;
            if let Some(key) = [
                ("sampler", section.sampler.is_some()),
                ("prior", section.prior.is_some()),
                ("burn_in_epochs", section.burn_in_epochs.is_some()),
                ("burn_in_steps", section.burn_in_steps.is_some()),
                ("thin", section.thin.is_some()),
                ("max_samples", section.max_samples.is_some()),
                ("chains", section.chains.is_some()),
                ("cyclical", section.cyclical.is_some()),
                ("samples_per_cycle", section.samples_per_cycle.is_some()),
            ]
            .iter()
            .find_map(|(k, given)| given.then_some(*k))
            {
                return Err(err(
                    &format!("{at_method}.{key}"),
                    format!("is a key of sgmcmc methods; a {kind} method takes an optimizer"),
                ));
            }
            let ensembles = [MethodKind::SeedEnsemble, MethodKind::Bagging];
            for (key, owners, given) in [
                (
                    "passes",
                    &[MethodKind::McDropout][..],
                    section.passes.is_some(),
                ),
                (
                    "cycles",
                    &[MethodKind::SnapshotEnsemble][..],
                    section.cycles.is_some(),
                ),
                (
                    "keep_last",
                    &[MethodKind::SnapshotEnsemble][..],
                    section.keep_last.is_some(),
                ),
                ("members", &ensembles[..], section.members.is_some()),
            ] {
                if given && !owners.contains(&section.kind) {
                    let owners: Vec<&str> = owners.iter().map(|k| k.name()).collect();
                    return Err(err(
                        &format!("{at_method}.{key}"),
                        format!(
                            "is a key of {} methods, not of a {kind} method",
                            owners.join(" and ")
                        ),
                    ));
                }
            }
            let members = section.members.unwrap_or(5);
            if ensembles.contains(&section.kind) && !(1..=10_000).contains(&members) {
                return Err(err(
                    &format!("{at_method}.members"),
                    format!("must be in 1..=10000, got {members}"),
                ));
            }
            match section.kind {
                MethodKind::Point => MethodConfig::Point { optimizer },
                MethodKind::SeedEnsemble => MethodConfig::SeedEnsemble { optimizer, members },
                MethodKind::Bagging => MethodConfig::Bagging { optimizer, members },
                MethodKind::SnapshotEnsemble => {
                    let cycles = section.cycles.ok_or_else(|| {
                        err(
                            &format!("{at_method}.cycles"),
                            "a snapshot ensemble needs its number of cosine cycles (and \
                             snapshots), e.g. `cycles = 5`"
                                .into(),
                        )
                    })?;
                    if cycles == 0 {
                        return Err(err(
                            &format!("{at_method}.cycles"),
                            format!("must be >= 1, got {cycles}"),
                        ));
                    }
                    if let Some(k) = section.keep_last
                        && !(1..=cycles).contains(&k)
                    {
                        return Err(err(
                            &format!("{at_method}.keep_last"),
                            format!("must be in 1..={cycles} (the cycles), got {k}"),
                        ));
                    }
                    if train.schedule != Schedule::Constant {
                        return Err(err(
                            &format!("{at_method}.cycles"),
                            "sets the learning-rate schedule (cosine cycles); remove \
                             train.schedule from this method"
                                .into(),
                        ));
                    }
                    MethodConfig::SnapshotEnsemble {
                        optimizer,
                        cycles,
                        keep_last: section.keep_last,
                    }
                }
                _ => {
                    let passes = section.passes.unwrap_or(default_passes());
                    if !(1..=100_000).contains(&passes) {
                        return Err(err(
                            &format!("{at_method}.passes"),
                            format!("must be in 1..=100000, got {passes}"),
                        ));
                    }
                    MethodConfig::McDropout { optimizer, passes }
                }
            }
        }
        MethodKind::Sgmcmc => {
            for (key, owner, given) in [
                ("passes", "mc_dropout", section.passes.is_some()),
                ("cycles", "snapshot_ensemble", section.cycles.is_some()),
                (
                    "keep_last",
                    "snapshot_ensemble",
                    section.keep_last.is_some(),
                ),
                (
                    "members",
                    "seed_ensemble and bagging",
                    section.members.is_some(),
                ),
            ] {
                if given {
                    return Err(err(
                        &format!("{at_method}.{key}"),
                        format!(
                            "is a key of {owner} methods, not of an sgmcmc method (its \
                             cycles are `cyclical = {{ cycles, exploration }}`)"
                        ),
                    ));
                }
            }
            if section.optimizer.is_some() {
                return Err(err(
                    &format!("{at_method}.optimizer"),
                    "an sgmcmc method takes a sampler, not an optimizer, e.g. \
                     `sampler = { kind = \"psgld\", lr = 0.001 }`"
                        .into(),
                ));
            }
            let sampler = section.sampler.ok_or_else(|| {
                err(
                    &format!("{at_method}.sampler"),
                    "an sgmcmc method needs a sampler, e.g. \
                     `sampler = { kind = \"sgld\", lr = 0.001 }`"
                        .into(),
                )
            })?;
            sampler
                .validate()
                .map_err(|(k, m)| err(&format!("{at_method}.sampler.{k}"), m))?;
            let prior = section.prior.unwrap_or_default();
            prior
                .validate()
                .map_err(|(k, m)| err(&format!("{at_method}.prior.{k}"), m))?;
            let burn_in_epochs = section.burn_in_epochs.unwrap_or(0);
            if burn_in_epochs >= train.epochs {
                return Err(err(
                    &format!("{at_method}.burn_in_epochs"),
                    format!(
                        "must be < train.epochs ({}), or no weights are ever kept; got {burn_in_epochs}",
                        train.epochs
                    ),
                ));
            }
            if section.burn_in_epochs.is_some() && section.burn_in_steps.is_some() {
                return Err(err(
                    &format!("{at_method}.burn_in_steps"),
                    "give the burn-in in epochs or in steps, not both".into(),
                ));
            }
            let thin = section.thin.unwrap_or(1);
            if thin == 0 {
                return Err(err(
                    &format!("{at_method}.thin"),
                    "must be >= 1, got 0".into(),
                ));
            }
            for (key, value) in [
                ("max_samples", section.max_samples),
                ("chains", section.chains),
                ("samples_per_cycle", section.samples_per_cycle),
            ] {
                if value == Some(0) {
                    return Err(err(
                        &format!("{at_method}.{key}"),
                        "must be >= 1, got 0".into(),
                    ));
                }
            }
            if let Some(cyclical) = &section.cyclical {
                cyclical
                    .validate()
                    .map_err(|(k, m)| err(&format!("{at_method}.cyclical.{k}"), m))?;
                if let Some(key) = [
                    ("burn_in_epochs", section.burn_in_epochs.is_some()),
                    ("burn_in_steps", section.burn_in_steps.is_some()),
                ]
                .iter()
                .find_map(|(k, given)| given.then_some(*k))
                {
                    return Err(err(
                        &format!("{at_method}.{key}"),
                        "a cyclical chain keeps samples at the end of each cycle, from the \
                         first; it has no burn-in: remove the key"
                            .into(),
                    ));
                }
                if train.schedule != Schedule::Constant {
                    return Err(err(
                        &format!("{at_method}.cyclical"),
                        "sets the step-size schedule (cosine cycles); remove \
                         train.schedule from this method"
                            .into(),
                    ));
                }
            } else if section.samples_per_cycle.is_some() {
                return Err(err(
                    &format!("{at_method}.samples_per_cycle"),
                    "applies to cyclical chains only: add `cyclical = { cycles = 4, \
                     exploration = 0.8 }` or remove the key"
                        .into(),
                ));
            }
            MethodConfig::Sgmcmc {
                sampler,
                prior,
                burn_in_epochs,
                burn_in_steps: section.burn_in_steps,
                thin,
                max_samples: section.max_samples,
                chains: section.chains.unwrap_or(1),
                cyclical: section.cyclical,
                samples_per_cycle: section.samples_per_cycle.unwrap_or(1),
            }
        }
    };
    Ok((model, train, method_config))
}

/// Merges a method's override table over the shared section and deserialises it; an error names
/// the method's key when the key came from the override.
fn merged<T: DeserializeOwned>(
    file: &str,
    section: &str,
    at_method: &str,
    shared: &Table,
    over: &Table,
) -> Result<T, SpecError> {
    let mut table = shared.clone();
    overrides::merge_tables(&mut table, over);
    deserialize_at(file, section, table).map_err(|mut e| {
        let key_in_override = e
            .key
            .strip_prefix(&format!("{section}."))
            .and_then(|rest| rest.split(['.', '[']).next())
            .is_some_and(|top| over.contains_key(top));
        if key_in_override || (shared.is_empty() && !over.is_empty()) {
            e.key = format!("{at_method}.{}", e.key);
        }
        e
    })
}

/// The name printed for a serde-named enum value (`gaussian_fixed`).
pub fn serde_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
