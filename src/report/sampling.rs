//! Plots of sampler runs: a metric against the number of kept samples (`samples`), each chain's
//! trace of the first run (`traces`), and R̂ against the number of draws (`rhat`). Data are
//! prepared as plain structs (testable without drawing), then drawn with the helpers of
//! [`super::plots`]. Every function returns no panels when the results hold no sampler runs, and
//! the report then leaves the plot out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::diagnostics::{ByChain, Chains, RHAT_ADVICE, sample_chains};
use super::plots::{
    CURVE_FACET, CURVE_PANEL, FACET_TOP, FONT, Key, PanelStyle, TickedAxis, color, draw_err,
    facet_width, first_appearance, grid_shape, groups, methods_by_index, padded_range, png_and_svg,
    row_strip, tick_decimals, with_legend, y_range,
};
use super::table::mean_std;
use crate::error::Error;
use crate::method::driver::{TRAIN_LOG_POSTERIOR, log_likelihood_quantity};
use crate::metrics::final_value;
use crate::sgmcmc::diagnostics::rhat;
use crate::spec::report::Spread;
use crate::store::Results;

/// One point of a metric against samples: mean and spread over runs at one number of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplesPoint {
    pub samples: i64,
    pub mean: f64,
    /// Sample std or s.e.m. over the runs, per the report's `spread`.
    pub spread: f64,
    /// Runs with a value at this number of samples.
    pub n: usize,
}

/// One line of a samples panel: a (method, variant).
#[derive(Clone, Debug, PartialEq)]
pub struct SamplesLine {
    /// `method`, or `method (variant)` when the runs hold several variants.
    pub label: String,
    pub method: String,
    /// Colour index ([`super::plots::groups`]).
    pub method_index: usize,
    /// Only one-sample values (a point estimate): `points` is its final value, a single point at
    /// samples = 1, drawn as a flat dashed line.
    pub flat: bool,
    /// In increasing number of samples.
    pub points: Vec<SamplesPoint>,
}

/// One panel: a `split.metric` in one facet (a variant).
#[derive(Clone, Debug, PartialEq)]
pub struct SamplesPanel {
    /// The row of the figure: the variant, or "" for every group of a search experiment.
    pub facet: String,
    pub metric: String,
    pub lines: Vec<SamplesLine>,
}

/// Mean and spread of `values` (non-empty).
fn point(samples: i64, values: &[f64], spread: Spread) -> SamplesPoint {
    let (mean, std) = mean_std(values);
    SamplesPoint {
        samples,
        mean,
        spread: match spread {
            Spread::Std => std,
            Spread::Sem => std / (values.len() as f64).sqrt(),
        },
        n: values.len(),
    }
}

/// Rows (samples, epoch, step, value) of one run's `split.metric`.
type SampleRows = Vec<(i64, i64, i64, f64)>;

