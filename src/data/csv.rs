//! Numeric CSV tables with a header row.
//!
//! The dialect is the common one: the first non-empty line is the header; the separator is the
//! one of `,` `;` `\t` that occurs most often in the header outside quotes (ties resolved in that
//! order); fields may be wrapped in double quotes, with `""` for a literal quote; spaces around
//! fields are ignored; blank lines are skipped; a UTF-8 byte-order mark is dropped. A quoted field
//! may not span lines, so line numbers in errors are the lines an editor shows.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::{Array1, Array2};

use super::{Dataset, TargetValues, Task};
use crate::error::DataError;

/// Loads a CSV table whose column `target` is the target and every other column a numeric
/// feature.
///
/// Regression parses the target as `f32`. Classification maps the distinct target texts to class
/// indices `0..K`: in increasing numeric order when every value is a number (so `2 < 10`, and `5`
/// and `5.0` are one class), otherwise in byte order of the text; `names` keeps the first text
/// seen for each class.
///
/// Errors name the file and the 1-based line: a missing or unreadable file (with a pointer to
/// `data/README.md`), an empty file or one without data rows, a duplicate or unknown column name
/// (listing the columns), a row with the wrong number of fields, a cell that is not a finite
/// number.
pub fn load_csv(path: &Path, target: &str, task: Task) -> Result<Dataset, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        hint: if source.kind() == std::io::ErrorKind::NotFound {
            "Check the path (relative paths start at the working directory); see data/README.md \
             for how to obtain the data sets"
                .to_string()
        } else {
            "The file must be readable UTF-8 text; see data/README.md for how to obtain the data \
             sets"
                .to_string()
        },
        source,
    })?;
    parse_csv(&text, path, target, task)
}

