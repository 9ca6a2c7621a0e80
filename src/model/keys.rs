//! Refusals of the TOML layer explained like every other rule (issue 15, items 7 and 10):
//! serde stops at the first unknown key and says "invalid type: string "10.0", expected f64"
//! without the key; here every unknown key of the file is reported at its line and column with
//! the nearest accepted key, a wrong type names the key path and the accepted range, and a
//! key nested too deep for the parser is found on its line instead of at 1:1.
//!
//! The accepted keys are not listed here a second time: they are serde's own (the schema in
//! `schema.rs`), read from its refusals. Each unknown key is removed from the parsed document
//! and the document is deserialized again, until it passes or fails for another reason. The
//! accepted range of a key with a wrong type is the compiler's own too: the value is replaced
//! by `nan`, which no range accepts, and the compiler's refusal of it says what is accepted.

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::error::{Diagnostic, LineIndex};
use super::schema::RawModel;

/// At most this many unknown keys are collected (each costs one deserialization).
const MAX_UNKNOWN: usize = 200;

/// The diagnostics of a file that serde refused with `first` (message, span).
pub(crate) fn diagnose(
    text: &str,
    first: (String, Option<Range<usize>>),
    index: &LineIndex<'_>,
    explain: impl Fn(&str) -> String,
) -> Vec<Diagnostic> {
    let at = |span: Range<usize>, key: String, message: String| {
        let (line, column) = index.position(span.start);
        Diagnostic {
            line,
            column,
            span,
            key,
            message,
        }
    };
    let (message, span) = first;
    let Some(span) = span else {
        // The parser gives no position when it gives up on nesting: find the deepest key.
        if message.contains("recursion") {
            if let Some((span, depth)) = deepest_dotted_key(text) {
                return vec![at(
                    span,
                    String::new(),
                    format!("a key nested {depth} levels deep (dotted key or table header); accepted: keys nested a few levels, as in docs/model.md §4 (the model file's keys have at most 4)"),
                )];
            }
        }
        return vec![at(0..0, String::new(), explain(&message))];
    };
    let Ok(mut doc) = DeTable::parse(text) else {
        // A syntax error: the parser's message is the one to give.
        return vec![at(span, String::new(), explain(&message))];
    };
    let mut diagnostics = Vec::new();
    // Type errors: (index in `diagnostics`, span of the value).
    let mut typed: Vec<(usize, Range<usize>)> = Vec::new();
    let mut next = Some((message, span));
    while let Some((message, span)) = next.take() {
        if let Some(unknown) = parse_unknown(&message) {
            let removed = remove_key(doc.get_mut(), &span);
            let path = removed.clone().unwrap_or_default();
            diagnostics.push(at(span, path.clone(), unknown.message(&path)));
            if removed.is_none() || diagnostics.len() >= MAX_UNKNOWN {
                break;
            }
            next = match RawModel::deserialize(toml::de::Deserializer::from(doc.clone())) {
                Ok(_) => None,
                // Never lost: an error without a position is reported at 1:1.
                Err(e) => Some((
                    e.message().trim().replace('\n', " "),
                    e.span().unwrap_or(0..0),
                )),
            };
        } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
            let message_kind = message.clone();
            let path = value_path(doc.get_ref(), &span, "").unwrap_or_default();
            // The range is asked of the compiler once the whole layer is through (below).
            let accepted: Option<String> = None;
            typed.push((diagnostics.len(), span.clone()));
            let got = if message.starts_with("invalid type: map") {
                "a table"
            } else if message.starts_with("invalid type: sequence") {
                "an array"
            } else {
                &text[span.clone()]
            };
            let hint = quoted_number_hint(got);
            let expected = message
                .split_once(", expected ")
                .map(|(_, e)| expected_words(e))
                .unwrap_or_default();
            let message = match (path.is_empty(), accepted) {
                (false, Some(range)) => format!("got {got}, {expected}; accepted: {range}{hint}"),
                (false, None) => format!("got {got}, {expected}{hint}"),
                (true, _) => format!("{}{hint}", explain(&message)),
            };
            diagnostics.push(at(span.clone(), path, message));
            // Go on with a value of the expected type in its place, to find every other
            // problem of the layer (item 10: all unknown keys, not the first).
            let replaced = message_expected(&message_kind)
                .and_then(|literal| DeValue::parse(literal).ok())
                .is_some_and(|v| replace_value(doc.get_mut(), &span, v.into_inner()));
            if !replaced || diagnostics.len() >= MAX_UNKNOWN {
                break;
            }
            next = match RawModel::deserialize(toml::de::Deserializer::from(doc.clone())) {
                Ok(_) => None,
                // Never lost: an error without a position is reported at 1:1.
                Err(e) => Some((
                    e.message().trim().replace('\n', " "),
                    e.span().unwrap_or(0..0),
                )),
            };
        } else if let Some(field) = missing_field(&message) {
            diagnostics.push(at(span.clone(), String::new(), explain(&message)));
            // Go on as if it were given (often it is, misspelt: reported above).
            let filled = DeValue::parse("0.0")
                .ok()
                .is_some_and(|v| fill_missing(doc.get_mut(), &span, field, v.into_inner()));
            if !filled || diagnostics.len() >= MAX_UNKNOWN {
                break;
            }
            next = match RawModel::deserialize(toml::de::Deserializer::from(doc.clone())) {
                Ok(_) => None,
                // Never lost: an error without a position is reported at 1:1.
                Err(e) => Some((
                    e.message().trim().replace('\n', " "),
                    e.span().unwrap_or(0..0),
                )),
            };
        } else {
            diagnostics.push(at(span, String::new(), explain(&message)));
        }
    }
    // What the compiler accepts for each value of a wrong type: with every other problem of
    // the layer out of the way, the value is set to `nan`, which no range accepts, and the
    // compiler's refusal at that position names the range.
    for (i, span) in typed {
        let mut probe = doc.clone();
        let nan = DeValue::parse("nan").ok().map(|v| v.into_inner());
        if !nan.is_some_and(|v| replace_value(probe.get_mut(), &span, v)) {
            continue;
        }
        let Ok(raw) = RawModel::deserialize(toml::de::Deserializer::from(probe)) else {
            continue;
        };
        let Err(super::ModelError::Invalid {
            diagnostics: found, ..
        }) = super::compile::compile_raw(raw, text, "")
        else {
            continue;
        };
        let range = found
            .iter()
            .find(|d| d.span.start == span.start)
            .and_then(|d| {
                d.message
                    .split_once("accepted: ")
                    .map(|(_, a)| a.to_string())
            });
        if let Some(range) = range {
            let d = &mut diagnostics[i];
            d.message = match d.message.split_once(" (a number is written") {
                Some((head, hint)) => {
                    format!("{head}; accepted: {range} (a number is written{hint}")
                }
                None => format!("{}; accepted: {range}", d.message),
            };
        }
    }
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics
}

