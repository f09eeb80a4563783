//! Plots of a report (plotters): learning curves with ±1 std bands, and 1-D regression predictive
//! bands. Data are prepared as plain structs (testable without drawing), then drawn once per
//! backend (PNG and SVG) with the embedded font. The palette, legend, facet strips and axes here
//! are shared by the other figures of the report ([`super::sampling`], [`super::gp_view`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::pooled_variant;
use super::search::{ConvergenceLine, ConvergencePanel, REGRET_FLOOR};
use super::table::mean_std;
use crate::error::Error;
use crate::metrics::final_value;
use crate::spec::tune::TUNED_PREFIX;
use crate::store::{Results, RunStatus};

/// DejaVu Sans, embedded so PNG text is drawn with the same glyphs on every machine.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The family every text style names. SVG files carry it verbatim as `font-family`, so viewers
/// use DejaVu Sans when installed and their sans-serif otherwise.
pub(crate) const FONT: &str = "DejaVu Sans, sans-serif";

/// Registers the embedded font under [`FONT`] and under `sans-serif` (plotters' default family),
/// once per process.
pub(crate) fn register_font() -> Result<(), Error> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        [FONT, "sans-serif"]
            .iter()
            .all(|name| plotters::style::register_font(name, FontStyle::Normal, FONT_BYTES).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Report(
            "the embedded font assets/DejaVuSans.ttf is not a valid TrueType font: restore it from the repository".into(),
        ))
    }
}

/// Category10 palette (D3 / matplotlib "tab10"): distinct hues that stay readable on white.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

pub(super) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A (method, variant) and its ok runs, in order of first appearance in the runs.
pub(crate) struct Group<'a> {
    pub label: String,
    pub method: String,
    /// The pooled variant ([`pooled_variant`]).
    pub variant: String,
    /// The row of a faceted figure: the variant, or "" for every group of a search experiment
    /// (`default` and `tuned:*` are one data set, drawn together).
    pub facet: String,
    /// Index of the method in order of first appearance in the runs (of the (method, variant) in
    /// a search experiment): its colour, the same in every panel and plot.
    pub method_index: usize,
    pub runs: Vec<&'a crate::store::RunRecord>,
}

/// Groups the runs by (method, pooled variant); search trials are left out.
pub(crate) fn groups(results: &Results) -> Vec<Group<'_>> {
    let runs: Vec<(&crate::store::RunRecord, &str)> = results
        .runs
        .iter()
        .filter_map(|r| pooled_variant(&r.variant).map(|v| (r, v)))
        .collect();
    let many_variants = runs
        .first()
        .is_some_and(|f| runs.iter().any(|r| r.1 != f.1));
    let searched = runs.iter().any(|r| r.1.starts_with(TUNED_PREFIX));
    let mut keys: Vec<(&str, &str)> = Vec::new();
    let mut methods: Vec<&str> = Vec::new();
    let mut out: Vec<Group> = Vec::new();
    for (run, variant) in runs {
        let key = (run.method.as_str(), variant);
        let pos = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
            keys.push(key);
            let method_index = if searched {
                keys.len() - 1
            } else {
                methods
                    .iter()
                    .position(|m| *m == run.method)
                    .unwrap_or_else(|| {
                        methods.push(&run.method);
                        methods.len() - 1
                    })
            };
            out.push(Group {
                label: if many_variants {
                    format!("{} ({variant})", run.method)
                } else {
                    run.method.clone()
                },
                method: run.method.clone(),
                variant: variant.to_string(),
                facet: if searched {
                    String::new()
                } else {
                    variant.to_string()
                },
                method_index,
                runs: Vec::new(),
            });
            keys.len() - 1
        });
        if run.status == RunStatus::Ok {
            out[pos].runs.push(run);
        }
    }
    out
}

/// One point of a learning curve: mean and sample std over runs at one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvePoint {
    pub epoch: i64,
    pub mean: f64,
    pub std: f64,
    /// Number of runs with a value at this epoch.
    pub n: usize,
}

/// One line: a (method, variant).
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// `method`, or `method (variant)` when the runs hold several variants.
    pub label: String,
    pub method: String,
    /// The pooled variant: `tuned:<strategy>` for every repeat of a search strategy.
    pub variant: String,
    /// The row of a faceted figure: the variant, or "" in a search experiment.
    pub facet: String,
    /// Index of the (method, variant) in order of first appearance in the runs.
    pub group: usize,
    /// Index of the method in order of first appearance in the runs (of the (method, variant) in
    /// a search experiment); picks the colour.
    pub method_index: usize,
    pub points: Vec<CurvePoint>,
}

/// One panel: one `split.metric`.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePanel {
    pub metric: String,
    pub curves: Vec<Curve>,
}

/// Epoch → the rows (epoch, step, value) of one run's `split.metric` in that epoch.
type EpochRows = BTreeMap<i64, Vec<(i64, i64, f64)>>;