fn malformed(path: &Path, line: usize, message: String) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// The parse of the file's text; `path` is only used in error messages.
fn parse_csv(text: &str, path: &Path, target: &str, task: Task) -> Result<Dataset, DataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // (1-based line number, line without its terminator), blank lines dropped.
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());

    let Some((header_line, header)) = lines.next() else {
        return Err(malformed(
            path,
            1,
            "the file is empty; expected a header row of column names followed by data rows".into(),
        ));
    };
    let sep = detect_separator(header);
    let names = split_fields(header, sep).map_err(|m| malformed(path, header_line, m))?;
    let mut seen = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(malformed(
                path,
                header_line,
                format!(
                    "column {} has an empty name; every column needs a name",
                    i + 1
                ),
            ));
        }
        if let Some(first) = seen.insert(name.as_str(), i) {
            return Err(malformed(
                path,
                header_line,
                format!(
                    "column name '{name}' occurs twice (columns {} and {}); rename one",
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    let Some(&target_col) = seen.get(target) else {
        return Err(malformed(
            path,
            header_line,
            format!(
                "no column named '{target}'; the columns are: {}. Set the target to one of them",
                names.join(", ")
            ),
        ));
    };

    let n_cols = names.len();
    let n_features = n_cols - 1;
    let mut x: Vec<f32> = Vec::new();
    let mut y_text: Vec<(usize, String)> = Vec::new();
    for (line_no, line) in lines {
        let fields = split_fields(line, sep).map_err(|m| malformed(path, line_no, m))?;
        if fields.len() != n_cols {
            return Err(malformed(
                path,
                line_no,
                format!(
                    "this row has {} fields but the header (line {header_line}) has {n_cols}; \
                     check for a missing or extra '{}' separator",
                    fields.len(),
                    sep.escape_default()
                ),
            ));
        }
        for (col, field) in fields.into_iter().enumerate() {
            if col == target_col {
                y_text.push((line_no, field));
            } else {
                let v = parse_number(&field).map_err(|m| {
                    malformed(path, line_no, format!("column '{}': {m}", names[col]))
                })?;
                x.push(v as f32);
            }
        }
    }
    let n = y_text.len();
    if n == 0 {
        return Err(malformed(
            path,
            header_line,
            "the file has a header but no data rows".into(),
        ));
    }
    let x = Array2::from_shape_vec((n, n_features), x).expect("row length checked above");
    let y = match task {
        Task::Regression => {
            let mut y = Array1::zeros(n);
            for (slot, (line_no, field)) in y.iter_mut().zip(&y_text) {
                *slot = parse_number(field).map_err(|m| {
                    malformed(path, *line_no, format!("target column '{target}': {m}"))
                })? as f32;
            }
            TargetValues::Real(y)
        }
        Task::Classification => classes(y_text.into_iter().map(|(_, t)| t).collect()),
    };
    let feature_names = names
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != target_col)
        .map(|(_, n)| n.clone())
        .collect();
    Ok(Dataset {
        x,
        y,
        feature_names,
        target_name: target.to_string(),
    })
}

/// Class indices for the target texts: numeric order when all are numbers, else text order.
fn classes(texts: Vec<String>) -> TargetValues {
    let numbers: Option<Vec<f64>> = texts.iter().map(|t| parse_number(t).ok()).collect();
    let (labels, names): (Vec<u32>, Vec<String>) = match numbers {
        Some(values) => {
            // Key by the bit pattern of the value, with -0.0 folded into 0.0; the first text
            // seen names the class.
            let key = |v: f64| if v == 0.0 { 0u64 } else { v.to_bits() };
            let mut first: BTreeMap<u64, (f64, &str)> = BTreeMap::new();
            for (v, t) in values.iter().zip(&texts) {
                first.entry(key(*v)).or_insert((*v, t));
            }
            let mut distinct: Vec<(f64, &str)> = first.into_values().collect();
            distinct.sort_by(|a, b| a.0.total_cmp(&b.0));
            let index: BTreeMap<u64, u32> = distinct
                .iter()
                .enumerate()
                .map(|(i, (v, _))| (key(*v), i as u32))
                .collect();
            let labels = values.iter().map(|v| index[&key(*v)]).collect();
            (
                labels,
                distinct.iter().map(|(_, t)| t.to_string()).collect(),
            )
        }
        None => {
            let mut distinct: Vec<&str> = texts.iter().map(String::as_str).collect();
            distinct.sort_unstable();
            distinct.dedup();
            let labels = texts
                .iter()
                .map(|t| distinct.binary_search(&t.as_str()).expect("present") as u32)
                .collect();
            (labels, distinct.iter().map(|t| t.to_string()).collect())
        }
    };
    TargetValues::Class {
        labels,
        n_classes: names.len(),
        names,
    }
}

/// A finite number, or a message saying why not.
fn parse_number(field: &str) -> Result<f64, String> {
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "'{field}' is not a finite number; replace or drop the row"
        )),
        Err(_) => Err(format!(
            "cannot parse '{field}' as a number; fix the cell or drop the row (missing values \
             are not supported)"
        )),
    }
}

/// The separator among `,` `;` `\t` that occurs most often in `header` outside quotes.
fn detect_separator(header: &str) -> char {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).fold(0, |b, i| if counts[i] > counts[b] { i } else { b });
    [',', ';', '\t'][best]
}

