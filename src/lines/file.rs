//! The line file of MODEL.md §14: a CSV with one row per product line, validated like a model
//! file (every broken rule collected with its file, row, column and accepted range).

use std::collections::HashMap;

use crate::model::{Diagnostic, ModelError};

/// The columns a line file may have, in the order `lines import` writes them.
pub const COLUMNS: [&str; 7] = [
    "code",
    "exports",
    "share",
    "base_tariff",
    "competitor_base_tariff",
    "sector",
    "description",
];

/// Longest accepted code (HTS10 with a statistical suffix is 10; room for national codes).
pub const MAX_CODE_LEN: usize = 16;

/// One row of a line file as read: the numbers the row gives (`None` where the cell is empty
/// or the column absent), and where it is in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct LineRow {
    /// The product code (HS6, HTS8/10 or any code of letters and digits).
    pub code: String,
    /// Baseline exports X0 of the line (model units), > 0.
    pub exports: f64,
    /// θ of the line, in (0, 1]; the sector's when absent.
    pub share: Option<f64>,
    /// τ0 of the line; the sector's when absent.
    pub base_tariff: Option<f64>,
    /// c0 of the line; the sector's when absent.
    pub competitor_base_tariff: Option<f64>,
    /// The sector id named by the row, if any (checked against the model by the compiler).
    pub sector: Option<String>,
    /// Free text.
    pub description: String,
    /// 1-based line of the file the row starts on.
    pub line: usize,
    /// Byte offset of the row's `sector` cell (or of the row), for errors found later.
    pub sector_offset: usize,
    /// Byte offset of the row.
    pub offset: usize,
}

/// A read and validated line file.
#[derive(Debug, Clone)]
pub struct LineFile {
    /// The path as reported in errors and results.
    pub file: String,
    /// The file's text (for error snippets of rules checked later by the compiler).
    pub text: String,
    /// The rows, in file order.
    pub rows: Vec<LineRow>,
}

/// Whether `code` is a valid line code: 1 to [`MAX_CODE_LEN`] ASCII letters and digits.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The rule of [`valid_code`] in words, for error messages.
pub const CODE_RULE: &str =
    "1 to 16 ASCII letters and digits, no dots or spaces (HS 8708.29 is written 870829)";

/// A diagnostic at byte `offset` of `text`.
pub(crate) fn diagnostic_at(text: &str, offset: usize, key: &str, message: String) -> Diagnostic {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[start..offset].chars().count() + 1;
    Diagnostic {
        line,
        column,
        span: offset..offset,
        key: key.to_string(),
        message,
    }
}

/// Reads the line file at `path` (`file` names it in messages).
pub fn read_line_file(path: &std::path::Path, file: &str) -> Result<LineFile, ModelError> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        file: file.to_string(),
        source,
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let d = diagnostic_at(
                &text,
                offset,
                "",
                "the file is not valid UTF-8; accepted: UTF-8 text (save the CSV as UTF-8)".into(),
            );
            return Err(ModelError::Invalid {
                file: file.to_string(),
                source_text: text,
                diagnostics: vec![d],
            });
        }
    };
    parse_line_file(&text, file)
}

/// Parses and validates line-file text: every row's code, numbers and ranges, duplicate codes.
/// Which sector takes each line is checked by the model compiler, which knows the sectors.
pub fn parse_line_file(text: &str, file: &str) -> Result<LineFile, ModelError> {
    let mut diagnostics = Vec::new();
    let rows = parse_rows(text, &mut diagnostics);
    if diagnostics.is_empty() {
        Ok(LineFile {
            file: file.to_string(),
            text: text.to_string(),
            rows,
        })
    } else {
        diagnostics.sort_by_key(|d| (d.line, d.column));
        Err(ModelError::Invalid {
            file: file.to_string(),
            source_text: text.to_string(),
            diagnostics,
        })
    }
}