/// Learning-curve data for each `split.metric` that has values (panels without data are left
/// out). A run's value at an epoch is the [`final_value`] of its rows in that epoch (the last
/// step's); each curve point is the mean and sample std over the ok runs of the group that have
/// that epoch.
pub fn learning_curves(results: &Results, metrics: &[String]) -> Vec<CurvePanel> {
    // run_id -> split.metric -> epoch -> rows
    let mut by_run: BTreeMap<&str, BTreeMap<String, EpochRows>> = BTreeMap::new();
    for (id, m) in &results.metrics {
        let key = format!("{}.{}", m.split, m.metric);
        if !metrics.contains(&key) {
            continue;
        }
        by_run
            .entry(id)
            .or_default()
            .entry(key)
            .or_default()
            .entry(m.epoch)
            .or_default()
            .push((m.epoch, m.step, m.value));
    }
    let groups = groups(results);
    metrics
        .iter()
        .map(|metric| {
            let curves = groups
                .iter()
                .enumerate()
                .filter_map(|(group, g)| {
                    let mut per_epoch: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                    for run in &g.runs {
                        let series = by_run.get(run.run_id.as_str()).and_then(|m| m.get(metric));
                        for (&epoch, rows) in series.into_iter().flatten() {
                            if let Some(v) = final_value(rows.iter().copied()) {
                                per_epoch.entry(epoch).or_default().push(v);
                            }
                        }
                    }
                    let points: Vec<CurvePoint> = per_epoch
                        .into_iter()
                        .map(|(epoch, values)| {
                            let (mean, std) = mean_std(&values);
                            CurvePoint {
                                epoch,
                                mean,
                                std,
                                n: values.len(),
                            }
                        })
                        .collect();
                    (!points.is_empty()).then(|| Curve {
                        label: g.label.clone(),
                        method: g.method.clone(),
                        variant: g.variant.clone(),
                        facet: g.facet.clone(),
                        group,
                        method_index: g.method_index,
                        points,
                    })
                })
                .collect();
            CurvePanel {
                metric: metric.clone(),
                curves,
            }
        })
        .filter(|p: &CurvePanel| !p.curves.is_empty())
        .collect()
}

/// One panel of the 1-D uncertainty plot: one (method, variant), its first seed's run.
#[derive(Clone, Debug, PartialEq)]
pub struct BandPanel {
    /// `method`, or `method (variant)` when the runs hold several variants.
    pub label: String,
    pub method: String,
    /// The pooled variant: `tuned:<strategy>` for every repeat of a search strategy.
    pub variant: String,
    /// The row of a faceted figure: the variant, or "" in a search experiment.
    pub facet: String,
    /// Index of the (method, variant) in order of first appearance in the runs.
    pub group: usize,
    /// Index of the method in order of first appearance in the runs (of the (method, variant) in
    /// a search experiment); picks the colour.
    pub method_index: usize,
    pub seed: u32,
    /// Test points (input, target).
    pub points: Vec<(f64, f64)>,
    /// Grid (input, predictive mean, predictive std), sorted by input.
    pub grid: Vec<(f64, f64, f64)>,
}

/// One run's test points (input, target) and grid (input, mean, std).
type RunPoints = (Vec<(f64, f64)>, Vec<(f64, f64, f64)>);

/// 1-D band data: per (method, variant), the ok run with the smallest (seed, split) that stored
/// grid predictions with input, mean and std. Empty when no run did (not 1-D regression).
pub fn uncertainty_1d(results: &Results) -> Vec<BandPanel> {
    let mut by_run: BTreeMap<&str, RunPoints> = BTreeMap::new();
    for (id, p) in &results.predictions {
        let entry = by_run.entry(id).or_default();
        match (p.split.as_str(), p.input, p.target, p.mean, p.std) {
            ("test", Some(x), Some(y), _, _) => entry.0.push((x, y)),
            ("grid", Some(x), _, Some(m), Some(s)) => entry.1.push((x, m, s)),
            _ => {}
        }
    }
    groups(results)
        .into_iter()
        .enumerate()
        .filter_map(|(group, g)| {
            let run = g
                .runs
                .iter()
                .filter(|r| {
                    by_run
                        .get(r.run_id.as_str())
                        .is_some_and(|d| !d.1.is_empty())
                })
                .min_by_key(|r| (r.seed, r.split))?;
            let (points, mut grid) = by_run[run.run_id.as_str()].clone();
            grid.sort_by(|a, b| a.0.total_cmp(&b.0));
            Some(BandPanel {
                label: g.label,
                method: g.method,
                variant: g.variant,
                facet: g.facet,
                group,
                method_index: g.method_index,
                seed: run.seed,
                points,
                grid,
            })
        })
        .collect()
}

/// Axis range [lo, hi] of the finite values, padded by 5 %; a degenerate range is widened.
pub(super) fn padded_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        0.05 * span
    } else {
        0.1 * lo.abs().max(1.0)
    };
    Some((lo - pad, hi + pad))
}

