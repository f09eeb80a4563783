//! The report of sampler runs: the convergence-diagnostics table and the `samples`, `traces` and
//! `rhat` plots, on synthetic results whose chains are known.

use std::fs;

use super::diagnostics::{self, DiagnosticRow};
use super::sampling::{self, SamplesLine};
use super::tests::{TempDir, assert_close, assert_plot_files, png_size, run, synthetic};
use super::*;
use crate::noise::NormalStream;
use crate::sgmcmc::diagnostics::{ess_bulk, ess_tail, rhat};
use crate::spec::report::Spread;
use crate::store::{MetricRow, TraceRow};

/// Kept samples of every chain in [`sampled`].
const DRAWS: u32 = 40;
/// Chains of every sampler run in [`sampled`].
const CHAINS: u32 = 4;

/// Draw `sample` (from 1) of `chain` of the run with this `key`: the test log-likelihood
/// −1 + 0.1·z plus `shift`·chain, with z iid N(0, 1).
fn test_ll(key: u64, chain: u32, sample: u32, shift: f64) -> f64 {
    let z = f64::from(NormalStream::new(key).normal(u64::from(chain), u64::from(sample)));
    -1.0 + 0.1 * z + shift * f64::from(chain)
}

/// The weight norm of that draw: 5 + z (another stream).
fn weight_norm(key: u64, chain: u32, sample: u32) -> f64 {
    5.0 + f64::from(NormalStream::new(key + 1000).normal(u64::from(chain), u64::from(sample)))
}

/// The chains of a sampler run's test log-likelihood, built straight from [`test_ll`].
fn test_chains(key: u64, chains: u32, draws: u32, shift: f64) -> Vec<Vec<f64>> {
    (0..chains)
        .map(|c| (1..=draws).map(|i| test_ll(key, c, i, shift)).collect())
        .collect()
}

fn row(
    id: &str,
    samples: i64,
    epoch: i64,
    split: &str,
    metric: &str,
    value: f64,
) -> (String, MetricRow) {
    (
        id.into(),
        MetricRow {
            epoch,
            step: 10 * epoch,
            samples,
            split: split.into(),
            metric: metric.into(),
            value,
        },
    )
}

/// A synthetic sampler run.
struct Sampler<'a> {
    id: &'a str,
    method: &'a str,
    variant: &'a str,
    seed: u32,
    /// Of the noise stream of its draws.
    key: u64,
    chains: u32,
    draws: u32,
    /// Chain k's test log-likelihood is shifted by `shift`·k.
    shift: f64,
}

impl<'a> Sampler<'a> {
    /// [`CHAINS`] × [`DRAWS`] of `method` at `seed`, variant `default`, unshifted.
    fn new(id: &'a str, method: &'a str, seed: u32, key: u64) -> Self {
        Sampler {
            id,
            method,
            variant: "default",
            seed,
            key,
            chains: CHAINS,
            draws: DRAWS,
            shift: 0.0,
        }
    }
}

/// Adds a sampler run: `chains` chains of `draws` kept samples (one per 10 steps after step
/// 100), traced in a scrambled order (chains interleaved, samples last to first) as a merge may
/// store them; a training log posterior per chain at the end of each of 5 epochs; the pooled
/// test.rmse after s samples = 1 + 1/s + 0.1·seed at s = 1, 2, 4, … and the total.
fn add_sampler(r: &mut Results, s: Sampler) {
    let Sampler {
        id,
        method,
        variant,
        seed,
        key,
        chains,
        draws,
        shift,
    } = s;
    r.runs.push(run(id, method, variant, seed, true));
    for i in (1..=draws).rev() {
        for c in 0..chains {
            let trace = |quantity: &str, value: f64| {
                (
                    id.to_string(),
                    TraceRow {
                        chain: c,
                        sample: i,
                        epoch: 1 + i64::from(i) / 10,
                        step: 100 + 10 * i64::from(i),
                        quantity: quantity.into(),
                        value,
                    },
                )
            };
            r.traces
                .push(trace("test_log_likelihood", test_ll(key, c, i, shift)));
            r.traces.push(trace("weight_norm", weight_norm(key, c, i)));
        }
    }
    for c in 0..chains {
        for epoch in (1..=5i64).rev() {
            r.traces.push((
                id.to_string(),
                TraceRow {
                    chain: c,
                    sample: ((epoch - 1) * 10).clamp(0, i64::from(draws)) as u32,
                    epoch,
                    step: 100 * epoch,
                    quantity: "train_log_posterior".into(),
                    value: -1000.0 / epoch as f64 - f64::from(c),
                },
            ));
        }
    }
    let total = i64::from(chains * draws);
    let mut at: Vec<i64> = (0..)
        .map(|k| 1i64 << k)
        .take_while(|&s| s <= total)
        .collect();
    if *at.last().unwrap() != total {
        at.push(total);
    }
    for s in at {
        let rmse = 1.0 + 1.0 / s as f64 + 0.1 * f64::from(seed);
        r.metrics.push(row(id, s, 1 + s / 40, "test", "rmse", rmse));
    }
    for epoch in 1..=5 {
        r.metrics
            .push(row(id, 1, epoch, "train", "loss", 1.0 / epoch as f64));
    }
}

