//! The GP view of a search: what the Bayesian optimiser's surrogate believed at three points of
//! a search. It is drawn for every search by strategy `bo` over a 1-D or 2-D box: a test function
//! of a `[benchmark]`, or a `[tune]` space whose parameters are all `uniform`, `log_uniform` or
//! `int` (any number of `fixed` ones besides) with one or two of them. Repeat 0 is replayed: a
//! [`SearchState`] with the `bo` settings of the run's search plan is warm-started with the
//! first k stored trials, for k = the initial design size, half-way to the last trial and the
//! last trial, and [`SearchState::surrogate`] is evaluated on a grid. The model is refitted on
//! the first k trials (warm-started trials count as design points), so it is the search's model
//! up to the hyperparameter fit's warm start, not a record of it.
//!
//! One figure per problem (test function or tuned method), `gp_view_<problem>.png/.svg`: in 1-D
//! one column per k with the GP mean, a ±2 std band, the evaluated points (and the true function
//! of a test function) above, the acquisition below; in 2-D one column per k with a heatmap of the
//! GP mean (evaluated points as dots, the next evaluated point as a red cross) above and a heatmap
//! of the acquisition below, each with its colour scale. A log-scale parameter is drawn on a
//! log₁₀ axis.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::plots::{FONT, draw_err, png_and_svg};
use super::search::SearchSetup;
use crate::error::Error;
use crate::store::TrialRow;
use crate::tune::ask_tell::{BoConfig, Direction, SearchState, StrategyConfig, WarmTrial};
use crate::tune::functions::TestFunction;
use crate::tune::space::{ParamSpec, SearchSpace};

/// Grid points of a 1-D view.
pub const GRID_1D: usize = 200;
/// Grid points per axis of a 2-D view.
pub const GRID_2D: usize = 60;

/// One axis of a view in display coordinates (the value, or its log₁₀ for a log-scale
/// parameter): the unit coordinate u is drawn at lo + u·(hi − lo).
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub name: String,
    pub lo: f64,
    pub hi: f64,
}

impl Axis {
    fn at(&self, u: f64) -> f64 {
        self.lo + u * (self.hi - self.lo)
    }

    /// The axis of a parameter whose encoding is linear in the drawn coordinate (see
    /// [`ParamSpec`]: an integer k owns the cell [k − ½, k + ½)); None for categorical and fixed
    /// parameters.
    fn of(key: &str, spec: &ParamSpec) -> Option<Axis> {
        let log = |lo: f64, hi: f64| Axis {
            name: format!("log10({key})"),
            lo: lo.log10(),
            hi: hi.log10(),
        };
        let lin = |lo: f64, hi: f64| Axis {
            name: key.to_string(),
            lo,
            hi,
        };
        match *spec {
            ParamSpec::Uniform { low, high } => Some(lin(low, high)),
            ParamSpec::LogUniform { low, high } => Some(log(low, high)),
            ParamSpec::Int {
                low,
                high,
                log: false,
            } => Some(lin(low as f64 - 0.5, high as f64 + 0.5)),
            ParamSpec::Int {
                low,
                high,
                log: true,
            } => Some(log(low as f64 - 0.5, high as f64 + 0.5)),
            ParamSpec::Categorical { .. } | ParamSpec::Fixed { .. } => None,
        }
    }
}

/// The surrogate after the first `k` evaluations of a search; points in display coordinates.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub k: usize,
    /// The first k evaluated points and objectives (None: failed).
    pub points: Vec<(Vec<f64>, Option<f64>)>,
    /// The (k+1)-th evaluated point, if any.
    pub next: Option<Vec<f64>>,
    /// Grid points and (mean, std, acquisition) at each.
    pub grid: Vec<(Vec<f64>, (f64, f64, f64))>,
}

/// The GP view of one problem.
#[derive(Clone, Debug)]
pub struct GpView {
    /// The test function or the tuned method.
    pub problem: String,
    pub axes: Vec<Axis>,
    /// The objective's name: `f(x)` or the validation metric.
    pub objective: String,
    /// The test function of a benchmark, drawn as the truth in 1-D.
    pub function: Option<TestFunction>,
    pub snapshots: Vec<Snapshot>,
}