/// The y range: all central values, extended by the band edges but at most by half the central
/// span on each side, so one wide band cannot flatten every line.
pub(super) fn y_range(
    central: impl Iterator<Item = f64> + Clone,
    band: impl Iterator<Item = f64>,
) -> Option<(f64, f64)> {
    let (clo, chi) = padded_range(central)?;
    let reach = 0.5 * (chi - clo);
    let (blo, bhi) = padded_range(band).unwrap_or((clo, chi));
    Some((blo.max(clo - reach).min(clo), bhi.min(chi + reach).max(chi)))
}

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
pub(super) enum Key {
    Line(RGBColor),
    /// A line drawn dashed: a reference level or a method's constant value.
    Dashed(RGBColor),
    Band(RGBColor),
    Dot(RGBColor),
}

const LEGEND_FONT: u32 = 15;
const LEGEND_ROW: u32 = 24;
const LEGEND_SAMPLE: i32 = 26;

/// Legend rows (entry indices) and each entry's width in pixels.
struct LegendLayout {
    rows: Vec<Vec<usize>>,
    widths: Vec<u32>,
}

/// Lays legend entries out in centred rows across `width`: the rows (entry indices) and each
/// entry's width in pixels.
fn legend_rows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Key)],
    width: u32,
) -> Result<LegendLayout, DrawingAreaErrorKind<DB::ErrorType>> {
    let style: TextStyle = (FONT, LEGEND_FONT).into_text_style(area);
    let widths = entries
        .iter()
        .map(|(label, _)| {
            let (w, _) = area.estimate_text_size(label, &style)?;
            Ok(LEGEND_SAMPLE as u32 + 8 + w + 28)
        })
        .collect::<Result<Vec<u32>, _>>()?;
    let mut rows: Vec<Vec<usize>> = vec![Vec::new()];
    let mut used = 0;
    for (i, &w) in widths.iter().enumerate() {
        let row = rows.last_mut().expect("rows start non-empty");
        if !row.is_empty() && used + w > width.saturating_sub(40) {
            rows.push(vec![i]);
            used = w;
        } else {
            row.push(i);
            used += w;
        }
    }
    Ok(LegendLayout { rows, widths })
}

/// Splits a legend strip off the top of `body`, draws the entries there (one shared legend for
/// all panels, so no legend ever covers data) and returns the area left for the panels.
pub(super) fn with_legend<DB: DrawingBackend>(
    body: DrawingArea<DB, Shift>,
    entries: &[(String, Key)],
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, _) = body.dim_in_pixel();
    let LegendLayout { rows, widths } = legend_rows(&body, entries, width)?;
    let height = rows.len() as u32 * LEGEND_ROW + 6;
    let (strip, rest) = body.split_vertically(height);
    let style: TextStyle = (FONT, LEGEND_FONT).into_text_style(&strip);
    let style = style.pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let total: u32 = row.iter().map(|&i| widths[i]).sum();
        let mut x = (width.saturating_sub(total) / 2) as i32;
        let y = (r as u32 * LEGEND_ROW + LEGEND_ROW / 2 + 3) as i32;
        for &i in row {
            let (label, key) = &entries[i];
            match *key {
                Key::Line(c) => strip.draw(&PathElement::new(
                    vec![(x, y), (x + LEGEND_SAMPLE, y)],
                    c.stroke_width(3),
                ))?,
                Key::Dashed(c) => strip.draw(&DashedPathElement::new(
                    [(x, y), (x + LEGEND_SAMPLE, y)],
                    7,
                    3,
                    c.stroke_width(3),
                ))?,
                Key::Band(c) => strip.draw(&Rectangle::new(
                    [(x, y - 7), (x + LEGEND_SAMPLE, y + 7)],
                    c.mix(0.3).filled(),
                ))?,
                Key::Dot(c) => strip.draw(&Circle::new(
                    (x + LEGEND_SAMPLE / 2, y),
                    4,
                    c.mix(0.6).filled(),
                ))?,
            }
            strip.draw(&Text::new(
                label.as_str(),
                (x + LEGEND_SAMPLE + 8, y),
                style.clone(),
            ))?;
            x += widths[i] as i32;
        }
    }
    Ok(rest)
}

/// Round tick values within [lo, hi]: the integer multiples k·step of the smallest step in
/// {1, 2, 5}·10^e giving at most `max` ticks. Each tick is computed from its integer k, so none is
/// lost to accumulated rounding (plotters' own f64 key points can drop the last tick of a range
/// of negative values).
pub(crate) fn nice_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) || max < 2 {
        return vec![lo];
    }
    let mut e = (span / max as f64).log10().floor() as i32 - 1;
    loop {
        for m in [1.0, 2.0, 5.0] {
            let step = m * 10f64.powi(e);
            let (k0, k1) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
            if k1 - k0 < max as i64 {
                return (k0..=k1).map(|k| k as f64 * step).collect();
            }
        }
        e += 1;
    }
}

/// An f64 axis whose ticks are [`nice_ticks`] (no light lines).
#[derive(Clone)]
pub(crate) struct TickedAxis {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedAxis {
    pub(crate) fn new(lo: f64, hi: f64, max_ticks: usize) -> TickedAxis {
        Self::with_ticks(lo, hi, nice_ticks(lo, hi, max_ticks))
    }