/// Metric against the number of samples, per facet and `split.metric` of `metrics`. A run's
/// value at s samples is its row with `samples` = s (the last one, by (epoch, step), should
/// there be several); each point is the mean ± spread over the group's ok runs with a value at
/// exactly s. A group whose rows all have samples ≤ 1 (a point method) is one flat value: the
/// mean ± spread of its runs' final values. Panels without lines are left out, and everything is
/// empty when no group has a value at more than one sample.
pub fn samples_curves(results: &Results, metrics: &[String], spread: Spread) -> Vec<SamplesPanel> {
    let mut by_run: BTreeMap<&str, BTreeMap<String, SampleRows>> = BTreeMap::new();
    for (id, m) in &results.metrics {
        let key = format!("{}.{}", m.split, m.metric);
        if metrics.contains(&key) {
            by_run
                .entry(id)
                .or_default()
                .entry(key)
                .or_default()
                .push((m.samples, m.epoch, m.step, m.value));
        }
    }
    let groups = groups(results);
    let facets = first_appearance(
        groups
            .iter()
            .enumerate()
            .map(|(i, g)| (i, g.facet.as_str()))
            .collect(),
    );
    let mut panels = Vec::new();
    let mut sampled = false;
    for facet in facets {
        for metric in metrics {
            let mut lines = Vec::new();
            for g in groups.iter().filter(|g| g.facet == facet) {
                let series: Vec<&SampleRows> = g
                    .runs
                    .iter()
                    .filter_map(|r| by_run.get(r.run_id.as_str())?.get(metric))
                    .collect();
                if series.is_empty() {
                    continue;
                }
                let flat = series.iter().flat_map(|s| s.iter()).all(|r| r.0 <= 1);
                let points = if flat {
                    let finals: Vec<f64> = series
                        .iter()
                        .filter_map(|s| final_value(s.iter().map(|r| (r.1, r.2, r.3))))
                        .collect();
                    vec![point(1, &finals, spread)]
                } else {
                    let mut at: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                    for s in &series {
                        let mut per_samples: BTreeMap<i64, Vec<(i64, i64, f64)>> = BTreeMap::new();
                        for &(samples, epoch, step, value) in s.iter() {
                            per_samples
                                .entry(samples)
                                .or_default()
                                .push((epoch, step, value));
                        }
                        for (samples, rows) in per_samples {
                            if let Some(v) = final_value(rows) {
                                at.entry(samples).or_default().push(v);
                            }
                        }
                    }
                    at.into_iter()
                        .map(|(samples, values)| point(samples, &values, spread))
                        .collect()
                };
                sampled |= !flat;
                lines.push(SamplesLine {
                    label: g.label.clone(),
                    method: g.method.clone(),
                    method_index: g.method_index,
                    flat,
                    points,
                });
            }
            if !lines.is_empty() {
                panels.push(SamplesPanel {
                    facet: facet.to_string(),
                    metric: metric.clone(),
                    lines,
                });
            }
        }
    }
    if sampled { panels } else { Vec::new() }
}

/// One chain's trace: (step, value) in increasing step.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainTrace {
    pub chain: u32,
    pub points: Vec<(i64, f64)>,
}

/// One row of the traces figure: the first run of a (sampler method, variant).
#[derive(Clone, Debug, PartialEq)]
pub struct TracePanel {
    pub label: String,
    pub method: String,
    pub variant: String,
    pub seed: u32,
    pub split: u32,
    /// `train_log_posterior` of each chain, once per epoch.
    pub posterior: Vec<ChainTrace>,
    /// The per-sample log-likelihood shown: `test_log_likelihood`, else `valid_log_likelihood`.
    pub quantity: String,
    /// That quantity of each chain, once per kept sample.
    pub log_likelihood: Vec<ChainTrace>,
}

/// Trace data: per (method, variant) with traces, its ok run with the smallest (seed, split)
/// that has trace rows; variants in order of first appearance. Empty without traces.
pub fn traces(results: &Results) -> Vec<TracePanel> {
    // run_id -> quantity -> chain -> (step, value)
    let mut by_run: BTreeMap<&str, BTreeMap<&str, ByChain<i64>>> = BTreeMap::new();
    for (id, t) in &results.traces {
        by_run
            .entry(id)
            .or_default()
            .entry(t.quantity.as_str())
            .or_default()
            .entry(t.chain)
            .or_default()
            .push((t.step, t.value));
    }
    let test = log_likelihood_quantity("test");
    let valid = log_likelihood_quantity("valid");
    let mut groups = groups(results);
    let facets: Vec<String> = first_appearance(
        groups
            .iter()
            .enumerate()
            .map(|(i, g)| (i, g.facet.as_str()))
            .collect(),
    )
    .into_iter()
    .map(str::to_string)
    .collect();
    // One variant's rows together, as in the other figures.
    groups.sort_by_key(|g| facets.iter().position(|f| *f == g.facet));
    groups
        .iter()
        .filter_map(|g| {
            let run = g
                .runs
                .iter()
                .filter(|r| by_run.contains_key(r.run_id.as_str()))
                .min_by_key(|r| (r.seed, r.split))?;
            let quantities = &by_run[run.run_id.as_str()];
            let chains = |q: &str| -> Vec<ChainTrace> {
                quantities
                    .get(q)
                    .into_iter()
                    .flatten()
                    .map(|(&chain, points)| {
                        let mut points = points.clone();
                        points.sort_by_key(|p| p.0);
                        ChainTrace { chain, points }
                    })
                    .collect()
            };
            let quantity = if quantities.contains_key(test.as_str()) {
                test.clone()
            } else {
                valid.clone()
            };
            Some(TracePanel {
                label: g.label.clone(),
                method: g.method.clone(),
                variant: g.variant.clone(),
                seed: run.seed,
                split: run.split,
                posterior: chains(TRAIN_LOG_POSTERIOR),
                log_likelihood: chains(&quantity),
                quantity,
            })
        })
        .collect()
}

