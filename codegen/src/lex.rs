//! Lexing of query files: annotations and placeholders.
//!
//! Owns everything that is read from a `.sql` file *before* SQL parsing:
//! splitting a file into queries at `-- name:` lines (or sqlc's
//! `/* name: … */`), the header (name and kind), doc comments, `-- @…`
//! directives, and the placeholder forms (`:name`, `:name?`, `@name`,
//! `sqlc.arg(name)`, `sqlc.narg(name)`, `$n`), which it rewrites to
//! PostgreSQL's `$n`; `[NOT] IN (sqlc.slice(name))` becomes `= ANY($n)`
//! (`<> ALL($n)`, child module `slice`). In the sqlc dialect
//! ([`Dialect::Sqlc`]) a query is the one statement after its header and
//! statements without a header are skipped; in Quarry's they are an error
//! ([`lex_file_as`]). It also strips the nullability
//! suffix of alias overrides (`AS "total!"`). Every rewrite is recorded in an
//! [`OffsetMap`] so positions PostgreSQL or sqlparser report in the rewritten
//! SQL map back to the byte in the file. It finds dynamic queries' `/*? … */`
//! blocks and `/*sort: … */` lists (their shape and rules are in the child module `dynamic`) and
//! writes the full variant: blocks' text without delimiters, the first sort
//! entry in place of the list.
//!
//! The scanner understands string literals (`'…'`, `E'…'`, dollar quotes),
//! quoted identifiers, `--` and nested `/* */` comments and the `::` cast, so
//! nothing inside them is mistaken for a placeholder — or for a `-- name:`
//! header. The same rules are exposed as a token iterator ([`tokens`]), which
//! also splits schema scripts into statements ([`split_statements`]) and
//! bounds how deeply a query nests before anything recursive parses it
//! ([`nesting_exceeds`], [`MAX_NESTING`]). This module does no IO and knows
//! nothing of PostgreSQL's catalog.

use std::ops::Range;
use std::sync::Arc;

use self::dynamic::{syntax, BlockDef, DynamicDef, SortDef};
use crate::config::Dialect;
use crate::diagnostic::{Diagnostic, SourceFile};

pub mod dynamic;
pub mod embed;
mod slice;
#[cfg(test)]
mod sqlc_tests;

/// The result kind of a query, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryKind {
    /// `:one` — exactly one row.
    One,
    /// `:opt` — zero or one row.
    Opt,
    /// `:many` — any number of rows.
    Many,
    /// `:exec` / `:execrows` — rows affected.
    Exec,
    /// `:execresult` — rows affected and the command tag (`quarry::ExecResult`).
    ExecResult,
    /// `:copyfrom` — many rows inserted with one binary `COPY`; the row count.
    CopyFrom,
    /// `:batchexec` — the statement once per element, pipelined: rows affected per element.
    BatchExec,
    /// `:batchmany` — the statement once per element, pipelined: its rows per element.
    BatchMany,
    /// `:batchone` — the statement once per element, pipelined: exactly one row per element.
    BatchOne,
}

impl QueryKind {
    /// The spelling in a header.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::One => ":one",
            QueryKind::Opt => ":opt",
            QueryKind::Many => ":many",
            QueryKind::Exec => ":exec",
            QueryKind::ExecResult => ":execresult",
            QueryKind::CopyFrom => ":copyfrom",
            QueryKind::BatchExec => ":batchexec",
            QueryKind::BatchMany => ":batchmany",
            QueryKind::BatchOne => ":batchone",
        }
    }

    /// Whether the kind returns rows.
    pub fn returns_rows(self) -> bool {
        match self {
            QueryKind::One | QueryKind::Opt | QueryKind::Many => true,
            QueryKind::BatchMany | QueryKind::BatchOne => true,
            QueryKind::Exec | QueryKind::ExecResult => false,
            QueryKind::CopyFrom | QueryKind::BatchExec => false,
        }
    }

    /// Whether the kind runs the statement for many parameter sets at once
    /// (`:copyfrom` and the `:batch…` kinds): its function takes
    /// `<Name>Params` values, not one call's arguments.
    pub fn is_bulk(self) -> bool {
        match self {
            QueryKind::One | QueryKind::Opt | QueryKind::Many => false,
            QueryKind::Exec | QueryKind::ExecResult => false,
            QueryKind::CopyFrom
            | QueryKind::BatchExec
            | QueryKind::BatchMany
            | QueryKind::BatchOne => true,
        }
    }
}

/// A nullability the user asserted for an output column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nullability {
    /// `"col!"` / `@not_null`.
    NotNull,
    /// `"col?"` / `@nullable`.
    Nullable,
}

/// A user-written nullability override of one output column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnOverride {
    /// Column name (without the suffix).
    pub column: String,
    /// What the user asserted.
    pub nullability: Nullability,
    /// Where it was written (byte range in the file).
    pub span: Range<usize>,
}

/// How a parameter was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStyle {
    /// `:name`, `@name`, `sqlc.arg(name)` and their nullable forms.
    Named,
    /// `$n`.
    Positional,
}

/// One parameter of a query, in order of first appearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDef {
    /// The name as written; for positional parameters `None` until named from context.
    pub name: Option<String>,
    /// `:name?` / `sqlc.narg(name)`.
    pub nullable: bool,
    /// Every occurrence (byte ranges in the file).
    pub spans: Vec<Range<usize>>,
    /// How it was written.
    pub style: ParamStyle,
}

/// One piece of the rewritten SQL and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    rewritten: usize,
    original: usize,
    /// `None`: text copied verbatim; `Some(len)`: a replacement of `len` original bytes.
    replaced: Option<usize>,
}

/// Maps byte offsets in the rewritten SQL back to byte offsets in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffsetMap {
    segments: Vec<Segment>,
}

impl OffsetMap {
    fn copy(&mut self, rewritten: usize, original: usize) {
        self.segments.push(Segment {
            rewritten,
            original,
            replaced: None,
        });
    }

    fn replace(&mut self, rewritten: usize, original: Range<usize>) {
        self.segments.push(Segment {
            rewritten,
            original: original.start,
            replaced: Some(original.len()),
        });
    }

    /// A map sending every offset to `span.start`: for SQL the generator wrote
    /// itself, whose errors belong at the line that asked for it.
    pub fn pointing_at(span: Range<usize>) -> Self {
        Self {
            segments: vec![Segment {
                rewritten: 0,
                original: span.start,
                replaced: Some(0),
            }],
        }
    }

    /// File byte offset of a rewritten-SQL byte offset. Offsets inside a
    /// replacement map to the start of what was replaced.
    pub fn to_file(&self, rewritten: usize) -> usize {
        let index = self.segments.partition_point(|s| s.rewritten <= rewritten);
        match index.checked_sub(1).and_then(|i| self.segments.get(i)) {
            None => self.segments.first().map_or(0, |s| s.original),
            Some(segment) => match segment.replaced {
                None => segment.original + (rewritten - segment.rewritten),
                Some(_) if rewritten == segment.rewritten => segment.original,
                Some(len) => segment.original + len.min(rewritten - segment.rewritten),
            },
        }
    }

    /// File byte range of a rewritten-SQL byte range.
    pub fn range_to_file(&self, rewritten: Range<usize>) -> Range<usize> {
        let start = self.to_file(rewritten.start);
        let end = self.to_file(rewritten.end).max(start);
        start..end
    }

    /// For a text built from pieces of another (a dynamic query's variant):
    /// `at` onwards maps like `from` maps `range` of its own text. Pieces are
    /// pushed in order of `at`.
    pub fn push_slice(&mut self, from: &OffsetMap, range: Range<usize>, at: usize) {
        let first = from
            .segments
            .partition_point(|s| s.rewritten <= range.start);
        match first.checked_sub(1).and_then(|i| from.segments.get(i)) {
            Some(&Segment {
                original,
                replaced: Some(len),
                ..
            }) => self.replace(at, from.to_file(range.start)..original + len),
            _ => self.copy(at, from.to_file(range.start)),
        }
        for segment in from.segments.iter().skip(first) {
            if segment.rewritten >= range.end {
                break;
            }
            self.segments.push(Segment {
                rewritten: at + (segment.rewritten - range.start),
                ..*segment
            });
        }
    }

    /// From `at` on, offsets map to `original` in the file and onwards.
    pub fn push_copy(&mut self, at: usize, original: usize) {
        self.copy(at, original);
    }

    /// From `at` on, offsets map into the file's `original` (a replacement).
    pub fn push_replace(&mut self, at: usize, original: Range<usize>) {
        self.replace(at, original);
    }
}

/// A directive line (`-- @name args`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The directive's name without `@`.
    pub name: String,
    /// Everything after the name, trimmed.
    pub args: String,
    /// The whole directive text (from `@`) in the file.
    pub span: Range<usize>,
    /// The arguments in the file.
    pub args_span: Range<usize>,
}