/// The views of every qualifying problem, and the reason when none qualifies.
pub fn gp_views(trials: &[TrialRow], setup: &SearchSetup) -> Result<Vec<GpView>, String> {
    // The searches fitted their GPs with one BLAS thread (see `runner`); LAPACK's factorisations
    // round differently with more, and the replay must give the figure the run drew.
    crate::nn::set_blas_threads(1);
    let mut problems: Vec<&str> = Vec::new();
    for t in trials {
        if t.strategy == "bo" && t.repeat == 0 && !problems.contains(&t.problem.as_str()) {
            problems.push(&t.problem);
        }
    }
    let views: Vec<GpView> = problems
        .iter()
        .filter_map(|p| {
            if setup.is_benchmark() {
                benchmark_view(trials, p, &setup.bo)
            } else {
                tune_view(trials, p, setup)
            }
        })
        .collect();
    match views.is_empty() {
        false => Ok(views),
        true if setup.is_benchmark() => {
            Err("gp_view: no `bo` search of a 1-D or 2-D test function".into())
        }
        true => Err("gp_view: no `bo` search over one or two numeric parameters".into()),
    }
}

/// Rows of repeat 0 of strategy `bo` on `problem`, in trial order.
fn bo_rows<'a>(trials: &'a [TrialRow], problem: &str) -> Vec<&'a TrialRow> {
    let mut rows: Vec<&TrialRow> = trials
        .iter()
        .filter(|t| t.problem == problem && t.strategy == "bo" && t.repeat == 0)
        .collect();
    rows.sort_by_key(|t| t.trial);
    rows
}

/// A benchmark search on a 1-D or 2-D test function; None when it does not qualify.
fn benchmark_view(trials: &[TrialRow], problem: &str, cfg: &BoConfig) -> Option<GpView> {
    let function = TestFunction::by_name(problem)?;
    let dim = function.dim();
    if !(1..=2).contains(&dim) {
        return None;
    }
    let mut points = Vec::new();
    for r in bo_rows(trials, problem) {
        let x: Vec<f64> = serde_json::from_str(&r.parameters).ok()?;
        if x.len() != dim {
            return None;
        }
        let values = x
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("x{i}"), toml::Value::Float(*v)))
            .collect();
        points.push((values, r.objective.filter(|v| v.is_finite())));
    }
    let axes = function
        .bounds
        .iter()
        .enumerate()
        .map(|(d, &(lo, hi))| Axis {
            name: format!("x{d}"),
            lo,
            hi,
        })
        .collect();
    let view = replay(&function.space(), axes, Direction::Minimize, cfg, &points)?;
    Some(GpView {
        problem: problem.to_string(),
        objective: "f(x)".into(),
        function: Some(function),
        ..view
    })
}

/// A `[tune]` search of `method` over one or two numeric parameters; None when it does not
/// qualify.
fn tune_view(trials: &[TrialRow], method: &str, setup: &SearchSetup) -> Option<GpView> {
    let space = setup.space.as_ref()?;
    let mut axes = Vec::new();
    for (key, spec) in &space.params {
        match (Axis::of(key, spec), spec) {
            (Some(axis), _) => axes.push(axis),
            (None, ParamSpec::Fixed { .. }) => {}
            (None, _) => return None,
        }
    }
    if !(1..=2).contains(&axes.len()) || axes.len() != space.dim() {
        return None;
    }
    let mut points = Vec::new();
    for r in bo_rows(trials, method) {
        let json: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&r.parameters).ok()?;
        let values = json
            .into_iter()
            .map(|(k, v)| Some((k, serde::Deserialize::deserialize(v).ok()?)))
            .collect::<Option<Vec<(String, toml::Value)>>>()?;
        points.push((values, r.objective.filter(|v| v.is_finite())));
    }
    let direction = if setup.higher_is_better() {
        Direction::Maximize
    } else {
        Direction::Minimize
    };
    let view = replay(space, axes, direction, &setup.bo, &points)?;
    Some(GpView {
        problem: method.to_string(),
        objective: setup.objective().to_string(),
        ..view
    })
}

