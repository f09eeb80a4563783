//! A bad spec is refused before anything runs, with the file, the key path and what is allowed.

use bayeslab::error::SpecError;
use bayeslab::spec;

use crate::common::TINY;

fn refused(text: &str, sets: &[&str]) -> SpecError {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match spec::parse("exp.toml", text, &sets) {
        Ok(_) => panic!("accepted a bad spec"),
        Err(e) => e,
    }
}

fn assert_names(e: &SpecError, key: &str, words: &[&str]) {
    let text = e.to_string();
    assert!(text.starts_with("exp.toml: "), "{text}");
    assert_eq!(e.key, key, "{text}");
    for w in words {
        assert!(text.contains(w), "`{w}` missing in: {text}");
    }
}

#[test]
fn unknown_keys_are_refused_with_their_path() {
    let e = refused(&TINY.replace("epochs = 6", "epochs = 6\nepoch = 7"), &[]);
    assert_names(&e, "train.epoch", &["unknown field `epoch`", "epochs"]);
    let e = refused(TINY, &["methods.adam.optimizer.beta3=0.5"]);
    assert_names(&e, "methods[1].optimizer", &["`beta3`", "beta1"]);
    let e = refused(&format!("mystery = 1\n{TINY}"), &[]);
    assert_names(&e, "mystery", &["unknown field"]);
}

#[test]
fn wrong_types_are_refused() {
    let e = refused(TINY, &["train.epochs=\"many\""]);
    assert_names(&e, "train.epochs", &["invalid type"]);
    let e = refused(TINY, &["model.activation=swish"]);
    assert_names(&e, "model.activation", &["swish", "relu"]);
}

#[test]
fn out_of_range_values_are_refused() {
    let e = refused(TINY, &["methods.adam.optimizer.lr=-0.1"]);
    assert_names(&e, "methods[1].optimizer.lr", &["-0.1"]);
    let e = refused(TINY, &["model.dropout=1.5"]);
    assert_names(&e, "model.dropout", &["[0, 1)", "1.5"]);
    let e = refused(TINY, &["train.batch_size=0"]);
    assert_names(&e, "train.batch_size", &[">= 1"]);
    let e = refused(TINY, &["model.hidden=[16, 0]"]);
    assert_names(&e, "model.hidden", &["1..=65536", "[16, 0]"]);
    let e = refused(TINY, &["seeds=0"]);
    assert_names(&e, "seeds", &["1..="]);
    let e = refused(TINY, &["model.head=softmax"]);
    assert_names(&e, "model.head", &["regression"]);
}

#[test]
fn a_missing_data_file_is_refused_with_how_to_get_it() {
    let text = TINY.replace(
        "source = \"toy_gap_1d\"\nn = 80\nnoise = 3.0",
        "source = \"csv\"\npath = \"data/nowhere.csv\"\ntarget = \"y\"",
    );
    let e = refused(&text, &[]);
    assert_names(&e, "data.path", &["data/nowhere.csv", "data/README.md"]);
}

#[test]
fn syntax_errors_name_the_line() {
    let e = refused("name = \"x\"\nseeds = [1,\n", &[]);
    assert!(e.key.starts_with("line "), "{e}");
}

#[test]
fn sweeps_expand_to_a_cartesian_product() {
    let text = format!(
        "{TINY}\n[sweep]\n\"model.dropout\" = [0.0, 0.1]\n\"train.batch_size\" = [8, 16, 32]\n"
    );
    let experiment = spec::parse("exp.toml", &text, &[]).unwrap();
    assert_eq!(experiment.variants.len(), 6);
    assert_eq!(experiment.runs.len(), 6 * 8);
    assert!(
        experiment
            .variants
            .contains(&"model.dropout=0.1,train.batch_size=32".to_string())
    );
    let ids: std::collections::BTreeSet<_> = experiment.runs.iter().map(|r| &r.run_id).collect();
    assert_eq!(ids.len(), experiment.runs.len(), "run ids are distinct");
}

#[test]
fn method_overrides_apply_to_that_method_only() {
    let text = TINY.replace(
        "name = \"adam\"\nkind = \"point\"",
        "name = \"adam\"\nkind = \"point\"\ntrain = { epochs = 9 }",
    );
    let experiment = spec::parse("exp.toml", &text, &[]).unwrap();
    for run in &experiment.runs {
        let expected = if run.config.method == "adam" { 9 } else { 6 };
        assert_eq!(run.config.train.epochs, expected);
    }
    let e = refused(&text.replace("epochs = 9", "epochs = 0"), &[]);
    assert_names(&e, "methods[1].train.epochs", &["1..="]);
    // A key the method does not override is reported in its own section.
    let e = refused(&text.replace("batch_size = 16", "batch_size = 0"), &[]);
    assert_names(&e, "train.batch_size", &[">= 1"]);
}

#[test]
fn run_ids_are_stable_and_ignore_plan_order() {
    let a = spec::parse("exp.toml", TINY, &[]).unwrap();
    let b = spec::parse("other.toml", TINY, &[]).unwrap();
    assert_eq!(a.runs, b.runs);
    // Changing a method's learning rate changes only that method's ids.
    let c = spec::parse("exp.toml", TINY, &["methods.adam.optimizer.lr=0.02".into()]).unwrap();
    for (x, y) in a.runs.iter().zip(&c.runs) {
        assert_eq!(x.run_id == y.run_id, x.config.method == "sgd");
    }
}