/// Mean R̂ over runs of a line at one number of draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RhatPoint {
    /// Draws per chain: R̂ of each chain's first `draws` values.
    pub draws: usize,
    pub mean: f64,
    /// Runs with a defined R̂ at this number of draws.
    pub runs: usize,
}

/// One line: a sampler (method, variant).
#[derive(Clone, Debug, PartialEq)]
pub struct RhatLine {
    pub label: String,
    pub method: String,
    pub method_index: usize,
    pub points: Vec<RhatPoint>,
}

/// One panel: a facet (a variant).
#[derive(Clone, Debug, PartialEq)]
pub struct RhatPanel {
    pub facet: String,
    /// `test_log_likelihood`, or `valid_log_likelihood` when no run of the facet traced the test
    /// one.
    pub quantity: String,
    pub lines: Vec<RhatLine>,
}

/// R̂ ([`rhat`]) on the first n draws of every chain, n = 4, 5, … up to the run's shortest
/// chain; NaN where undefined.
pub fn rhat_by_draws(chains: &Chains) -> Vec<(usize, f64)> {
    let n = chains.iter().map(Vec::len).min().unwrap_or(0);
    (4..=n)
        .map(|k| {
            let first: Vec<&[f64]> = chains.iter().map(|c| &c[..k]).collect();
            (k, rhat(&first))
        })
        .collect()
}

/// R̂ against draws per facet: per (method, variant) with traces of the facet's quantity, the
/// mean over its ok runs of [`rhat_by_draws`] at each n (over the runs where it is defined).
/// Empty without traces.
pub fn rhat_curves(results: &Results) -> Vec<RhatPanel> {
    let chains = sample_chains(results);
    let test = log_likelihood_quantity("test");
    let valid = log_likelihood_quantity("valid");
    let groups = groups(results);
    let facets = first_appearance(
        groups
            .iter()
            .enumerate()
            .map(|(i, g)| (i, g.facet.as_str()))
            .collect(),
    );
    let mut panels = Vec::new();
    for facet in facets {
        let in_facet: Vec<_> = groups.iter().filter(|g| g.facet == facet).collect();
        let has = |q: &str| {
            in_facet.iter().any(|g| {
                g.runs.iter().any(|r| {
                    chains
                        .get(r.run_id.as_str())
                        .is_some_and(|c| c.contains_key(q))
                })
            })
        };
        let quantity = if has(&test) {
            test.clone()
        } else if has(&valid) {
            valid.clone()
        } else {
            continue;
        };
        let mut lines = Vec::new();
        for g in in_facet {
            let mut at: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
            for r in &g.runs {
                let Some(c) = chains
                    .get(r.run_id.as_str())
                    .and_then(|c| c.get(quantity.as_str()))
                else {
                    continue;
                };
                for (draws, value) in rhat_by_draws(c) {
                    if !value.is_nan() {
                        at.entry(draws).or_default().push(value);
                    }
                }
            }
            let points: Vec<RhatPoint> = at
                .into_iter()
                .map(|(draws, values)| RhatPoint {
                    draws,
                    mean: values.iter().sum::<f64>() / values.len() as f64,
                    runs: values.len(),
                })
                .collect();
            if !points.is_empty() {
                lines.push(RhatLine {
                    label: g.label.clone(),
                    method: g.method.clone(),
                    method_index: g.method_index,
                    points,
                });
            }
        }
        if !lines.is_empty() {
            panels.push(RhatPanel {
                facet: facet.to_string(),
                quantity,
                lines,
            });
        }
    }
    panels
}

