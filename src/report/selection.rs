//! Model selection over a sweep (`[report] select = { by = "valid.gaussian_ll", per = ["data"] }`):
//! the sweep's variants are grouped by their values of the `per` keys (one group per data set,
//! say), and in each group, for each method, the variant with the best mean `by` over its ok runs
//! is chosen (best by the metric's registry direction). The chosen rows are shown with the
//! table's columns, so a test metric is read only for the setting the validation metric chose.
//!
//! This chooses one setting per group from the mean over all splits; Gal & Ghahramani (2016)
//! choose per split. Both use only validation data to choose.

use std::fmt::Write as _;

use super::table::{Row, Table, table};
use crate::spec::report::{ReportOptions, Selection};
use crate::store::Results;

/// The `key=value` assignments of a variant label (`data=boston,model.dropout=0.1`); a value
/// holding a comma (`hidden=[50, 50]`) stays whole.
pub fn assignments(variant: &str) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    let mut start = 0;
    let bytes = variant.as_bytes();
    let mut depth = 0i32;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                out.extend(split_assignment(&variant[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.extend(split_assignment(&variant[start..]));
    out
}

fn split_assignment(piece: &str) -> Option<(&str, &str)> {
    piece.split_once('=')
}

/// One choice: the group, the method, the chosen variant's row (with `by` as its first cell)
/// and how many variants competed.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The `per` assignments, e.g. `data=boston` (`all` without `per` keys).
    pub group: String,
    pub row: Row,
    pub candidates: usize,
}

/// The chosen rows, groups in order of first appearance, and the table they come from (columns:
/// `by`, then the report's metrics).
pub fn choose(
    results: &Results,
    options: &ReportOptions,
    select: &Selection,
) -> (Vec<Choice>, Table) {
    let mut metrics = vec![select.by.clone()];
    metrics.extend(
        super::table::table_metrics(results, options)
            .into_iter()
            .filter(|m| *m != select.by),
    );
    let all = table(
        results,
        &ReportOptions {
            metrics,
            ..options.clone()
        },
    );
    let direction = crate::metrics::direction(&select.by);
    let group_of = |variant: &str| {
        let parts: Vec<String> = assignments(variant)
            .into_iter()
            .filter(|(k, _)| select.per.iter().any(|p| p == k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if parts.is_empty() {
            "all".to_string()
        } else {
            parts.join(",")
        }
    };
    let mut choices: Vec<Choice> = Vec::new();
    for row in &all.rows {
        let group = group_of(&row.variant);
        let loss = row.cells[0].and_then(|c| direction.and_then(|d| d.loss(c.mean)));
        match choices
            .iter_mut()
            .find(|c| c.group == group && c.row.method == row.method)
        {
            Some(choice) => {
                choice.candidates += 1;
                let held = choice.row.cells[0].and_then(|c| direction.and_then(|d| d.loss(c.mean)));
                // Ties keep the first variant in plan order.
                if let (Some(new), held) = (loss, held)
                    && held.is_none_or(|held| new < held)
                {
                    choice.row = row.clone();
                }
            }
            None => choices.push(Choice {
                group,
                row: row.clone(),
                candidates: 1,
            }),
        }
    }
    (choices, all)
}

/// The choices as a Markdown table with their note.
pub fn render_markdown(choices: &[Choice], all: &Table, select: &Selection) -> String {
    let mut out = String::from("| group | method | chosen variant |");
    for m in &all.metrics {
        let _ = write!(out, " {m} |");
    }
    out.push_str(" n |\n|:--|:--|:--|");
    for _ in &all.metrics {
        out.push_str("--:|");
    }
    out.push_str("--:|\n");
    for choice in choices {
        let setting: Vec<String> = assignments(&choice.row.variant)
            .into_iter()
            .filter(|(k, _)| !select.per.iter().any(|p| p == k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = write!(
            out,
            "| {} | {} | {} |",
            choice.group,
            choice.row.method,
            if setting.is_empty() {
                choice.row.variant.clone()
            } else {
                setting.join(", ")
            }
        );
        for (c, cell) in choice.row.cells.iter().enumerate() {
            match cell {
                Some(cell) => {
                    let d = all.decimals[c];
                    let _ = write!(out, " {:.d$} ± {:.d$} |", cell.mean, cell.spread);
                }
                None => out.push_str(" — |"),
            }
        }
        let _ = writeln!(out, " {} |", choice.row.n_ok);
    }
    let spread = match all.spread {
        crate::spec::report::Spread::Std => "sample std",
        crate::spec::report::Spread::Sem => "standard error",
    };
    let _ = write!(
        out,
        "\nPer group and method, the variant with the best mean {} over its runs, out of {} \
         candidates; mean ± {spread} over its runs. The other columns are read only for the \
         chosen variant.\n",
        select.by,
        choices.first().map_or(0, |c| c.candidates)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MetricRow, RunRecord};

    #[test]
    fn variant_labels_split_into_assignments_keeping_bracketed_commas() {
        assert_eq!(
            assignments("data=boston,model.hidden=[50, 50],model.dropout=0.1"),
            [
                ("data", "boston"),
                ("model.hidden", "[50, 50]"),
                ("model.dropout", "0.1")
            ]
        );
        assert_eq!(assignments("default"), []);
    }

    fn run(id: &str, variant: &str, split: u32) -> RunRecord {
        crate::report::ok_run(id, "mc_dropout", variant, split)
    }

    fn row(split: &str, metric: &str, value: f64) -> MetricRow {
        MetricRow {
            epoch: 1,
            step: 1,
            split: split.into(),
            metric: metric.into(),
            value,
            samples: 1,
        }
    }

    /// Per data set, the dropout with the higher mean validation log-likelihood is chosen,
    /// although another has the better test value: selection never looks at test data.
    #[test]
    fn the_best_validation_mean_is_chosen_per_group() {
        let variants = [
            ("a", "data=boston,model.dropout=0.1", -2.0, -2.5),
            ("b", "data=boston,model.dropout=0.1", -2.2, -2.5),
            ("c", "data=boston,model.dropout=0.5", -3.0, -1.0),
            ("d", "data=wine,model.dropout=0.1", -1.5, -1.0),
            ("e", "data=wine,model.dropout=0.5", -0.9, -1.2),
        ];
        let results = Results {
            runs: variants
                .iter()
                .enumerate()
                .map(|(i, (id, v, _, _))| run(id, v, i as u32))
                .collect(),
            metrics: variants
                .iter()
                .flat_map(|(id, _, valid, test)| {
                    [
                        (id.to_string(), row("valid", "gaussian_ll", *valid)),
                        (id.to_string(), row("test", "gaussian_ll", *test)),
                    ]
                })
                .collect(),
            ..Results::default()
        };
        let select = Selection {
            by: "valid.gaussian_ll".into(),
            per: vec!["data".into()],
        };
        let options = ReportOptions {
            metrics: vec!["test.gaussian_ll".into()],
            select: Some(select.clone()),
            ..ReportOptions::default()
        };
        let (choices, all) = choose(&results, &options, &select);
        assert_eq!(all.metrics, ["valid.gaussian_ll", "test.gaussian_ll"]);
        let chosen: Vec<(&str, &str, f64)> = choices
            .iter()
            .map(|c| {
                (
                    c.group.as_str(),
                    c.row.variant.as_str(),
                    c.row.cells[1].unwrap().mean,
                )
            })
            .collect();
        assert_eq!(
            chosen,
            [
                ("data=boston", "data=boston,model.dropout=0.1", -2.5),
                ("data=wine", "data=wine,model.dropout=0.5", -1.2),
            ]
        );
        assert_eq!(choices[0].row.cells[0].unwrap().mean, -2.1);
        assert!(choices.iter().all(|c| c.candidates == 2));
        let md = render_markdown(&choices, &all, &select);
        assert!(
            md.contains("| data=boston | mc_dropout | model.dropout=0.1 |"),
            "{md}"
        );
        assert!(md.contains("out of 2 candidates"), "{md}");
    }
}