    /// An axis over [lo, hi] with the given ticks.
    pub(crate) fn with_ticks(lo: f64, hi: f64, ticks: Vec<f64>) -> TickedAxis {
        TickedAxis {
            inner: (lo..hi).into(),
            ticks,
        }
    }
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Tick label decimals for an axis spanning `span`: enough to tell ~10 ticks apart.
pub(super) fn tick_decimals(span: f64) -> usize {
    if span > 0.0 && span.is_finite() {
        (1 - span.log10().floor() as i64).clamp(0, 8) as usize
    } else {
        2
    }
}

pub(crate) fn draw_err<E: std::error::Error + Send + Sync>(
    path: &Path,
) -> impl Fn(DrawingAreaErrorKind<E>) -> Error + '_ {
    move |e| Error::Report(format!("{}: cannot draw the plot: {e}", path.display()))
}

/// Grid of `n` panels: (rows, columns) with at most `max_cols` columns.
pub(super) fn grid_shape(n: usize, max_cols: usize) -> (usize, usize) {
    let cols = n.clamp(1, max_cols);
    (n.div_ceil(cols), cols)
}

/// Distinct values in order of first appearance in the runs (`(group index, value)` pairs; the
/// group index is the (method, variant)'s first appearance).
pub(super) fn first_appearance(mut items: Vec<(usize, &str)>) -> Vec<&str> {
    items.sort_by_key(|&(group, _)| group);
    let mut out: Vec<&str> = Vec::new();
    for (_, value) in items {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

/// Variants of the curves, in order of first appearance: the rows of a faceted figure.
fn curve_variants(panels: &[CurvePanel]) -> Vec<&str> {
    first_appearance(
        panels
            .iter()
            .flat_map(|p| p.curves.iter().map(|c| (c.group, c.facet.as_str())))
            .collect(),
    )
}

/// Variants of the band panels, in order of first appearance: the rows of a faceted figure.
fn band_variants(panels: &[BandPanel]) -> Vec<&str> {
    first_appearance(panels.iter().map(|p| (p.group, p.facet.as_str())).collect())
}

/// Methods by colour index: the legend and the columns of a faceted figure.
pub(super) fn methods_by_index<'a>(
    items: impl Iterator<Item = (usize, &'a str)>,
) -> Vec<(usize, &'a str)> {
    items
        .collect::<BTreeMap<usize, &str>>()
        .into_iter()
        .collect()
}

/// Height of the strip naming the variant above each row of a faceted figure.
const STRIP: u32 = 28;

/// Draws the variant's name in a grey strip across the top of `row` (as in a ggplot facet) and
/// returns the area below it.
pub(super) fn row_strip<DB: DrawingBackend>(
    row: &DrawingArea<DB, Shift>,
    label: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, _) = row.dim_in_pixel();
    let (strip, rest) = row.split_vertically(STRIP);
    strip.draw(&Rectangle::new(
        [(8, 4), (width as i32 - 8, STRIP as i32 - 2)],
        RGBColor(232, 232, 232).filled(),
    ))?;
    let style: TextStyle = (FONT, 17).into_text_style(&strip);
    strip.draw(&Text::new(
        label,
        (width as i32 / 2, (STRIP as i32 + 2) / 2),
        style.pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(rest)
}

/// Sizes of one panel's caption, margins, axes and ticks.
pub(super) struct PanelStyle {
    pub caption: u32,
    pub margin: u32,
    pub x_label_area: u32,
    pub y_label_area: u32,
    pub label: u32,
    pub axis_desc: u32,
    pub x_labels: usize,
    pub y_labels: usize,
}

/// The single-variant learning-curve panels: large, two columns.
pub(super) const CURVE_PANEL: PanelStyle = PanelStyle {
    caption: 18,
    margin: 14,
    x_label_area: 48,
    y_label_area: 72,
    label: 14,
    axis_desc: 15,
    x_labels: 10,
    y_labels: 8,
};

/// The learning-curve panels of a faceted figure: one row per variant, so less height each.
pub(super) const CURVE_FACET: PanelStyle = PanelStyle {
    caption: 16,
    margin: 10,
    x_label_area: 42,
    y_label_area: 72,
    label: 13,
    axis_desc: 14,
    x_labels: 10,
    y_labels: 6,
};

/// One learning-curve panel: a line and ±1 std band per curve, coloured by method.
fn curve_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    metric: &str,
    curves: &[&Curve],
    style: &PanelStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let pts = || curves.iter().flat_map(|c| c.points.iter());
    let (e0, e1) = pts().fold((i64::MAX, i64::MIN), |(a, b), p| {
        (a.min(p.epoch), b.max(p.epoch))
    });
    // A variant without values of this metric keeps its empty cell, with a caption saying so.
    if e0 > e1 {
        ChartBuilder::on(area)
            .caption(format!("{metric}: no values"), (FONT, style.caption))
            .margin(style.margin)
            .build_cartesian_2d(0..1, 0..1)?;
        return Ok(());
    }
    // Few epochs are drawn with markers: pad one epoch so edge markers are whole.
    let (e0, e1) = if e0 == e1 || e1 - e0 < 25 {
        (e0 - 1, e1 + 1)
    } else {
        (e0, e1)
    };
    let (y0, y1) = y_range(
        pts().map(|p| p.mean),
        pts().flat_map(|p| [p.mean - p.std, p.mean + p.std]),
    )
    .unwrap_or((0.0, 1.0));
    let clamp = |v: f64| v.clamp(y0, y1);
    let mut chart = ChartBuilder::on(area)
        .caption(metric, (FONT, style.caption))
        .margin(style.margin)
        .x_label_area_size(style.x_label_area)
        .y_label_area_size(style.y_label_area)
        .build_cartesian_2d(e0..e1, TickedAxis::new(y0, y1, style.y_labels))?;
    let decimals = tick_decimals(y1 - y0);
    let y_fmt = |v: &f64| format!("{v:.decimals$}");
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(metric)
        .label_style((FONT, style.label))
        .axis_desc_style((FONT, style.axis_desc))
        .light_line_style(RGBColor(242, 242, 242))
        .max_light_lines(1)
        .bold_line_style(RGBColor(215, 215, 215))
        .x_labels(style.x_labels)
        .y_labels(style.y_labels)
        .y_label_formatter(&y_fmt)
        .draw()?;
    // Bands first, then every line on top, so no band hides a line.
    for curve in curves {
        let finite: Vec<&CurvePoint> = curve
            .points
            .iter()
            .filter(|p| p.mean.is_finite() && p.std.is_finite())
            .collect();
        if finite.len() > 1 && finite.iter().any(|p| p.std > 0.0) {
            let band: Vec<(i64, f64)> = finite
                .iter()
                .map(|p| (p.epoch, clamp(p.mean + p.std)))
                .chain(
                    finite
                        .iter()
                        .rev()
                        .map(|p| (p.epoch, clamp(p.mean - p.std))),
                )
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                color(curve.method_index).mix(0.16).filled(),
            )))?;
        }
    }
    for curve in curves {
        let c = color(curve.method_index);
        let line: Vec<(i64, f64)> = curve
            .points
            .iter()
            .filter(|p| p.mean.is_finite())
            .map(|p| (p.epoch, clamp(p.mean)))
            .collect();
        let markers = line.len() <= 25;
        chart.draw_series(LineSeries::new(line.iter().copied(), c.stroke_width(2)))?;
        if markers {
            chart.draw_series(line.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        }
    }
    Ok(())
}

fn draw_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[CurvePanel],
    path: &Path,
) -> Result<(), Error> {
    let err = draw_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let body = root
        .margin(10, 6, 6, 6)
        .titled(title, (FONT, 22))
        .map_err(&err)?;
    let variants = curve_variants(panels);
    if variants.len() <= 1 {
        // One legend for all panels; a method keeps its colour in every panel and plot.
        let labels: Vec<(String, Key)> = methods_by_index(
            panels
                .iter()
                .flat_map(|p| p.curves.iter().map(|c| (c.method_index, c.label.as_str()))),
        )
        .into_iter()
        .map(|(m, label)| (label.to_string(), Key::Line(color(m))))
        .collect();
        let body = with_legend(body, &labels).map_err(&err)?;
        let (rows, cols) = grid_shape(panels.len(), 2);
        for (area, panel) in body.split_evenly((rows, cols)).iter().zip(panels) {
            let curves: Vec<&Curve> = panel.curves.iter().collect();
            curve_panel(area, &panel.metric, &curves, &CURVE_PANEL).map_err(&err)?;
        }
        return root.present().map_err(&err);
    }
    // Variants may be different data sets: one row each, with its own y axes, and a legend of
    // methods only.
    let labels: Vec<(String, Key)> = methods_by_index(
        panels
            .iter()
            .flat_map(|p| p.curves.iter().map(|c| (c.method_index, c.method.as_str()))),
    )
    .into_iter()
    .map(|(m, method)| (method.to_string(), Key::Line(color(m))))
    .collect();
    let body = with_legend(body, &labels).map_err(&err)?;
    for (row, variant) in body.split_evenly((variants.len(), 1)).iter().zip(&variants) {
        let cells = row_strip(row, variant).map_err(&err)?;
        for (area, panel) in cells.split_evenly((1, panels.len())).iter().zip(panels) {
            let curves: Vec<&Curve> = panel
                .curves
                .iter()
                .filter(|c| c.facet == *variant)
                .collect();
            curve_panel(area, &panel.metric, &curves, &CURVE_FACET).map_err(&err)?;
        }
    }
    root.present().map_err(&err)
}