/// A point run: test.rmse 2 − 0.1·epoch + 0.2·seed at epochs 1..=5 (final 1.5 + 0.2·seed).
fn add_point(r: &mut Results, id: &str, method: &str, variant: &str, seed: u32) {
    r.runs.push(run(id, method, variant, seed, true));
    for epoch in 1..=5 {
        let rmse = 2.0 - 0.1 * epoch as f64 + 0.2 * f64::from(seed);
        r.metrics.push(row(id, 1, epoch, "test", "rmse", rmse));
        r.metrics
            .push(row(id, 1, epoch, "train", "loss", 1.0 / epoch as f64));
    }
}

/// sgd (point) and sgld (4 chains of 40 samples) at seeds 0 and 1, sgld's seed 1 listed first.
fn sampled() -> Results {
    let mut r = Results::default();
    add_point(&mut r, "s0", "sgd", "default", 0);
    add_point(&mut r, "s1", "sgd", "default", 1);
    add_sampler(&mut r, Sampler::new("g1", "sgld", 1, 11));
    add_sampler(&mut r, Sampler::new("g0", "sgld", 0, 10));
    r
}

fn find<'a>(rows: &'a [DiagnosticRow], method: &str, quantity: &str) -> &'a DiagnosticRow {
    rows.iter()
        .find(|r| r.method == method && r.quantity == quantity)
        .unwrap_or_else(|| panic!("no row for {method} {quantity} in {rows:?}"))
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[test]
fn diagnostics_are_the_estimators_over_each_runs_chains() {
    let rows = diagnostics::diagnostics(&sampled());
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.method.as_str(), r.quantity.as_str()))
        .collect();
    // The point method has no traces; the once-per-epoch log posterior is no chain of draws.
    assert_eq!(
        keys,
        [("sgld", "test_log_likelihood"), ("sgld", "weight_norm")]
    );
    let row = find(&rows, "sgld", "test_log_likelihood");
    assert_eq!(
        (row.runs, row.chains, row.draws, row.undefined),
        (2, (4, 4), 40.0, 0)
    );
    let per_run: Vec<Vec<Vec<f64>>> = [10, 11]
        .map(|key| test_chains(key, CHAINS, DRAWS, 0.0))
        .to_vec();
    let r: Vec<f64> = per_run.iter().map(|c| rhat(c)).collect();
    assert_close(row.rhat.mean, mean(&r));
    assert_close(row.rhat.max, r[0].max(r[1]));
    assert_close(
        row.ess_bulk.mean,
        mean(&per_run.iter().map(|c| ess_bulk(c)).collect::<Vec<_>>()),
    );
    assert_close(
        row.ess_tail.mean,
        mean(&per_run.iter().map(|c| ess_tail(c)).collect::<Vec<_>>()),
    );
    assert_eq!((row.rhat.n, row.ess_bulk.n, row.ess_tail.n), (2, 2, 2));
    // iid draws: R̂ near 1 and ESS near the 160 draws of a run.
    assert!(row.rhat.max < 1.1, "{row:?}");
    assert!(row.ess_bulk.mean > 80.0, "{row:?}");
    let norm = find(&rows, "sgld", "weight_norm");
    let chains: Vec<Vec<f64>> = (0..CHAINS)
        .map(|c| (1..=DRAWS).map(|i| weight_norm(10, c, i)).collect())
        .collect();
    let other: Vec<Vec<f64>> = (0..CHAINS)
        .map(|c| (1..=DRAWS).map(|i| weight_norm(11, c, i)).collect())
        .collect();
    assert_close(norm.rhat.mean, (rhat(&chains) + rhat(&other)) / 2.0);

    let md = diagnostics::render_markdown(&rows);
    let expected = "\
| method | quantity | runs | chains | draws | bulk-ESS | tail-ESS | R̂ mean | R̂ max |
|:--|:--|--:|--:|--:|--:|--:|--:|--:|
| sgld | test\\_log\\_likelihood | 2 | 4 | 40 |";
    assert!(md.starts_with(expected), "{md}");
    assert!(
        md.contains(&format!(
            "| {:.3} | {:.3} |\n| | weight\\_norm |",
            row.rhat.mean, row.rhat.max
        )),
        "{md}"
    );
    for needle in [
        "Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021)",
        "R̂ \\< 1.01",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    assert!(!md.contains("one chain"), "{md}");
    let csv = diagnostics::render_csv(&rows);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3);
    let f: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        &f[..7],
        [
            "default",
            "sgld",
            "test_log_likelihood",
            "2",
            "4",
            "4",
            "40.0"
        ]
    );
    assert_eq!(
        f[9].parse::<f64>().unwrap(),
        row.rhat.mean,
        "full precision"
    );
}

