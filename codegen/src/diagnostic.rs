//! Diagnostics: what every stage reports about the user's input.
//!
//! Owns the [`Diagnostic`] value (severity, message, primary span, label,
//! help, notes) and its rustc-style rendering:
//!
//! ```text
//! error: column "titl" does not exist
//!   --> queries/blog.sql:12:8
//!    |
//! 12 | SELECT titl FROM posts
//!    |        ^^^^ not a column of any table in scope
//!    |
//!    = help: perhaps you meant "title"
//! ```
//!
//! Spans are byte ranges into a [`SourceFile`]; columns are counted in
//! characters, so multi-byte text before the error does not shift the caret.
//! Lines longer than [`MAX_SHOWN_LINE`] characters are shown as a window
//! around the caret, cut with `...`; control characters show as their
//! Unicode pictures (`␀`).
//! This module never does IO.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A source file as read from disk, shared by every diagnostic that points into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path as shown to the user (relative to the working directory when possible).
    pub display_path: PathBuf,
    /// The file's text (valid UTF-8; invalid files never get this far).
    pub text: String,
}

impl SourceFile {
    /// A new source file.
    pub fn new(display_path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            display_path: display_path.into(),
            text: text.into(),
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = clamp_to_char_boundary(&self.text, offset);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// Byte range of the line containing `offset`, without its line terminator.
    fn line_range(&self, offset: usize) -> Range<usize> {
        let offset = clamp_to_char_boundary(&self.text, offset);
        let start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        let end = if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        start..end
    }

    /// Byte offset of the start of 1-based `line` and 1-based character `col`.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let mut start = 0;
        for _ in 1..line {
            match self.text[start..].find('\n') {
                Some(i) => start += i + 1,
                None => return self.text.len(),
            }
        }
        let line_text = &self.text[start..];
        let within = line_text
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i);
        start + within
    }
}

fn clamp_to_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Generation continues and output is written.
    Warning,
    /// Nothing is written.
    Error,
}

/// A location in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: Arc<SourceFile>,
    /// Byte range; may be empty (points at one position).
    pub span: Range<usize>,
}

impl Location {
    /// A location covering `span` in `file`.
    pub fn new(file: &Arc<SourceFile>, span: Range<usize>) -> Self {
        Self {
            file: Arc::clone(file),
            span,
        }
    }

    /// `path:line:col` of the start of the span.
    pub fn position(&self) -> String {
        let (line, col) = self.file.line_col(self.span.start);
        format!("{}:{line}:{col}", self.file.display_path.display())
    }
}

/// One message about the input, with where it applies and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One-line summary.
    pub message: String,
    /// Where; `None` for problems that are not about a place in a file.
    pub location: Option<Location>,
    /// Text next to the caret.
    pub label: Option<String>,
    /// A hint on how to fix it.
    pub help: Option<String>,
    /// Extra facts (e.g. "first defined at …").
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(message: impl Into<String>, location: Option<Location>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            location,
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    /// A warning at `location`.
    pub fn warning(message: impl Into<String>, location: Option<Location>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(message, location)
        }
    }

    /// An error at `span` of `file`.
    pub fn error_at(
        message: impl Into<String>,
        file: &Arc<SourceFile>,
        span: Range<usize>,
    ) -> Self {
        Self::error(message, Some(Location::new(file, span)))
    }

    /// Sets the caret label.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a note line.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Whether this is an error (blocks writing output).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:col`, if the diagnostic has a location.
    pub fn position(&self) -> Option<String> {
        self.location.as_ref().map(Location::position)
    }

    /// Renders the diagnostic the way rustc does (no colours).
    pub fn render(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Messages quote user text and PostgreSQL's errors, which quote the
        // query: an escape sequence in them must not reach the terminal.
        writeln!(f, "{severity}: {}", inert(&self.message))?;
        let help = self.help.as_deref().map(inert);
        let notes: Vec<String> = self.notes.iter().map(|note| inert(note)).collect();
        let Some(location) = &self.location else {
            if let Some(help) = &help {
                writeln!(f, "  = help: {help}")?;
            }
            for note in &notes {
                writeln!(f, "  = note: {note}")?;
            }
            return Ok(());
        };
        let file = &location.file;
        let (line, col) = file.line_col(location.span.start);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        writeln!(f, "{pad}--> {}:{line}:{col}", file.display_path.display())?;
        writeln!(f, "{pad} |")?;
        let line_range = file.line_range(location.span.start);
        let line_text = &file.text[line_range.clone()];
        // Underline the part of the span that lies on this line, at least one caret.
        let span_end = location.span.end.clamp(location.span.start, line_range.end);
        let span_end = clamp_to_char_boundary(&file.text, span_end);
        let start = clamp_to_char_boundary(&file.text, location.span.start.max(line_range.start));
        let lead: usize = file.text[line_range.start..start]
            .chars()
            .map(|c| if c == '\t' { 4 } else { 1 })
            .sum();
        let width = file.text[start..span_end].chars().count().max(1);
        let (shown, lead, width) = line_window(&printable(line_text), lead, width);
        writeln!(f, "{line} | {shown}")?;
        write!(f, "{pad} | {}{}", " ".repeat(lead), "^".repeat(width))?;
        match &self.label {
            Some(label) => writeln!(f, " {}", inert(label))?,
            None => writeln!(f)?,
        }
        if help.is_some() || !notes.is_empty() {
            writeln!(f, "{pad} |")?;
        }
        if let Some(help) = &help {
            writeln!(f, "{pad} = help: {help}")?;
        }
        for note in &notes {
            writeln!(f, "{pad} = note: {note}")?;
        }
        Ok(())
    }
}