/// One query of a file, lexed.
#[derive(Debug, Clone)]
pub struct QueryDef {
    /// The file it comes from.
    pub file: Arc<SourceFile>,
    /// The name from the header (`ListPosts`).
    pub name: String,
    /// The name in the header.
    pub name_span: Range<usize>,
    /// The kind from the header.
    pub kind: QueryKind,
    /// The kind in the header (`:one`).
    pub kind_span: Range<usize>,
    /// Plain comment lines after the header (rustdoc).
    pub docs: Vec<String>,
    /// `@row Name`.
    pub row_name: Option<(String, Range<usize>)>,
    /// Overrides from `@nullable`/`@not_null` and alias suffixes.
    pub overrides: Vec<ColumnOverride>,
    /// Directives not interpreted by the lexer (for later stages), in order.
    pub directives: Vec<Directive>,
    /// The SQL text as written (without the final `;`) in the file.
    pub sql_span: Range<usize>,
    /// The SQL with placeholders rewritten to `$n` and alias suffixes removed.
    pub sql: String,
    /// Parameters in order of first appearance; `params[i]` is `$(i+1)`.
    pub params: Vec<ParamDef>,
    /// Rewritten offsets → file offsets.
    pub offsets: OffsetMap,
    /// Every `$n` in [`sql`](Self::sql): parameter index (0-based) and byte range.
    pub param_sites: Vec<(usize, Range<usize>)>,
    /// `/*? … */` blocks and the `/*sort: … */` whitelist, when the query
    /// has any; [`sql`](Self::sql) is then the full variant.
    pub dynamic: Option<DynamicDef>,
    /// Every `sqlc.embed(t)`, rewritten to `t.*` ([`embed`]).
    pub embeds: Vec<embed::EmbedDef>,
}

impl QueryDef {
    /// The SQL with `::cast` appended to every use of the parameters in
    /// `casts` (parameter index → type), e.g. `$1` → `$1::int4`.
    pub fn sql_with_param_casts(
        &self,
        casts: &std::collections::BTreeMap<usize, String>,
    ) -> String {
        let mut out = String::with_capacity(self.sql.len());
        let mut copied = 0;
        let mut sites: Vec<&(usize, Range<usize>)> = self.param_sites.iter().collect();
        sites.sort_by_key(|(_, range)| range.start);
        for (index, range) in sites {
            if let Some(cast) = casts.get(index) {
                out.push_str(&self.sql[copied..range.end]);
                out.push_str("::");
                out.push_str(cast);
                copied = range.end;
            }
        }
        out.push_str(&self.sql[copied..]);
        out
    }
}

impl QueryDef {
    /// File span of a byte range of the rewritten SQL.
    pub fn file_span(&self, rewritten: Range<usize>) -> Range<usize> {
        self.offsets.range_to_file(rewritten)
    }
}

/// Directives the lexer understands itself.
const LEXER_DIRECTIVES: &[&str] = &["nullable", "not_null", "row"];

/// Directives later stages understand (passed through in [`QueryDef::directives`]).
pub const STAGE_DIRECTIVES: &[&str] = &["key", "prefetch", "chunk", "allow"];

const KINDS: &[(&str, QueryKind)] = &[
    ("one", QueryKind::One),
    ("opt", QueryKind::Opt),
    ("many", QueryKind::Many),
    ("exec", QueryKind::Exec),
    ("execrows", QueryKind::Exec),
    ("execresult", QueryKind::ExecResult),
    ("copyfrom", QueryKind::CopyFrom),
    ("batchexec", QueryKind::BatchExec),
    ("batchmany", QueryKind::BatchMany),
    ("batchone", QueryKind::BatchOne),
];

/// The kinds a header may name, for help texts.
const KIND_LIST: &str =
    ":one, :opt, :many, :exec, :execrows, :execresult, :copyfrom, :batchexec, :batchmany, :batchone";

/// Splits a file into queries and lexes each, in Quarry's dialect ([`lex_file_as`]).
#[cfg(test)]
pub fn lex_file(file: &Arc<SourceFile>) -> (Vec<QueryDef>, Vec<Diagnostic>) {
    lex_file_as(file, Dialect::Quarry)
}

/// Splits a file into queries and lexes each. Returns every query that lexed
/// cleanly and all diagnostics (errors for the rest). In Quarry's dialect
/// SQL without a header is an error; in sqlc's a query is the one statement
/// after its header, and statements without a header are skipped (a file
/// without any header holds no query).
pub fn lex_file_as(file: &Arc<SourceFile>, dialect: Dialect) -> (Vec<QueryDef>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let headers = find_headers(&file.text);
    if headers.is_empty() {
        if dialect == Dialect::Quarry {
            diagnostics.push(no_query_diagnostic(file));
        }
        return (Vec::new(), diagnostics);
    }
    // Anything but comments and blank space before the first header is SQL without a name.
    let before = (dialect == Dialect::Quarry).then(|| first_sql_offset(&file.text[..headers[0]]));
    if let Some(offset) = before.flatten() {
        diagnostics.push(
            Diagnostic::error_at(
                "SQL outside of a query",
                file,
                offset..line_end(&file.text, offset),
            )
            .with_label("this SQL has no `-- name:` header")
            .with_help("start every query with a header line like `-- name: ListPosts :many`"),
        );
    }
    let mut queries = Vec::new();
    for (i, &start) in headers.iter().enumerate() {
        let end = headers.get(i + 1).copied().unwrap_or(file.text.len());
        match lex_query(file, start..end, dialect) {
            Ok(query) => queries.push(query),
            Err(mut errors) => diagnostics.append(&mut errors),
        }
    }
    (queries, diagnostics)
}

fn no_query_diagnostic(file: &Arc<SourceFile>) -> Diagnostic {
    let (message, span) = match first_sql_offset(&file.text) {
        None => ("file contains no queries".to_string(), 0..0),
        Some(offset) => (
            "SQL outside of a query".to_string(),
            offset..line_end(&file.text, offset),
        ),
    };
    Diagnostic::error_at(message, file, span)
        .with_label("expected a `-- name:` header")
        .with_help("start every query with a header line like `-- name: ListPosts :many`")
}

fn line_end(text: &str, offset: usize) -> usize {
    text[offset..].find('\n').map_or(text.len(), |i| offset + i)
}

/// Byte offsets of every header: a `-- name:` comment or (sqlc's other
/// form) a `/* name: … */` comment that starts its line, outside strings,
/// dollar quotes, quoted identifiers and other comments (a header inside a
/// string literal is part of the string).
fn find_headers(text: &str) -> Vec<usize> {
    tokens(text)
        .filter(|token| {
            let comment = &text[token.span.clone()];
            let header = match token.kind {
                TokenKind::LineComment => header_rest(comment).is_some(),
                TokenKind::BlockComment => block_header_rest(comment).is_some(),
                _ => false,
            };
            let line_start = text[..token.span.start].rfind('\n').map_or(0, |i| i + 1);
            header
                && text[line_start..token.span.start]
                    .bytes()
                    .all(|c| c == b' ' || c == b'\t' || c == b'\r')
        })
        .map(|token| token.span.start)
        .collect()
}

/// For a `/* name: … */` comment, the text after `name:`.
fn block_header_rest(comment: &str) -> Option<&str> {
    let rest = comment.strip_prefix("/*")?.trim_start();
    rest.strip_prefix("name:")
}

/// The header starting at `start` (of a query ending at `end`): the
/// header's text to read (a block comment's without its `*/`) and where
/// what follows it starts; an unclosed `/* name:` is an error.
fn header_extent(
    file: &Arc<SourceFile>,
    start: usize,
    end: usize,
) -> Result<(Range<usize>, usize), Vec<Diagnostic>> {
    let text = &file.text;
    if !text[start..].starts_with("/*") {
        let line_end = line_end(text, start);
        return Ok((start..line_end, (line_end + 1).min(end)));
    }
    match skip_block_comment(text.as_bytes(), start) {
        Some(close) => Ok((start..close - 2, close)),
        None => Err(vec![Diagnostic::error_at(
            "unterminated query header",
            file,
            start..start + 2,
        )
        .with_label("`/* name:` opens a comment that is never closed")
        .with_help("close the header: `/* name: ListPosts :many */`")]),
    }
}

/// For a `-- name: …` line, the text after `name:`.
fn header_rest(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("--")?.trim_start();
    rest.strip_prefix("name:")
}

