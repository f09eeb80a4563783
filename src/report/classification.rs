//! Plots of classification predictions: reliability diagrams (`reliability`) and histograms of
//! the predictive entropy on test and out-of-distribution inputs (`entropy`). Both read the
//! stored prediction rows (`predictions = true`) and pool every ok run of a (method, variant).
//! Data are prepared as plain structs (testable without drawing), then drawn with the helpers of
//! [`super::plots`]. Without classification prediction rows there are no panels, and the report
//! leaves the plot out with a note.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::plots::{
    FACET_TOP, FONT, Key, PanelStyle, TickedAxis, color, draw_err, facet_width, first_appearance,
    grid_shape, groups, methods_by_index, png_and_svg, row_strip, tick_decimals, with_legend,
};
use crate::error::Error;
use crate::metrics::{Calibration, calibration_of_confidences};
use crate::predictive::ECE_BINS;
use crate::store::Results;

/// The split of the in-distribution prediction rows.
const TEST: &str = "test";
/// The split of the dense grid of 1-D regression: neither test nor out of distribution.
const GRID: &str = "grid";

/// Equal-width bins of the entropy histograms over [0, upper].
pub const ENTROPY_BINS: usize = 30;

/// One panel of the reliability diagram: the test rows of every ok run of one (method,
/// variant), pooled.
#[derive(Clone, Debug, PartialEq)]
pub struct ReliabilityPanel {
    /// `method`, or `method (variant)` when the runs hold several variants.
    pub label: String,
    pub method: String,
    /// The pooled variant: `tuned:<strategy>` for every repeat of a search strategy.
    pub variant: String,
    /// The row of a faceted figure: the variant, or "" in a search experiment.
    pub facet: String,
    /// Index of the (method, variant) in order of first appearance in the runs.
    pub group: usize,
    /// Colour index ([`super::plots::groups`]).
    pub method_index: usize,
    /// Ok runs whose test rows are pooled.
    pub runs: usize,
    /// Test rows pooled, n = Σ_b |B_b|.
    pub examples: usize,
    /// ECE, MCE and the [`ECE_BINS`] bins of the pooled rows, exactly as the `ece` metric bins
    /// them: bin b holds confidences in (b/M, (b+1)/M], confidence 0 the first.
    pub calibration: Calibration,
}

/// Reliability of (confidence, right) pairs over [`ECE_BINS`] equal-width bins: per bin B_b the
/// count |B_b|, the accuracy acc(B_b) = (1/|B_b|) Σ_{i∈B_b} 1[ŷ_i = y_i] and the mean
/// confidence conf(B_b) = (1/|B_b|) Σ_{i∈B_b} max_k p̄_ik, and
/// ECE = Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)|. The binning is the metric's
/// ([`crate::metrics::calibration`]), so the diagram and the `ece` column cannot disagree.
pub fn reliability_bins(examples: impl IntoIterator<Item = (f64, bool)>) -> Calibration {
    calibration_of_confidences(examples, ECE_BINS)
}

/// Reliability panels: per (method, variant), the test prediction rows of classification (with
/// a confidence, a predicted label and a target) of all its ok runs, pooled. A row is right when
/// its label equals its target. Groups without such rows get no panel; empty when no run stored
/// classification test predictions.
pub fn reliability(results: &Results) -> Vec<ReliabilityPanel> {
    let mut by_run: BTreeMap<&str, Vec<(f64, bool)>> = BTreeMap::new();
    for (id, p) in &results.predictions {
        if let (TEST, Some(confidence), Some(label), Some(target)) =
            (p.split.as_str(), p.confidence, p.label, p.target)
        {
            by_run
                .entry(id.as_str())
                .or_default()
                .push((confidence, label as f64 == target));
        }
    }
    groups(results)
        .into_iter()
        .enumerate()
        .filter_map(|(group, g)| {
            let pooled: Vec<&Vec<(f64, bool)>> = g
                .runs
                .iter()
                .filter_map(|r| by_run.get(r.run_id.as_str()))
                .collect();
            if pooled.is_empty() {
                return None;
            }
            let examples: Vec<(f64, bool)> =
                pooled.iter().flat_map(|v| v.iter().copied()).collect();
            Some(ReliabilityPanel {
                label: g.label,
                method: g.method,
                variant: g.variant,
                facet: g.facet,
                group,
                method_index: g.method_index,
                runs: pooled.len(),
                examples: examples.len(),
                calibration: reliability_bins(examples),
            })
        })
        .collect()
}

/// The bin of `value` among `bins` equal-width bins over [0, upper]: bin b holds
/// [b·upper/B, (b+1)·upper/B), the last bin also `upper` itself. Values beyond the range go to
/// the nearest end bin (an entropy can exceed ln K only by rounding, or be −0); NaN has no bin.
/// The guess ⌊value·B/upper⌋ is corrected against the edges b·upper/B, so a value on an edge
/// lands in the bin the edges say, whatever the rounding of the division.
pub fn histogram_bin(value: f64, upper: f64, bins: usize) -> Option<usize> {
    if value.is_nan() || bins == 0 {
        return None;
    }
    let edge = |b: usize| upper * b as f64 / bins as f64;
    let guess = (value / upper * bins as f64).floor();
    let mut b = if guess >= 0.0 {
        (guess as usize).min(bins - 1)
    } else {
        0
    };
    while b > 0 && value < edge(b) {
        b -= 1;
    }
    while b + 1 < bins && value >= edge(b + 1) {
        b += 1;
    }
    Some(b)
}