#[test]
fn shifted_chains_show_an_rhat_above_1_1() {
    // Chain k of every run shifted by 0.1·k: one within-chain std apart per chain.
    let mut r = Results::default();
    add_sampler(
        &mut r,
        Sampler {
            shift: 0.1,
            ..Sampler::new("h0", "sghmc", 0, 20)
        },
    );
    add_sampler(
        &mut r,
        Sampler {
            shift: 0.1,
            ..Sampler::new("h1", "sghmc", 1, 21)
        },
    );
    let rows = diagnostics::diagnostics(&r);
    let row = find(&rows, "sghmc", "test_log_likelihood");
    assert!(row.rhat.mean > 1.1 && row.rhat.max > 1.1, "{row:?}");
    assert_close(
        row.rhat.max,
        rhat(&test_chains(20, CHAINS, DRAWS, 0.1)).max(rhat(&test_chains(21, CHAINS, DRAWS, 0.1))),
    );
    // The weight norm is not shifted.
    assert!(find(&rows, "sghmc", "weight_norm").rhat.max < 1.1);
}

#[test]
fn one_chain_is_split_and_too_few_draws_are_undefined() {
    let mut r = Results::default();
    // One chain of 20 draws with a step half-way: its two halves disagree.
    add_sampler(
        &mut r,
        Sampler {
            variant: "data=a",
            chains: 1,
            draws: 20,
            ..Sampler::new("one", "sgld", 0, 30)
        },
    );
    for (_, t) in r
        .traces
        .iter_mut()
        .filter(|(_, t)| t.quantity == "test_log_likelihood" && t.sample > 10)
    {
        t.value += 1.0;
    }
    // Two runs of 4 chains: one of 3 draws (undefined), one of 10.
    add_sampler(
        &mut r,
        Sampler {
            variant: "data=b",
            draws: 3,
            ..Sampler::new("few", "psgld", 0, 31)
        },
    );
    add_sampler(
        &mut r,
        Sampler {
            variant: "data=b",
            draws: 10,
            ..Sampler::new("ten", "psgld", 1, 32)
        },
    );
    let rows = diagnostics::diagnostics(&r);
    let one = find(&rows, "sgld", "test_log_likelihood");
    assert_eq!((one.chains, one.draws), ((1, 1), 20.0));
    assert!(one.rhat.mean > 1.1, "{one:?}");
    let few = find(&rows, "psgld", "test_log_likelihood");
    assert_eq!(
        (few.runs, few.draws, few.undefined, few.rhat.n),
        (2, 6.5, 1, 1)
    );
    // The undefined run is left out of the means.
    let ten = test_chains(32, 4, 10, 0.0);
    assert_close(few.rhat.mean, rhat(&ten));
    assert_close(few.ess_bulk.mean, ess_bulk(&ten));
    let md = diagnostics::render_markdown(&rows);
    for needle in [
        "| variant | method | quantity |",
        "| undefined |",
        "| data=a | sgld | test\\_log\\_likelihood | 1 | 1 | 20 |",
        "| data=b | psgld | test\\_log\\_likelihood | 2 | 4 | 6.5 |",
        "A run of one chain (chains = 1) is judged by its two halves",
        "–: undefined in every run",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    // Only the undefined run: every statistic shows as –, an empty CSV field.
    let mut r = Results::default();
    add_sampler(
        &mut r,
        Sampler {
            draws: 3,
            ..Sampler::new("few", "psgld", 0, 31)
        },
    );
    let rows = diagnostics::diagnostics(&r);
    let md = diagnostics::render_markdown(&rows);
    assert!(
        md.contains("| psgld | test\\_log\\_likelihood | 1 | 4 | 3 | – | – | – | – | 1 |"),
        "{md}"
    );
    assert!(diagnostics::render_csv(&rows).contains(",1,4,4,3.0,,,,,1\n"));
}

fn line<'a>(lines: &'a [SamplesLine], method: &str) -> &'a SamplesLine {
    lines.iter().find(|l| l.method == method).unwrap()
}