/// The first byte that is not whitespace or a comment, if any.
fn first_sql_offset(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // A `;` before any SQL ends an empty statement: a query of only
            // `;` has no SQL.
            b' ' | b'\t' | b'\r' | b'\n' | b';' => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i).unwrap_or(bytes.len());
            }
            _ => return Some(i),
        }
    }
    None
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_char(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Lexes the query whose header line starts at `range.start`.
fn lex_query(
    file: &Arc<SourceFile>,
    mut range: Range<usize>,
    dialect: Dialect,
) -> Result<QueryDef, Vec<Diagnostic>> {
    let text = &file.text;
    let mut errors = Vec::new();
    let (header, after_header) = header_extent(file, range.start, range.end)?;
    let header_end = header.end;
    let (name, name_span, kind, kind_span) = lex_header(file, range.start, &text[header])?;
    let comments = read_comment_block(text, after_header..range.end);
    let mut directives = sort_directives(file, comments.directives, &mut errors);

    // The SQL: from the first non-comment byte to the end of the query's range.
    let offset = comments.end;
    let Some(sql_rel) = first_sql_offset(&text[offset..range.end]) else {
        errors.push(
            Diagnostic::error_at(
                format!("query `{name}` has no SQL"),
                file,
                range.start..header_end,
            )
            .with_label("header without a statement")
            .with_help("write the statement on the lines after the header"),
        );
        return Err(errors);
    };
    let sql_start = offset + sql_rel;
    if dialect == Dialect::Sqlc {
        // sqlc's query is the one statement after the header; what follows
        // up to the next header is skipped.
        let statements = split_statements(&text[sql_start..range.end]);
        if let Some(first) = statements.first() {
            range.end = sql_start + first.end;
        }
    }
    let scan = match scan_sql(file, sql_start..range.end) {
        Ok(scan) => scan,
        Err(error) => {
            errors.push(*error);
            return Err(errors);
        }
    };
    directives.overrides.extend(scan.alias_overrides);
    if let (true, Some(dynamic)) = (kind.is_bulk(), &scan.dynamic) {
        let span = dynamic
            .blocks
            .first()
            .map(|b| b.span.clone())
            .or_else(|| dynamic.sort.as_ref().map(|s| s.span.clone()))
            .unwrap_or(kind_span.clone());
        errors.push(syntax::dynamic_in_bulk(file, span, kind.as_str()));
    }
    // Refused before anything recursive (sqlparser, the analyses) sees it.
    if let Some(at) = nesting_exceeds(&scan.sql, MAX_NESTING) {
        errors.push(too_deeply_nested(
            file,
            &name,
            scan.offsets.to_file(at),
            range.end,
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(QueryDef {
        file: Arc::clone(file),
        name,
        name_span,
        kind,
        kind_span,
        docs: comments.docs,
        row_name: directives.row_name,
        overrides: directives.overrides,
        directives: directives.passthrough,
        sql_span: sql_start..scan.end,
        sql: scan.sql,
        params: scan.params,
        offsets: scan.offsets,
        param_sites: scan.sites,
        dynamic: scan.dynamic,
        embeds: scan.embeds,
    })
}

/// The comment lines right after a query's header.
struct CommentBlock {
    /// Doc comment lines, without trailing empty ones.
    docs: Vec<String>,
    /// `-- @name args` lines, in order.
    directives: Vec<Directive>,
    /// Where the first line that is not a comment (or blank) starts.
    end: usize,
}

/// Reads the docs and directives written in `range` before the SQL.
fn read_comment_block(text: &str, range: Range<usize>) -> CommentBlock {
    let mut docs = Vec::new();
    let mut directives = Vec::new();
    let mut offset = range.start;
    while offset < range.end {
        let end = line_end(text, offset).min(range.end);
        let line = &text[offset..end];
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() {
            offset = (end + 1).min(range.end);
            continue;
        }
        let Some(comment) = trimmed.strip_prefix("--") else {
            break;
        };
        let comment_start = offset + indent + 2;
        if comment.trim().starts_with('@') {
            directives.push(directive_at(comment, comment_start));
        } else {
            docs.push(
                comment
                    .strip_prefix(' ')
                    .unwrap_or(comment)
                    .trim_end()
                    .to_string(),
            );
        }
        offset = (end + 1).min(range.end);
    }
    // Trailing empty doc lines carry nothing.
    while docs.last().is_some_and(String::is_empty) {
        docs.pop();
    }
    CommentBlock {
        docs,
        directives,
        end: offset,
    }
}

/// The directive in `comment` (the text after `--`, starting at byte
/// `comment_start` of the file), whose trimmed text starts with `@`.
fn directive_at(comment: &str, comment_start: usize) -> Directive {
    let directive = &comment.trim()[1..];
    let at = comment_start + (comment.len() - comment.trim_start().len());
    let name_len = directive
        .bytes()
        .take_while(|&c| c.is_ascii_alphanumeric() || c == b'_')
        .count();
    let args = directive[name_len..].trim();
    let args_start = at
        + 1
        + name_len
        + (directive[name_len..].len() - directive[name_len..].trim_start().len());
    Directive {
        name: directive[..name_len].to_string(),
        args: args.to_string(),
        span: at..at + 1 + directive.len(),
        args_span: args_start..args_start + args.len(),
    }
}

/// A query's directives sorted by who handles them.
struct SortedDirectives {
    /// `@row Name`.
    row_name: Option<(String, Range<usize>)>,
    /// `@nullable`/`@not_null` columns.
    overrides: Vec<ColumnOverride>,
    /// Directives of later stages, passed on untouched.
    passthrough: Vec<Directive>,
}

/// Applies the lexer's own directives and passes on those of later stages;
/// unknown and malformed directives are diagnostics.
fn sort_directives(
    file: &Arc<SourceFile>,
    directives: Vec<Directive>,
    errors: &mut Vec<Diagnostic>,
) -> SortedDirectives {
    let mut sorted = SortedDirectives {
        row_name: None,
        overrides: Vec::new(),
        passthrough: Vec::new(),
    };
    for directive in directives {
        match directive.name.as_str() {
            "nullable" => nullability_overrides(
                file,
                &directive,
                Nullability::Nullable,
                &mut sorted.overrides,
                errors,
            ),
            "not_null" => nullability_overrides(
                file,
                &directive,
                Nullability::NotNull,
                &mut sorted.overrides,
                errors,
            ),
            "row" => {
                if !is_valid_name(&directive.args) {
                    errors.push(
                        Diagnostic::error_at(
                            "`@row` needs a type name",
                            file,
                            directive.span.clone(),
                        )
                        .with_help("write `-- @row Post`"),
                    );
                } else if sorted.row_name.is_some() {
                    errors.push(Diagnostic::error_at(
                        "duplicate `@row` directive",
                        file,
                        directive.span.clone(),
                    ));
                } else {
                    sorted.row_name = Some((directive.args.clone(), directive.args_span.clone()));
                }
            }
            other if STAGE_DIRECTIVES.contains(&other) => sorted.passthrough.push(directive),
            other => errors.push(unknown_directive(file, &directive, other)),
        }
    }
    sorted
}

/// The columns of one `@nullable`/`@not_null` line.
fn nullability_overrides(
    file: &Arc<SourceFile>,
    directive: &Directive,
    nullability: Nullability,
    overrides: &mut Vec<ColumnOverride>,
    errors: &mut Vec<Diagnostic>,
) {
    if directive.args.is_empty() {
        errors.push(
            Diagnostic::error_at(
                format!("`@{}` needs at least one column name", directive.name),
                file,
                directive.span.clone(),
            )
            .with_help(format!("write `-- @{} col_a, col_b`", directive.name)),
        );
        return;
    }
    let mut at = directive.args_span.start;
    for part in directive.args.split(',') {
        let column = part.trim();
        let lead = part.len() - part.trim_start().len();
        let span = at + lead..at + lead + column.len();
        at += part.len() + 1;
        if column.is_empty() {
            errors.push(Diagnostic::error_at("empty column name", file, span));
        } else {
            overrides.push(ColumnOverride {
                column: column.to_string(),
                nullability,
                span,
            });
        }
    }
}

fn unknown_directive(file: &Arc<SourceFile>, directive: &Directive, name: &str) -> Diagnostic {
    let known: Vec<String> = LEXER_DIRECTIVES
        .iter()
        .chain(STAGE_DIRECTIVES)
        .map(|d| format!("`@{d}`"))
        .collect();
    let name_end = directive.span.start + 1 + name.len();
    Diagnostic::error_at(
        format!("unknown directive `@{name}`"),
        file,
        directive.span.start..name_end.max(directive.span.start + 1),
    )
    .with_label("not a Quarry directive")
    .with_help(format!("known directives: {}", known.join(", ")))
}

/// Query `name` nests past [`MAX_NESTING`] at byte `at` of the file.
fn too_deeply_nested(file: &Arc<SourceFile>, name: &str, at: usize, end: usize) -> Diagnostic {
    let token_end = tokens(&file.text[at..end])
        .next()
        .map_or(at, |token| at + token.span.end);
    Diagnostic::error_at(
        format!("query `{name}` is too deeply nested (more than {MAX_NESTING} levels)"),
        file,
        at..token_end,
    )
    .with_label("the nesting passes the limit here")
    .with_note("brackets and chained operators (`a + b + …`, `x OR y OR …`) each count as a level")
    .with_help("split the expression, or pass many values as one array parameter (`= ANY(:ids)`)")
}

type Header = (String, Range<usize>, QueryKind, Range<usize>);

fn lex_header(file: &Arc<SourceFile>, start: usize, line: &str) -> Result<Header, Vec<Diagnostic>> {
    let form = if line.starts_with("/*") {
        "/* name: ListPosts :many */"
    } else {
        "-- name: ListPosts :many"
    };
    let help = format!("a header looks like `{form}` (kinds: {KIND_LIST})");
    let help = help.as_str();
    let rest_start = start + line.find("name:").map_or(0, |i| i + "name:".len());
    let rest = &file.text[rest_start..start + line.len()];
    let mut words = Vec::new();
    let mut offset = rest_start;
    for word in rest.split_whitespace() {
        let at = offset + file.text[offset..].find(word).unwrap_or(0);
        words.push((word, at..at + word.len()));
        offset = at + word.len();
    }
    let header_span = start..start + line.trim_end().len();
    let Some((name, name_span)) = words.first().cloned() else {
        return Err(vec![Diagnostic::error_at(
            "query header without a name",
            file,
            header_span,
        )
        .with_label("expected a query name after `name:`")
        .with_help(help)]);
    };
    if !is_valid_name(name) {
        return Err(vec![Diagnostic::error_at(
            format!("invalid query name `{name}`"),
            file,
            name_span,
        )
        .with_label("query names are identifiers (letters, digits, `_`)")
        .with_help(help)]);
    }
    let Some((kind_word, kind_span)) = words.get(1).cloned() else {
        return Err(vec![Diagnostic::error_at(
            format!("query `{name}` has no kind"),
            file,
            header_span,
        )
        .with_label("expected a kind (`:one`, `:many`, `:exec`, …) after the name")
        .with_help(help)]);
    };
    let kind = match kind_word.strip_prefix(':') {
        Some(word) => KINDS
            .iter()
            .find(|(k, _)| *k == word)
            .map(|(_, kind)| *kind),
        None => None,
    };
    if kind_word == ":execlastid" {
        return Err(vec![Diagnostic::error_at(
            "`:execlastid` is MySQL-only (LAST_INSERT_ID)",
            file,
            kind_span,
        )
        .with_label("PostgreSQL has no last insert id")
        .with_help("use `INSERT … RETURNING id` with `:one`")]);
    }
    let Some(kind) = kind else {
        return Err(vec![Diagnostic::error_at(
            format!("unknown query kind `{kind_word}`"),
            file,
            kind_span,
        )
        .with_label("not a query kind")
        .with_help(help)]);
    };
    if let Some((extra, span)) = words.get(2).cloned() {
        return Err(vec![Diagnostic::error_at(
            format!("unexpected `{extra}` in query header"),
            file,
            span,
        )
        .with_help(help)]);
    }
    Ok((name.to_string(), name_span, kind, kind_span))
}

struct Scan {
    sql: String,
    end: usize,
    params: Vec<ParamDef>,
    offsets: OffsetMap,
    alias_overrides: Vec<ColumnOverride>,
    sites: Vec<(usize, Range<usize>)>,
    dynamic: Option<DynamicDef>,
    embeds: Vec<embed::EmbedDef>,
}

fn skip_block_comment(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Scans the SQL of one query, rewriting placeholders and alias suffixes.
fn scan_sql(file: &Arc<SourceFile>, range: Range<usize>) -> Result<Scan, Box<Diagnostic>> {
    let mut scanner = Scanner::new(file, range.clone());
    let mut i = range.start;
    while i < range.end {
        i = if scanner.statement_end.is_some() {
            scanner.after_statement(i)?
        } else {
            scanner.step(i)?
        };
    }
    scanner.finish()
}

/// One pass of [`scan_sql`]: the SQL written so far and what was found.
struct Scanner<'f> {
    file: &'f Arc<SourceFile>,
    /// The query's SQL in the file.
    range: Range<usize>,
    sql: String,
    offsets: OffsetMap,
    params: Vec<ParamDef>,
    alias_overrides: Vec<ColumnOverride>,
    sites: Vec<(usize, Range<usize>)>,
    /// File bytes before this one are in `sql` already.
    copied_from: usize,
    /// End of the statement: after its last meaningful byte, before a final `;`.
    last_meaningful: usize,
    /// The top-level `;`, once met.
    statement_end: Option<usize>,
    /// The `/*?` of the block being scanned, and where its text starts in `sql`.
    open_block: Option<(usize, usize)>,
    /// `/*? … */` blocks closed so far (parameters filled at the end).
    blocks: Vec<BlockDef>,
    /// The `/*sort: … */` list, once met.
    sort: Option<SortDef>,
    /// `sqlc.embed(t)` met so far.
    embeds: Vec<embed::EmbedDef>,
}

impl<'f> Scanner<'f> {
    fn new(file: &'f Arc<SourceFile>, range: Range<usize>) -> Self {
        let mut offsets = OffsetMap::default();
        offsets.copy(0, range.start);
        Scanner {
            file,
            sql: String::new(),
            offsets,
            params: Vec::new(),
            alias_overrides: Vec::new(),
            sites: Vec::new(),
            copied_from: range.start,
            last_meaningful: range.start,
            statement_end: None,
            open_block: None,
            blocks: Vec::new(),
            sort: None,
            embeds: Vec::new(),
            range,
        }
    }

    /// Scans the token at `i` of the statement; returns where the next starts.
    fn step(&mut self, i: usize) -> Result<usize, Box<Diagnostic>> {
        let text: &'f str = &self.file.text;
        let bytes = text.as_bytes();
        let (start, limit) = (self.range.start, self.range.end);
        let word_before = i > start && is_ident_char(bytes[i - 1]);
        let name_follows = bytes
            .get(i + 1)
            .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_');
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                let end = line_end(text, i).min(limit);
                // In a block (itself a comment to other tools), `*/` ends it.
                let close = self.open_block.and_then(|_| text[i..end].find("*/"));
                Ok(close.map_or(end, |at| i + at))
            }
            b'/' if text[i..limit].starts_with("/*?") => self.open_block(i),
            b'/' if text[i..limit].starts_with("/*sort:") => self.sort_list(i),
            b'*' if self.open_block.is_some() && bytes.get(i + 1) == Some(&b'/') => {
                self.close_block(i)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i)
                .ok_or_else(|| self.unterminated("block comment", i, i + 2)),
            b'\'' => {
                let escapes = i > start
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i - 1 == start || !is_ident_char(bytes[i - 2]));
                let end = skip_quoted(bytes, i, b'\'', escapes)
                    .ok_or_else(|| self.unterminated("string literal", i, i + 1))?;
                self.meaningful(end)
            }
            b'"' => self.quoted_identifier(i),
            b'$' => self.dollar(i),
            b':' if bytes.get(i + 1) == Some(&b':') => self.meaningful(i + 2),
            b':' if name_follows && (i == start || bytes[i - 1] != b':') => {
                let name_end = name_end(bytes, i + 1, limit);
                let nullable = bytes.get(name_end) == Some(&b'?');
                let end = if nullable { name_end + 1 } else { name_end };
                self.named_param(i, end, &text[i + 1..name_end], nullable)
            }
            b'@' if name_follows
                && (i == start || !word_before && !b"@<>=!~#&|^".contains(&bytes[i - 1])) =>
            {
                let end = name_end(bytes, i + 1, limit);
                self.named_param(i, end, &text[i + 1..end], false)
            }
            b's' | b'S' if !word_before && embed::starts_embed(text, i, limit) => self.embed(i),
            b's' | b'S' if !word_before && slice::starts_slice(text, i, limit) => self.slice(i),
            b's' | b'S'
                if !word_before
                    && text[i..limit].len() >= 9
                    && text
                        .get(i..i + 5)
                        .is_some_and(|s| s.eq_ignore_ascii_case("sqlc.")) =>
            {
                match sqlc_arg(text, i, limit) {
                    Some((name, nullable, end)) => self.named_param(i, end, &name, nullable),
                    None => self.meaningful(i + 1),
                }
            }
            b';' => {
                self.statement_end = Some(i);
                Ok(i + 1)
            }
            b' ' | b'\t' | b'\r' | b'\n' => Ok(i + 1),
            c => {
                // Skip a whole identifier or number so `x@y`-like text inside words is left alone.
                let mut end = i;
                if is_ident_char(c) {
                    while end < limit && is_ident_char(bytes[end]) {
                        end += 1;
                    }
                } else {
                    end += text[i..].chars().next().map_or(1, char::len_utf8);
                }
                self.meaningful(end)
            }
        }
    }

    /// After a top-level `;` only whitespace and comments may follow.
    fn after_statement(&self, i: usize) -> Result<usize, Box<Diagnostic>> {
        let text: &'f str = &self.file.text;
        let bytes = text.as_bytes();
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => Ok(i + 1),
            b'-' if bytes.get(i + 1) == Some(&b'-') => Ok(line_end(text, i).min(self.range.end)),
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i)
                .ok_or_else(|| self.unterminated("block comment", i, i + 2)),
            _ => Err(Box::new(
                Diagnostic::error_at(
                    "more than one statement in a query",
                    self.file,
                    i..line_end(text, i),
                )
                .with_label("a second statement starts here")
                .with_help("give every statement its own `-- name:` header"),
            )),
        }
    }

    /// `"name"`; `"name!"`/`"name?"` is a nullability override written in
    /// the alias, and the suffix is dropped from the SQL.
    fn quoted_identifier(&mut self, start: usize) -> Result<usize, Box<Diagnostic>> {
        let text: &'f str = &self.file.text;
        let end = skip_quoted(text.as_bytes(), start, b'"', false)
            .ok_or_else(|| self.unterminated("quoted identifier", start, start + 1))?;
        let inner = &text[start + 1..end - 1];
        let suffix = inner.as_bytes().last().copied();
        if inner.len() > 1 && matches!(suffix, Some(b'!' | b'?')) {
            let column = inner[..inner.len() - 1].replace("\"\"", "\"");
            let nullability = if suffix == Some(b'!') {
                Nullability::NotNull
            } else {
                Nullability::Nullable
            };
            self.alias_overrides.push(ColumnOverride {
                column,
                nullability,
                span: start..end,
            });
            self.replace(start, end, &format!("\"{}\"", &inner[..inner.len() - 1]));
        }
        self.meaningful(end)
    }

    /// `$1` (a positional parameter), a dollar-quoted string, or a lone `$`.
    fn dollar(&mut self, i: usize) -> Result<usize, Box<Diagnostic>> {
        let bytes = self.file.text.as_bytes();
        let digits = bytes[i + 1..self.range.end]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 && (i == self.range.start || !is_ident_char(bytes[i - 1])) {
            self.positional_param(i, i + 1 + digits)
        } else if let Some(end) = dollar_quote_end(self.file, i, self.range.end) {
            self.meaningful(end?)
        } else {
            self.meaningful(i + 1)
        }
    }

    fn positional_param(&mut self, i: usize, end: usize) -> Result<usize, Box<Diagnostic>> {
        let text: &'f str = &self.file.text;
        let number: usize = text[i + 1..end].parse().unwrap_or(usize::MAX);
        if number == 0 || number > 65535 {
            return Err(Box::new(Diagnostic::error_at(
                format!("invalid positional parameter `{}`", &text[i..end]),
                self.file,
                i..end,
            )));
        }
        if let Some(named) = self.params.iter().find(|p| p.style == ParamStyle::Named) {
            return Err(mixed_params(self.file, i..end, named));
        }
        if self.params.len() < number {
            self.params.resize(
                number,
                ParamDef {
                    name: None,
                    nullable: false,
                    spans: Vec::new(),
                    style: ParamStyle::Positional,
                },
            );
        }
        self.params[number - 1].spans.push(i..end);
        let at = self.sql.len() + (i - self.copied_from);
        self.sites.push((number - 1, at..at + (end - i)));
        self.meaningful(end)
    }

    /// A named parameter written at `i..end` becomes `$n`.
    fn named_param(
        &mut self,
        i: usize,
        end: usize,
        name: &str,
        nullable: bool,
    ) -> Result<usize, Box<Diagnostic>> {
        let index = add_named(self.file, &mut self.params, name, nullable, i..end)?;
        let placeholder = format!("${index}");
        self.replace(i, end, &placeholder);
        self.sites.push((
            index - 1,
            self.sql.len() - placeholder.len()..self.sql.len(),
        ));
        self.meaningful(end)
    }

    /// `/*?` at `i`: an optional block opens (the delimiter leaves the SQL).
    fn open_block(&mut self, i: usize) -> Result<usize, Box<Diagnostic>> {
        if let Some((outer, _)) = self.open_block {
            return Err(syntax::nested_block(self.file, i, outer));
        }
        self.replace(i, i + 3, "");
        self.open_block = Some((i, self.sql.len()));
        Ok(i + 3)
    }

    /// `*/` at `i` closes the open block.
    fn close_block(&mut self, i: usize) -> Result<usize, Box<Diagnostic>> {
        if let Some((open, sql_start)) = self.open_block.take() {
            // A line comment running up to the `*/` must not swallow what follows.
            let content = &self.file.text[self.copied_from.max(open + 3)..i];
            let ends_in_line_comment = tokens(content)
                .last()
                .is_some_and(|t| t.kind == TokenKind::LineComment);
            self.replace(i, i + 2, if ends_in_line_comment { "\n" } else { "" });
            self.blocks.push(BlockDef {
                range: sql_start..self.sql.len(),
                params: Vec::new(),
                span: open..i + 2,
            });
        }
        Ok(i + 2)
    }

    /// `/*sort: … */` at `i`: its entries read, the first written in its place.
    fn sort_list(&mut self, i: usize) -> Result<usize, Box<Diagnostic>> {
        let text: &'f str = &self.file.text;
        let end = skip_block_comment(text.as_bytes(), i)
            .filter(|&end| end <= self.range.end)
            .ok_or_else(|| self.unterminated("sort list", i, i + 7))?;
        if self.open_block.is_some() {
            return Err(syntax::misplaced_sort(
                self.file,
                i..end,
                "sort list inside an optional block",
                "a sort list cannot be optional",
            ));
        }
        if self.sort.is_some() {
            return Err(syntax::misplaced_sort(
                self.file,
                i..end,
                "second sort list in one query",
                "a query has at most one sort list",
            ));
        }
        self.sql.push_str(&text[self.copied_from..i]);
        if !syntax::after_order_by(&self.sql) {
            return Err(syntax::sort_outside_order_by(self.file, i..end));
        }
        let entries = syntax::sort_entries(self.file, i + 7..end - 2, i..end)?;
        let start = self.sql.len();
        if let Some(first) = entries.first() {
            self.offsets.copy(start, first.span.start);
            self.sql.push_str(&first.expr);
            if first.descending {
                let expr_end = first.span.start + first.expr.len();
                self.offsets
                    .replace(self.sql.len(), expr_end.min(first.span.end)..first.span.end);
                self.sql.push_str(" DESC");
            }
        }
        self.copied_from = end;
        self.offsets.copy(self.sql.len(), end);
        self.sort = Some(SortDef {
            range: start..self.sql.len(),
            entries,
            span: i..end,
        });
        self.meaningful(end)
    }

    /// Copies the file up to `from`, then writes `replacement` for `from..to`.
    fn replace(&mut self, from: usize, to: usize, replacement: &str) {
        self.sql.push_str(&self.file.text[self.copied_from..from]);
        self.offsets.replace(self.sql.len(), from..to);
        self.sql.push_str(replacement);
        self.copied_from = to;
        self.offsets.copy(self.sql.len(), to);
    }

    /// The statement goes on at least up to `end`.
    fn meaningful(&mut self, end: usize) -> Result<usize, Box<Diagnostic>> {
        self.last_meaningful = end;
        Ok(end)
    }

    fn unterminated(&self, what: &str, start: usize, end: usize) -> Box<Diagnostic> {
        Box::new(
            Diagnostic::error_at(format!("unterminated {what}"), self.file, start..end)
                .with_label(format!("{what} starts here and is never closed")),
        )
    }

    /// The rest of the statement copied; every positional parameter used.
    fn finish(mut self) -> Result<Scan, Box<Diagnostic>> {
        let end = self
            .statement_end
            .map_or(self.last_meaningful, |semi| self.last_meaningful.min(semi));
        let end = end.max(self.copied_from);
        self.sql.push_str(&self.file.text[self.copied_from..end]);
        let sql = self.sql.trim_end().to_string();
        let params = std::mem::take(&mut self.params);
        if let Some((open, _)) = self.open_block {
            return Err(syntax::unterminated_block(self.file, open));
        }
        let dynamic = self.dynamic_def(&sql, &params)?;
        if let Some((index, _)) = params.iter().enumerate().find(|(_, p)| p.spans.is_empty()) {
            let start = self.range.start;
            let last = params
                .iter()
                .rev()
                .find_map(|p| p.spans.first().cloned())
                .unwrap_or(start..start);
            return Err(Box::new(
                Diagnostic::error_at(
                    format!("parameter `${}` is never used", index + 1),
                    self.file,
                    last,
                )
                .with_help("positional parameters must be numbered $1, $2, … without gaps"),
            ));
        }
        Ok(Scan {
            sql,
            end,
            params,
            offsets: self.offsets,
            alias_overrides: self.alias_overrides,
            sites: self.sites,
            dynamic,
            embeds: self.embeds,
        })
    }

    /// The blocks (their parameters assigned and checked) and the sort
    /// list, if the query has any; ranges end within the trimmed `sql`.
    fn dynamic_def(
        &mut self,
        sql: &str,
        params: &[ParamDef],
    ) -> Result<Option<DynamicDef>, Box<Diagnostic>> {
        if self.blocks.is_empty() && self.sort.is_none() {
            return Ok(None);
        }
        let mut blocks = std::mem::take(&mut self.blocks);
        for block in &mut blocks {
            block.range.end = block.range.end.min(sql.len());
            block.range.start = block.range.start.min(block.range.end);
        }
        syntax::assign_block_params(self.file, &mut blocks, &self.sites, &self.offsets, params)?;
        Ok(Some(DynamicDef {
            blocks,
            sort: self.sort.take(),
        }))
    }
}