/// serde's "missing field `x`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// Adds `field = value` to the table at `span` (the root when the span is the whole file's).
fn fill_missing<'i>(
    table: &mut DeTable<'i>,
    span: &Range<usize>,
    field: &str,
    value: DeValue<'i>,
) -> bool {
    fn find<'a, 'i>(t: &'a mut DeTable<'i>, span: &Range<usize>) -> Option<&'a mut DeTable<'i>> {
        for (_, v) in t.iter_mut() {
            let here = v.span() == *span;
            match v.get_mut() {
                DeValue::Table(inner) => {
                    if here {
                        return Some(inner);
                    }
                    if let Some(found) = find(inner, span) {
                        return Some(found);
                    }
                }
                DeValue::Array(a) => {
                    for item in a.iter_mut() {
                        let here = item.span() == *span;
                        if let DeValue::Table(inner) = item.get_mut() {
                            if here {
                                return Some(inner);
                            }
                            if let Some(found) = find(inner, span) {
                                return Some(found);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        None
    }
    let Some(target) = find(table, span) else {
        return false;
    };
    if target.contains_key(field) {
        return false;
    }
    target.insert(
        toml::Spanned::new(span.clone(), std::borrow::Cow::Owned(field.to_string())),
        toml::Spanned::new(span.clone(), value),
    );
    true
}

/// serde's "unknown field `x`, expected one of `a`, `b`" taken apart.
struct Unknown {
    key: String,
    accepted: Vec<String>,
}

fn parse_unknown(message: &str) -> Option<Unknown> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let accepted = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some(Unknown {
        key: key.to_string(),
        accepted,
    })
}

impl Unknown {
    fn message(&self, path: &str) -> String {
        let place = match path.rsplit_once('.') {
            Some((table, _)) => format!(" in `{table}`"),
            None => " at the top level".to_string(),
        };
        let nearest = self
            .accepted
            .iter()
            .map(|a| (edit_distance(&self.key, a), a))
            .filter(|(d, a)| *d <= 2.max(a.len() / 3))
            .min();
        let hint = nearest.map_or(String::new(), |(_, a)| format!("did you mean `{a}`? "));
        let accepted = if self.accepted.is_empty() {
            "no keys here".to_string()
        } else {
            self.accepted.join(", ")
        };
        format!(
            "unknown key `{}`{place}; {hint}accepted: {accepted} (docs/model.md §4, The model file)",
            self.key
        )
    }
}

/// Levenshtein distance (keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// How an element of an array of tables is named in a path: by its `id`, else its index.
fn element_name(table: &DeTable<'_>, i: usize) -> String {
    match table.get("id").map(|v| v.get_ref()) {
        Some(DeValue::String(id)) => format!(".{id}"),
        _ => format!("[{i}]"),
    }
}

/// Removes the key whose name sits at `span`; returns its dotted path.
fn remove_key(table: &mut DeTable<'_>, span: &Range<usize>) -> Option<String> {
    let found = table
        .iter()
        .find(|(k, _)| k.span() == *span)
        .map(|(k, _)| k.get_ref().to_string());
    if let Some(name) = found {
        table.remove(name.as_str());
        return Some(name);
    }
    for (k, v) in table.iter_mut() {
        let name = k.get_ref().to_string();
        match v.get_mut() {
            DeValue::Table(t) => {
                if let Some(p) = remove_key(t, span) {
                    return Some(format!("{name}.{p}"));
                }
            }
            DeValue::Array(a) => {
                for (i, item) in a.iter_mut().enumerate() {
                    if let DeValue::Table(t) = item.get_mut() {
                        let element = element_name(t, i);
                        if let Some(p) = remove_key(t, span) {
                            return Some(format!("{name}{element}.{p}"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The dotted path of the value at `span` (or of the table holding it).
fn value_path(table: &DeTable<'_>, span: &Range<usize>, prefix: &str) -> Option<String> {
    for (k, v) in table.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        if v.span() == *span {
            return Some(path);
        }
        match v.get_ref() {
            DeValue::Table(t) => {
                if let Some(p) = value_path(t, span, &path) {
                    return Some(p);
                }
            }
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    match item.get_ref() {
                        DeValue::Table(t) => {
                            let element = format!("{path}{}", element_name(t, i));
                            if item.span() == *span {
                                return Some(element);
                            }
                            if let Some(p) = value_path(t, span, &element) {
                                return Some(p);
                            }
                        }
                        _ if item.span() == *span => return Some(format!("{path}[{i}]")),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// `"10.0"` where a number belongs: the number without quotes.
fn quoted_number_hint(got: &str) -> String {
    let inner = got.trim().trim_matches(|c| c == '"' || c == '\'');
    if got.trim().starts_with(['"', '\'']) && inner.trim().parse::<f64>().is_ok() {
        format!(" (a number is written without quotes: {})", inner.trim())
    } else {
        String::new()
    }
}

/// A TOML literal of the type serde expected in `message` ("..., expected f64").
fn message_expected(message: &str) -> Option<&'static str> {
    let (_, expected) = message.split_once(", expected ")?;
    Some(match expected.trim() {
        "f64" | "f32" | "a float" => "0.0",
        "u64" | "usize" | "u32" | "i64" | "an integer" => "0",
        "a string" | "a borrowed string" => "\"\"",
        "a boolean" => "false",
        "a sequence" => "[]",
        _ => return None,
    })
}

/// Puts `value` in place of the value at `span`, keeping the span; whether it was found.
fn replace_value<'i>(table: &mut DeTable<'i>, span: &Range<usize>, value: DeValue<'i>) -> bool {
    let mut value = Some(value);
    replace_in(table, span, &mut value)
}

fn replace_in<'i>(
    table: &mut DeTable<'i>,
    span: &Range<usize>,
    value: &mut Option<DeValue<'i>>,
) -> bool {
    for (_, v) in table.iter_mut() {
        if v.span() == *span {
            if let Some(new) = value.take() {
                *v.get_mut() = new;
                return true;
            }
        }
        match v.get_mut() {
            DeValue::Table(t) => {
                let found = replace_in(t, span, value);
                if found {
                    return true;
                }
            }
            DeValue::Array(a) => {
                for item in a.iter_mut() {
                    if item.span() == *span {
                        if let Some(new) = value.take() {
                            *item.get_mut() = new;
                            return true;
                        }
                    }
                    if let DeValue::Table(t) = item.get_mut() {
                        if replace_in(t, span, value) {
                            return true;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// serde's type names in words.
fn expected_words(expected: &str) -> String {
    let what = match expected.trim() {
        "f64" | "f32" | "a float" => "a number",
        "u64" | "usize" | "u32" | "i64" | "an integer" => "a whole number",
        "a string" | "a borrowed string" => "a string in quotes",
        "a boolean" => "true or false",
        "a sequence" => "an array [...]",
        other => other,
    };
    format!("where {what} belongs")
}

/// The deepest dotted key or table header of `text` (the parser's recursion limit).
fn deepest_dotted_key(text: &str) -> Option<(Range<usize>, usize)> {
    let mut best: Option<(Range<usize>, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let start = offset + (line.len() - trimmed.len());
        let key = if trimmed.starts_with('[') {
            trimmed.trim_start_matches('[').split(']').next()
        } else {
            trimmed.split('=').next().filter(|_| trimmed.contains('='))
        };
        if let Some(key) = key {
            let depth = key.matches('.').count() + 1;
            if best.as_ref().is_none_or(|b| depth > b.1) {
                best = Some((start..start + key.trim_end().len(), depth));
            }
        }
        offset += line.len();
    }
    best.filter(|b| b.1 > 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("gdpp", "gdp"), 1);
        assert_eq!(edit_distance("sigam", "sigma"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn unknown_field_messages_are_taken_apart() {
        let u = parse_unknown(
            "unknown field `gdpp`, expected one of `imports_from_importer`, `gdp`, `growth`",
        )
        .unwrap();
        assert_eq!(u.key, "gdpp");
        assert_eq!(u.accepted, ["imports_from_importer", "gdp", "growth"]);
        assert!(u
            .message("baseline.gdpp")
            .contains("in `baseline`; did you mean `gdp`?"));
        let u = parse_unknown("unknown field `x`, expected `between` or `rho`").unwrap();
        assert_eq!(u.accepted, ["between", "rho"]);
        assert!(!u.message("x").contains("did you mean"));
    }
}
