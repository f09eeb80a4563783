//! Numeric CSV tables, with a header row or without one, plain or gzip-compressed.
//!
//! The dialect is the common one: the first non-empty line is the header (or, with
//! `header = false`, the first data row); the separator is the one of `,` `;` `\t` that occurs
//! most often in that line outside quotes (ties resolved in that order); fields may be wrapped in
//! double quotes, with `""` for a literal quote; spaces around fields are ignored; blank lines are
//! skipped; a UTF-8 byte-order mark is dropped. A quoted field may not span lines, so line numbers
//! in errors are the lines an editor shows. Bytes that start with the gzip magic number
//! (`1f 8b`) are decompressed first, whatever the file is called.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::{Array1, Array2};

use super::{Dataset, TargetValues, Task};
use crate::error::DataError;

/// Loads a CSV table whose column `target` is the target and every other column a numeric
/// feature.
///
/// `header`: `Some(true)` reads the first line as column names, `Some(false)` reads every line
/// as data and names the columns by their 0-based index (`"0"`, `"1"`, …), and `None` reads a
/// header but refuses a first line made only of numbers, which is almost always a file without
/// a header (taking it as names would drop a data row silently).
///
/// Regression parses the target as `f32`. Classification maps the distinct target texts to class
/// indices `0..K`: in increasing numeric order when every value is a number (so `2 < 10`, and `5`
/// and `5.0` are one class), otherwise in byte order of the text; `names` keeps the first text
/// seen for each class. It needs at least 2 classes.
///
/// Errors name the file and the 1-based line or the column: a missing or unreadable file (with a
/// pointer to `data/README.md`), gzip data that does not decompress, text that is not UTF-8, an
/// empty file or one without data rows, a first line of numbers read as a header, a duplicate or
/// unknown column name (listing the columns), no feature column, a row with the wrong number of
/// fields, a cell that is not a finite number within the `f32` range, a classification target
/// with a single class.
pub fn load_csv(
    path: &Path,
    target: &str,
    task: Task,
    header: Option<bool>,
) -> Result<Dataset, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        hint: if source.kind() == std::io::ErrorKind::NotFound {
            "Check the path (relative paths start at the working directory); see data/README.md \
             for how to obtain the data sets"
                .to_string()
        } else {
            "The file must be readable; see data/README.md for how to obtain the data sets"
                .to_string()
        },
        source,
    })?;
    read_csv(&bytes, path, target, task, header)
}

/// [`load_csv`] on the file's bytes (plain or gzip-compressed); `path` only names it in errors.
pub fn read_csv(
    bytes: &[u8],
    path: &Path,
    target: &str,
    task: Task,
    header: Option<bool>,
) -> Result<Dataset, DataError> {
    let decompressed = super::idx::gunzip(bytes, path)?;
    let bytes = &decompressed[..];
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        malformed(
            path,
            line,
            "not UTF-8 text; save the file as UTF-8 (a CSV of numbers is plain ASCII)".into(),
        )
    })?;
    parse_csv(text, path, target, task, header)
}