/// End of the name (ASCII letters, digits, `_`) starting at `from`.
fn name_end(bytes: &[u8], from: usize, limit: usize) -> usize {
    from + bytes[from..limit]
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_')
        .count()
}

fn mixed_params(file: &Arc<SourceFile>, span: Range<usize>, named: &ParamDef) -> Box<Diagnostic> {
    let mut diagnostic = Diagnostic::error_at(
        "positional and named parameters mixed in one query",
        file,
        span,
    )
    .with_label("positional parameter")
    .with_help("use either `$1`-style or `:name`-style parameters in a query, not both");
    if let (Some(name), Some(first)) = (&named.name, named.spans.first()) {
        let (line, col) = file.line_col(first.start);
        diagnostic =
            diagnostic.with_note(format!("named parameter `{name}` is used at {line}:{col}"));
    }
    Box::new(diagnostic)
}

fn add_named(
    file: &Arc<SourceFile>,
    params: &mut Vec<ParamDef>,
    name: &str,
    nullable: bool,
    span: Range<usize>,
) -> Result<usize, Box<Diagnostic>> {
    if let Some(positional) = params.iter().find(|p| p.style == ParamStyle::Positional) {
        let mut diagnostic = Diagnostic::error_at(
            "positional and named parameters mixed in one query",
            file,
            span,
        )
        .with_label("named parameter")
        .with_help("use either `$1`-style or `:name`-style parameters in a query, not both");
        if let Some(first) = positional.spans.first() {
            let (line, col) = file.line_col(first.start);
            diagnostic =
                diagnostic.with_note(format!("a positional parameter is used at {line}:{col}"));
        }
        return Err(Box::new(diagnostic));
    }
    if let Some(index) = params.iter().position(|p| p.name.as_deref() == Some(name)) {
        params[index].nullable |= nullable;
        params[index].spans.push(span);
        return Ok(index + 1);
    }
    params.push(ParamDef {
        name: Some(name.to_string()),
        nullable,
        spans: vec![span],
        style: ParamStyle::Named,
    });
    Ok(params.len())
}

