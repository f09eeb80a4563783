//! Dotted-key paths into a TOML table: `--set train.epochs=100`, sweep keys, method overrides.
//!
//! A path is a list of segments separated by dots. A segment is a table key, `name[i]` for the i-th
//! element of an array of tables, or, under `methods`, a method's name (`methods.adam.optimizer.lr`).
//! Setting a key that does not exist creates it; the typed deserialisation that follows refuses
//! unknown keys, so an override passes exactly the checks the file does.

use toml::{Table, Value};

/// One step of a dotted path.
#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(String, usize),
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    if path.is_empty() {
        return Err("empty key path".into());
    }
    path.split('.')
        .map(|part| {
            if part.is_empty() {
                return Err(format!("empty segment in key path `{path}`"));
            }
            match part.find('[') {
                None => Ok(Segment::Key(part.to_string())),
                Some(open) => {
                    let close = part
                        .strip_suffix(']')
                        .ok_or_else(|| format!("`{part}`: expected `name[index]`"))?;
                    let index = close[open + 1..]
                        .parse::<usize>()
                        .map_err(|_| format!("`{part}`: the index must be a whole number"))?;
                    Ok(Segment::Index(part[..open].to_string(), index))
                }
            }
        })
        .collect()
}

/// Parses the value of `key=value`: a TOML literal (`1e-3`, `true`, `[50, 50]`, `"relu"`,
/// `{ kind = "adam", lr = 0.01 }`), or, when it is not one, the text as a string (`relu`).
pub fn parse_value(text: &str) -> Value {
    let text = text.trim();
    match format!("v = {text}").parse::<Table>() {
        Ok(mut table) => table.remove("v").unwrap_or(Value::String(text.to_string())),
        Err(_) => Value::String(text.to_string()),
    }
}

/// Splits `key.path=value` into its path and parsed value.
pub fn parse_assignment(assignment: &str) -> Result<(String, Value), String> {
    let (key, value) = assignment
        .split_once('=')
        .ok_or_else(|| format!("`{assignment}`: expected key.path=value"))?;
    Ok((key.trim().to_string(), parse_value(value)))
}

/// Sets `path` to `value` in `root`, creating intermediate tables. Returns the canonical path
/// (method names resolved to `methods[i]`) for error messages.
pub fn set_path(root: &mut Table, path: &str, value: Value) -> Result<String, String> {
    let segments = parse_path(path)?;
    let mut canonical = Vec::new();
    let mut table = root;
    let last = segments.len() - 1;
    let mut i = 0;
    while i < segments.len() {
        let segment = &segments[i];
        // `methods.<name>` selects the method with that name.
        if let Segment::Key(key) = segment
            && key == "methods"
            && i < last
            && let Segment::Key(name) = &segments[i + 1]
        {
            let index = method_index(table, name)?;
            canonical.push(format!("methods[{index}]"));
            table = array_table(table, "methods", index)?;
            i += 2;
            if i > last {
                return Err(format!(
                    "`{path}`: cannot replace a whole method; set one of its keys"
                ));
            }
            continue;
        }
        match segment {
            Segment::Key(key) => {
                canonical.push(key.clone());
                if i == last {
                    match (table.get_mut(key), value) {
                        // A table merges key by key into the table it lands on.
                        (Some(Value::Table(existing)), Value::Table(over)) => {
                            merge_tables(existing, &over)
                        }
                        (_, value) => {
                            table.insert(key.clone(), value);
                        }
                    }
                    return Ok(canonical.join("."));
                }
                let entry = table
                    .entry(key.clone())
                    .or_insert_with(|| Value::Table(Table::new()));
                table = match entry {
                    Value::Table(t) => t,
                    other => {
                        return Err(format!(
                            "`{}` is a {}, not a table",
                            canonical.join("."),
                            other.type_str()
                        ));
                    }
                };
            }
            Segment::Index(key, index) => {
                canonical.push(format!("{key}[{index}]"));
                if i == last {
                    return Err(format!("`{path}`: cannot replace a whole array element"));
                }
                table = array_table(table, key, *index)?;
            }
        }
        i += 1;
    }
    Ok(canonical.join("."))
}

