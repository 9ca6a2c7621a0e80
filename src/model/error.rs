//! Errors in model files, each pinned to a file, line and column.

use std::fmt;
use std::ops::Range;

/// One broken rule at one place of a model file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// 1-based line of the offending text.
    pub line: usize,
    /// 1-based column (in characters) of the offending text.
    pub column: usize,
    /// Byte range of the offending text in the file.
    pub span: Range<usize>,
    /// The key or parameter path at fault (empty when the whole file is at fault).
    pub key: String,
    /// The rule broken and what is accepted.
    pub message: String,
}

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("{file}: cannot read the model file: {source}")]
    Io {
        /// The path as given.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file was read but breaks the rules of MODEL.md (syntax, types or semantics).
    #[error("{}", render_diagnostics(file, diagnostics))]
    Invalid {
        /// The path as given.
        file: String,
        /// The file's text, for rendering snippets.
        source_text: String,
        /// Every problem found, in file order.
        diagnostics: Vec<Diagnostic>,
    },
}

fn render_diagnostics(file: &str, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&d.render(file));
    }
    out
}

impl Diagnostic {
    /// `file:line:col: key: message`, the form editors and people both understand.
    pub fn render(&self, file: &str) -> String {
        if self.key.is_empty() {
            format!("{file}:{}:{}: {}", self.line, self.column, self.message)
        } else {
            format!(
                "{file}:{}:{}: {}: {}",
                self.line, self.column, self.key, self.message
            )
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.key, self.message
        )
    }
}

/// Converts byte offsets into 1-based line and column numbers.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line, column + 1)
    }

    /// Offset of `key =` inside `span` (for errors about one key of an inline table), else the span start.
    pub(crate) fn find_key(&self, span: &Range<usize>, key: &str) -> Range<usize> {
        let Some(hay) = self.text.get(span.clone()) else {
            return span.clone();
        };
        let bytes = hay.as_bytes();
        let mut from = 0;
        while let Some(i) = hay[from..].find(key) {
            let at = from + i;
            let before_ok = at == 0 || {
                let c = bytes[at - 1];
                !(c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
            };
            let rest = hay[at + key.len()..].trim_start_matches([' ', '\t']);
            if before_ok && rest.starts_with('=') {
                return span.start + at..span.start + at + key.len();
            }
            from = at + key.len();
        }
        span.clone()
    }
}