/// Refits the surrogate on the first k of `points` for the three k of the module documentation;
/// None with fewer points than the initial design or a point outside the space. The problem,
/// objective and function of the result are left empty.
fn replay(
    space: &SearchSpace,
    axes: Vec<Axis>,
    direction: Direction,
    cfg: &BoConfig,
    points: &[WarmTrial],
) -> Option<GpView> {
    let dim = space.dim();
    let n = points.len();
    let n_init = cfg.n_initial(dim);
    if n < n_init {
        return None;
    }
    let to_axes = |u: &[f64]| -> Vec<f64> { u.iter().zip(&axes).map(|(u, a)| a.at(*u)).collect() };
    let drawn: Vec<(Vec<f64>, Option<f64>)> = points
        .iter()
        .map(|(values, y)| Some((to_axes(&space.encode(values).ok()?), *y)))
        .collect::<Option<_>>()?;
    let mut ks = vec![n_init, (n_init + n) / 2, n];
    ks.dedup();
    let grid = unit_grid(dim);
    let mut snapshots = Vec::with_capacity(ks.len());
    for k in ks {
        let mut search = SearchState::new(
            space.clone(),
            StrategyConfig::Bo(cfg.clone()),
            direction,
            1,
            0,
        );
        search.warm_start(&points[..k]).ok()?;
        let values = search.surrogate(&grid)?;
        snapshots.push(Snapshot {
            k,
            points: drawn[..k].to_vec(),
            next: drawn.get(k).map(|p| p.0.clone()),
            grid: grid.iter().map(|u| to_axes(u)).zip(values).collect(),
        });
    }
    Some(GpView {
        problem: String::new(),
        axes,
        objective: String::new(),
        function: None,
        snapshots,
    })
}

/// 1-D: [`GRID_1D`] evenly spaced points including both ends; 2-D: the centres of a
/// [`GRID_2D`]² grid of cells, x0 fastest.
fn unit_grid(dim: usize) -> Vec<Vec<f64>> {
    if dim == 1 {
        (0..GRID_1D)
            .map(|i| vec![i as f64 / (GRID_1D - 1) as f64])
            .collect()
    } else {
        let c = |i: usize| (i as f64 + 0.5) / GRID_2D as f64;
        (0..GRID_2D * GRID_2D)
            .map(|i| vec![c(i % GRID_2D), c(i / GRID_2D)])
            .collect()
    }
}

/// Viridis (van der Walt & Smith, matplotlib's default map), linear between 8 stops; t in [0, 1].
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 8] = [
        (68.0, 1.0, 84.0),
        (70.0, 50.0, 127.0),
        (54.0, 92.0, 141.0),
        (39.0, 127.0, 143.0),
        (31.0, 162.0, 136.0),
        (74.0, 194.0, 110.0),
        (160.0, 219.0, 57.0),
        (254.0, 232.0, 37.0),
    ];
    let s = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (s.floor() as usize).min(STOPS.len() - 2);
    let f = s - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + f * (y - x)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

/// Quantile below which the acquisition's colour scale is clipped: log-EI plunges to −10⁴ and
/// below on the few cells next to evaluated points (σ → 0), which would flatten the rest.
pub const ACQ_CLIP_QUANTILE: f64 = 0.1;