/// The histogram of one part's entropies in one panel.
#[derive(Clone, Debug, PartialEq)]
pub struct EntropyHistogram {
    /// `test`, or the name of an out-of-distribution part (`[data.ood.<name>]`).
    pub part: String,
    /// Rows counted: those with a finite entropy (Σ counts).
    pub rows: usize,
    /// Rows per bin ([`histogram_bin`]).
    pub counts: Vec<usize>,
}

impl EntropyHistogram {
    /// The counts of `values` in `bins` bins over [0, upper]; NaN values are left out.
    pub fn of(part: &str, values: impl IntoIterator<Item = f64>, upper: f64, bins: usize) -> Self {
        let mut counts = vec![0usize; bins];
        for v in values {
            if let Some(b) = histogram_bin(v, upper, bins) {
                counts[b] += 1;
            }
        }
        EntropyHistogram {
            part: part.to_string(),
            rows: counts.iter().sum(),
            counts,
        }
    }

    /// The fraction of the part's rows in each bin, count_b / rows (Σ_b = 1); all 0 without rows.
    pub fn fractions(&self) -> Vec<f64> {
        let n = self.rows.max(1) as f64;
        self.counts.iter().map(|&c| c as f64 / n).collect()
    }
}

/// One panel of the entropy figure: one (method, variant), its runs pooled.
#[derive(Clone, Debug, PartialEq)]
pub struct EntropyPanel {
    /// `method`, or `method (variant)` when the runs hold several variants.
    pub label: String,
    pub method: String,
    pub variant: String,
    /// The row of a faceted figure: the variant, or "" in a search experiment.
    pub facet: String,
    /// Index of the (method, variant) in order of first appearance in the runs.
    pub group: usize,
    pub method_index: usize,
    /// Ok runs with entropy rows, pooled.
    pub runs: usize,
    /// One histogram per part of [`EntropyFigure::parts`] that has rows here, in that order.
    pub histograms: Vec<EntropyHistogram>,
}

/// The entropy figure: common bins for every panel.
#[derive(Clone, Debug, PartialEq)]
pub struct EntropyFigure {
    /// Number of classes K: the largest class in the rows (predicted label or target) + 1.
    pub classes: usize,
    /// The right end of the x axis: ln K, the entropy of a uniform prediction (ln 2 for K < 2);
    /// the largest entropy instead if it exceeds ln K by more than rounding (a class neither
    /// predicted nor present, so K is too small).
    pub upper: f64,
    pub bins: usize,
    /// `test` (if any panel has test rows), then the out-of-distribution parts in order of first
    /// appearance in the rows: the colours.
    pub parts: Vec<String>,
    pub panels: Vec<EntropyPanel>,
}

impl EntropyFigure {
    /// The out-of-distribution parts: every part but `test`.
    pub fn ood_parts(&self) -> Vec<&str> {
        self.parts
            .iter()
            .map(String::as_str)
            .filter(|p| *p != TEST)
            .collect()
    }

    /// Whether the x axis ends at ln K (not at a larger entropy).
    pub fn upper_is_ln_k(&self) -> bool {
        self.upper == ln_k(self.classes)
    }

    /// The colour index of a part: its position in [`EntropyFigure::parts`].
    fn part_index(&self, part: &str) -> usize {
        self.parts.iter().position(|p| p == part).unwrap_or(0)
    }
}

/// ln K, the entropy of a uniform prediction over K classes; ln 2 for K < 2.
fn ln_k(classes: usize) -> f64 {
    (classes.max(2) as f64).ln()
}

/// Entropy histograms: per (method, variant), the predictive entropy H[p̄] = −Σ_k p̄_k ln p̄_k
/// (nats) of the classification rows (with a label and an entropy) of the test part and of each
/// out-of-distribution part, pooled over its ok runs, in `bins` common bins over [0, upper]
/// ([`EntropyFigure::upper`]). None when no row has an entropy.
pub fn entropy_histograms(results: &Results, bins: usize) -> Option<EntropyFigure> {
    let rows: Vec<(&str, &str, f64)> = results
        .predictions
        .iter()
        .filter(|(_, p)| p.label.is_some() && p.split != GRID)
        .filter_map(|(id, p)| Some((id.as_str(), p.split.as_str(), p.entropy?)))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let largest_class = results
        .predictions
        .iter()
        .filter(|(_, p)| p.label.is_some())
        .flat_map(|(_, p)| {
            p.label
                .map(|l| l.max(0) as usize)
                .into_iter()
                .chain(p.target.map(|t| t.max(0.0) as usize))
        })
        .max()
        .unwrap_or(0);
    let classes = largest_class + 1;
    let ln_k = ln_k(classes);
    let largest = rows
        .iter()
        .map(|r| r.2)
        .filter(|h| h.is_finite())
        .fold(0.0f64, f64::max);
    let upper = if largest > ln_k * (1.0 + 1e-9) {
        largest
    } else {
        ln_k
    };
    let mut parts: Vec<&str> = Vec::new();
    if rows.iter().any(|r| r.1 == TEST) {
        parts.push(TEST);
    }
    for r in &rows {
        if !parts.contains(&r.1) {
            parts.push(r.1);
        }
    }
    let mut by_run: BTreeMap<&str, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
    for &(id, part, h) in &rows {
        by_run
            .entry(id)
            .or_default()
            .entry(part)
            .or_default()
            .push(h);
    }
    let panels = groups(results)
        .into_iter()
        .enumerate()
        .filter_map(|(group, g)| {
            let pooled: Vec<&BTreeMap<&str, Vec<f64>>> = g
                .runs
                .iter()
                .filter_map(|r| by_run.get(r.run_id.as_str()))
                .collect();
            let histograms: Vec<EntropyHistogram> = parts
                .iter()
                .filter(|part| pooled.iter().any(|run| run.contains_key(*part)))
                .map(|part| {
                    let values = pooled
                        .iter()
                        .filter_map(|run| run.get(part))
                        .flatten()
                        .copied();
                    EntropyHistogram::of(part, values, upper, bins)
                })
                .collect();
            if histograms.is_empty() {
                return None;
            }
            Some(EntropyPanel {
                label: g.label,
                method: g.method,
                variant: g.variant,
                facet: g.facet,
                group,
                method_index: g.method_index,
                runs: pooled.len(),
                histograms,
            })
        })
        .collect();
    Some(EntropyFigure {
        classes,
        upper,
        bins,
        parts: parts.into_iter().map(String::from).collect(),
        panels,
    })
}