/// Ticks of a log₂ axis over [lo, hi]: the integers k (drawn as 2^k), every second or more when
/// there would be over 10.
fn log2_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (k0, k1) = (lo.ceil() as i64, hi.floor() as i64);
    let every = ((k1 - k0) / 10 + 1).max(1) as usize;
    (k0..=k1).step_by(every).map(|k| k as f64).collect()
}

/// One samples panel: bands and lines of the sampler lines on a log₂ axis of samples, each point
/// method a dashed line at its value across the whole axis.
fn samples_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: Option<&SamplesPanel>,
    metric: &str,
    style: &PanelStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let Some(panel) = panel else {
        ChartBuilder::on(area)
            .caption(format!("{metric}: no values"), (FONT, style.caption))
            .margin(style.margin)
            .build_cartesian_2d(0..1, 0..1)?;
        return Ok(());
    };
    let pts = || panel.lines.iter().flat_map(|l| l.points.iter());
    let max = pts().map(|p| p.samples.max(1)).max().unwrap_or(1);
    let top = (max as f64).log2();
    let (x0, x1) = if top > 0.0 {
        (-0.04 * top - 0.1, 1.04 * top + 0.1)
    } else {
        (-0.5, 0.5)
    };
    let (y0, y1) = y_range(
        pts().map(|p| p.mean),
        pts().flat_map(|p| [p.mean - p.spread, p.mean + p.spread]),
    )
    .unwrap_or((0.0, 1.0));
    let clamp = |v: f64| v.clamp(y0, y1);
    let x = |samples: i64| (samples.max(1) as f64).log2();
    let mut chart = ChartBuilder::on(area)
        .caption(metric, (FONT, style.caption))
        .margin(style.margin)
        .x_label_area_size(style.x_label_area)
        .y_label_area_size(style.y_label_area)
        .build_cartesian_2d(
            TickedAxis::with_ticks(x0, x1, log2_ticks(x0, x1)),
            TickedAxis::new(y0, y1, style.y_labels),
        )?;
    let decimals = tick_decimals(y1 - y0);
    let x_fmt = |v: &f64| format!("{}", 2f64.powf(*v).round());
    let y_fmt = |v: &f64| format!("{v:.decimals$}");
    chart
        .configure_mesh()
        .x_desc("kept samples (log2 scale)")
        .y_desc(metric)
        .label_style((FONT, style.label))
        .axis_desc_style((FONT, style.axis_desc))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    let (flat, sampled): (Vec<&SamplesLine>, Vec<&SamplesLine>) =
        panel.lines.iter().partition(|l| l.flat);
    // Bands first, then every line on top, so no band hides a line.
    for line in &sampled {
        let finite: Vec<&SamplesPoint> = line
            .points
            .iter()
            .filter(|p| p.mean.is_finite() && p.spread.is_finite())
            .collect();
        if finite.len() > 1 && finite.iter().any(|p| p.spread > 0.0) {
            let band: Vec<(f64, f64)> = finite
                .iter()
                .map(|p| (x(p.samples), clamp(p.mean + p.spread)))
                .chain(
                    finite
                        .iter()
                        .rev()
                        .map(|p| (x(p.samples), clamp(p.mean - p.spread))),
                )
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                color(line.method_index).mix(0.16).filled(),
            )))?;
        }
    }
    for line in &flat {
        if let Some(p) = line.points.first().filter(|p| p.mean.is_finite()) {
            chart.draw_series(DashedLineSeries::new(
                [(x0, clamp(p.mean)), (x1, clamp(p.mean))],
                9,
                5,
                color(line.method_index).stroke_width(2),
            ))?;
        }
    }
    for line in &sampled {
        let c = color(line.method_index);
        let pts: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter(|p| p.mean.is_finite())
            .map(|p| (x(p.samples), clamp(p.mean)))
            .collect();
        chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?;
        if pts.len() <= 25 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        }
    }
    Ok(())
}