/// The colour scale of a heatmap: the value range, clipped below at [`ACQ_CLIP_QUANTILE`] if
/// `clip`.
fn colour_range(mut values: Vec<f64>, clip: bool) -> (f64, f64) {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let (lo, hi) = range(values.iter().copied());
    if clip && values.len() > 1 {
        let q = super::search::quantile(&values, ACQ_CLIP_QUANTILE);
        if q > values[0] && q < hi {
            return (q, hi);
        }
    }
    (lo, hi)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn panel_1d<DB: DrawingBackend>(
    top: &DrawingArea<DB, Shift>,
    bottom: &DrawingArea<DB, Shift>,
    view: &GpView,
    s: &Snapshot,
) -> DrawResult<DB> {
    let (x0, x1) = (view.axes[0].lo, view.axes[0].hi);
    let truth: Vec<(f64, f64)> = match &view.function {
        Some(f) => s.grid.iter().map(|(x, _)| (x[0], (f.f)(x))).collect(),
        None => Vec::new(),
    };
    let (y0, y1) = range(
        s.grid
            .iter()
            .flat_map(|(_, (m, sd, _))| [m - 2.0 * sd, m + 2.0 * sd])
            .chain(truth.iter().map(|p| p.1))
            .chain(s.points.iter().filter_map(|p| p.1)),
    );
    let pad = 0.05 * (y1 - y0);
    let mut chart = ChartBuilder::on(top)
        .caption(format!("after {} evaluations", s.k), (FONT, 17))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(52)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
    chart
        .configure_mesh()
        .y_desc(view.objective.as_str())
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .light_line_style(RGBColor(242, 242, 242))
        .draw()?;
    let blue = RGBColor(0x1f, 0x77, 0xb4);
    let mut band: Vec<(f64, f64)> = s
        .grid
        .iter()
        .map(|(x, p)| (x[0], p.0 + 2.0 * p.1))
        .collect();
    band.extend(s.grid.iter().rev().map(|(x, p)| (x[0], p.0 - 2.0 * p.1)));
    chart
        .draw_series(std::iter::once(Polygon::new(band, blue.mix(0.2).filled())))?
        .label("±2 std")
        .legend(move |(x, y)| {
            Rectangle::new([(x, y - 5), (x + 16, y + 5)], blue.mix(0.2).filled())
        });
    if !truth.is_empty() {
        chart
            .draw_series(LineSeries::new(
                truth,
                RGBColor(150, 150, 150).stroke_width(1),
            ))?
            .label("true f")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RGBColor(150, 150, 150)));
    }
    chart
        .draw_series(LineSeries::new(
            s.grid.iter().map(|(x, p)| (x[0], p.0)),
            blue.stroke_width(2),
        ))?
        .label("GP mean")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], blue.stroke_width(2)));
    chart
        .draw_series(
            s.points
                .iter()
                .filter_map(|(x, y)| y.map(|y| Circle::new((x[0], y), 4, BLACK.filled()))),
        )?
        .label("evaluated")
        .legend(|(x, y)| Circle::new((x + 8, y), 4, BLACK.filled()));
    chart
        .configure_series_labels()
        .label_font((FONT, 11))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    // Clipped as the 2-D colour scale is (log-EI plunges next to evaluated points).
    let (a0, a1) = colour_range(s.grid.iter().map(|(_, p)| p.2).collect(), true);
    let mut acq = ChartBuilder::on(bottom)
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(52)
        .build_cartesian_2d(x0..x1, a0..a1 + 0.05 * (a1 - a0))?;
    acq.configure_mesh()
        .x_desc(view.axes[0].name.as_str())
        .y_desc("acquisition")
        .y_labels(4)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .light_line_style(RGBColor(242, 242, 242))
        .draw()?;
    let orange = RGBColor(0xff, 0x7f, 0x0e);
    acq.draw_series(LineSeries::new(
        s.grid.iter().map(|(x, p)| (x[0], p.2.max(a0))),
        orange.stroke_width(2),
    ))?;
    if let Some(next) = &s.next {
        acq.draw_series(std::iter::once(PathElement::new(
            [(next[0], a0), (next[0], a1)],
            RED.stroke_width(1),
        )))?;
    }
    Ok(())
}