/// Shared axis ranges of band panels: x over inputs, y over targets and means, widened by the
/// ±2 std bands within [`y_range`]'s limit.
fn band_ranges(panels: &[&BandPanel]) -> ((f64, f64), (f64, f64)) {
    let xs = panels.iter().flat_map(|p| {
        p.points
            .iter()
            .map(|q| q.0)
            .chain(p.grid.iter().map(|g| g.0))
    });
    let x = padded_range(xs).unwrap_or((0.0, 1.0));
    let y = y_range(
        panels.iter().flat_map(|p| {
            p.points
                .iter()
                .map(|q| q.1)
                .chain(p.grid.iter().map(|g| g.1))
        }),
        panels.iter().flat_map(|p| {
            p.grid
                .iter()
                .flat_map(|g| [g.1 - 2.0 * g.2, g.1 + 2.0 * g.2])
        }),
    )
    .unwrap_or((0.0, 1.0));
    (x, y)
}

/// The single-variant band panels: up to three columns.
const BAND_PANEL: PanelStyle = PanelStyle {
    caption: 17,
    margin: 12,
    x_label_area: 44,
    y_label_area: 60,
    label: 13,
    axis_desc: 14,
    x_labels: 7,
    y_labels: 7,
};

/// The band panels of a faceted figure: one row per variant, one column per method.
const BAND_FACET: PanelStyle = PanelStyle {
    caption: 15,
    margin: 10,
    x_label_area: 42,
    y_label_area: 60,
    label: 13,
    axis_desc: 14,
    x_labels: 7,
    y_labels: 6,
};