/// `sqlc.arg(name)`, `sqlc.narg(name)` (also with a quoted name): name, nullable, end.
fn sqlc_arg(text: &str, start: usize, limit: usize) -> Option<(String, bool, usize)> {
    let rest = &text[start + 5..limit];
    let (nullable, rest_at) = if rest
        .get(..4)
        .is_some_and(|s| s.eq_ignore_ascii_case("narg"))
    {
        (true, 4)
    } else if rest.get(..3).is_some_and(|s| s.eq_ignore_ascii_case("arg")) {
        (false, 3)
    } else {
        return None;
    };
    let (name, call) = macro_argument(&rest[rest_at..], true)?;
    Some((name, nullable, start + 5 + rest_at + call))
}

/// The argument of an `sqlc.*` macro, `after` starting right after the
/// macro's name: `(name)`, blanks allowed, the name also in single or double
/// quotes when `quoted`. The name and the length of the `(…)`.
fn macro_argument(after: &str, quoted: bool) -> Option<(String, usize)> {
    let open = after.len() - after.trim_start().len();
    let inner = after[open..].strip_prefix('(')?;
    let close = inner.find(')')?;
    let mut name = inner[..close].trim();
    if quoted {
        name = name.trim_matches(|c| c == '\'' || c == '"');
    }
    is_valid_name(name).then(|| (name.to_string(), open + 1 + close + 1))
}