fn draw_samples<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[SamplesPanel],
    path: &Path,
) -> Result<(), Error> {
    let err = draw_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let body = root
        .margin(10, 6, 6, 6)
        .titled(title, (FONT, 22))
        .map_err(&err)?;
    let facets = samples_facets(panels);
    let metrics = samples_metrics(panels);
    let faceted = facets.len() > 1;
    // A method is dashed in the legend when it is a point method in every panel.
    let mut flat: BTreeMap<usize, bool> = BTreeMap::new();
    for l in panels.iter().flat_map(|p| p.lines.iter()) {
        *flat.entry(l.method_index).or_insert(true) &= l.flat;
    }
    let lines = panels.iter().flat_map(|p| p.lines.iter());
    let keys: Vec<(String, Key)> = methods_by_index(lines.map(|l| {
        let name = if faceted { &l.method } else { &l.label };
        (l.method_index, name.as_str())
    }))
    .into_iter()
    .map(|(m, name)| {
        let c = color(m);
        let key = if flat[&m] {
            Key::Dashed(c)
        } else {
            Key::Line(c)
        };
        (name.to_string(), key)
    })
    .collect();
    let body = with_legend(body, &keys).map_err(&err)?;
    if !faceted {
        let (rows, cols) = grid_shape(panels.len(), 2);
        for (area, panel) in body.split_evenly((rows, cols)).iter().zip(panels) {
            samples_panel(area, Some(panel), &panel.metric, &CURVE_PANEL).map_err(&err)?;
        }
        return root.present().map_err(&err);
    }
    for (row, facet) in body.split_evenly((facets.len(), 1)).iter().zip(&facets) {
        let cells = row_strip(row, facet).map_err(&err)?;
        for (area, metric) in cells.split_evenly((1, metrics.len())).iter().zip(&metrics) {
            let panel = panels
                .iter()
                .find(|p| p.facet == *facet && p.metric == *metric);
            samples_panel(area, panel, metric, &CURVE_FACET).map_err(&err)?;
        }
    }
    root.present().map_err(&err)
}

/// Facets of the samples panels, in order.
fn samples_facets(panels: &[SamplesPanel]) -> Vec<&str> {
    first_appearance(
        panels
            .iter()
            .map(|p| p.facet.as_str())
            .enumerate()
            .collect(),
    )
}

/// Metrics of the samples panels, in order.
fn samples_metrics(panels: &[SamplesPanel]) -> Vec<&str> {
    first_appearance(
        panels
            .iter()
            .map(|p| p.metric.as_str())
            .enumerate()
            .collect(),
    )
}

/// Writes `samples.png` and `.svg`: one panel per `split.metric` (two columns), or with several
/// variants one row per variant and one column per metric; x the kept samples on a log₂ axis, one
/// line per method (mean ± spread band over runs), a point method dashed at its final value.
/// Returns the files written.
pub fn write_samples(
    out_dir: &Path,
    title: &str,
    panels: &[SamplesPanel],
) -> Result<Vec<PathBuf>, Error> {
    let facets = samples_facets(panels).len();
    let size = if facets > 1 {
        (
            facet_width(samples_metrics(panels).len(), 600),
            FACET_TOP + 320 * facets as u32,
        )
    } else {
        let (rows, cols) = grid_shape(panels.len(), 2);
        if cols == 1 {
            (900, 40 + 560 * rows as u32)
        } else {
            (1300, 40 + 520 * rows as u32)
        }
    };
    png_and_svg!(out_dir, "samples", size, draw_samples(title, panels))
}

/// The trace panels: two per row, one row per sampler run.
const TRACE_PANEL: PanelStyle = PanelStyle {
    caption: 16,
    margin: 10,
    x_label_area: 42,
    y_label_area: 84,
    label: 13,
    axis_desc: 14,
    x_labels: 8,
    y_labels: 6,
};

