//! Hyperparameter search through experiment files: spec errors for bad spaces, every trial a
//! run, resumption replays the search exactly, and benchmarks on test functions.

use std::sync::atomic::AtomicBool;

use bayeslab::runner::RunOptions;
use bayeslab::spec;
use bayeslab::store;

use crate::common::*;

fn tiny_search(extra: &str) -> String {
    format!(
        "{TINY}\n[tune]\nmethod = \"adam\"\nobjective = \"valid.gaussian_ll\"\nbudget = 7\n\
         strategies = [{{ kind = \"random\" }}, {{ kind = \"bo\" }}]\nrepeats = 2\n{extra}\n\
         [tune.space]\n\"methods.adam.optimizer.lr\" = {{ kind = \"log_uniform\", low = 1e-4, high = 0.1 }}\n\
         \"model.dropout\" = {{ kind = \"uniform\", low = 0.0, high = 0.3 }}\n"
    )
}

fn refused(text: &str) -> bayeslab::error::SpecError {
    match spec::parse("exp.toml", text, &[]) {
        Ok(_) => panic!("accepted a bad search"),
        Err(e) => e,
    }
}

#[test]
fn bad_search_spaces_are_refused() {
    let base = tiny_search("");
    assert!(spec::parse("exp.toml", &base, &[]).is_ok());

    let e = refused(&base.replace("low = 1e-4, high = 0.1", "low = 0.1, high = 0.01"));
    assert_eq!(e.key, "tune.space.\"methods.adam.optimizer.lr\"", "{e}");
    assert!(e.message.contains("low < high"), "{e}");

    let e = refused(&base.replace("low = 1e-4, high = 0.1", "low = 0.0, high = 0.1"));
    assert!(e.message.contains("log"), "{e}");

    let e = refused(&base.replace(
        "methods.adam.optimizer.lr\"",
        "methods.adam.optimizer.lrr\"",
    ));
    assert!(e.to_string().contains("lrr"), "{e}");

    let e = refused(&base.replace(
        "\"model.dropout\" = { kind = \"uniform\", low = 0.0, high = 0.3 }",
        "\"methods.sgd.optimizer.lr\" = { kind = \"uniform\", low = 0.01, high = 0.3 }",
    ));
    assert!(
        e.message
            .contains("does not change the runs of method `adam`"),
        "{e}"
    );

    let e = refused(&base.replace("valid.gaussian_ll", "test.gaussian_ll"));
    assert_eq!(e.key, "tune.objective");
    assert!(e.message.contains("validation metric"), "{e}");

    let e = refused(&base.replace("kind = \"uniform\"", "kind = \"beta\""));
    assert!(e.message.contains("beta"), "{e}");
}

fn search_options(root: &std::path::Path, jobs: usize) -> RunOptions {
    options(root, jobs)
}