/// End (exclusive) of a quoted run starting at `start`, honouring doubled quotes
/// and (for `E'…'`) backslash escapes.
fn skip_quoted(bytes: &[u8], start: usize, quote: u8, backslash_escapes: bool) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        let c = bytes[i];
        if backslash_escapes && c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// If a dollar quote (`$$` or `$tag$`) starts at `start`, its end (or an error if unterminated).
fn dollar_quote_end(
    file: &Arc<SourceFile>,
    start: usize,
    limit: usize,
) -> Option<Result<usize, Box<Diagnostic>>> {
    let text = &file.text;
    let bytes = text.as_bytes();
    let tag_len = bytes[start + 1..limit]
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
        .count();
    if bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if bytes.get(start + 1 + tag_len) != Some(&b'$') {
        return None;
    }
    let tag = &text[start..start + tag_len + 2];
    let body = start + tag.len();
    Some(match text[body..limit].find(tag) {
        Some(i) => Ok(body + i + tag.len()),
        None => Err(Box::new(
            Diagnostic::error_at(
                "unterminated dollar-quoted string",
                file,
                start..start + tag.len(),
            )
            .with_label(format!("`{tag}` opens a string that is never closed")),
        )),
    })
}

/// What a [`Token`] of SQL text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `-- …` up to (not including) the end of the line.
    LineComment,
    /// `/* … */`, nested.
    BlockComment,
    /// `'…'`, `E'…'` or a dollar-quoted string.
    String,
    /// `"…"`.
    QuotedIdent,
    /// An identifier, keyword, number or `$n`.
    Word,
    /// A run of operator characters (`+`, `::`, `<=`, …).
    Operator,
    /// One of `(`, `)`, `[`, `]`, `,`, `;`, `.` or any other single character.
    Punct,
}

/// One token of SQL text: its kind and byte range. Strings, quoted
/// identifiers and comments that never close run to the end of the text
/// (`terminated` is then false).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Byte range in the scanned text.
    pub span: Range<usize>,
    /// False for a string, quoted identifier or comment that never closes.
    pub terminated: bool,
}

/// The tokens of `text` (whitespace skipped), with the same rules as the
/// query scanner: strings, dollar quotes, quoted identifiers and comments
/// are single tokens, so nothing inside them is ever taken for structure.
pub fn tokens(text: &str) -> Tokens<'_> {
    Tokens { text, at: 0 }
}

/// Iterator returned by [`tokens`].
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    text: &'a str,
    at: usize,
}

fn is_sql_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

fn is_operator_char(c: u8) -> bool {
    b"+-*/<>=~!@#%^&|`?:".contains(&c)
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut i = self.at;
        while i < bytes.len() && is_sql_space(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() {
            self.at = i;
            return None;
        }
        let start = i;
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        let (kind, end, terminated) = match c {
            b'-' if next == Some(b'-') => (TokenKind::LineComment, line_end(text, i), true),
            b'/' if next == Some(b'*') => match skip_block_comment(bytes, i) {
                Some(end) => (TokenKind::BlockComment, end, true),
                None => (TokenKind::BlockComment, bytes.len(), false),
            },
            b'\'' => quoted(bytes, i, b'\'', false, TokenKind::String),
            b'e' | b'E' if next == Some(b'\'') => {
                quoted(bytes, i + 1, b'\'', true, TokenKind::String)
            }
            b'"' => quoted(bytes, i, b'"', false, TokenKind::QuotedIdent),
            b'$' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                if digits > 0 {
                    (TokenKind::Word, i + 1 + digits, true)
                } else {
                    match dollar_tag(text, i) {
                        Some(tag) => {
                            let body = i + tag.len();
                            match text[body..].find(tag) {
                                Some(at) => (TokenKind::String, body + at + tag.len(), true),
                                None => (TokenKind::String, bytes.len(), false),
                            }
                        }
                        None => (TokenKind::Punct, i + 1, true),
                    }
                }
            }
            b'(' | b')' | b'[' | b']' | b',' | b';' | b'.' => (TokenKind::Punct, i + 1, true),
            c if is_ident_char(c) => {
                let mut end = i;
                while end < bytes.len()
                    && (is_ident_char(bytes[end]) || bytes[end] == b'.' && c.is_ascii_digit())
                {
                    end += 1;
                }
                (TokenKind::Word, end, true)
            }
            c if is_operator_char(c) => {
                let mut end = i + 1;
                while end < bytes.len()
                    && is_operator_char(bytes[end])
                    && !(bytes[end] == b'-' && bytes.get(end + 1) == Some(&b'-'))
                    && !(bytes[end] == b'/' && bytes.get(end + 1) == Some(&b'*'))
                {
                    end += 1;
                }
                (TokenKind::Operator, end, true)
            }
            _ => (
                TokenKind::Punct,
                i + text[i..].chars().next().map_or(1, char::len_utf8),
                true,
            ),
        };
        self.at = end;
        Some(Token {
            kind,
            span: start..end,
            terminated,
        })
    }
}

/// A quoted token starting with `quote` at `open`; `(kind, end, terminated)`.
fn quoted(
    bytes: &[u8],
    open: usize,
    quote: u8,
    backslash_escapes: bool,
    kind: TokenKind,
) -> (TokenKind, usize, bool) {
    match skip_quoted(bytes, open, quote, backslash_escapes) {
        Some(end) => (kind, end, true),
        None => (kind, bytes.len(), false),
    }
}

/// The opening tag (`$$`, `$tag$`) of a dollar quote starting at `start`, if one does.
fn dollar_tag(text: &str, start: usize) -> Option<&str> {
    let bytes = text.as_bytes();
    if bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let tag_len = bytes[start + 1..]
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
        .count();
    (bytes.get(start + 1 + tag_len) == Some(&b'$')).then(|| &text[start..start + tag_len + 2])
}

/// How deeply a query's syntax tree may nest, as estimated by [`nesting_exceeds`].
///
/// sqlparser, the analyses and even dropping a syntax tree recurse once per
/// level, so a 350,000-term `1 + 1 + …` would overflow the stack. PostgreSQL
/// itself gives up ("stack depth limit exceeded") a few thousand levels deep.
pub const MAX_NESTING: usize = 1000;

/// Keywords that nest the expression they appear in, like operators do.
const NESTING_KEYWORDS: &[&str] = &[
    "and", "or", "not", "is", "like", "ilike", "similar", "between", "in", "case", "collate", "at",
    "xor", "overlaps",
];