/// Run ids are the results' keys: `--resume` and shards find finished runs by them. Two ids of
/// shipped experiments are pinned, so a change of the configuration's serialised form (a new
/// field that is not skipped at its default, a renamed key) fails here instead of silently
/// orphaning every stored result.
#[test]
fn run_ids_of_shipped_experiments_are_pinned() {
    let id = |name: &str, method: &str, variant: &str| {
        let (_, text) = bayeslab::cli::SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap();
        let e = spec::parse(name, text, &[]).unwrap();
        e.runs
            .iter()
            .find(|r| {
                r.config.method == method
                    && r.config.variant == variant
                    && r.config.seed == 0
                    && r.config.split == 0
            })
            .unwrap()
            .run_id
            .clone()
    };
    let quickstart = id("quickstart", "adam", "default");
    let uci = id("uci_point", "sgd", &first_variant("uci_point"));
    assert_eq!(quickstart, "adf49187bf871ae8");
    assert_eq!(uci, "65ca43bd3e8bc7b7");
}

fn first_variant(name: &str) -> String {
    let (_, text) = bayeslab::cli::SHIPPED
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap();
    spec::parse(name, text, &[]).unwrap().variants[0].clone()
}

#[test]
fn toy_parameters_are_range_checked() {
    let e = refused(TINY, &["data.noise=-1"]);
    assert_eq!(e.to_string(), "exp.toml: data.noise: must be >= 0, got -1");
    let e = refused(TINY, &["data.noise=inf"]);
    assert_names(&e, "data.noise", &["finite"]);
    let e = refused(TINY, &["data.noise=nan"]);
    assert_names(&e, "data.noise", &[">= 0"]);
    let e = refused(TINY, &["data.n=5"]);
    assert_names(&e, "data.n", &["10..=", "got 5"]);
    let e = refused(TINY, &["data.n=100000000000"]);
    assert_names(&e, "data.n", &["10..=10000000"]);
    let e = refused(TINY, &["data.header=false"]);
    assert_names(&e, "data.header", &["only csv and idx sources"]);
    let e = refused(TINY, &["data.classes=3"]);
    assert_names(&e, "data.classes", &["spirals"]);

    let with = |more: &'static str| vec!["data.source=\"spirals\"", "model.head=\"softmax\"", more];
    let sets: Vec<String> = with("data.classes=8")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(spec::parse("exp.toml", TINY, &sets).is_ok());
    let e = refused(TINY, &with("data.classes=1"));
    assert_names(&e, "data.classes", &[">= 2"]);
    // n = 80 points hold at most 8 arms of 10.
    let e = refused(TINY, &with("data.classes=9"));
    assert_names(&e, "data.classes", &["n = 80", "at least 90"]);
}

/// The metric registry gives every table column its direction; a name it does not know would be
/// ranked blindly, so it is refused.
#[test]
fn unknown_report_metrics_are_refused_with_the_known_ones() {
    let e = refused(TINY, &["report.metrics=[\"test.rmse\", \"test.auroc\"]"]);
    assert_names(
        &e,
        "report.metrics[1]",
        &["unknown metric", "ood_auroc", "gaussian_ll"],
    );
}

#[test]
fn idx_sources_are_checked() {
    let idx = |lines: &str| {
        let data = "[data]\nsource = \"toy_gap_1d\"\nn = 80\nnoise = 3.0\n";
        assert!(TINY.contains(data));
        TINY.replace(data, &format!("[data]\nsource = \"idx\"\n{lines}"))
    };
    let images = "path = \"data/images/fashion-mnist/t10k-images-idx3-ubyte\"\n";
    let e = refused(&idx(images), &[]);
    assert_names(&e, "data.labels", &["label file"]);
    let e = refused(
        &idx(&format!("{images}labels = \"data/nowhere-labels\"\n")),
        &[],
    );
    assert_names(&e, "data.labels", &["no such file"]);
    let e = refused(&idx(&format!("{images}target = \"784\"\n")), &[]);
    assert_names(&e, "data.target", &["labels"]);
    let e = refused(
        &TINY.replace("noise = 3.0\n", "noise = 3.0\nlabels = \"x\"\n"),
        &[],
    );
    assert_names(&e, "data.labels", &["csv and idx"]);
}

#[test]
fn values_that_round_badly_in_f32_are_refused() {
    // Dropout, noise precision and the clipping bound are kept in f32 by the network.
    let e = refused(TINY, &["model.dropout=0.99999999999"]);
    assert_names(&e, "model.dropout", &["[0, 1)"]);
    let e = refused(TINY, &["model.noise_precision=1e300"]);
    assert_names(&e, "model.noise_precision", &["[1e-12, 1e12]"]);
    let e = refused(TINY, &["model.noise_precision=1e-50"]);
    assert_names(&e, "model.noise_precision", &["[1e-12, 1e12]"]);
    let e = refused(TINY, &["train.clip_norm=1e-50"]);
    assert_names(&e, "train.clip_norm", &["> 0"]);
    let e = refused(TINY, &["data.split.repeats=1000000"]);
    assert_names(&e, "data.split.repeats", &["at most 100000"]);
    for bad in ["0", "-255", "1e-50", "nan"] {
        let e = refused(TINY, &[&format!("data.divide_inputs_by={bad}")]);
        assert_names(&e, "data.divide_inputs_by", &["positive", "255"]);
    }
}

#[test]
fn an_unknown_plot_is_refused_with_the_allowed_names() {
    let e = refused(TINY, &["report.plots=[\"samples\", \"trace\"]"]);
    assert_names(
        &e,
        "report.plots[1]",
        &[
            "\"trace\"",
            "learning_curves, uncertainty_1d, reliability, entropy, samples, traces, rhat",
        ],
    );
    let sets = [
        "report.plots=[\"samples\", \"traces\", \"rhat\", \"reliability\", \"entropy\"]"
            .to_string(),
    ];
    assert!(spec::parse("exp.toml", TINY, &sets).is_ok());
}