/// A heatmap of one value of the grid with its colour bar, the points and the next point.
fn heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    view: &GpView,
    s: &Snapshot,
    value: impl Fn(&(f64, f64, f64)) -> f64,
    clip: bool,
) -> DrawResult<DB> {
    let (map, bar) = area.split_horizontally(area.dim_in_pixel().0 as i32 - 84);
    let [(x0, x1), (y0, y1)] = [
        (view.axes[0].lo, view.axes[0].hi),
        (view.axes[1].lo, view.axes[1].hi),
    ];
    let (v0, v1) = colour_range(s.grid.iter().map(|(_, p)| value(p)).collect(), clip);
    let mut chart = ChartBuilder::on(&map)
        .caption(title, (FONT, 15))
        .margin(6)
        .x_label_area_size(34)
        .y_label_area_size(40)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(view.axes[0].name.as_str())
        .y_desc(view.axes[1].name.as_str())
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()?;
    let (hx, hy) = (
        (x1 - x0) / (2 * GRID_2D) as f64,
        (y1 - y0) / (2 * GRID_2D) as f64,
    );
    chart.draw_series(s.grid.iter().map(|(x, p)| {
        let c = viridis((value(p) - v0) / (v1 - v0));
        Rectangle::new([(x[0] - hx, x[1] - hy), (x[0] + hx, x[1] + hy)], c.filled())
    }))?;
    chart.draw_series(s.points.iter().map(|(x, _)| {
        EmptyElement::at((x[0], x[1]))
            + Circle::new((0, 0), 4, WHITE.filled())
            + Circle::new((0, 0), 4, BLACK.stroke_width(1))
    }))?;
    if let Some(n) = &s.next {
        chart.draw_series(std::iter::once(Cross::new(
            (n[0], n[1]),
            7,
            RED.stroke_width(3),
        )))?;
    }
    // Colour bar: the value range on its own axis.
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(30)
        .margin_bottom(40)
        .margin_left(6)
        .margin_right(4)
        .right_y_label_area_size(58)
        .build_cartesian_2d(0.0..1.0, v0..v1)?;
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(5)
        .y_label_formatter(&|v| super::search::fmt_sig(*v))
        .label_style((FONT, 11))
        .draw()?;
    let steps = 100;
    cb.draw_series((0..steps).map(|i| {
        let (a, b) = (i as f64 / steps as f64, (i + 1) as f64 / steps as f64);
        Rectangle::new(
            [(0.0, v0 + a * (v1 - v0)), (1.0, v0 + b * (v1 - v0))],
            viridis((a + b) / 2.0).filled(),
        )
    }))?;
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    view: &GpView,
    path: &Path,
) -> Result<(), Error> {
    let err = draw_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let body = root
        .margin(8, 6, 6, 6)
        .titled(title, (FONT, 19))
        .map_err(&err)?;
    let columns = body.split_evenly((1, view.snapshots.len()));
    for (area, s) in columns.iter().zip(&view.snapshots) {
        let h = area.dim_in_pixel().1 as i32;
        if view.axes.len() == 1 {
            let (top, bottom) = area.split_vertically(h * 68 / 100);
            panel_1d(&top, &bottom, view, s).map_err(&err)?;
        } else {
            let (top, bottom) = area.split_vertically(h / 2);
            let next = if s.next.is_some() {
                ", × next point"
            } else {
                ""
            };
            heatmap(
                &top,
                &format!("GP mean after {} evaluations{next}", s.k),
                view,
                s,
                |p| p.0,
                false,
            )
            .map_err(&err)?;
            heatmap(
                &bottom,
                &format!("acquisition after {} evaluations", s.k),
                view,
                s,
                |p| p.2,
                true,
            )
            .map_err(&err)?;
        }
    }
    root.present().map_err(&err)
}

/// Writes `gp_view_<problem>.png` and `.svg` for each view; returns the files written.
pub fn write_gp_views(out_dir: &Path, name: &str, views: &[GpView]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for view in views {
        let title = format!(
            "{name}: GP surrogate of bo on {} (repeat 0, refitted on the first k trials)",
            view.problem
        );
        let size = if view.axes.len() == 1 {
            (1500, 620)
        } else {
            (1500, 940)
        };
        let stem = format!("gp_view_{}", view.problem);
        files.extend(png_and_svg!(out_dir, &stem, size, draw(&title, view))?);
    }
    Ok(files)
}