fn parse_rows(text: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<LineRow> {
    // A byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let skip = text.len() - body.len();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body.as_bytes());
    let error = |diagnostics: &mut Vec<Diagnostic>, offset: usize, key: &str, message: String| {
        diagnostics.push(diagnostic_at(text, skip + offset, key, message));
    };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            error(
                diagnostics,
                0,
                "",
                format!(
                    "cannot read the header row: {e}; accepted: a CSV header naming the columns {}",
                    COLUMNS.join(", ")
                ),
            );
            return Vec::new();
        }
    };
    // Byte offset of cell i within its row: the record keeps cells without their commas.
    let cell_start = |record: &csv::StringRecord, i: usize| -> usize {
        record.range(i).map(|r| r.start + i).unwrap_or(0)
    };
    let mut column_of: HashMap<&'static str, usize> = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        let name = name.trim();
        match COLUMNS.iter().find(|c| **c == name) {
            None => error(
                diagnostics,
                cell_start(&headers, i),
                name,
                format!(
                    "unknown column `{name}` (column {}); accepted: {}",
                    i + 1,
                    COLUMNS.join(", ")
                ),
            ),
            Some(known) => {
                if column_of.insert(known, i).is_some() {
                    error(
                        diagnostics,
                        cell_start(&headers, i),
                        name,
                        format!("column `{name}` appears twice; accepted: each column once"),
                    );
                }
            }
        }
    }
    for required in ["code", "exports"] {
        if !column_of.contains_key(required) {
            error(
                diagnostics,
                0,
                required,
                format!(
                    "the header has no `{required}` column; accepted: a header with code and exports, optionally {}",
                    COLUMNS[2..].join(", ")
                ),
            );
        }
    }
    if !diagnostics.is_empty() {
        return Vec::new();
    }
    let mut rows = Vec::new();
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let offset = e.position().map(|p| p.byte() as usize).unwrap_or(0);
                error(
                    diagnostics,
                    offset,
                    "",
                    format!("not a CSV row: {e}; accepted: comma-separated cells, text with commas in double quotes"),
                );
                break;
            }
        }
        let (row_offset, line) = record
            .position()
            .map(|p| (p.byte() as usize, p.line() as usize))
            .unwrap_or((0, 0));
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() != headers.len() {
            error(
                diagnostics,
                row_offset,
                "",
                format!(
                    "the row has {} cells, the header {}; accepted: one cell per header column",
                    record.len(),
                    headers.len()
                ),
            );
            continue;
        }
        let cell = |name: &str| -> Option<(&str, usize)> {
            let i = *column_of.get(name)?;
            Some((record.get(i)?.trim(), row_offset + cell_start(&record, i)))
        };
        let mut ok = true;
        let (code, code_offset) = cell("code").unwrap_or(("", row_offset));
        if !valid_code(code) {
            error(
                diagnostics,
                code_offset,
                "code",
                format!("invalid code `{code}`; accepted: {CODE_RULE}"),
            );
            ok = false;
        } else if let Some(&first) = first_line_of.get(code) {
            error(
                diagnostics,
                code_offset,
                "code",
                format!(
                    "duplicate code `{code}` (first on line {first}); accepted: each code once (sum the rows of one code)"
                ),
            );
            ok = false;
        } else {
            first_line_of.insert(code.to_string(), line);
        }
        let mut number = |name: &str, rule: &str, admits: fn(f64) -> bool, required: bool| {
            let (value, offset) = match cell(name) {
                Some((v, o)) if !v.is_empty() => (v, o),
                Some((_, o)) if required => {
                    error(
                        diagnostics,
                        o,
                        name,
                        format!("empty cell; accepted: a number {rule}"),
                    );
                    ok = false;
                    return None;
                }
                _ => return None,
            };
            match value.parse::<f64>() {
                Ok(x) if x.is_finite() && admits(x) => Some(x),
                Ok(x) if x.is_finite() => {
                    error(
                        diagnostics,
                        offset,
                        name,
                        format!("got {x}; accepted: a number {rule}"),
                    );
                    ok = false;
                    None
                }
                _ => {
                    error(
                        diagnostics,
                        offset,
                        name,
                        format!("`{value}` is not a number; accepted: a number {rule} (a decimal point, no thousands separators or % sign)"),
                    );
                    ok = false;
                    None
                }
            }
        };
        let exports = number("exports", "> 0", |x| x > 0.0, true);
        let share = number(
            "share",
            "in (0, 1] (a fraction: 0.3 = 30 %)",
            |x| x > 0.0 && x <= 1.0,
            false,
        );
        let tariff_rule = "> -1 and < 5 (a fraction: 0.25 = 25 %)";
        let base_tariff = number("base_tariff", tariff_rule, |x| x > -1.0 && x < 5.0, false);
        let competitor_base_tariff = number(
            "competitor_base_tariff",
            tariff_rule,
            |x| x > -1.0 && x < 5.0,
            false,
        );
        let (sector, sector_offset) = match cell("sector") {
            Some((s, o)) if !s.is_empty() => (Some(s.to_string()), o),
            _ => (None, row_offset),
        };
        let description = cell("description")
            .map(|(d, _)| d.to_string())
            .unwrap_or_default();
        if let (true, Some(exports)) = (ok, exports) {
            rows.push(LineRow {
                code: code.to_string(),
                exports,
                share,
                base_tariff,
                competitor_base_tariff,
                sector,
                description,
                line,
                sector_offset: skip + sector_offset,
                offset: skip + row_offset,
            });
        }
    }
    if rows.is_empty() && diagnostics.is_empty() {
        error(
            diagnostics,
            0,
            "",
            "the file has no lines; accepted: a header and at least one row".into(),
        );
    }
    rows
}