#[test]
fn every_trial_is_a_run_and_resuming_replays_the_search() {
    let experiment = spec::parse("tiny.toml", &tiny_search(""), &[]).unwrap();
    let whole = temp_dir("search-whole");
    let summary = run(&experiment, &search_options(&whole, 2));
    assert_eq!(summary.failed, 0);
    let results = whole.join("results/tiny");
    let trials = store::load_trials(&results).unwrap();
    assert_eq!(trials.len(), 2 * 2 * 7, "strategies x repeats x budget");
    // The run recorded the validated search beside spec.toml, defaults filled in.
    let plan = std::fs::read_to_string(results.join(spec::SEARCH_PLAN_FILE)).unwrap();
    let plan = spec::SearchPlan::from_json(&plan).unwrap();
    assert_eq!(plan, spec::SearchPlan::of(&experiment).unwrap());
    let spec::SearchPlan::Tune(tune) = &plan else {
        panic!("{plan:?}")
    };
    assert_eq!(tune.direction, bayeslab::tune::Direction::Maximize);
    assert_eq!((tune.budget, tune.repeats), (7, 2));
    assert_eq!(plan.strategy_labels(), ["random", "bo"]);
    let loaded = store::load(&results).unwrap();
    for t in &trials {
        assert!(
            loaded.runs.iter().any(|r| r.run_id == t.run_id),
            "trial {t:?} has its run"
        );
        assert!(t.objective.is_some());
    }
    // Best-so-far is monotone (maximising the log-likelihood).
    for w in trials.windows(2) {
        if (w[0].strategy.as_str(), w[0].repeat) == (w[1].strategy.as_str(), w[1].repeat) {
            assert!(w[1].best_so_far >= w[0].best_so_far);
        }
    }
    let tuned = loaded
        .runs
        .iter()
        .filter(|r| r.variant.starts_with("tuned:"))
        .count();
    assert_eq!(
        tuned,
        2 * 2 * 4,
        "each search's best over 2 seeds x 2 splits"
    );

    // Stop after 3 trials of every search: delete the parts of later trials and of the final
    // runs, then resume.
    let partial = temp_dir("search-partial");
    run(&experiment, &search_options(&partial, 1));
    let parts = partial.join("results/tiny/parts");
    let late: Vec<&str> = trials
        .iter()
        .filter(|t| t.trial >= 3)
        .map(|t| t.run_id.as_str())
        .collect();
    for entry in std::fs::read_dir(&parts).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let id = name.split('.').next().unwrap_or("");
        let is_final = loaded
            .runs
            .iter()
            .any(|r| r.run_id == id && r.variant.starts_with("tuned:"));
        if late.contains(&id) || is_final {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let resumed = bayeslab::runner::run(
        &experiment,
        &RunOptions {
            resume: true,
            ..search_options(&partial, 2)
        },
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(resumed.skipped >= 2 * 2 * 3, "{resumed:?}");
    let again = store::load_trials(&partial.join("results/tiny")).unwrap();
    let key = |t: &store::TrialRow| {
        (
            t.strategy.clone(),
            t.repeat,
            t.trial,
            t.run_id.clone(),
            t.parameters.clone(),
            t.objective,
        )
    };
    assert_eq!(
        trials.iter().map(key).collect::<Vec<_>>(),
        again.iter().map(key).collect::<Vec<_>>(),
        "a resumed search proposes and scores exactly what an uninterrupted one does (and --jobs does not matter)"
    );
    assert_eq!(
        bytes(&whole, "tiny", "metrics.parquet"),
        bytes(&partial, "tiny", "metrics.parquet")
    );
}

#[test]
fn a_benchmark_finds_the_minimum_of_a_test_function() {
    let text = "name = \"bench\"\n[benchmark]\nfunctions = [\"branin\"]\n\
                strategies = [{ kind = \"random\" }, { kind = \"bo\" }]\nbudget = 25\nrepeats = 2\n";
    let experiment = spec::parse("bench.toml", text, &[]).unwrap();
    let root = temp_dir("bench");
    run(&experiment, &options(&root, 2));
    let trials = store::load_trials(&root.join("results/bench")).unwrap();
    assert_eq!(trials.len(), 2 * 2 * 25);
    let plan = std::fs::read_to_string(root.join("results/bench/search.json")).unwrap();
    let plan = spec::SearchPlan::from_json(&plan).unwrap();
    let spec::SearchPlan::Benchmark(b) = &plan else {
        panic!("{plan:?}")
    };
    assert_eq!(
        (b.budget, b.repeats, b.checkpoints.clone()),
        (25, 2, vec![25])
    );
    let best = |strategy: &str| {
        trials
            .iter()
            .filter(|t| t.strategy == strategy)
            .filter_map(|t| t.objective)
            .fold(f64::INFINITY, f64::min)
    };
    // f* = 0.397887; 25 GP-BO evaluations get within 0.05 of it (and beat random search).
    assert!(best("bo") < 0.397887 + 0.05, "{}", best("bo"));
    assert!(best("bo") <= best("random"));
    let e = spec::parse("bench.toml", &text.replace("branin", "rosenbrok"), &[]).unwrap_err();
    assert!(e.message.contains("hartmann6"), "{e}");
}

#[test]
fn earlier_trials_warm_start_a_new_search() {
    // 5 trials fill the default initial design of 2 dimensions: max(d + 1, 5).
    let first_text = tiny_search("").replace("budget = 7", "budget = 5").replace(
        "strategies = [{ kind = \"random\" }, { kind = \"bo\" }]\nrepeats = 2",
        "strategies = [{ kind = \"random\" }]\nrepeats = 1",
    );
    let first = spec::parse("tiny.toml", &first_text, &[]).unwrap();
    let root = temp_dir("warm-first");
    run(&first, &options(&root, 1));
    let earlier = root.join("results/tiny");
    assert_eq!(store::load_trials(&earlier).unwrap().len(), 5);

    let second_text = first_text
        .replace("budget = 5", "budget = 2")
        .replace("[{ kind = \"random\" }]", "[{ kind = \"bo\" }]")
        .replace(
            "[tune.space]",
            &format!(
                "warm_start = {:?}\n[tune.space]",
                earlier.display().to_string()
            ),
        );
    let second = spec::parse("tiny.toml", &second_text, &[]).unwrap();
    let root2 = temp_dir("warm-second");
    run(&second, &options(&root2, 1));
    let trials = store::load_trials(&root2.join("results/tiny")).unwrap();
    assert_eq!(trials.len(), 2, "the budget counts new trials only");
    assert!(
        trials.iter().all(|t| t.trial >= 5 && t.source == "model"),
        "the 5 earlier trials come first and already fill the initial design: {trials:?}"
    );

    let e = spec::parse(
        "tiny.toml",
        &second_text.replace(&earlier.display().to_string(), "results/nowhere"),
        &[],
    )
    .unwrap_err();
    assert_eq!(e.key, "tune.warm_start", "{e}");
}