/// A source line as shown: tabs expanded to four spaces, other control
/// characters (a NUL byte, say) as their one-character Unicode pictures.
fn printable(line: &str) -> String {
    let mut shown = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\t' => shown.push_str("    "),
            '\u{7f}' => shown.push('\u{2421}'),
            c if (c as u32) < 0x20 => shown.push(char::from_u32(0x2400 + c as u32).unwrap_or(c)),
            c => shown.push(c),
        }
    }
    shown
}

/// Message text made inert for a terminal: control characters other than
/// line breaks and tabs become their Unicode pictures (`␛` for ESC), C1
/// controls a `\u{…}` escape.
fn inert(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => shown.push(c),
            '\u{7f}' => shown.push('\u{2421}'),
            c if (c as u32) < 0x20 => shown.push(char::from_u32(0x2400 + c as u32).unwrap_or(c)),
            c if ('\u{80}'..='\u{9f}').contains(&c) => {
                shown.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => shown.push(c),
        }
    }
    shown
}

/// Widest source line shown whole; longer ones are cut to a window around the caret.
pub const MAX_SHOWN_LINE: usize = 120;

/// Characters of context kept before the caret when a line is cut.
const CONTEXT_BEFORE_CARET: usize = 40;

/// The part of a (tab-expanded) source line to show, and the caret's new
/// lead and width: the line itself when it fits in [`MAX_SHOWN_LINE`]
/// characters, else a window of that many around the caret, with `...` where
/// text was cut (like rustc). The caret stays under the same characters.
fn line_window(line: &str, lead: usize, width: usize) -> (String, usize, usize) {
    let length = line.chars().count();
    if length <= MAX_SHOWN_LINE {
        return (line.to_string(), lead, width);
    }
    let from = lead.saturating_sub(CONTEXT_BEFORE_CARET);
    let to = (from + MAX_SHOWN_LINE).min(length);
    let from = to.saturating_sub(MAX_SHOWN_LINE).min(from);
    let prefix = if from > 0 { "..." } else { "" };
    let suffix = if to < length { "..." } else { "" };
    let middle: String = line.chars().skip(from).take(to - from).collect();
    let lead_in_window = lead.saturating_sub(from);
    let width = width.min(to.saturating_sub(lead)).max(1);
    (
        format!("{prefix}{middle}{suffix}"),
        prefix.len() + lead_in_window,
        width,
    )
}