/// One trace panel: a line per chain, coloured by chain.
fn trace_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    quantity: &str,
    chains: &[ChainTrace],
    style: &PanelStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let pts = || chains.iter().flat_map(|c| c.points.iter());
    let (Some((x0, x1)), Some((y0, y1))) = (
        padded_range(pts().map(|p| p.0 as f64)),
        padded_range(pts().map(|p| p.1)),
    ) else {
        ChartBuilder::on(area)
            .caption(format!("{quantity}: no values"), (FONT, style.caption))
            .margin(style.margin)
            .build_cartesian_2d(0..1, 0..1)?;
        return Ok(());
    };
    let mut chart = ChartBuilder::on(area)
        .caption(quantity, (FONT, style.caption))
        .margin(style.margin)
        .x_label_area_size(style.x_label_area)
        .y_label_area_size(style.y_label_area)
        .build_cartesian_2d(
            TickedAxis::new(x0.max(0.0), x1, style.x_labels),
            TickedAxis::new(y0, y1, style.y_labels),
        )?;
    let decimals = tick_decimals(y1 - y0);
    let x_fmt = |v: &f64| format!("{v:.0}");
    let y_fmt = |v: &f64| format!("{v:.decimals$}");
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(quantity)
        .label_style((FONT, style.label))
        .axis_desc_style((FONT, style.axis_desc))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    for chain in chains {
        let c = color(chain.chain as usize);
        let line: Vec<(f64, f64)> = chain
            .points
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(step, v)| (step as f64, v))
            .collect();
        chart.draw_series(LineSeries::new(line.iter().copied(), c.stroke_width(2)))?;
        if line.len() <= 40 {
            chart.draw_series(line.iter().map(|&p| Circle::new(p, 2, c.filled())))?;
        }
    }
    Ok(())
}

fn draw_traces<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[TracePanel],
    path: &Path,
) -> Result<(), Error> {
    let err = draw_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let body = root
        .margin(10, 6, 6, 6)
        .titled(title, (FONT, 22))
        .map_err(&err)?;
    let chains: Vec<u32> = panels
        .iter()
        .flat_map(|p| p.posterior.iter().chain(&p.log_likelihood))
        .map(|c| c.chain)
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .collect();
    let keys: Vec<(String, Key)> = chains
        .iter()
        .map(|&c| (format!("chain {c}"), Key::Line(color(c as usize))))
        .collect();
    let body = with_legend(body, &keys).map_err(&err)?;
    for (row, panel) in body.split_evenly((panels.len(), 1)).iter().zip(panels) {
        let label = format!(
            "{}, seed {}, split {}",
            panel.label, panel.seed, panel.split
        );
        let cells = row_strip(row, &label).map_err(&err)?;
        let areas = cells.split_evenly((1, 2));
        trace_panel(
            &areas[0],
            TRAIN_LOG_POSTERIOR,
            &panel.posterior,
            &TRACE_PANEL,
        )
        .map_err(&err)?;
        trace_panel(
            &areas[1],
            &panel.quantity,
            &panel.log_likelihood,
            &TRACE_PANEL,
        )
        .map_err(&err)?;
    }
    root.present().map_err(&err)
}

/// Writes `traces.png` and `.svg`: one row per sampler (method, variant), its first run's
/// training log posterior (left) and per-sample log-likelihood (right) against the step, one
/// line per chain. Returns the files written.
pub fn write_traces(
    out_dir: &Path,
    title: &str,
    panels: &[TracePanel],
) -> Result<Vec<PathBuf>, Error> {
    let size = (1300, FACET_TOP + 360 * panels.len() as u32);
    png_and_svg!(out_dir, "traces", size, draw_traces(title, panels))
}

/// The R̂ panels.
const RHAT_PANEL: PanelStyle = PanelStyle {
    caption: 18,
    margin: 14,
    x_label_area: 48,
    y_label_area: 72,
    label: 14,
    axis_desc: 15,
    x_labels: 10,
    y_labels: 8,
};

/// R̂ as drawn: the embedded font's renderer places a combining circumflex beside its letter, not
/// over it.
pub const RHAT_TEXT: &str = "R-hat";

/// The highest R̂ the axis shows; larger values are drawn at the top edge, so the lines stay
/// readable near 1.
pub const RHAT_TOP: f64 = 2.0;

/// The reference levels drawn: Vehtari et al.'s advice and the older, looser 1.1 of Gelman &
/// Rubin (1992).
const RHAT_LEVELS: [(f64, RGBColor); 2] = [
    (RHAT_ADVICE, RGBColor(40, 40, 40)),
    (1.1, RGBColor(150, 150, 150)),
];