/// One band panel on the axes `(x0, x1) × (y0, y1)`: test points, predictive mean and ±2 std.
fn band_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &BandPanel,
    caption: &str,
    ((x0, x1), (y0, y1)): ((f64, f64), (f64, f64)),
    style: &PanelStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let clamp = |v: f64| v.clamp(y0, y1);
    let (xd, yd) = (tick_decimals(x1 - x0), tick_decimals(y1 - y0));
    let x_fmt = |v: &f64| format!("{v:.xd$}");
    let y_fmt = |v: &f64| format!("{v:.yd$}");
    let c = color(panel.method_index);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, style.caption))
        .margin(style.margin)
        .x_label_area_size(style.x_label_area)
        .y_label_area_size(style.y_label_area)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style((FONT, style.label))
        .axis_desc_style((FONT, style.axis_desc))
        .light_line_style(RGBColor(242, 242, 242))
        .max_light_lines(1)
        .bold_line_style(RGBColor(218, 218, 218))
        .x_labels(style.x_labels)
        .y_labels(style.y_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    let grid: Vec<&(f64, f64, f64)> = panel
        .grid
        .iter()
        .filter(|g| g.0.is_finite() && g.1.is_finite() && g.2.is_finite())
        .collect();
    let band: Vec<(f64, f64)> = grid
        .iter()
        .map(|g| (g.0, clamp(g.1 + 2.0 * g.2)))
        .chain(grid.iter().rev().map(|g| (g.0, clamp(g.1 - 2.0 * g.2))))
        .collect();
    chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.22).filled())))?;
    chart.draw_series(
        panel
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| Circle::new((x, clamp(y)), 2, BLACK.mix(0.6).filled())),
    )?;
    chart.draw_series(LineSeries::new(
        grid.iter().map(|g| (g.0, clamp(g.1))),
        c.stroke_width(2),
    ))?;
    Ok(())
}

fn draw_bands<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[BandPanel],
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
        ("predictive mean".to_string(), Key::Line(grey)),
        ("mean ± 2 std".to_string(), Key::Band(grey)),
        ("test data".to_string(), Key::Dot(BLACK)),
    ];
    let variants = band_variants(panels);
    if variants.len() <= 1 {
        let (rows, cols) = grid_shape(panels.len(), 3);
        // Shared axes, so panels compare at a glance.
        let ranges = band_ranges(&panels.iter().collect::<Vec<_>>());
        let body = with_legend(body, &keys).map_err(&err)?;
        for (area, panel) in body.split_evenly((rows, cols)).iter().zip(panels) {
            let caption = format!("{} (seed {})", panel.label, panel.seed);
            band_panel(area, panel, &caption, ranges, &BAND_PANEL).map_err(&err)?;
        }
        return root.present().map_err(&err);
    }
    // One row per variant with axes shared within the row only (variants may be different data
    // sets); one column per method, left empty where a method has no panel in that variant.
    let methods = methods_by_index(panels.iter().map(|p| (p.method_index, p.method.as_str())));
    let body = with_legend(body, &keys).map_err(&err)?;
    for (row, variant) in body.split_evenly((variants.len(), 1)).iter().zip(&variants) {
        let cells = row_strip(row, variant).map_err(&err)?;
        let in_row: Vec<&BandPanel> = panels.iter().filter(|p| p.facet == *variant).collect();
        let ranges = band_ranges(&in_row);
        for (area, &(m, _)) in cells.split_evenly((1, methods.len())).iter().zip(&methods) {
            if let Some(panel) = in_row.iter().find(|p| p.method_index == m) {
                let caption = format!("{} (seed {})", panel.method, panel.seed);
                band_panel(area, panel, &caption, ranges, &BAND_FACET).map_err(&err)?;
            }
        }
    }
    root.present().map_err(&err)
}

/// Height above the rows of a faceted figure: title and a one-line legend.
pub(super) const FACET_TOP: u32 = 80;

/// Width of a faceted figure with `cols` columns: wide enough for two or three readable panels,
/// then `per_col` pixels per column.
pub(super) fn facet_width(cols: usize, per_col: u32) -> u32 {
    match cols {
        0 | 1 => 900,
        2 => 1300,
        3 => 1500,
        n => per_col * n as u32,
    }
}