fn method_index(table: &Table, name: &str) -> Result<usize, String> {
    let methods = table
        .get("methods")
        .and_then(Value::as_array)
        .ok_or_else(|| "the experiment has no [[methods]]".to_string())?;
    let names: Vec<&str> = methods
        .iter()
        .filter_map(|m| m.get("name").and_then(Value::as_str))
        .collect();
    names.iter().position(|n| *n == name).ok_or_else(|| {
        format!(
            "no method named `{name}`; the methods are: {}",
            names.join(", ")
        )
    })
}

fn array_table<'a>(table: &'a mut Table, key: &str, index: usize) -> Result<&'a mut Table, String> {
    let array = table
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("`{key}` is not an array of tables"))?;
    let len = array.len();
    match array.get_mut(index) {
        Some(Value::Table(t)) => Ok(t),
        Some(_) => Err(format!("`{key}[{index}]` is not a table")),
        None => Err(format!(
            "`{key}[{index}]`: index out of range (there are {len})"
        )),
    }
}

/// Merges `over` into `base` key by key (tables merge recursively; other values replace).
pub fn merge_tables(base: &mut Table, over: &Table) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge_tables(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A compact text form of a value for variant labels: `0.1`, `relu`, `[50, 50]`; a table with a
/// `name` key is labelled by that name.
pub fn value_label(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Table(t) if t.get("name").and_then(Value::as_str).is_some() => {
            t["name"].as_str().unwrap_or_default().to_string()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse().unwrap()
    }

    #[test]
    fn values_parse_as_toml_or_fall_back_to_strings() {
        assert_eq!(parse_value("1e-3"), Value::Float(1e-3));
        assert_eq!(parse_value("40"), Value::Integer(40));
        assert_eq!(parse_value("relu"), Value::String("relu".into()));
        assert_eq!(parse_value("\"relu\""), Value::String("relu".into()));
        assert_eq!(
            parse_value("[50, 50]"),
            Value::Array(vec![Value::Integer(50), Value::Integer(50)])
        );
    }

    #[test]
    fn set_creates_and_replaces_keys() {
        let mut t = table("[train]\nepochs = 3\n");
        set_path(&mut t, "train.epochs", Value::Integer(9)).unwrap();
        set_path(&mut t, "model.dropout", Value::Float(0.5)).unwrap();
        assert_eq!(t["train"]["epochs"].as_integer(), Some(9));
        assert_eq!(t["model"]["dropout"].as_float(), Some(0.5));
        let over = parse_value("{ hidden = [10], name = \"small\" }");
        assert_eq!(value_label(&over), "small");
        set_path(&mut t, "model", over).unwrap();
        assert_eq!(t["model"]["dropout"].as_float(), Some(0.5), "tables merge");
        assert!(t["model"]["hidden"].is_array());
    }

    #[test]
    fn methods_are_addressed_by_name_or_index() {
        let text = "[[methods]]\nname = \"sgd\"\n[[methods]]\nname = \"adam\"\noptimizer = { kind = \"adam\", lr = 0.1 }\n";
        let mut t = table(text);
        let canonical = set_path(&mut t, "methods.adam.optimizer.lr", Value::Float(0.5)).unwrap();
        assert_eq!(canonical, "methods[1].optimizer.lr");
        set_path(&mut t, "methods[0].kind", Value::String("point".into())).unwrap();
        let methods = t["methods"].as_array().unwrap();
        assert_eq!(methods[1]["optimizer"]["lr"].as_float(), Some(0.5));
        assert_eq!(methods[0]["kind"].as_str(), Some("point"));
        let err = set_path(&mut t, "methods.rmsprop.lr", Value::Float(1.0)).unwrap_err();
        assert!(err.contains("sgd, adam"), "{err}");
        assert!(set_path(&mut t, "methods[5].lr", Value::Float(1.0)).is_err());
    }

    #[test]
    fn merge_is_recursive() {
        let mut base = table("a = 1\n[b]\nc = 2\nd = 3\n");
        merge_tables(&mut base, &table("[b]\nd = 4\n"));
        assert_eq!(base["b"]["c"].as_integer(), Some(2));
        assert_eq!(base["b"]["d"].as_integer(), Some(4));
        assert_eq!(base["a"].as_integer(), Some(1));
    }
}