/// Where the estimated nesting of `sql` first passes `limit`, if it does.
///
/// The estimate bounds the depth of the syntax tree from above: every open
/// bracket is a level, and so is every operator (or operator keyword) chained
/// since the last `,` or `;` inside each open bracket, because a chain like
/// `a + b + c` is a left-deep tree. It needs no parser, so it runs before one.
pub fn nesting_exceeds(sql: &str, limit: usize) -> Option<usize> {
    // Operators chained so far in each open bracket (the outermost first).
    let mut chained: Vec<usize> = vec![0];
    let mut depth = 0usize;
    for token in tokens(sql) {
        let text = &sql[token.span.clone()];
        match token.kind {
            TokenKind::LineComment | TokenKind::BlockComment => continue,
            TokenKind::Punct if text == "(" || text == "[" => {
                chained.push(0);
                depth += 1;
            }
            // An unmatched closing bracket closes nothing.
            TokenKind::Punct if (text == ")" || text == "]") && chained.len() > 1 => {
                depth -= chained.pop().unwrap_or(0) + 1;
            }
            TokenKind::Punct if text == "," || text == ";" => {
                if let Some(last) = chained.last_mut() {
                    depth -= *last;
                    *last = 0;
                }
            }
            TokenKind::Operator => {
                if let Some(last) = chained.last_mut() {
                    *last += 1;
                    depth += 1;
                }
            }
            TokenKind::Word
                if NESTING_KEYWORDS
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(text)) =>
            {
                if let Some(last) = chained.last_mut() {
                    *last += 1;
                    depth += 1;
                }
            }
            _ => {}
        }
        if depth > limit {
            return Some(token.span.start);
        }
    }
    None
}