fn malformed(path: &Path, line: usize, message: String) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// The parse of the file's text; `path` is only used in error messages.
fn parse_csv(
    text: &str,
    path: &Path,
    target: &str,
    task: Task,
    header: Option<bool>,
) -> Result<Dataset, DataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // (1-based line number, line without its terminator), blank lines dropped.
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    let has_header = header != Some(false);

    let Some(&(first_line, first)) = lines.peek() else {
        return Err(malformed(
            path,
            1,
            if has_header {
                "the file is empty; expected a header row of column names followed by data rows"
            } else {
                "the file is empty; expected rows of numbers"
            }
            .into(),
        ));
    };
    let sep = detect_separator(first);
    let first_fields = split_fields(first, sep).map_err(|m| malformed(path, first_line, m))?;
    let names: Vec<String> = if has_header {
        lines.next();
        if header.is_none() && first_fields.iter().all(|f| parse_number(f).is_ok()) {
            let last = first_fields.len() - 1;
            return Err(malformed(
                path,
                first_line,
                format!(
                    "this line holds only numbers, so the file seems to have no header row; \
                     add `header = false` to [data] to read every line as data, with the \
                     columns named by their 0-based index \"0\" to \"{last}\" (e.g. \
                     `target = \"{last}\"` for the last column). If these numbers are the \
                     column names, set `header = true`"
                ),
            ));
        }
        first_fields
    } else {
        (0..first_fields.len()).map(|i| i.to_string()).collect()
    };
    let mut seen = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(malformed(
                path,
                first_line,
                format!(
                    "column {} has an empty name; every column needs a name",
                    i + 1
                ),
            ));
        }
        if let Some(first) = seen.insert(name.as_str(), i) {
            return Err(malformed(
                path,
                first_line,
                format!(
                    "column name '{name}' occurs twice (columns {} and {}); rename one",
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    let Some(&target_col) = seen.get(target) else {
        let message = if has_header {
            format!(
                "no column named '{target}'; the columns are: {}. Set the target to one of them",
                names.join(", ")
            )
        } else {
            format!(
                "no column named '{target}'; without a header row the {} columns are named by \
                 their 0-based index \"0\" to \"{}\". Set the target to one of them",
                names.len(),
                names.len() - 1
            )
        };
        return Err(malformed(path, first_line, message));
    };
    let n_cols = names.len();
    if n_cols < 2 {
        return Err(malformed(
            path,
            first_line,
            format!(
                "the only column is the target '{target}'; at least one feature column is \
                 needed"
            ),
        ));
    }
    let n_features = n_cols - 1;
    let first_data_line = if has_header { None } else { Some(first_line) };
    // In a file read without a header, a first line of names fails to parse: say why.
    let cell_error = |line_no: usize, what: String, m: String| {
        let hint = if first_data_line == Some(line_no) {
            format!("; line {line_no} looks like a header row: remove `header = false` from [data]")
        } else {
            String::new()
        };
        malformed(path, line_no, format!("{what}: {m}{hint}"))
    };
    let mut x: Vec<f32> = Vec::new();
    let mut y_text: Vec<(usize, String)> = Vec::new();
    for (line_no, line) in lines {
        let fields = split_fields(line, sep).map_err(|m| malformed(path, line_no, m))?;
        if fields.len() != n_cols {
            let reference = if has_header {
                format!("the header (line {first_line})")
            } else {
                format!("line {first_line}")
            };
            return Err(malformed(
                path,
                line_no,
                format!(
                    "this row has {} fields but {reference} has {n_cols}; check for a missing \
                     or extra '{}' separator",
                    fields.len(),
                    sep.escape_default()
                ),
            ));
        }
        for (col, field) in fields.into_iter().enumerate() {
            if col == target_col {
                y_text.push((line_no, field));
            } else {
                let v = parse_f32(&field)
                    .map_err(|m| cell_error(line_no, format!("column '{}'", names[col]), m))?;
                x.push(v);
            }
        }
    }
    let n = y_text.len();
    if n == 0 {
        return Err(malformed(
            path,
            first_line,
            "the file has a header but no data rows".into(),
        ));
    }
    let x = Array2::from_shape_vec((n, n_features), x).expect("row length checked above");
    let y = match task {
        Task::Regression => {
            let mut y = Array1::zeros(n);
            for (slot, (line_no, field)) in y.iter_mut().zip(&y_text) {
                *slot = parse_f32(field)
                    .map_err(|m| cell_error(*line_no, format!("target column '{target}'"), m))?;
            }
            TargetValues::Real(y)
        }
        Task::Classification => {
            let classes = classes(y_text.into_iter().map(|(_, t)| t).collect());
            if let TargetValues::Class { names, .. } = &classes
                && names.len() < 2
            {
                return Err(DataError::Column {
                    path: path.to_path_buf(),
                    column: target.to_string(),
                    message: format!(
                        "every one of the {n} rows has the class '{}'; classification needs at \
                         least 2 classes: check `data.target`, or use `task = \"regression\"`",
                        names[0]
                    ),
                });
            }
            classes
        }
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

/// A finite number within the `f32` range (features and regression targets are `f32`, and a
/// larger value would become infinite), or a message saying why not.
fn parse_f32(field: &str) -> Result<f32, String> {
    let v = parse_number(field)? as f32;
    if v.is_infinite() {
        return Err(format!(
            "'{field}' is beyond the range of 32-bit floats (±3.4e38); rescale the column"
        ));
    }
    Ok(v)
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
            Self::bytes(contents.as_bytes())
        }
        fn bytes(contents: &[u8]) -> Self {
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
            .join(format!("{name}.gz"))
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
        let d = load_csv(&f.0, "quality", Task::Regression, None).unwrap();
        assert_eq!(d.feature_names, ["fixed acidity", "pH"]);
        assert_eq!(d.target_name, "quality");
        assert_eq!(d.x, ndarray::array![[7.4f32, 3.51], [7.8, 3.2]]);
        assert_eq!(real(&d).to_vec(), [5.0, 6.0]);
    }

    #[test]
    fn tab_separator_crlf_bom_blank_lines_and_quoted_comma() {
        let f = TempCsv::new("\u{feff}a\t\"b, c\"\ty\r\n1\t2\t3\r\n\r\n4\t\"5\"\t6\r\n");
        let d = load_csv(&f.0, "b, c", Task::Regression, None).unwrap();
        assert_eq!(d.feature_names, ["a", "y"]);
        assert_eq!(d.x, ndarray::array![[1.0f32, 3.0], [4.0, 6.0]]);
        assert_eq!(real(&d).to_vec(), [2.0, 5.0]);
    }

    #[test]
    fn classification_orders_numbers_numerically_and_text_bytewise() {
        let f = TempCsv::new("x,y\n0,10\n1,2\n2,9\n3,2.0\n");
        let d = load_csv(&f.0, "y", Task::Classification, None).unwrap();
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
        let d = load_csv(&f.0, "y", Task::Classification, None).unwrap();
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
        let b = load_csv(
            &shared("boston_housing.csv"),
            "medv",
            Task::Regression,
            None,
        )
        .unwrap();
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
            None,
        )
        .unwrap();
        assert_eq!((c.len(), c.n_features()), (1030, 8));
        assert_eq!(c.feature_names[7], "age");
        assert_eq!(real(&c)[0], 79.99);

        let w = load_csv(
            &shared("winequality-red.csv"),
            "quality",
            Task::Regression,
            None,
        )
        .unwrap();
        assert_eq!((w.len(), w.n_features()), (1599, 11));
        assert_eq!(w.feature_names[0], "fixed acidity");
        assert_eq!(w.feature_names[10], "alcohol");
        assert_eq!(real(&w)[0], 5.0);

        // As classification, wine quality has the six grades 3..8.
        let wc = load_csv(
            &shared("winequality-red.csv"),
            "quality",
            Task::Classification,
            None,
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
        let msg = load_csv(&path, "y", Task::Regression, None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("bayeslab-no-such-file-7f3a.csv"), "{msg}");
        assert!(msg.contains("data/README.md"), "{msg}");
    }

    #[test]
    fn unknown_target_lists_the_columns() {
        let f = TempCsv::new("alpha,beta,gamma\n1,2,3\n");
        let msg = load_csv(&f.0, "delta", Task::Regression, None)
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
        let msg = load_csv(&f.0, "y", Task::Regression, None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&format!("{}:4:", f.name())), "{msg}");
        assert!(msg.contains("column 'age'"), "{msg}");
        assert!(msg.contains("cannot parse 'abc' as a number"), "{msg}");
        // A bad regression target and a non-finite value are refused too.
        let f = TempCsv::new("age,y\n1,2\n2,x\n");
        let msg = load_csv(&f.0, "y", Task::Regression, None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&format!("{}:3:", f.name())), "{msg}");
        assert!(msg.contains("target column 'y'"), "{msg}");
        let f = TempCsv::new("age,y\nnan,2\n");
        let msg = load_csv(&f.0, "y", Task::Regression, None)
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
        let msg = load_csv(&f.0, "y", Task::Regression, None)
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
            let msg = load_csv(&f.0, "y", Task::Regression, None)
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

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn error(text: &str, target: &str, task: Task, header: Option<bool>) -> (String, TempCsv) {
        let f = TempCsv::new(text);
        let msg = load_csv(&f.0, target, task, header)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&f.name()), "{msg}");
        (msg, f)
    }

    #[test]
    fn gzip_compressed_bytes_read_as_the_plain_text() {
        let text = "a,b,y\n1,2,3\n4,5,6\n";
        let plain = load_csv(&TempCsv::new(text).0, "y", Task::Regression, None).unwrap();
        let f = TempCsv::bytes(&gzip(text.as_bytes()));
        let packed = load_csv(&f.0, "y", Task::Regression, None).unwrap();
        assert_eq!(packed.x, plain.x);
        assert_eq!(real(&packed), real(&plain));
        assert_eq!(packed.feature_names, plain.feature_names);
        // A truncated gzip stream is an error naming the file, not a panic or a short table.
        let full = gzip(text.as_bytes());
        let f = TempCsv::bytes(&full[..full.len() / 2]);
        let msg = load_csv(&f.0, "y", Task::Regression, None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&f.name()) && msg.contains("gzip"), "{msg}");
    }

    #[test]
    fn headerless_files_are_refused_unless_header_is_false() {
        let text = "0.5,1,7\n0.25,2,8\n";
        let (msg, f) = error(text, "2", Task::Regression, None);
        assert!(msg.contains(&format!("{}:1:", f.name())), "{msg}");
        assert!(msg.contains("no header row"), "{msg}");
        assert!(msg.contains("header = false"), "{msg}");
        assert!(msg.contains("target = \"2\""), "{msg}");
        // With header = false every line is data and the columns are "0", "1", "2".
        let d = load_csv(&f.0, "2", Task::Regression, Some(false)).unwrap();
        assert_eq!(d.feature_names, ["0", "1"]);
        assert_eq!(d.x, ndarray::array![[0.5f32, 1.0], [0.25, 2.0]]);
        assert_eq!(real(&d).to_vec(), [7.0, 8.0]);
        let d = load_csv(&f.0, "0", Task::Classification, Some(false)).unwrap();
        assert_eq!(d.feature_names, ["1", "2"]);
        assert_eq!(d.n_classes(), Some(2));
        // header = true takes numbers as column names.
        let d = load_csv(&f.0, "7", Task::Regression, Some(true)).unwrap();
        assert_eq!(d.feature_names, ["0.5", "1"]);
        assert_eq!(d.len(), 1);
        // The target names a column index; out of range lists the names.
        let msg = load_csv(&f.0, "3", Task::Regression, Some(false))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("\"0\" to \"2\""), "{msg}");
        // A file with a header read with header = false: line 1 does not parse, and says why.
        let (msg, _) = error("a,y\n1,2\n", "1", Task::Regression, Some(false));
        assert!(
            msg.contains(":1:") && msg.contains("looks like a header row"),
            "{msg}"
        );
    }

    #[test]
    fn a_single_class_target_is_refused_with_the_column() {
        let (msg, f) = error("x,y\n1,a\n2,a\n3,a\n", "y", Task::Classification, None);
        assert!(msg.starts_with(&f.0.display().to_string()), "{msg}");
        assert!(msg.contains("column 'y'"), "{msg}");
        assert!(msg.contains("at least 2 classes"), "{msg}");
        assert!(msg.contains("'a'"), "{msg}");
        // Numeric texts that are one number are one class too.
        let (msg, _) = error("x,y\n1,5\n2,5.0\n", "y", Task::Classification, None);
        assert!(msg.contains("at least 2 classes"), "{msg}");
    }

    #[test]
    fn no_feature_column_non_utf8_and_out_of_f32_range_are_refused() {
        let (msg, _) = error("y\n1\n2\n", "y", Task::Regression, None);
        assert!(
            msg.contains(":1:") && msg.contains("feature column"),
            "{msg}"
        );
        let f = TempCsv::bytes(b"a,y\n1,2\n\xff,3\n");
        let msg = load_csv(&f.0, "y", Task::Regression, None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(":3:") && msg.contains("UTF-8"), "{msg}");
        let (msg, _) = error("a,y\n1e39,2\n", "y", Task::Regression, None);
        assert!(
            msg.contains(":2:") && msg.contains("column 'a'") && msg.contains("32-bit"),
            "{msg}"
        );
        let (msg, _) = error("a,y\n1,-1e39\n", "y", Task::Regression, None);
        assert!(msg.contains("target column 'y'"), "{msg}");
        // The largest f32 itself is fine.
        let f = TempCsv::new("a,y\n3.4028235e38,1\n");
        assert!(load_csv(&f.0, "y", Task::Regression, None).is_ok());
    }
}