/// Draws one figure into `<stem>.png` and `<stem>.svg` with `draw(&area, args…, path)`. The two
/// backends are different types, so the drawing function is instantiated once for each.
macro_rules! png_and_svg {
    ($out_dir:expr, $stem:expr, $size:expr, $draw:ident($($arg:expr),* $(,)?)) => {
        $crate::report::plots::write_png_svg($out_dir, $stem, |path, svg| match svg {
            None => $draw(
                &BitMapBackend::new(path, $size).into_drawing_area(),
                $($arg,)*
                path,
            ),
            Some(text) => $draw(
                &SVGBackend::with_string(text, $size).into_drawing_area(),
                $($arg,)*
                path,
            ),
        })
    };
}
pub(crate) use png_and_svg;

/// Writes `<stem>.png` and `<stem>.svg` in `out_dir` through temporary files and renames.
pub(crate) fn write_png_svg(
    out_dir: &Path,
    stem: &str,
    draw: impl Fn(&Path, Option<&mut String>) -> Result<(), Error>,
) -> Result<Vec<PathBuf>, Error> {
    register_font()?;
    let io = |path: &Path, e: std::io::Error| {
        Error::Report(format!("{}: cannot write: {e}", path.display()))
    };
    let png = out_dir.join(format!("{stem}.png"));
    // The bitmap encoder picks the format from the extension, so the temporary name (the
    // store's, for one writer's naming everywhere) gets `.png` appended.
    let mut png_tmp = crate::store::temporary_path(&png).into_os_string();
    png_tmp.push(".png");
    let png_tmp = PathBuf::from(png_tmp);
    draw(&png_tmp, None)?;
    fs::rename(&png_tmp, &png).map_err(|e| io(&png, e))?;
    let svg = out_dir.join(format!("{stem}.svg"));
    let mut text = String::new();
    draw(&svg, Some(&mut text))?;
    crate::store::write_atomic(&svg, text.as_bytes())?;
    Ok(vec![png, svg])
}

/// Writes `learning_curves.png` and `.svg`: one panel per `split.metric` (two columns), one line
/// per (method, variant) with a ±1 std band. With several variants, a grid instead: one row per
/// variant (in order of first appearance in the runs), one column per `split.metric`, one line per
/// method, coloured by method. Returns the files written.
pub fn write_learning_curves(
    out_dir: &Path,
    title: &str,
    panels: &[CurvePanel],
) -> Result<Vec<PathBuf>, Error> {
    let variants = curve_variants(panels).len();
    let size = if variants > 1 {
        (
            facet_width(panels.len(), 600),
            FACET_TOP + 320 * variants as u32,
        )
    } else {
        let (rows, cols) = grid_shape(panels.len(), 2);
        if cols == 1 {
            (900, 40 + 560 * rows as u32)
        } else {
            (1300, 40 + 520 * rows as u32)
        }
    };
    png_and_svg!(out_dir, "learning_curves", size, draw_curves(title, panels))
}

/// Writes `uncertainty_1d.png` and `.svg`: one panel per (method, variant) (up to three
/// columns), shared axes, test points, predictive mean and ±2 std band. With several variants, a
/// grid instead: one row per variant (axes shared within the row), one column per method.
pub fn write_uncertainty_1d(
    out_dir: &Path,
    title: &str,
    panels: &[BandPanel],
) -> Result<Vec<PathBuf>, Error> {
    let variants = band_variants(panels).len();
    let size = if variants > 1 {
        let methods = methods_by_index(panels.iter().map(|p| (p.method_index, p.method.as_str())));
        (
            facet_width(methods.len(), 500),
            FACET_TOP + 340 * variants as u32,
        )
    } else {
        let (rows, cols) = grid_shape(panels.len(), 3);
        match cols {
            1 => (900, 40 + 560 * rows as u32),
            2 => (1200, 40 + 480 * rows as u32),
            _ => (1500, 40 + 440 * rows as u32),
        }
    };
    png_and_svg!(out_dir, "uncertainty_1d", size, draw_bands(title, panels))
}

/// The search-convergence panels.
const CONVERGENCE_PANEL: PanelStyle = PanelStyle {
    caption: 18,
    margin: 14,
    x_label_area: 48,
    y_label_area: 76,
    label: 14,
    axis_desc: 15,
    x_labels: 10,
    y_labels: 8,
};

/// Log10 axis range of positive values: padded by 5 % of the decades spanned, at least one
/// decade wide.
fn log_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    let (mut l0, mut l1) = (lo.log10(), hi.log10());
    if l1 - l0 < 1.0 {
        let mid = 0.5 * (l0 + l1);
        (l0, l1) = (mid - 0.5, mid + 0.5);
    }
    let pad = 0.05 * (l1 - l0);
    Some((10f64.powf(l0 - pad), 10f64.powf(l1 + pad)))
}