fn rhat_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &RhatPanel,
    caption: &str,
    style: &PanelStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let pts = || panel.lines.iter().flat_map(|l| l.points.iter());
    let last = pts().map(|p| p.draws).max().unwrap_or(4);
    let (x0, x1) = if last > 4 {
        (4.0, last as f64)
    } else {
        (3.5, 4.5)
    };
    let levels = RHAT_LEVELS.iter().map(|l| l.0);
    let (y0, y1) = padded_range(
        pts()
            .map(|p| p.mean.min(RHAT_TOP))
            .chain(levels)
            .chain([1.0]),
    )
    .unwrap_or((1.0, 1.2));
    let clamp = |v: f64| v.clamp(y0, y1);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, style.caption))
        .margin(style.margin)
        .x_label_area_size(style.x_label_area)
        .y_label_area_size(style.y_label_area)
        .build_cartesian_2d(
            TickedAxis::new(x0, x1, style.x_labels),
            TickedAxis::new(y0, y1, style.y_labels),
        )?;
    let decimals = tick_decimals(y1 - y0);
    let x_fmt = |v: &f64| format!("{v:.0}");
    let y_fmt = |v: &f64| format!("{v:.decimals$}");
    chart
        .configure_mesh()
        .x_desc("draws per chain")
        .y_desc(format!("{RHAT_TEXT} of {}", panel.quantity))
        .label_style((FONT, style.label))
        .axis_desc_style((FONT, style.axis_desc))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    for (level, c) in RHAT_LEVELS {
        chart.draw_series(DashedLineSeries::new(
            [(x0, level), (x1, level)],
            9,
            5,
            c.stroke_width(2),
        ))?;
    }
    for line in &panel.lines {
        let c = color(line.method_index);
        let pts: Vec<(f64, f64)> = line
            .points
            .iter()
            .map(|p| (p.draws as f64, clamp(p.mean.min(RHAT_TOP))))
            .collect();
        chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?;
        if pts.len() <= 25 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        }
    }
    Ok(())
}

fn draw_rhat<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[RhatPanel],
    path: &Path,
) -> Result<(), Error> {
    let err = draw_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let body = root
        .margin(10, 6, 6, 6)
        .titled(title, (FONT, 22))
        .map_err(&err)?;
    let faceted = panels.len() > 1;
    let mut keys: Vec<(String, Key)> =
        methods_by_index(panels.iter().flat_map(|p| p.lines.iter()).map(|l| {
            let name = if faceted { &l.method } else { &l.label };
            (l.method_index, name.as_str())
        }))
        .into_iter()
        .map(|(m, name)| (name.to_string(), Key::Line(color(m))))
        .collect();
    keys.extend(
        RHAT_LEVELS
            .iter()
            .map(|&(level, c)| (format!("{RHAT_TEXT} = {level}"), Key::Dashed(c))),
    );
    let body = with_legend(body, &keys).map_err(&err)?;
    let (rows, cols) = grid_shape(panels.len(), 3);
    for (area, panel) in body.split_evenly((rows, cols)).iter().zip(panels) {
        let caption = if faceted {
            panel.facet.clone()
        } else {
            format!("{RHAT_TEXT} of {}", panel.quantity)
        };
        rhat_panel(area, panel, &caption, &RHAT_PANEL).map_err(&err)?;
    }
    root.present().map_err(&err)
}

/// Writes `rhat.png` and `.svg`: one panel per variant (up to three columns), one line per
/// sampler method (mean R̂ over runs against the draws per chain), dashed reference lines at
/// 1.01 and 1.1. Returns the files written.
pub fn write_rhat(
    out_dir: &Path,
    title: &str,
    panels: &[RhatPanel],
) -> Result<Vec<PathBuf>, Error> {
    let (rows, cols) = grid_shape(panels.len(), 3);
    let size = match cols {
        1 => (1000, 60 + 520 * rows as u32),
        2 => (1300, 60 + 480 * rows as u32),
        _ => (1500, 60 + 440 * rows as u32),
    };
    png_and_svg!(out_dir, "rhat", size, draw_rhat(title, panels))
}