#[test]
fn samples_curves_are_means_per_number_of_samples_and_a_point_method_is_flat() {
    let panels = sampling::samples_curves(&sampled(), &["test.rmse".into()], Spread::Std);
    assert_eq!(panels.len(), 1);
    assert_eq!(
        (panels[0].facet.as_str(), panels[0].metric.as_str()),
        ("default", "test.rmse")
    );
    // sgd's final rmse over seeds {1.5, 1.7}: one flat value, mean 1.6, s = √0.02.
    let sgd = line(&panels[0].lines, "sgd");
    assert!(sgd.flat);
    assert_eq!(sgd.points.len(), 1);
    assert_eq!((sgd.points[0].samples, sgd.points[0].n), (1, 2));
    assert_close(sgd.points[0].mean, 1.6);
    assert_close(sgd.points[0].spread, 0.02_f64.sqrt());
    // sgld after s samples, seeds {1 + 1/s, 1.1 + 1/s}: mean 1.05 + 1/s, s = √0.005.
    let sgld = line(&panels[0].lines, "sgld");
    assert!(!sgld.flat);
    let at: Vec<i64> = sgld.points.iter().map(|p| p.samples).collect();
    assert_eq!(at, [1, 2, 4, 8, 16, 32, 64, 128, 160]);
    for p in &sgld.points {
        assert_eq!(p.n, 2);
        assert_close(p.mean, 1.05 + 1.0 / p.samples as f64);
        assert_close(p.spread, 0.005_f64.sqrt());
    }
    let sem = sampling::samples_curves(&sampled(), &["test.rmse".into()], Spread::Sem);
    assert_close(
        line(&sem[0].lines, "sgld").points[0].spread,
        0.005_f64.sqrt() / 2.0_f64.sqrt(),
    );
    // Without a sampler there is nothing to draw.
    assert!(sampling::samples_curves(&synthetic(), &["test.rmse".into()], Spread::Std).is_empty());
}

#[test]
fn rhat_curves_are_rhat_of_the_first_n_draws_mean_over_runs() {
    let panels = sampling::rhat_curves(&sampled());
    assert_eq!(panels.len(), 1);
    assert_eq!(panels[0].quantity, "test_log_likelihood");
    let lines = &panels[0].lines;
    assert_eq!(lines.len(), 1, "the point method has no chains");
    let points = &lines[0].points;
    assert_eq!(
        points.iter().map(|p| p.draws).collect::<Vec<_>>(),
        (4..=40).collect::<Vec<_>>()
    );
    let runs = [
        test_chains(10, CHAINS, DRAWS, 0.0),
        test_chains(11, CHAINS, DRAWS, 0.0),
    ];
    for p in points {
        let first = |c: &Vec<Vec<f64>>| -> Vec<Vec<f64>> {
            c.iter().map(|x| x[..p.draws].to_vec()).collect()
        };
        assert_eq!(p.runs, 2);
        assert_close(
            p.mean,
            (rhat(&first(&runs[0])) + rhat(&first(&runs[1]))) / 2.0,
        );
    }
    // The last point is the table's R̂ mean.
    let table = diagnostics::diagnostics(&sampled());
    assert_close(
        points.last().unwrap().mean,
        find(&table, "sgld", "test_log_likelihood").rhat.mean,
    );
    assert!(sampling::rhat_curves(&synthetic()).is_empty());
}