/// The README paragraph and figures of the views.
pub fn readme_section(views: &[GpView]) -> String {
    let mut out = String::from(
        "\n### GP view\n\nThe surrogate of strategy `bo` (repeat 0), refitted with the search's `bo` settings on the first k trials of the search (treated as design points, so the fit is the search's up to its hyperparameter warm start), for k = the initial design size, half-way and all trials. ",
    );
    out.push_str(
        "1-D: GP mean, ±2 std band, evaluated points (and the true function of a test function), acquisition below (red line: the next evaluated point; its scale clipped below at the 10th percentile of the grid). 2-D: heatmaps of the GP mean (dots: evaluated points, red ×: the next one) and of the acquisition (larger is better; its colour scale clipped below at the 10th percentile of the grid), each with its colour scale. Log-scale parameters are drawn as log10.\n",
    );
    for v in views {
        out.push_str(&format!(
            "\n![GP view {p}](gp_view_{p}.png)\n",
            p = v.problem
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SearchPlan;
    use crate::spec::search_plan::{BenchmarkPlan, TunePlan};

    fn trial(problem: &str, t: u32, x: &[f64], f: fn(&[f64]) -> f64) -> TrialRow {
        TrialRow {
            problem: problem.into(),
            strategy: "bo".into(),
            repeat: 0,
            trial: t,
            run_id: String::new(),
            parameters: serde_json::to_string(x).unwrap(),
            objective: Some(f(x)),
            best_so_far: None,
            status: "complete".into(),
            source: "design".into(),
            proposal_ms: 0.0,
            wall_s: 0.0,
        }
    }

    fn search(problem: &str, n: u32) -> Vec<TrialRow> {
        let tf = TestFunction::by_name(problem).unwrap();
        (0..n)
            .map(|t| {
                // Distinct points spread over the box (a Weyl sequence).
                let x: Vec<f64> = tf
                    .bounds
                    .iter()
                    .enumerate()
                    .map(|(d, (lo, hi))| {
                        let u = ((t as f64 + 0.5) * (0.618_034 + 0.141_421 * d as f64)).fract();
                        lo + u * (hi - lo)
                    })
                    .collect();
                trial(problem, t, &x, tf.f)
            })
            .collect()
    }

    fn setup() -> SearchSetup {
        SearchSetup::from_plan(&SearchPlan::Benchmark(BenchmarkPlan {
            functions: vec!["branin".into()],
            strategies: vec![StrategyConfig::Bo(BoConfig::default())],
            budget: 8,
            repeats: 1,
            checkpoints: vec![8],
        }))
    }

    #[test]
    fn a_2d_benchmark_is_drawn_and_a_6d_one_skipped() {
        let mut trials = search("branin", 8);
        trials.extend(search("hartmann6", 12));
        let views = gp_views(&trials, &setup()).unwrap();
        assert_eq!(views.len(), 1, "hartmann6 (6-D) has no view");
        let v = &views[0];
        assert_eq!(v.problem, "branin");
        // Initial design 5 (2-D), half-way (5 + 8)/2 = 6, all 8.
        let ks: Vec<usize> = v.snapshots.iter().map(|s| s.k).collect();
        assert_eq!(ks, vec![5, 6, 8]);
        assert_eq!(v.snapshots[0].grid.len(), GRID_2D * GRID_2D);
        assert!(v.snapshots[0].next.is_some() && v.snapshots[2].next.is_none());
        let dir = std::env::temp_dir().join(format!("bayeslab-gp-view-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = write_gp_views(&dir, "bench", &views).unwrap();
        assert_eq!(
            files,
            vec![
                dir.join("gp_view_branin.png"),
                dir.join("gp_view_branin.svg")
            ]
        );
        let png = std::fs::read(&files[0]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(&files[1]).unwrap();
        assert!(
            svg.contains("GP mean after 5 evaluations"),
            "no title in the SVG"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let only_6d = search("hartmann6", 12);
        assert_eq!(
            gp_views(&only_6d, &setup()).unwrap_err(),
            "gp_view: no `bo` search of a 1-D or 2-D test function"
        );
    }

    /// A maximised `[tune]` search of `adam` with `space` (TOML lines of `[tune.space]`, in the
    /// order the run validates them: the table's).
    fn tune_setup(space: &str) -> SearchSetup {
        let table: toml::Table = toml::from_str(space).unwrap();
        let params = table
            .into_iter()
            .map(|(key, spec)| (key, spec.try_into::<ParamSpec>().unwrap()))
            .collect();
        SearchSetup::from_plan(&SearchPlan::Tune(TunePlan {
            method: "adam".into(),
            objective: "valid.gaussian_ll".into(),
            direction: Direction::Maximize,
            budget: 8,
            strategies: vec![StrategyConfig::Bo(BoConfig::default())],
            repeats: 1,
            batch: 1,
            final_runs: true,
            warm_start: None,
            space: SearchSpace { params },
        }))
    }

    #[test]
    fn a_1d_tune_search_is_drawn_on_a_log_axis_and_a_3d_one_skipped() {
        let setup = tune_setup(
            "\"methods.adam.optimizer.lr\" = { kind = \"log_uniform\", low = 1e-4, high = 0.1 }\n\
             \"model.width\" = { kind = \"fixed\", value = 50 }\n",
        );
        // valid.gaussian_ll = −(log10 lr + 2)², largest at lr = 0.01.
        let ll = |lr: f64| -(lr.log10() + 2.0).powi(2);
        let lrs: Vec<f64> = (0..8)
            .map(|t| 10f64.powf(-4.0 + 3.0 * ((t as f64 + 0.5) * 0.618_034).fract()))
            .collect();
        let rows: Vec<TrialRow> = lrs
            .iter()
            .enumerate()
            .map(|(t, &lr)| TrialRow {
                problem: "adam".into(),
                parameters: format!("{{\"methods.adam.optimizer.lr\":{lr:?},\"model.width\":50}}"),
                objective: Some(ll(lr)),
                ..trial("adam", t as u32, &[0.0], |_| 0.0)
            })
            .collect();
        let views = gp_views(&rows, &setup).unwrap();
        assert_eq!(views.len(), 1);
        let v = &views[0];
        assert_eq!(v.problem, "adam");
        assert_eq!(v.objective, "valid.gaussian_ll");
        assert!(v.function.is_none());
        assert_eq!(v.axes.len(), 1);
        assert_eq!(v.axes[0].name, "log10(methods.adam.optimizer.lr)");
        assert!((v.axes[0].lo + 4.0).abs() < 1e-12 && (v.axes[0].hi + 1.0).abs() < 1e-12);
        // 1-D: initial design 5, half-way (5 + 8)/2 = 6, all 8.
        let ks: Vec<usize> = v.snapshots.iter().map(|s| s.k).collect();
        assert_eq!(ks, vec![5, 6, 8]);
        let last = &v.snapshots[2];
        for ((x, y), lr) in last.points.iter().zip(&lrs) {
            assert!((x[0] - lr.log10()).abs() < 1e-9, "{x:?} vs {lr}");
            assert_eq!(*y, Some(ll(*lr)));
        }
        // The mean is on the user's (maximised) scale and peaks near log10 lr = −2: noise-free
        // data from a parabola, so the fitted mean is close to it between the points.
        let (peak, (mean, _, _)) = last
            .grid
            .iter()
            .max_by(|a, b| a.1.0.total_cmp(&b.1.0))
            .unwrap();
        assert!((peak[0] + 2.0).abs() < 0.2, "peak at {}", peak[0]);
        assert!(*mean > -0.05 && *mean < 0.05, "peak mean {mean}");
        let dir =
            std::env::temp_dir().join(format!("bayeslab-gp-view-tune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = write_gp_views(&dir, "tune", &views).unwrap();
        assert_eq!(files[0], dir.join("gp_view_adam.png"));
        let svg = std::fs::read_to_string(&files[1]).unwrap();
        assert!(
            svg.contains("log10(methods.adam.optimizer.lr)"),
            "no axis name"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        // Three numeric parameters, or a categorical one: no view.
        let three = tune_setup(
            "a = { kind = \"uniform\", low = 0, high = 1 }\n\
             b = { kind = \"uniform\", low = 0, high = 1 }\n\
             c = { kind = \"int\", low = 1, high = 4 }\n",
        );
        assert_eq!(
            gp_views(&rows, &three).unwrap_err(),
            "gp_view: no `bo` search over one or two numeric parameters"
        );
        let categorical = tune_setup("a = { kind = \"categorical\", choices = [\"x\", \"y\"] }\n");
        assert!(gp_views(&rows, &categorical).is_err());
    }

    #[test]
    fn integer_axes_centre_each_value_in_its_cell() {
        let lin = Axis::of(
            "w",
            &ParamSpec::Int {
                low: 1,
                high: 4,
                log: false,
            },
        )
        .unwrap();
        assert_eq!((lin.lo, lin.hi), (0.5, 4.5));
        // 3 is encoded at the centre of its cell, (3 − 1 + ½)/4 = 0.625, and drawn at 3.
        let space = SearchSpace {
            params: vec![(
                "w".into(),
                ParamSpec::Int {
                    low: 1,
                    high: 4,
                    log: false,
                },
            )],
        };
        let u = space
            .encode(&[("w".into(), toml::Value::Integer(3))])
            .unwrap();
        assert!((lin.at(u[0]) - 3.0).abs() < 1e-12, "{u:?}");
        assert!(
            Axis::of(
                "c",
                &ParamSpec::Fixed {
                    value: toml::Value::Integer(1)
                }
            )
            .is_none()
        );
    }

    #[test]
    fn the_acquisition_colour_scale_is_clipped_at_the_10th_percentile() {
        // Values 0..=10: the 10th percentile (type 7) is 0.1·10 = 1.
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        assert_eq!(colour_range(v.clone(), true), (1.0, 10.0));
        assert_eq!(colour_range(v, false), (0.0, 10.0));
        assert_eq!(colour_range(vec![2.0, 2.0], true), (1.5, 2.5));
    }
}