/// Bands (25th–75th percentile) of every line, then the median lines on top.
fn convergence_series<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    lines: &[ConvergenceLine],
    clamp: impl Fn(f64) -> f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for line in lines {
        let pts: Vec<_> = line
            .points
            .iter()
            .filter(|p| p.q.q25.is_finite() && p.q.q75.is_finite())
            .collect();
        if pts.len() > 1 && pts.iter().any(|p| p.q.q75 > p.q.q25) {
            let band: Vec<(f64, f64)> = pts
                .iter()
                .map(|p| (p.trial as f64, clamp(p.q.q75)))
                .chain(pts.iter().rev().map(|p| (p.trial as f64, clamp(p.q.q25))))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                color(line.strategy_index).mix(0.18).filled(),
            )))?;
        }
    }
    for line in lines {
        let c = color(line.strategy_index);
        let pts: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter(|p| p.q.median.is_finite())
            .map(|p| (p.trial as f64, clamp(p.q.median)))
            .collect();
        chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?;
        if pts.len() <= 25 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        }
    }
    Ok(())
}

/// One convergence panel: best so far (or regret on a log axis) against the trial number.
fn convergence_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &ConvergencePanel,
    style: &PanelStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let pts = || panel.lines.iter().flat_map(|l| l.points.iter());
    let last = pts().map(|p| p.trial).max().unwrap_or(1);
    // One trial still gets an axis of some width.
    let (x0, x1) = if last > 1 {
        (1.0, last as f64)
    } else {
        (0.5, 1.5)
    };
    let x_fmt = |v: &f64| format!("{v:.0}");
    let builder = |area| {
        let mut b = ChartBuilder::on(area);
        b.caption(&panel.problem, (FONT, style.caption))
            .margin(style.margin)
            .x_label_area_size(style.x_label_area)
            .y_label_area_size(style.y_label_area);
        b
    };
    if panel.log_y {
        let (y0, y1) = log_range(pts().flat_map(|p| [p.q.q25, p.q.median, p.q.q75]))
            .unwrap_or((REGRET_FLOOR, 1.0));
        let mut chart = builder(area).build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
        let y_fmt = |v: &f64| format!("{v:.0e}");
        chart
            .configure_mesh()
            .x_desc("trial")
            .y_desc(format!("{} (log scale)", panel.y_label))
            .label_style((FONT, style.label))
            .axis_desc_style((FONT, style.axis_desc))
            .light_line_style(RGBColor(246, 246, 246))
            .bold_line_style(RGBColor(215, 215, 215))
            .x_labels(style.x_labels)
            .y_labels(style.y_labels)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .draw()?;
        return convergence_series(&mut chart, &panel.lines, |v| v.clamp(y0, y1));
    }
    let (y0, y1) = y_range(
        pts().map(|p| p.q.median),
        pts().flat_map(|p| [p.q.q25, p.q.q75]),
    )
    .unwrap_or((0.0, 1.0));
    let mut chart =
        builder(area).build_cartesian_2d(x0..x1, TickedAxis::new(y0, y1, style.y_labels))?;
    let decimals = tick_decimals(y1 - y0);
    let y_fmt = |v: &f64| format!("{v:.decimals$}");
    chart
        .configure_mesh()
        .x_desc("trial")
        .y_desc(&panel.y_label)
        .label_style((FONT, style.label))
        .axis_desc_style((FONT, style.axis_desc))
        .light_line_style(RGBColor(242, 242, 242))
        .max_light_lines(1)
        .bold_line_style(RGBColor(215, 215, 215))
        .x_labels(style.x_labels)
        .y_labels(style.y_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    convergence_series(&mut chart, &panel.lines, |v| v.clamp(y0, y1))
}

fn draw_convergence<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[ConvergencePanel],
    path: &Path,
) -> Result<(), Error> {
    let err = draw_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let body = root
        .margin(10, 6, 6, 6)
        .titled(title, (FONT, 20))
        .map_err(&err)?;
    let mut keys: Vec<(String, Key)> = methods_by_index(
        panels
            .iter()
            .flat_map(|p| p.lines.iter())
            .map(|l| (l.strategy_index, l.strategy.as_str())),
    )
    .into_iter()
    .map(|(i, s)| (format!("{s} (median)"), Key::Line(color(i))))
    .collect();
    keys.push((
        "25th–75th percentile".into(),
        Key::Band(RGBColor(90, 90, 90)),
    ));
    let body = with_legend(body, &keys).map_err(&err)?;
    let (rows, cols) = grid_shape(panels.len(), 3);
    for (area, panel) in body.split_evenly((rows, cols)).iter().zip(panels) {
        convergence_panel(area, panel, &CONVERGENCE_PANEL).map_err(&err)?;
    }
    root.present().map_err(&err)
}

/// Writes `search_convergence.png` and `.svg`: one panel per problem (up to three columns), one
/// line per strategy (its median over repeats) with a band between the 25th and 75th
/// percentiles; a benchmark's regret on a log10 axis. Returns the files written.
pub fn write_search_convergence(
    out_dir: &Path,
    title: &str,
    panels: &[ConvergencePanel],
) -> Result<Vec<PathBuf>, Error> {
    let (rows, cols) = grid_shape(panels.len(), 3);
    let size = match cols {
        1 => (1100, 60 + 560 * rows as u32),
        2 => (1300, 60 + 500 * rows as u32),
        _ => (1500, 60 + 460 * rows as u32),
    };
    png_and_svg!(
        out_dir,
        "search_convergence",
        size,
        draw_convergence(title, panels)
    )
}