/// Where a panel of a per-(method, variant) figure goes.
struct Place<'a> {
    group: usize,
    facet: &'a str,
    method_index: usize,
    method: &'a str,
}

/// One panel's cell and whether the figure is faceted (then the row strip names the variant and
/// the caption only the method).
type Cells<DB> = Vec<(DrawingArea<DB, Shift>, usize, bool)>;

/// The cells of the panels: a grid of up to three columns with one variant; with several, one
/// row per variant (titled by a strip, in order of first appearance) and one column per method,
/// left empty where a method has no panel in that variant. Returns (cell, panel index, faceted).
fn cells<DB: DrawingBackend>(
    body: DrawingArea<DB, Shift>,
    places: &[Place],
) -> Result<Cells<DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let variants = first_appearance(places.iter().map(|p| (p.group, p.facet)).collect());
    if variants.len() <= 1 {
        let (rows, cols) = grid_shape(places.len(), 3);
        return Ok(body
            .split_evenly((rows, cols))
            .into_iter()
            .zip(0..places.len())
            .map(|(area, i)| (area, i, false))
            .collect());
    }
    let methods = methods_by_index(places.iter().map(|p| (p.method_index, p.method)));
    let mut out = Vec::new();
    for (row, variant) in body.split_evenly((variants.len(), 1)).iter().zip(&variants) {
        let strip = row_strip(row, variant)?;
        for (area, &(m, _)) in strip
            .split_evenly((1, methods.len()))
            .into_iter()
            .zip(&methods)
        {
            if let Some(i) = places
                .iter()
                .position(|p| p.facet == *variant && p.method_index == m)
            {
                out.push((area, i, true));
            }
        }
    }
    Ok(out)
}

/// Pixel size of a figure of `places`: by columns (one, two, three or more) `single` panel
/// heights with one variant, `facet` per variant row otherwise; 80 px of title and legend.
fn figure_size(places: &[Place], single: [u32; 3], facet: u32) -> (u32, u32) {
    let variants = first_appearance(places.iter().map(|p| (p.group, p.facet)).collect());
    if variants.len() > 1 {
        let methods = methods_by_index(places.iter().map(|p| (p.method_index, p.method)));
        return (
            facet_width(methods.len(), 500),
            FACET_TOP + facet * variants.len() as u32,
        );
    }
    let (rows, cols) = grid_shape(places.len(), 3);
    let (width, height) = match cols {
        1 => (900, single[0]),
        2 => (1200, single[1]),
        _ => (1500, single[2]),
    };
    (width, FACET_TOP + height * rows as u32)
}

/// The reliability panels (accuracy above, counts below).
const RELIABILITY_PANEL: PanelStyle = PanelStyle {
    caption: 16,
    margin: 12,
    x_label_area: 30,
    y_label_area: 64,
    label: 13,
    axis_desc: 14,
    x_labels: 6,
    y_labels: 6,
};

/// Share of a reliability cell given to the accuracy chart; the counts get the rest.
const RELIABILITY_SHARE: f64 = 0.7;

/// The tick label of 10^k on the log count axis: the number up to 10 000, then `1e5`, ….
fn power_of_ten(k: f64) -> String {
    let k = k.round() as i32;
    if (0..=4).contains(&k) {
        format!("{}", 10u32.pow(k as u32))
    } else {
        format!("1e{k}")
    }
}