#[test]
fn traces_show_the_first_seeds_run_chain_by_chain() {
    let panels = sampling::traces(&sampled());
    assert_eq!(panels.len(), 1);
    let p = &panels[0];
    assert_eq!(
        (p.method.as_str(), p.seed, p.quantity.as_str()),
        ("sgld", 0, "test_log_likelihood")
    );
    assert_eq!(
        p.posterior.iter().map(|c| c.chain).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    let steps: Vec<i64> = p.posterior[2].points.iter().map(|q| q.0).collect();
    assert_eq!(steps, [100, 200, 300, 400, 500]);
    assert_eq!(p.posterior[2].points[0].1, -1002.0);
    let ll = &p.log_likelihood[1].points;
    assert_eq!(ll.len(), DRAWS as usize);
    assert_eq!(ll[0], (110, test_ll(10, 1, 1, 0.0)));
    assert!(sampling::traces(&synthetic()).is_empty());
}

fn meta(plots: &[&str]) -> ReportMeta {
    ReportMeta {
        name: "chains".into(),
        description: None,
        options: ReportOptions {
            metrics: vec!["test.rmse".into()],
            plots: plots.iter().map(|p| p.to_string()).collect(),
            ..ReportOptions::default()
        },
        method_order: Vec::new(),
        variant_order: Vec::new(),
        command: "bayeslab report results/chains".into(),
        search: None,
    }
}

#[test]
fn the_diagnostics_follow_the_results_table_in_the_readme() {
    let tmp = TempDir::new("diagnostics");
    render_report(&sampled(), &[], &meta(&[]), &tmp.0).unwrap();
    let rows = diagnostics::diagnostics(&sampled());
    let md = fs::read_to_string(tmp.0.join("diagnostics.md")).unwrap();
    assert_eq!(md, diagnostics::render_markdown(&rows));
    let csv = fs::read_to_string(tmp.0.join("diagnostics.csv")).unwrap();
    assert_eq!(csv, diagnostics::render_csv(&rows));
    let readme = fs::read_to_string(tmp.0.join("README.md")).unwrap();
    let results = readme.find("## Results").unwrap();
    let section = readme.find("## Convergence diagnostics").unwrap();
    assert!(results < section, "{readme}");
    assert!(readme[section..].contains("[Markdown](diagnostics.md), [CSV](diagnostics.csv)"));
    assert!(readme[section..].contains(&md), "{readme}");
    // Results without traces get neither the files nor the section.
    let none = TempDir::new("no-diagnostics");
    render_report(&synthetic(), &[], &meta(&[]), &none.0).unwrap();
    assert!(!none.0.join("diagnostics.md").exists());
    let readme = fs::read_to_string(none.0.join("README.md")).unwrap();
    assert!(!readme.contains("Convergence diagnostics"), "{readme}");
}

#[test]
fn sampler_plots_and_diagnostics_are_written_deterministically() {
    let tmp = TempDir::new("sampler");
    let plots = ["samples", "traces", "rhat"];
    let stems = ["samples", "traces", "rhat"];
    let summary = render_report(&sampled(), &[], &meta(&plots), &tmp.0).unwrap();
    assert!(summary.skipped.is_empty());
    for stem in stems {
        assert_plot_files(&tmp.0, stem);
    }
    let readme = fs::read_to_string(tmp.0.join("README.md")).unwrap();
    let at = |needle: &str| {
        readme
            .find(needle)
            .unwrap_or_else(|| panic!("missing {needle:?} in\n{readme}"))
    };
    let order = [
        at("## Results"),
        at("## Convergence diagnostics"),
        at("[Markdown](diagnostics.md), [CSV](diagnostics.csv)"),
        at("![samples](samples.png)"),
        at("![traces](traces.png)"),
        at("![rhat](rhat.png)"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{readme}");
    assert!(
        readme.contains(&diagnostics::render_markdown(&diagnostics::diagnostics(
            &sampled()
        )))
    );
    let svg = fs::read_to_string(tmp.0.join("traces.svg")).unwrap();
    for needle in [
        "chain 0",
        "chain 3",
        "sgld, seed 0, split 0",
        "train_log_posterior",
    ] {
        assert!(svg.contains(&format!(">\n{needle}\n<")), "missing {needle}");
    }
    let svg = fs::read_to_string(tmp.0.join("rhat.svg")).unwrap();
    for needle in ["R-hat = 1.01", "R-hat = 1.1", "sgld"] {
        assert!(svg.contains(&format!(">\n{needle}\n<")), "missing {needle}");
    }
    // Same results, same bytes.
    let files = |dir: &std::path::Path| -> Vec<Vec<u8>> {
        stems
            .iter()
            .flat_map(|s| [format!("{s}.png"), format!("{s}.svg")])
            .chain([
                "diagnostics.md".into(),
                "diagnostics.csv".into(),
                "README.md".into(),
            ])
            .map(|f| fs::read(dir.join(f)).unwrap())
            .collect()
    };
    let before = files(&tmp.0);
    let again = TempDir::new("sampler-again");
    render_report(&sampled(), &[], &meta(&plots), &again.0).unwrap();
    assert!(before == files(&again.0), "a second rendering differs");
}

#[test]
fn sampler_plots_facet_by_variant() {
    let tmp = TempDir::new("sampler-facets");
    let mut r = Results::default();
    for v in ["data=a", "data=b"] {
        add_point(&mut r, &format!("s-{v}"), "sgd", v, 0);
        add_sampler(
            &mut r,
            Sampler {
                variant: v,
                ..Sampler::new(&format!("g-{v}"), "sgld", 0, 40)
            },
        );
        add_sampler(
            &mut r,
            Sampler {
                variant: v,
                chains: 2,
                ..Sampler::new(&format!("p-{v}"), "psgld", 0, 41)
            },
        );
    }
    let rows = diagnostics::diagnostics(&r);
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|x| (x.variant.as_str(), x.method.as_str()))
        .collect();
    assert_eq!(
        keys[..4],
        [
            ("data=a", "sgld"),
            ("data=a", "sgld"),
            ("data=a", "psgld"),
            ("data=a", "psgld")
        ]
    );
    render_report(&r, &[], &meta(&["samples", "traces", "rhat"]), &tmp.0).unwrap();
    for stem in ["samples", "traces", "rhat"] {
        assert_plot_files(&tmp.0, stem);
    }
    // Samples: a row per variant under the title and legend; traces: a row per sampler run;
    // R̂: a panel per variant.
    assert_eq!(png_size(&tmp.0.join("samples.png")), (900, 80 + 2 * 320));
    assert_eq!(png_size(&tmp.0.join("traces.png")), (1300, 80 + 4 * 360));
    assert_eq!(png_size(&tmp.0.join("rhat.png")), (1300, 60 + 480));
    let svg = fs::read_to_string(tmp.0.join("samples.svg")).unwrap();
    for needle in ["data=a", "data=b", "sgd", "sgld", "psgld", "test.rmse"] {
        assert!(svg.contains(&format!(">\n{needle}\n<")), "missing {needle}");
    }
}

#[test]
fn sampler_plots_without_samplers_are_left_out_quietly() {
    let tmp = TempDir::new("no-sampler");
    let summary = render_report(
        &synthetic(),
        &[],
        &meta(&["samples", "traces", "rhat"]),
        &tmp.0,
    )
    .unwrap();
    assert!(summary.skipped.is_empty());
    for f in [
        "samples.png",
        "traces.svg",
        "rhat.png",
        "diagnostics.md",
        "diagnostics.csv",
    ] {
        assert!(!tmp.0.join(f).exists(), "{f} written without sampler runs");
    }
    let readme = fs::read_to_string(tmp.0.join("README.md")).unwrap();
    for needle in ["Convergence diagnostics", "Not drawn", "samples.png"] {
        assert!(!readme.contains(needle), "{needle:?} in\n{readme}");
    }
}