/// Splits one line into trimmed, unquoted fields.
fn split_fields(line: &str, sep: char) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        // Skip blanks before the field (but never the separator itself, which may be a tab).
        while chars.peek().is_some_and(|&c| c != sep && c.is_whitespace()) {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => {
                        return Err(format!(
                            "field {} opens a quote that is not closed on this line",
                            fields.len() + 1
                        ));
                    }
                }
            }
            while chars.peek().is_some_and(|&c| c != sep && c.is_whitespace()) {
                chars.next();
            }
            match chars.peek() {
                None => {}
                Some(&c) if c == sep => {}
                Some(&c) => {
                    return Err(format!(
                        "field {}: unexpected '{c}' after a closing quote",
                        fields.len() + 1
                    ));
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == sep {
                    break;
                }
                field.push(c);
                chars.next();
            }
            field.truncate(field.trim_end().len());
        }
        fields.push(field);
        match chars.next() {
            Some(_) => continue, // the separator: another field follows, possibly empty
            None => return Ok(fields),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Writes `contents` to a fresh file under the temp dir; removed on drop.
    struct TempCsv(PathBuf);
    impl TempCsv {
        fn new(contents: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let name = format!(
                "bayeslab-data-{}-{}.csv",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, contents).unwrap();
            TempCsv(path)
        }
        fn name(&self) -> String {
            self.0.file_name().unwrap().to_string_lossy().into_owned()
        }
    }
    impl Drop for TempCsv {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn shared(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("data/uci")
            .join(name)
    }

    fn real(d: &Dataset) -> &Array1<f32> {
        match &d.y {
            TargetValues::Real(y) => y,
            TargetValues::Class { .. } => panic!("real targets expected"),
        }
    }

    #[test]
    fn quoted_header_and_semicolon_separator() {
        let f = TempCsv::new("\"fixed acidity\";\"pH\";\"quality\"\n7.4;3.51;5\n 7.8 ; 3.2 ;6\n");
        let d = load_csv(&f.0, "quality", Task::Regression).unwrap();
        assert_eq!(d.feature_names, ["fixed acidity", "pH"]);
        assert_eq!(d.target_name, "quality");
        assert_eq!(d.x, ndarray::array![[7.4f32, 3.51], [7.8, 3.2]]);
        assert_eq!(real(&d).to_vec(), [5.0, 6.0]);
    }

    #[test]
    fn tab_separator_crlf_bom_blank_lines_and_quoted_comma() {
        let f = TempCsv::new("\u{feff}a\t\"b, c\"\ty\r\n1\t2\t3\r\n\r\n4\t\"5\"\t6\r\n");
        let d = load_csv(&f.0, "b, c", Task::Regression).unwrap();
        assert_eq!(d.feature_names, ["a", "y"]);
        assert_eq!(d.x, ndarray::array![[1.0f32, 3.0], [4.0, 6.0]]);
        assert_eq!(real(&d).to_vec(), [2.0, 5.0]);
    }

    #[test]
    fn classification_orders_numbers_numerically_and_text_bytewise() {
        let f = TempCsv::new("x,y\n0,10\n1,2\n2,9\n3,2.0\n");
        let d = load_csv(&f.0, "y", Task::Classification).unwrap();
        match &d.y {
            TargetValues::Class {
                labels,
                n_classes,
                names,
            } => {
                assert_eq!(labels, &[2, 0, 1, 0]);
                assert_eq!(*n_classes, 3);
                assert_eq!(names, &["2", "9", "10"]);
            }
            TargetValues::Real(_) => panic!("classes expected"),
        }
        let f = TempCsv::new("x,y\n0,pos\n1,neg\n2,pos\n3,Neutral\n");
        let d = load_csv(&f.0, "y", Task::Classification).unwrap();
        match &d.y {
            TargetValues::Class { labels, names, .. } => {
                assert_eq!(names, &["Neutral", "neg", "pos"]);
                assert_eq!(labels, &[2, 1, 2, 0]);
            }
            TargetValues::Real(_) => panic!("classes expected"),
        }
    }

    #[test]
    fn shipped_uci_files_have_the_documented_shapes() {
        let b = load_csv(&shared("boston_housing.csv"), "medv", Task::Regression).unwrap();
        assert_eq!((b.len(), b.n_features()), (506, 13));
        assert_eq!(b.feature_names[0], "crim");
        // First row of the file: crim 0.00632 ... lstat 4.98, medv 24.00.
        assert_eq!(b.x[[0, 0]], 0.00632);
        assert_eq!(b.x[[0, 12]], 4.98);
        assert_eq!(real(&b)[0], 24.0);

        let c = load_csv(
            &shared("concrete.csv"),
            "compressive_strength",
            Task::Regression,
        )
        .unwrap();
        assert_eq!((c.len(), c.n_features()), (1030, 8));
        assert_eq!(c.feature_names[7], "age");
        assert_eq!(real(&c)[0], 79.99);

        let w = load_csv(&shared("winequality-red.csv"), "quality", Task::Regression).unwrap();
        assert_eq!((w.len(), w.n_features()), (1599, 11));
        assert_eq!(w.feature_names[0], "fixed acidity");
        assert_eq!(w.feature_names[10], "alcohol");
        assert_eq!(real(&w)[0], 5.0);

        // As classification, wine quality has the six grades 3..8.
        let wc = load_csv(
            &shared("winequality-red.csv"),
            "quality",
            Task::Classification,
        )
        .unwrap();
        match &wc.y {
            TargetValues::Class { names, .. } => assert_eq!(names, &["3", "4", "5", "6", "7", "8"]),
            TargetValues::Real(_) => panic!("classes expected"),
        }
    }

    #[test]
    fn missing_file_names_the_file_and_the_readme() {
        let path = std::env::temp_dir().join("bayeslab-no-such-file-7f3a.csv");
        let msg = load_csv(&path, "y", Task::Regression)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("bayeslab-no-such-file-7f3a.csv"), "{msg}");
        assert!(msg.contains("data/README.md"), "{msg}");
    }

    #[test]
    fn unknown_target_lists_the_columns() {
        let f = TempCsv::new("alpha,beta,gamma\n1,2,3\n");
        let msg = load_csv(&f.0, "delta", Task::Regression)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&format!("{}:1:", f.name())), "{msg}");
        assert!(msg.contains("'delta'"), "{msg}");
        assert!(msg.contains("alpha, beta, gamma"), "{msg}");
    }

    #[test]
    fn bad_cell_names_its_line_and_column() {
        // Line 4 counts the header and the blank line 3.
        let f = TempCsv::new("age,y\n1,2\n\nabc,3\n");
        let msg = load_csv(&f.0, "y", Task::Regression)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&format!("{}:4:", f.name())), "{msg}");
        assert!(msg.contains("column 'age'"), "{msg}");
        assert!(msg.contains("cannot parse 'abc' as a number"), "{msg}");
        // A bad regression target and a non-finite value are refused too.
        let f = TempCsv::new("age,y\n1,2\n2,x\n");
        let msg = load_csv(&f.0, "y", Task::Regression)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&format!("{}:3:", f.name())), "{msg}");
        assert!(msg.contains("target column 'y'"), "{msg}");
        let f = TempCsv::new("age,y\nnan,2\n");
        let msg = load_csv(&f.0, "y", Task::Regression)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(":2:") && msg.contains("not a finite number"),
            "{msg}"
        );
    }

    #[test]
    fn ragged_row_names_its_line_and_counts() {
        let f = TempCsv::new("a;b;y\n1;2;3\n4;5\n");
        let msg = load_csv(&f.0, "y", Task::Regression)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&format!("{}:3:", f.name())), "{msg}");
        assert!(
            msg.contains("has 2 fields") && msg.contains("has 3"),
            "{msg}"
        );
    }

    #[test]
    fn empty_file_header_only_duplicates_and_open_quote() {
        let cases = [
            ("", ":1:", "the file is empty"),
            ("\n\n", ":1:", "the file is empty"),
            ("a,y\n", ":1:", "no data rows"),
            ("a,a,y\n1,2,3\n", ":1:", "occurs twice"),
            ("a,y\n\"1,2\n", ":2:", "not closed"),
        ];
        for (text, line, what) in cases {
            let f = TempCsv::new(text);
            let msg = load_csv(&f.0, "y", Task::Regression)
                .unwrap_err()
                .to_string();
            assert!(msg.contains(&f.name()), "{msg}");
            assert!(msg.contains(line) && msg.contains(what), "{text:?}: {msg}");
        }
    }

    #[test]
    fn split_fields_handles_escapes_and_empty_fields() {
        assert_eq!(
            split_fields("\"a \"\"q\"\"\",,b ", ',').unwrap(),
            ["a \"q\"", "", "b"]
        );
        assert_eq!(split_fields("1\t\t2", '\t').unwrap(), ["1", "", "2"]);
        assert_eq!(detect_separator("\"a;b\",c,d"), ',');
        assert_eq!(detect_separator("a;b;c"), ';');
    }
}