/// One reliability panel: per non-empty bin a bar from 0 to acc(B_b) across the bin, a point at
/// (conf(B_b), acc(B_b)) joined by a line, and the diagonal acc = conf dashed; below, the bin
/// counts |B_b| as bars on a log10 axis. Empty bins are drawn as nothing.
fn reliability_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &ReliabilityPanel,
    caption: &str,
    style: &PanelStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (_, height) = area.dim_in_pixel();
    let (top, bottom) = area.split_vertically((height as f64 * RELIABILITY_SHARE) as u32);
    let c = color(panel.method_index);
    let unit = || TickedAxis::new(0.0, 1.0, style.x_labels);
    let fmt = |v: &f64| format!("{v:.1}");
    let mut chart = ChartBuilder::on(&top)
        .caption(caption, (FONT, style.caption))
        .margin(style.margin)
        .margin_bottom(2)
        .x_label_area_size(style.x_label_area)
        .y_label_area_size(style.y_label_area)
        .build_cartesian_2d(unit(), TickedAxis::new(0.0, 1.0, style.y_labels))?;
    chart
        .configure_mesh()
        .y_desc("accuracy")
        .label_style((FONT, style.label))
        .axis_desc_style((FONT, style.axis_desc))
        .bold_line_style(RGBColor(225, 225, 225))
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .draw()?;
    let filled: Vec<_> = panel
        .calibration
        .bins
        .iter()
        .filter(|b| b.count > 0)
        .collect();
    chart.draw_series(
        filled
            .iter()
            .map(|b| Rectangle::new([(b.lower, 0.0), (b.upper, b.accuracy)], c.mix(0.3).filled())),
    )?;
    chart.draw_series(
        filled
            .iter()
            .map(|b| Rectangle::new([(b.lower, 0.0), (b.upper, b.accuracy)], c.stroke_width(1))),
    )?;
    chart.draw_series(DashedLineSeries::new(
        [(0.0, 0.0), (1.0, 1.0)],
        8,
        5,
        BLACK.mix(0.75).stroke_width(2),
    ))?;
    let points: Vec<(f64, f64)> = filled.iter().map(|b| (b.confidence, b.accuracy)).collect();
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        BLACK.mix(0.8).stroke_width(2),
    ))?;
    chart.draw_series(
        points
            .iter()
            .map(|&p| Circle::new(p, 3, BLACK.mix(0.8).filled())),
    )?;

    // Counts on log10: a bar of count c reaches log10 c from below log10 1, so a single example
    // still shows.
    let most = filled.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    let decades = (most as f64).log10().ceil().max(1.0);
    let floor = -0.3;
    let ticks: Vec<f64> = (0..=decades as i32).map(f64::from).collect();
    let mut counts = ChartBuilder::on(&bottom)
        .margin(style.margin)
        .margin_top(2)
        .x_label_area_size(style.x_label_area + 14)
        .y_label_area_size(style.y_label_area)
        .build_cartesian_2d(unit(), TickedAxis::with_ticks(floor, decades + 0.1, ticks))?;
    let count_fmt = |v: &f64| power_of_ten(*v);
    counts
        .configure_mesh()
        .x_desc("confidence (probability of the predicted class)")
        .y_desc("examples (log)")
        .label_style((FONT, style.label))
        .axis_desc_style((FONT, style.axis_desc))
        .bold_line_style(RGBColor(225, 225, 225))
        .x_label_formatter(&fmt)
        .y_label_formatter(&count_fmt)
        .draw()?;
    counts.draw_series(filled.iter().map(|b| {
        Rectangle::new(
            [(b.lower, floor), (b.upper, (b.count as f64).log10())],
            RGBColor(120, 120, 120).mix(0.55).filled(),
        )
    }))?;
    Ok(())
}

fn draw_reliability<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[ReliabilityPanel],
    path: &Path,
) -> Result<(), Error> {
    let err = draw_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let body = root
        .margin(10, 6, 6, 6)
        .titled(title, (FONT, 22))
        .map_err(&err)?;
    let grey = RGBColor(90, 90, 90);
    let keys = [
        ("accuracy of the bin (bar)".to_string(), Key::Band(grey)),
        (
            "(mean confidence, accuracy) of the bin".to_string(),
            Key::Line(BLACK),
        ),
        ("perfect calibration".to_string(), Key::Dashed(BLACK)),
    ];
    let body = with_legend(body, &keys).map_err(&err)?;
    for (area, i, faceted) in cells(body, &reliability_places(panels)).map_err(&err)? {
        let panel = &panels[i];
        let name = if faceted { &panel.method } else { &panel.label };
        let caption = format!(
            "{name}: ECE {:.4} (n = {}, {} run{})",
            panel.calibration.ece,
            panel.examples,
            panel.runs,
            if panel.runs == 1 { "" } else { "s" }
        );
        reliability_panel(&area, panel, &caption, &RELIABILITY_PANEL).map_err(&err)?;
    }
    root.present().map_err(&err)
}

fn reliability_places(panels: &[ReliabilityPanel]) -> Vec<Place<'_>> {
    panels
        .iter()
        .map(|p| Place {
            group: p.group,
            facet: &p.facet,
            method_index: p.method_index,
            method: &p.method,
        })
        .collect()
}

/// Writes `reliability.png` and `.svg`: one reliability panel per (method, variant) (up to three
/// columns; with several variants one row per variant, one column per method), each with the
/// bin counts below. Returns the files written.
pub fn write_reliability(
    out_dir: &Path,
    title: &str,
    panels: &[ReliabilityPanel],
) -> Result<Vec<PathBuf>, Error> {
    let size = figure_size(&reliability_places(panels), [760, 660, 620], 560);
    png_and_svg!(
        out_dir,
        "reliability",
        size,
        draw_reliability(title, panels)
    )
}

/// The entropy panels.
const ENTROPY_PANEL: PanelStyle = PanelStyle {
    caption: 16,
    margin: 12,
    x_label_area: 44,
    y_label_area: 64,
    label: 13,
    axis_desc: 14,
    x_labels: 6,
    y_labels: 6,
};