/// All diagnostics of a run, rendered one after the other, errors first counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        let errors = self.error_count();
        if errors > 0 {
            writeln!(f)?;
            let plural = if errors == 1 { "" } else { "s" };
            writeln!(
                f,
                "error: aborting due to {errors} error{plural}; nothing was written"
            )?;
        }
        Ok(())
    }
}

/// Shows `path` relative to the working directory when it lies below it.
pub fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let file = SourceFile::new(
            "queries/blog.sql",
            "-- name: X :one\nSELECT titl FROM posts;\n",
        );
        let start = file.text.find("titl").unwrap_or(0);
        let d = Diagnostic::error_at("column \"titl\" does not exist", &file, start..start + 4)
            .with_label("unknown column")
            .with_help("perhaps you meant \"title\"");
        assert_eq!(
            d.render(),
            "error: column \"titl\" does not exist\n \
             --> queries/blog.sql:2:8\n  |\n\
             2 | SELECT titl FROM posts;\n  |        ^^^^ unknown column\n  |\n  \
             = help: perhaps you meant \"title\"\n"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let chain = vec!["1"; 500].join(" + ");
        let long = format!("SELECT {chain} AS x, titl, {chain} AS y FROM posts");
        let file = SourceFile::new("q.sql", format!("-- name: X :one\n{long};\n"));
        let start = file.text.find("titl").unwrap_or(0);
        let d = Diagnostic::error_at("column \"titl\" does not exist", &file, start..start + 4);
        let text = d.render();
        // The position stays exact.
        let col = "SELECT ".len() + 500 * 4 - 3 + " AS x, ".len() + 1;
        assert!(text.contains(&format!("--> q.sql:2:{col}\n")), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let source = lines[3].strip_prefix("2 | ").unwrap_or_default();
        let caret = lines[4].strip_prefix("  | ").unwrap_or_default();
        assert!(
            source.starts_with("...") && source.ends_with("..."),
            "{source}"
        );
        assert_eq!(source.chars().count(), MAX_SHOWN_LINE + 6);
        // The caret is under `titl`.
        let lead = caret.find('^').unwrap_or(0);
        assert_eq!(&source[lead..lead + 4], "titl");
        assert_eq!(caret.trim(), "^^^^");

        // Near the start of a line only the end is cut, near its end only the start.
        let d = Diagnostic::error_at("e", &file, 16..22);
        let shown = d.render().lines().nth(3).unwrap_or_default().to_string();
        assert!(
            shown.starts_with("2 | SELECT 1 + ") && shown.ends_with("..."),
            "{shown}"
        );
        let end = file.text.find(';').unwrap_or(0);
        let d = Diagnostic::error_at("e", &file, end - 5..end);
        let rendered = d.render();
        let lines: Vec<&str> = rendered.lines().collect();
        assert!(
            lines[3].starts_with("2 | ...") && lines[3].ends_with("posts;"),
            "{rendered}"
        );
        let lead = lines[4].find('^').unwrap_or(0);
        assert_eq!(&lines[3][lead..], "posts;");
    }

    #[test]
    fn escape_sequences_in_messages_are_inert() {
        let diagnostic = Diagnostic::warning("near \"\u{1b}[31m\u{9b}\"", None)
            .with_help("a\u{7}b")
            .with_note("line\nbreak");
        let text = diagnostic.render();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.contains("near \"\u{241b}[31m\\u{9b}\""), "{text}");
        assert!(text.contains("a\u{2407}b"), "{text}");
        assert!(text.contains("line\nbreak"), "{text}");
    }

    #[test]
    fn control_characters_are_shown_as_pictures() {
        let file = SourceFile::new("s.sql", "CREATE TABLE t (a\0 int);\n");
        let d = Diagnostic::error_at("NUL", &file, 17..18);
        assert!(
            d.render()
                .contains("1 | CREATE TABLE t (a\u{2400} int);\n  |                  ^\n"),
            "{}",
            d.render()
        );
    }

    #[test]
    fn columns_count_characters() {
        let file = SourceFile::new("a.sql", "SELECT 'é', x");
        let offset = file.text.find('x').unwrap_or(0);
        assert_eq!(file.line_col(offset), (1, 13));
        assert_eq!(file.offset_of(1, 13), offset);
    }
}