/// The statements of a script (a schema file), split at top-level `;` the way
/// `psql` does: not inside strings, dollar quotes, quoted identifiers,
/// comments or brackets, nor inside the `BEGIN ATOMIC … END` body of a
/// `CREATE FUNCTION`/`PROCEDURE`. Each range runs from the statement's first
/// token that is not a comment through its `;` (or its last token); empty
/// statements are left out.
pub fn split_statements(text: &str) -> Vec<Range<usize>> {
    let mut statements = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    let mut parens = 0usize;
    let mut begins = 0usize;
    // The first words of the statement, lower-cased, to spot a routine body.
    let mut words: Vec<String> = Vec::new();
    for token in tokens(text) {
        if matches!(token.kind, TokenKind::LineComment | TokenKind::BlockComment) {
            continue;
        }
        let piece = &text[token.span.clone()];
        if token.kind == TokenKind::Punct && piece == ";" && parens == 0 && begins == 0 {
            if let Some(from) = start.take() {
                statements.push(from..token.span.end);
            }
            words.clear();
            continue;
        }
        start.get_or_insert(token.span.start);
        end = token.span.end;
        match token.kind {
            TokenKind::Punct if piece == "(" => parens += 1,
            TokenKind::Punct if piece == ")" => parens = parens.saturating_sub(1),
            TokenKind::Word => {
                let word = piece.to_ascii_lowercase();
                if routine_definition(&words) && parens == 0 {
                    match word.as_str() {
                        "begin" => begins += 1,
                        // `CASE … END` inside a body closes with `END` too.
                        "case" if begins > 0 => begins += 1,
                        "end" => begins = begins.saturating_sub(1),
                        _ => {}
                    }
                }
                if words.len() < 4 {
                    words.push(word);
                }
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        statements.push(from..end);
    }
    statements
}

/// Whether the first words are `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
fn routine_definition(words: &[String]) -> bool {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        words.as_slice(),
        ["create", "function" | "procedure", ..]
            | ["create", "or", "replace", "function" | "procedure", ..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(text: &str) -> (Vec<QueryDef>, Vec<Diagnostic>) {
        lex_file(&SourceFile::new("q.sql", text))
    }

    fn one(text: &str) -> QueryDef {
        let (queries, diagnostics) = lex(text);
        assert!(
            diagnostics.is_empty(),
            "unexpected diagnostics: {diagnostics:#?}"
        );
        assert_eq!(queries.len(), 1);
        queries.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    fn error(text: &str) -> String {
        let (_, diagnostics) = lex(text);
        let first = diagnostics
            .first()
            .unwrap_or_else(|| panic!("expected an error for {text:?}"));
        format!(
            "{}: {}",
            first.position().unwrap_or_default(),
            first.message
        )
    }

    fn names(query: &QueryDef) -> Vec<(Option<&str>, bool)> {
        query
            .params
            .iter()
            .map(|p| (p.name.as_deref(), p.nullable))
            .collect()
    }

    #[test]
    fn header_docs_and_sql() {
        let q = one(
            "-- name: ListPosts :many\n-- Newest posts.\n--\n-- Second line.\nSELECT 1 AS one;\n",
        );
        assert_eq!(q.name, "ListPosts");
        assert_eq!(q.kind, QueryKind::Many);
        assert_eq!(q.docs, vec!["Newest posts.", "", "Second line."]);
        assert_eq!(q.sql, "SELECT 1 AS one");
        assert_eq!(&q.file.text[q.sql_span.clone()], "SELECT 1 AS one");
    }

    #[test]
    fn kinds() {
        for (word, kind) in [
            (":one", QueryKind::One),
            (":opt", QueryKind::Opt),
            (":exec", QueryKind::Exec),
            (":execrows", QueryKind::Exec),
            (":copyfrom", QueryKind::CopyFrom),
            (":batchexec", QueryKind::BatchExec),
            (":batchmany", QueryKind::BatchMany),
            (":batchone", QueryKind::BatchOne),
        ] {
            assert_eq!(one(&format!("-- name: Q {word}\nSELECT 1")).kind, kind);
            assert_eq!(
                kind.as_str(),
                if word == ":execrows" { ":exec" } else { word }
            );
        }
    }

    #[test]
    fn splits_queries_at_headers() {
        let (queries, diagnostics) = lex(
            "-- file comment\n\n-- name: A :one\nSELECT 1;\n\n-- name: B :exec\nDELETE FROM t;\n",
        );
        assert!(diagnostics.is_empty());
        let names: Vec<_> = queries
            .iter()
            .map(|q| (q.name.as_str(), q.sql.as_str()))
            .collect();
        assert_eq!(names, vec![("A", "SELECT 1"), ("B", "DELETE FROM t")]);
    }

    #[test]
    fn named_params_are_numbered_by_first_appearance() {
        let q = one("-- name: Q :many\nSELECT * FROM t WHERE a = :b AND c = :a AND d = :b");
        assert_eq!(q.sql, "SELECT * FROM t WHERE a = $1 AND c = $2 AND d = $1");
        assert_eq!(names(&q), vec![(Some("b"), false), (Some("a"), false)]);
        assert_eq!(q.params[0].spans.len(), 2);
    }

    #[test]
    fn nullable_and_sqlc_forms() {
        let q = one("-- name: Q :many\nSELECT * FROM t WHERE a = :x? OR b = @y OR c = sqlc.arg(z) OR d = sqlc.narg('w')");
        assert_eq!(
            q.sql,
            "SELECT * FROM t WHERE a = $1 OR b = $2 OR c = $3 OR d = $4"
        );
        assert_eq!(
            names(&q),
            vec![
                (Some("x"), true),
                (Some("y"), false),
                (Some("z"), false),
                (Some("w"), true)
            ]
        );
    }

    #[test]
    fn casts_strings_comments_and_quotes_are_skipped() {
        let q = one(
            "-- name: Q :many\nSELECT ':no', E'\\':no', $$ :no $$, $tag$ :no $tag$, \"a:no\", x::text -- :no\n/* :no /* :no */ */ FROM t WHERE y = :yes::int",
        );
        assert_eq!(names(&q), vec![(Some("yes"), false)]);
        assert!(q.sql.ends_with("y = $1::int"));
    }

    #[test]
    fn positional_params() {
        let q = one("-- name: Q :many\nSELECT * FROM t WHERE a = $2 AND b = $1");
        assert_eq!(q.params.len(), 2);
        assert!(q
            .params
            .iter()
            .all(|p| p.style == ParamStyle::Positional && p.name.is_none()));
        assert_eq!(q.sql, "SELECT * FROM t WHERE a = $2 AND b = $1");
    }

    #[test]
    fn alias_overrides_are_stripped() {
        let q = one("-- name: Q :one\nSELECT count(*) AS \"total!\", max(x) AS \"top?\" FROM t");
        assert_eq!(
            q.sql,
            "SELECT count(*) AS \"total\", max(x) AS \"top\" FROM t"
        );
        let overrides: Vec<_> = q
            .overrides
            .iter()
            .map(|o| (o.column.as_str(), o.nullability))
            .collect();
        assert_eq!(
            overrides,
            vec![
                ("total", Nullability::NotNull),
                ("top", Nullability::Nullable)
            ]
        );
    }

    #[test]
    fn directives() {
        let q = one("-- name: Q :many\n-- @row Post\n-- @nullable a, b\n-- @not_null c\nSELECT 1 AS a, 2 AS b, 3 AS c");
        assert_eq!(q.row_name.as_ref().map(|r| r.0.as_str()), Some("Post"));
        let overrides: Vec<_> = q
            .overrides
            .iter()
            .map(|o| (o.column.as_str(), o.nullability))
            .collect();
        assert_eq!(
            overrides,
            vec![
                ("a", Nullability::Nullable),
                ("b", Nullability::Nullable),
                ("c", Nullability::NotNull)
            ]
        );
        let b = &q.overrides[1];
        assert_eq!(&q.file.text[b.span.clone()], "b");
    }

    #[test]
    fn offsets_map_back_through_rewrites() {
        let q = one("-- name: Q :many\nSELECT :long_name, \"x!\", zz FROM t");
        let rewritten = q.sql.find("zz").unwrap_or(0);
        let file_offset = q.offsets.to_file(rewritten);
        assert_eq!(&q.file.text[file_offset..file_offset + 2], "zz");
        let param = q.sql.find("$1").unwrap_or(0);
        assert_eq!(&q.file.text[q.offsets.to_file(param)..][..10], ":long_name");
    }

    #[test]
    fn headers_inside_strings_and_comments_are_sql() {
        let text = "-- name: A :one\nSELECT $$\n-- name: X :one\n$$ AS a, $t$\n  -- name: Z :one\n$t$ AS z;\n\n\
                    -- name: B :one\nSELECT '\n-- name: Y :one\n' AS b, E'\\'\n-- name: W :one\n' AS w;\n\n\
                    -- name: C :one\nSELECT 1 AS \"\n-- name: V :one\n\" /*\n-- name: U :one\n*/;\n";
        let (queries, diagnostics) = lex(text);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        assert_eq!(
            queries[0].sql,
            "SELECT $$\n-- name: X :one\n$$ AS a, $t$\n  -- name: Z :one\n$t$ AS z"
        );
        assert_eq!(
            queries[1].sql,
            "SELECT '\n-- name: Y :one\n' AS b, E'\\'\n-- name: W :one\n' AS w"
        );
        assert!(queries[2].sql.contains("\"\n-- name: V :one\n\""));
    }

    #[test]
    fn tokens_keep_strings_comments_and_quotes_whole() {
        let text =
            "SELECT e'a\\'b', $x$ ; $x$, \"q;\", a::int -- c;\n/* /* ; */ */ $1 foo$bar 1.5;";
        let kinds: Vec<(TokenKind, &str)> = tokens(text).map(|t| (t.kind, &text[t.span])).collect();
        assert_eq!(
            kinds,
            [
                (TokenKind::Word, "SELECT"),
                (TokenKind::String, "e'a\\'b'"),
                (TokenKind::Punct, ","),
                (TokenKind::String, "$x$ ; $x$"),
                (TokenKind::Punct, ","),
                (TokenKind::QuotedIdent, "\"q;\""),
                (TokenKind::Punct, ","),
                (TokenKind::Word, "a"),
                (TokenKind::Operator, "::"),
                (TokenKind::Word, "int"),
                (TokenKind::LineComment, "-- c;"),
                (TokenKind::BlockComment, "/* /* ; */ */"),
                (TokenKind::Word, "$1"),
                (TokenKind::Word, "foo$bar"),
                (TokenKind::Word, "1.5"),
                (TokenKind::Punct, ";"),
            ]
        );
        let open: Vec<bool> = tokens("SELECT 'abc").map(|t| t.terminated).collect();
        assert_eq!(open, [true, false]);
        // An operator run stops before a comment.
        let ops: Vec<&str> = tokens("a +-- c\n").map(|t| &"a +-- c\n"[t.span]).collect();
        assert_eq!(ops, ["a", "+", "-- c"]);
    }

    #[test]
    fn nesting_estimate() {
        let chain =
            |n: usize, op: &str| format!("SELECT {}", vec!["x"; n].join(&format!(" {op} ")));
        // n terms chain n - 1 operators: one level each.
        assert_eq!(nesting_exceeds(&chain(1001, "+"), 1000), None);
        let deep = chain(1002, "+");
        let at = nesting_exceeds(&deep, 1000);
        assert_eq!(
            at,
            Some(deep.match_indices('+').nth(1000).map_or(0, |(i, _)| i))
        );
        assert!(nesting_exceeds(&chain(2000, "OR"), 1000).is_some());
        assert!(nesting_exceeds(&chain(2000, "and"), 1000).is_some());
        // Lists do not nest: commas end a chain.
        assert_eq!(nesting_exceeds(&chain(100_000, ","), 1000), None);
        assert_eq!(
            nesting_exceeds(
                &format!("SELECT x IN ({})", vec!["1"; 100_000].join(", ")),
                1000
            ),
            None
        );
        // Brackets nest, and closing them unwinds.
        let parens = |n: usize| format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(nesting_exceeds(&parens(1000), 1000), None);
        assert_eq!(nesting_exceeds(&parens(1001), 1000), Some(7 + 1000));
        assert_eq!(nesting_exceeds(&parens(800).repeat(50), 1000), None);
        let cases = format!(
            "SELECT {} 1 {}",
            "CASE WHEN true THEN ".repeat(1001),
            "END ".repeat(1001)
        );
        assert!(nesting_exceeds(&cases, 1000).is_some());
        // Strings and comments hold no structure.
        let quoted = format!(
            "SELECT '{}', $${}$$ -- {}\n",
            "(".repeat(5000),
            "+".repeat(5000),
            "+ ".repeat(5000)
        );
        assert_eq!(nesting_exceeds(&quoted, 1000), None);
    }

    #[test]
    fn too_deep_query_is_an_error_at_the_limit() {
        let sql = format!(
            "-- name: Deep :one\nSELECT {} AS x;\n",
            vec!["1"; 350_000].join(" + ")
        );
        assert_eq!(
            error(&sql),
            format!(
                "q.sql:2:{}: query `Deep` is too deeply nested (more than 1000 levels)",
                "SELECT ".len() + 1000 * 4 + 3
            )
        );
        // Placeholders are counted after their rewrite: `:p` is a word like `$1`.
        let named = format!(
            "-- name: Q :one\nSELECT {} AS x;\n",
            vec![":p"; 1000].join(" + ")
        );
        assert_eq!(one(&named).params.len(), 1);
    }

    #[test]
    fn splits_scripts_into_statements() {
        let split = |text: &str| -> Vec<String> {
            split_statements(text)
                .into_iter()
                .map(|r| text[r].to_string())
                .collect()
        };
        assert_eq!(
            split("-- c;\nCREATE TABLE a (x int DEFAULT ';');\n;;\n/* ; */ CREATE INDEX CONCURRENTLY i ON a (x)\n"),
            ["CREATE TABLE a (x int DEFAULT ';');", "CREATE INDEX CONCURRENTLY i ON a (x)"]
        );
        assert_eq!(
            split(
                "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT \"a;b\";"
            ),
            [
                "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;",
                "SELECT \"a;b\";"
            ]
        );
        let atomic = "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO a VALUES (1); SELECT CASE WHEN true THEN 1 END; END;";
        assert_eq!(
            split(&format!("{atomic}\nDROP TABLE a;")),
            [atomic, "DROP TABLE a;"]
        );
        // BEGIN outside a routine is a transaction statement of its own.
        assert_eq!(
            split("BEGIN; SELECT 1; END;"),
            ["BEGIN;", "SELECT 1;", "END;"]
        );
        assert_eq!(split("  -- only a comment\n"), Vec::<String>::new());
        assert_eq!(split("SELECT 'open;"), ["SELECT 'open;"]);
    }

    #[test]
    fn errors_have_positions() {
        assert_eq!(error(""), "q.sql:1:1: file contains no queries");
        assert_eq!(error("SELECT 1;"), "q.sql:1:1: SQL outside of a query");
        assert_eq!(
            error("-- name: Q :many\n-- @bogus x\nSELECT 1"),
            "q.sql:2:4: unknown directive `@bogus`"
        );
        assert_eq!(
            error("-- name: Q :first\nSELECT 1"),
            "q.sql:1:12: unknown query kind `:first`"
        );
        assert_eq!(
            error("-- name: Q\nSELECT 1"),
            "q.sql:1:1: query `Q` has no kind"
        );
        assert_eq!(
            error("-- name: Q :one\nSELECT 'abc"),
            "q.sql:2:8: unterminated string literal"
        );
        assert_eq!(
            error("-- name: Q :one\nSELECT \"abc"),
            "q.sql:2:8: unterminated quoted identifier"
        );
        assert_eq!(
            error("-- name: Q :one\nSELECT 1; SELECT 2"),
            "q.sql:2:11: more than one statement in a query"
        );
        assert_eq!(
            error("-- name: Q :one\n"),
            "q.sql:1:1: query `Q` has no SQL"
        );
        assert_eq!(
            error("-- name: Q :one\nSELECT $1, :a"),
            "q.sql:2:12: positional and named parameters mixed in one query"
        );
        assert_eq!(
            error("-- name: Q :one\nSELECT $2"),
            "q.sql:2:8: parameter `$1` is never used"
        );
        assert_eq!(
            error("-- name: Q :one\nSELECT $$ abc"),
            "q.sql:2:8: unterminated dollar-quoted string"
        );
    }
}