/// One entropy panel: per part, the fraction of its rows in each bin as a semi-transparent bar
/// and an outlined step, in the part's colour; the outlines drawn last so none is hidden.
fn entropy_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &EntropyFigure,
    panel: &EntropyPanel,
    caption: &str,
    style: &PanelStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let fractions: Vec<(usize, Vec<f64>)> = panel
        .histograms
        .iter()
        .map(|h| (figure.part_index(&h.part), h.fractions()))
        .collect();
    let top = fractions
        .iter()
        .flat_map(|(_, f)| f.iter().copied())
        .fold(0.0f64, f64::max);
    let y1 = if top > 0.0 { 1.08 * top } else { 1.0 };
    let width = figure.upper / figure.bins as f64;
    let edge = |b: usize| b as f64 * width;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, style.caption))
        .margin(style.margin)
        .x_label_area_size(style.x_label_area)
        .y_label_area_size(style.y_label_area)
        .build_cartesian_2d(
            TickedAxis::new(0.0, figure.upper, style.x_labels),
            TickedAxis::new(0.0, y1, style.y_labels),
        )?;
    let (xd, yd) = (tick_decimals(figure.upper), tick_decimals(y1));
    let x_fmt = |v: &f64| format!("{v:.xd$}");
    let y_fmt = |v: &f64| format!("{v:.yd$}");
    chart
        .configure_mesh()
        .x_desc("predictive entropy (nats)")
        .y_desc("fraction of the part's inputs")
        .label_style((FONT, style.label))
        .axis_desc_style((FONT, style.axis_desc))
        .bold_line_style(RGBColor(225, 225, 225))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    for (part, f) in &fractions {
        let c = color(*part);
        chart.draw_series(
            f.iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(|(b, &v)| {
                    Rectangle::new([(edge(b), 0.0), (edge(b + 1), v)], c.mix(0.2).filled())
                }),
        )?;
    }
    for (part, f) in &fractions {
        // The outline of each run of non-empty bins: up its left edge, across the bins' tops,
        // down its right edge; empty bins are drawn as nothing.
        let mut b = 0;
        while b < f.len() {
            if f[b] == 0.0 {
                b += 1;
                continue;
            }
            let mut step = vec![(edge(b), 0.0)];
            while b < f.len() && f[b] > 0.0 {
                step.push((edge(b), f[b]));
                step.push((edge(b + 1), f[b]));
                b += 1;
            }
            step.push((edge(b), 0.0));
            chart.draw_series(LineSeries::new(step, color(*part).stroke_width(2)))?;
        }
    }
    Ok(())
}

/// The legend label of a part.
fn part_label(part: &str) -> String {
    if part == TEST {
        "test (in distribution)".to_string()
    } else {
        format!("{part} (out of distribution)")
    }
}

fn draw_entropy<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    figure: &EntropyFigure,
    path: &Path,
) -> Result<(), Error> {
    let err = draw_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let body = root
        .margin(10, 6, 6, 6)
        .titled(title, (FONT, 22))
        .map_err(&err)?;
    let keys: Vec<(String, Key)> = figure
        .parts
        .iter()
        .enumerate()
        .map(|(i, p)| (part_label(p), Key::Band(color(i))))
        .collect();
    let body = with_legend(body, &keys).map_err(&err)?;
    for (area, i, faceted) in cells(body, &entropy_places(&figure.panels)).map_err(&err)? {
        let panel = &figure.panels[i];
        let name = if faceted { &panel.method } else { &panel.label };
        let caption = format!(
            "{name} ({} run{})",
            panel.runs,
            if panel.runs == 1 { "" } else { "s" }
        );
        entropy_panel(&area, figure, panel, &caption, &ENTROPY_PANEL).map_err(&err)?;
    }
    root.present().map_err(&err)
}

fn entropy_places(panels: &[EntropyPanel]) -> Vec<Place<'_>> {
    panels
        .iter()
        .map(|p| Place {
            group: p.group,
            facet: &p.facet,
            method_index: p.method_index,
            method: &p.method,
        })
        .collect()
}

/// Writes `entropy.png` and `.svg`: one panel per (method, variant) (up to three columns; with
/// several variants one row per variant, one column per method), a histogram per part in the
/// part's colour over the figure's common bins. Returns the files written.
pub fn write_entropy(
    out_dir: &Path,
    title: &str,
    figure: &EntropyFigure,
) -> Result<Vec<PathBuf>, Error> {
    let size = figure_size(&entropy_places(&figure.panels), [520, 460, 420], 360);
    png_and_svg!(out_dir, "entropy", size, draw_entropy(title, figure))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PredictionRow, RunRecord, RunStatus};

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() <= 1e-12, "got {got}, want {want}");
    }

    #[test]
    fn reliability_bins_by_hand() {
        // 15 bins of width 1/15 ≈ 0.0667: 0.95 and 0.97 fall in (14/15, 1] (bin 14, since
        // 14/15 ≈ 0.9333), 0.62 in (9/15, 10/15] = (0.6, 0.667] (bin 9), 0.30 in
        // (4/15, 5/15] = (0.267, 0.333] (bin 4).
        let rows = [(0.95, true), (0.97, false), (0.62, true), (0.30, false)];
        let c = reliability_bins(rows);
        assert_eq!(c.bins.len(), 15);
        let counts: Vec<usize> = c.bins.iter().map(|b| b.count).collect();
        let mut want = vec![0; 15];
        (want[14], want[9], want[4]) = (2, 1, 1);
        assert_eq!(counts, want);
        // Bin 14: acc 1/2, conf (0.95 + 0.97)/2 = 0.96; bin 9: acc 1, conf 0.62; bin 4: acc 0,
        // conf 0.3.
        close(c.bins[14].accuracy, 0.5);
        close(c.bins[14].confidence, 0.96);
        close(c.bins[9].accuracy, 1.0);
        close(c.bins[9].confidence, 0.62);
        close(c.bins[4].accuracy, 0.0);
        close(c.bins[4].confidence, 0.3);
        // ECE = 2/4·|0.5 − 0.96| + 1/4·|1 − 0.62| + 1/4·|0 − 0.3| = 0.23 + 0.095 + 0.075 = 0.4.
        close(c.ece, 0.4);
        close(c.bins[9].lower, 0.6);
        close(c.bins[9].upper, 10.0 / 15.0);
    }

    #[test]
    fn reliability_bin_edges_are_right_closed() {
        // Confidence 1 goes to the last bin, 0 to the first; 0.6 = 9/15 (the f64 nearest both)
        // closes bin 8, (8/15, 9/15], while the next f64 above it opens bin 9.
        let c = reliability_bins([
            (1.0, true),
            (0.0, false),
            (0.6, true),
            (0.6000000000000001, true),
        ]);
        assert_eq!(c.bins[14].count, 1);
        assert_eq!(c.bins[0].count, 1);
        assert_eq!(c.bins[8].count, 1);
        assert_eq!(c.bins[9].count, 1);
        // With two bins (as the metric takes any count): 0.5 closes the first bin.
        let two = calibration_of_confidences([(0.5, true), (0.51, false)], 2);
        assert_eq!((two.bins[0].count, two.bins[1].count), (1, 1));
    }

    #[test]
    fn the_pooled_ece_equals_the_metric_on_the_same_rows() {
        // Probabilities of 3 classes; the prediction rows the runner would store for them
        // (label = argmax, confidence = max), split over two runs of one method.
        let probs = ndarray::array![
            [0.7, 0.2, 0.1],
            [0.1, 0.3, 0.6],
            [0.34, 0.33, 0.33],
            [0.05, 0.9, 0.05],
            [0.5, 0.45, 0.05],
            [0.2, 0.2, 0.6],
            [0.98, 0.01, 0.01],
        ];
        let labels = [0u32, 1, 2, 1, 1, 2, 0];
        let want = crate::metrics::calibration(probs.view(), &labels, ECE_BINS);
        let mut results = Results::default();
        for id in ["r0", "r1"] {
            results.runs.push(run(id, "ens", 0));
        }
        for (i, (row, &y)) in probs.rows().into_iter().zip(&labels).enumerate() {
            let (label, confidence) =
                row.iter()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (k, &p)| if p > b.1 { (k, p) } else { b },
                    );
            let id = if i < 4 { "r0" } else { "r1" };
            results.predictions.push((
                id.into(),
                classified(TEST, i, Some(f64::from(y)), label as i64, confidence, 0.5),
            ));
        }
        let panels = reliability(&results);
        assert_eq!(panels.len(), 1);
        assert_eq!((panels[0].runs, panels[0].examples), (2, 7));
        assert_eq!(panels[0].calibration, want);
        assert!(want.ece > 0.05, "a miscalibrated example set: {}", want.ece);
    }

    #[test]
    fn histogram_edges_and_totals() {
        // 4 bins over [0, 2]: [0, 0.5), [0.5, 1), [1, 1.5), [1.5, 2].
        assert_eq!(histogram_bin(0.0, 2.0, 4), Some(0));
        assert_eq!(histogram_bin(0.5, 2.0, 4), Some(1));
        assert_eq!(histogram_bin(0.49999999999999994, 2.0, 4), Some(0));
        assert_eq!(histogram_bin(1.5, 2.0, 4), Some(3));
        assert_eq!(histogram_bin(2.0, 2.0, 4), Some(3));
        // Rounding beyond the ends goes to the end bins; NaN has no bin.
        assert_eq!(histogram_bin(2.0000000000000004, 2.0, 4), Some(3));
        assert_eq!(histogram_bin(-0.0, 2.0, 4), Some(0));
        assert_eq!(histogram_bin(f64::NAN, 2.0, 4), None);
        // ln 10 over 30 bins: edge 10 is 10·ln10/30; the value on it opens bin 10, ln 10 itself
        // is in the last bin.
        let ln10 = 10f64.ln();
        let edge10 = ln10 * 10.0 / 30.0;
        assert_eq!(histogram_bin(edge10, ln10, 30), Some(10));
        assert_eq!(histogram_bin(edge10 - 1e-12, ln10, 30), Some(9));
        assert_eq!(histogram_bin(ln10, ln10, 30), Some(29));
        let values = [0.0, 0.1, 0.5, 0.7, 1.0, 1.99, 2.0, f64::NAN];
        let h = EntropyHistogram::of("test", values, 2.0, 4);
        assert_eq!(h.counts, [2, 2, 1, 2]);
        assert_eq!(h.rows, 7);
        assert_eq!(h.counts.iter().sum::<usize>(), h.rows);
        let f = h.fractions();
        close(f.iter().sum(), 1.0);
        close(f[2], 1.0 / 7.0);
    }

    fn run(id: &str, method: &str, seed: u32) -> RunRecord {
        RunRecord {
            run_id: id.into(),
            experiment: "mnist".into(),
            method: method.into(),
            variant: "default".into(),
            seed,
            split: 0,
            status: RunStatus::Ok,
            error: None,
            duration_s: 1.0,
            n_params: 10,
            n_samples: 1,
            config: "{}".into(),
        }
    }

    fn classified(
        split: &str,
        index: usize,
        target: Option<f64>,
        label: i64,
        confidence: f64,
        entropy: f64,
    ) -> PredictionRow {
        PredictionRow {
            split: split.into(),
            index: index as u32,
            input: None,
            target,
            mean: None,
            std: None,
            label: Some(label),
            confidence: Some(confidence),
            entropy: Some(entropy),
            mutual_information: Some(0.0),
        }
    }

    #[test]
    fn entropy_histograms_pool_runs_per_part_over_ln_k() {
        let mut results = Results::default();
        results.runs.push(run("a0", "sgd", 0));
        results.runs.push(run("a1", "sgd", 1));
        results.runs.push(run("b0", "ens", 0));
        let mut failed = run("b1", "ens", 1);
        failed.status = RunStatus::Failed;
        results.runs.push(failed);
        // Targets up to class 3: K = 4, upper ln 4; 8 bins of width ln4/8.
        let ln4 = 4f64.ln();
        let rows = [
            ("a0", TEST, Some(3.0), 0.0),
            ("a0", TEST, Some(1.0), ln4),
            ("a1", TEST, Some(0.0), 0.5 * ln4),
            ("a0", "fashion", None, ln4),
            ("a1", "fashion", None, 0.9 * ln4),
            ("b0", TEST, Some(2.0), 0.1),
            ("b1", TEST, Some(2.0), 0.1),
            ("b1", "fashion", None, 0.1),
        ];
        for (i, (id, split, target, h)) in rows.into_iter().enumerate() {
            results
                .predictions
                .push((id.into(), classified(split, i, target, 0, 0.9, h)));
        }
        let fig = entropy_histograms(&results, 8).unwrap();
        assert_eq!(fig.classes, 4);
        assert_eq!(fig.upper, ln4);
        assert!(fig.upper_is_ln_k());
        assert_eq!(fig.parts, ["test", "fashion"]);
        assert_eq!(fig.ood_parts(), ["fashion"]);
        let [sgd, ens] = &fig.panels[..] else {
            panic!("two panels, got {:?}", fig.panels)
        };
        assert_eq!(sgd.runs, 2);
        assert_eq!(sgd.histograms[0].counts, [1, 0, 0, 0, 1, 0, 0, 1]);
        assert_eq!(sgd.histograms[1].counts, [0, 0, 0, 0, 0, 0, 0, 2]);
        // The failed run's rows are left out: ens has test rows only.
        assert_eq!(ens.runs, 1);
        assert_eq!(ens.histograms.len(), 1);
        assert_eq!(
            (ens.histograms[0].part.as_str(), ens.histograms[0].rows),
            ("test", 1)
        );
        // An entropy above ln 4 (a class never seen in the rows, so K is too small): the axis
        // reaches it instead.
        results
            .predictions
            .push(("a0".into(), classified(TEST, 99, Some(0.0), 0, 0.3, 1.5)));
        let fig = entropy_histograms(&results, 8).unwrap();
        assert_eq!((fig.classes, fig.upper), (4, 1.5));
        assert!(!fig.upper_is_ln_k());
        // Bins of width 1.5/8 = 0.1875: 0 → bin 0, ½ ln 4 = 0.693 → bin 3, ln 4 = 1.386 and 1.5
        // → bin 7.
        assert_eq!(fig.panels[0].histograms[0].counts, [1, 0, 0, 1, 0, 0, 0, 2]);
    }

    /// Two methods (three seeds each) on 10 classes: `sgd` overconfident, `ens` close to
    /// calibrated, with 1000 test rows per run and two OOD parts of 400 rows.
    fn classification_results() -> Results {
        let mut results = Results::default();
        for (m, method) in ["sgd", "ens"].iter().enumerate() {
            for seed in 0..3u32 {
                let id = format!("{method}{seed}");
                results.runs.push(run(&id, method, seed));
                let mut state = 0x9e37_79b9_u64.wrapping_mul(u64::from(seed) + 7 + 31 * m as u64);
                let mut uniform = || {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (state >> 11) as f64 / (1u64 << 53) as f64
                };
                let ln10 = 10f64.ln();
                for i in 0..1000usize {
                    let confidence = 0.1 + 0.9 * uniform().powf(0.25);
                    // sgd is right less often than it claims; ens about as often.
                    let p_right = if m == 0 {
                        confidence * confidence
                    } else {
                        confidence
                    };
                    let target = (i % 10) as i64;
                    let label = if uniform() < p_right {
                        target
                    } else {
                        (target + 1) % 10
                    };
                    let entropy = ln10 * (1.0 - confidence).powf(0.7);
                    results.predictions.push((
                        id.clone(),
                        classified(TEST, i, Some(target as f64), label, confidence, entropy),
                    ));
                }
                for (part, shift) in [("fashion", 0.5), ("noise", 0.8)] {
                    for i in 0..400usize {
                        let u = uniform();
                        let entropy =
                            ln10 * (shift + (1.0 - shift) * u).min(1.0) * (0.6 + 0.4 * m as f64);
                        results.predictions.push((
                            id.clone(),
                            classified(part, i, None, (i % 10) as i64, 0.5, entropy),
                        ));
                    }
                }
            }
        }
        results
    }

    #[test]
    fn classification_plots_are_written() {
        let tmp = super::super::tests::TempDir::new("classification");
        let dir = tmp.0.clone();
        let results = classification_results();
        let panels = reliability(&results);
        assert_eq!(panels.len(), 2);
        assert_eq!((panels[0].runs, panels[0].examples), (3, 3000));
        assert!(panels[0].calibration.ece > panels[1].calibration.ece);
        write_reliability(&dir, "mnist: reliability", &panels).unwrap();
        let fig = entropy_histograms(&results, ENTROPY_BINS).unwrap();
        assert_eq!(fig.classes, 10);
        assert_eq!(fig.parts, ["test", "fashion", "noise"]);
        write_entropy(&dir, "mnist: entropy", &fig).unwrap();
        for stem in ["reliability", "entropy"] {
            super::super::tests::assert_plot_files(&dir, stem);
        }
        let svg = std::fs::read_to_string(dir.join("reliability.svg")).unwrap();
        let caption = format!(
            "sgd: ECE {:.4} (n = 3000, 3 runs)",
            panels[0].calibration.ece
        );
        assert!(svg.contains(&caption), "missing {caption:?}");
        let svg = std::fs::read_to_string(dir.join("entropy.svg")).unwrap();
        assert!(svg.contains("noise (out of distribution)"));
        // Two variants (two data sets): one row per variant, one column per method.
        let mut two = results.clone();
        for r in &mut two.runs {
            r.variant = "data=a".into();
        }
        for r in &results.runs {
            let mut b = r.clone();
            b.run_id = format!("{}-b", r.run_id);
            b.variant = "data=b".into();
            two.runs.push(b);
        }
        for (id, p) in &results.predictions {
            two.predictions.push((format!("{id}-b"), p.clone()));
        }
        let faceted = tmp.0.join("faceted");
        std::fs::create_dir_all(&faceted).unwrap();
        let panels = reliability(&two);
        assert_eq!(panels.len(), 4);
        assert_eq!(
            (panels[2].label.as_str(), panels[2].facet.as_str()),
            ("sgd (data=b)", "data=b")
        );
        write_reliability(&faceted, "two data sets", &panels).unwrap();
        write_entropy(
            &faceted,
            "two data sets",
            &entropy_histograms(&two, ENTROPY_BINS).unwrap(),
        )
        .unwrap();
        for stem in ["reliability", "entropy"] {
            super::super::tests::assert_plot_files(&faceted, stem);
        }
        // 80 px of title and legend, then 560 (reliability) or 360 (entropy) per variant row.
        let size = |stem: &str| super::super::tests::png_size(&faceted.join(format!("{stem}.png")));
        assert_eq!(size("reliability"), (1300, 80 + 2 * 560));
        assert_eq!(size("entropy"), (1300, 80 + 2 * 360));
        let svg = std::fs::read_to_string(faceted.join("reliability.svg")).unwrap();
        for needle in ["data=a", "data=b", "ens: ECE"] {
            assert!(svg.contains(&format!(">\n{needle}")), "missing {needle}");
        }
    }

    /// Writes `results` as a results directory (parts, merged) with `spec`.
    fn results_dir(dir: &Path, results: &Results, spec: &str) {
        for rec in &results.runs {
            let output = crate::store::RunOutput {
                record: rec.clone(),
                metrics: vec![crate::store::MetricRow {
                    epoch: 1,
                    step: 10,
                    samples: 1,
                    split: TEST.into(),
                    metric: "accuracy".into(),
                    value: 0.9,
                }],
                predictions: results
                    .predictions
                    .iter()
                    .filter(|p| p.0 == rec.run_id)
                    .map(|p| p.1.clone())
                    .collect(),
                traces: Vec::new(),
            };
            crate::store::write_part(dir, &output).unwrap();
        }
        crate::store::merge(dir).unwrap();
        std::fs::write(dir.join("spec.toml"), spec).unwrap();
    }

    #[test]
    fn the_report_draws_reliability_and_entropy_or_says_why_not() {
        let tmp = super::super::tests::TempDir::new("classification-report");
        let spec = "name = \"mnist\"\n[[methods]]\nname = \"sgd\"\n[[methods]]\nname = \"ens\"\n\
                    [report]\nplots = [\"reliability\", \"entropy\"]\n";
        let dir = tmp.0.join("results").join("mnist");
        results_dir(&dir, &classification_results(), spec);
        let out = tmp.0.join("reports").join("mnist");
        let summary = super::super::write_report(&dir, &out).unwrap();
        assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
        for stem in ["reliability", "entropy"] {
            super::super::tests::assert_plot_files(&out, stem);
        }
        let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
        for needle in [
            "## Reliability\n\nTest predictions of all ok runs of each method, pooled, in 15 \
             equal-width bins",
            "(b/15, (b+1)/15]",
            "on a log10 axis",
            "![reliability](reliability.png)",
            "## Predictive entropy\n",
            "out-of-distribution parts `fashion`, `noise`",
            "30 equal-width bins over [0, 2.303] (ln K for K = 10 classes",
            "fraction of its part's inputs",
            "`ood_auroc`",
            "![entropy](entropy.png)",
        ] {
            assert!(readme.contains(needle), "missing {needle:?} in\n{readme}");
        }
        assert!(readme.find("## Reliability") < readme.find("## Predictive entropy"));

        // Without prediction rows (say a regression experiment run without `predictions`), both
        // plots are left out with a note and the report is still written.
        let mut bare = classification_results();
        bare.predictions.clear();
        let dir = tmp.0.join("results").join("bare");
        results_dir(&dir, &bare, spec);
        let out = tmp.0.join("reports").join("bare");
        let summary = super::super::write_report(&dir, &out).unwrap();
        assert_eq!(summary.skipped.len(), 2, "{:?}", summary.skipped);
        assert!(!out.join("reliability.png").exists() && !out.join("entropy.svg").exists());
        let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
        for needle in [
            "Not drawn: reliability: no classification test predictions",
            "Not drawn: entropy: no predictive entropies",
        ] {
            assert!(readme.contains(needle), "missing {needle:?} in\n{readme}");
        }

        // Test rows only: the entropy plot draws them alone and its caption says there are no
        // out-of-distribution parts.
        let mut test_only = classification_results();
        test_only.predictions.retain(|p| p.1.split == TEST);
        let dir = tmp.0.join("results").join("test_only");
        results_dir(&dir, &test_only, spec);
        let out = tmp.0.join("reports").join("test_only");
        let summary = super::super::write_report(&dir, &out).unwrap();
        assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
        super::super::tests::assert_plot_files(&out, "entropy");
        let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
        assert!(
            readme.contains("declares no `[data.ood.<name>]` part"),
            "{readme}"
        );
        assert!(!readme.contains("`ood_auroc`"), "{readme}");
    }
}
