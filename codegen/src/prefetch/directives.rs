//! Prefetch directives: reads `-- @key <column>`,
//! `-- @prefetch field [= Loader(parent_column[, name = :param …])]` and
//! `-- @chunk N` from a
//! lexed query into
//! [`Directives`], with a diagnostic at the directive for each malformed line.
//! Knows nothing of the schema or of other queries.

use super::{Binding, Directives, PrefetchDirective, RelationSource};
use crate::diagnostic::Diagnostic;
use crate::lex::{Directive, QueryDef, QueryKind};

/// Reads `@key`, `@prefetch` and `@chunk` from a lexed query.
pub fn parse_directives(def: &QueryDef) -> (Directives, Vec<Diagnostic>) {
    if def.kind.is_bulk() {
        return (Directives::default(), bulk_directives(def));
    }
    let mut out = Directives::default();
    let mut errors = Vec::new();
    for directive in &def.directives {
        match directive.name.as_str() {
            "key" => {
                let column = directive.args.trim();
                if column.is_empty() || column.contains(char::is_whitespace) || column.contains(',')
                {
                    errors.push(
                        Diagnostic::error_at(
                            "`@key` needs exactly one column name",
                            &def.file,
                            directive.span.clone(),
                        )
                        .with_help(
                            "write `-- @key post_id` (the output column the rows are grouped by)",
                        ),
                    );
                } else if out.key.is_some() {
                    errors.push(Diagnostic::error_at(
                        "duplicate `@key` directive",
                        &def.file,
                        directive.span.clone(),
                    ));
                } else {
                    out.key = Some((column.to_string(), directive.args_span.clone()));
                }
            }
            "prefetch" => match parse_prefetch(def, directive) {
                Ok(prefetch) => out.prefetch.push(prefetch),
                Err(error) => errors.push(*error),
            },
            "chunk" if out.chunk.is_some() => errors.push(Diagnostic::error_at(
                "duplicate `@chunk` directive",
                &def.file,
                directive.span.clone(),
            )),
            "chunk" => match parse_chunk(def, directive) {
                Ok(size) => out.chunk = Some((size, directive.args_span.clone())),
                Err(error) => errors.push(*error),
            },
            _ => {}
        }
    }
    if let Some((_, span)) = &out.chunk {
        if def.kind != QueryKind::Many || out.prefetch.is_empty() {
            errors.push(
                Diagnostic::error_at(
                    "`@chunk` only applies to a `:many` query with `@prefetch` relations",
                    &def.file,
                    span.clone(),
                )
                .with_label("no chunked stream to size")
                .with_help(
                    "remove it: other queries stream row by row; a `:many` query with relations streams in chunks of `@chunk` parents (default 1000)",
                ),
            );
        }
    }
    (out, errors)
}

/// A bulk query (`:copyfrom`, `:batch…`) is no loader and its rows have
/// no relations: each of these directives on it is an error.
fn bulk_directives(def: &QueryDef) -> Vec<Diagnostic> {
    let kind = def.kind.as_str();
    def.directives
        .iter()
        .filter_map(|directive| {
            let help = match directive.name.as_str() {
                "key" => "remove it: a loader is a `:many` or `:opt` query with `@key`",
                "prefetch" | "chunk" => "remove it: relations are loaded for the rows of `:one`, `:opt` and `:many` queries; run one of those after the batch to read the rows with their relations",
                _ => return None,
            };
            Some(
                Diagnostic::error_at(
                    format!("`@{}` does not apply to a `{kind}` query", directive.name),
                    &def.file,
                    directive.span.clone(),
                )
                .with_label(format!("query `{}` is declared `{kind}`", def.name))
                .with_help(help),
            )
        })
        .collect()
}

/// The query's valid `@chunk` size (what [`parse_directives`] accepted).
pub fn chunk_size(def: &QueryDef) -> Option<u32> {
    let mut chunks = def.directives.iter().filter(|d| d.name == "chunk");
    let directive = chunks.next()?;
    parse_chunk(def, directive).ok()
}

/// The largest `@chunk`: a portal fetch asks for at most `i32::MAX` rows,
/// and the first one for a chunk and one more.
pub const MAX_CHUNK: u32 = i32::MAX as u32 - 1;

/// `-- @chunk N`: a whole number of rows from 1 to [`MAX_CHUNK`].
fn parse_chunk(def: &QueryDef, directive: &Directive) -> Result<u32, Box<Diagnostic>> {
    let text = directive.args.trim();
    let size = text
        .parse::<u32>()
        .ok()
        .filter(|size| (1..=MAX_CHUNK).contains(size));
    size.ok_or_else(|| {
        let span = if text.is_empty() {
            directive.span.clone()
        } else {
            directive.args_span.clone()
        };
        Box::new(
            Diagnostic::error_at(
                format!("`@chunk` needs a number of rows from 1 to {MAX_CHUNK}"),
                &def.file,
                span,
            )
            .with_label("not a chunk size")
            .with_help("write `-- @chunk 500` (parents read, and their relations loaded, per chunk; default 1000)"),
        )
    })
}

fn parse_prefetch(
    def: &QueryDef,
    directive: &Directive,
) -> Result<PrefetchDirective, Box<Diagnostic>> {
    let bad = |message: &str| {
        Box::new(
            Diagnostic::error_at(message.to_string(), &def.file, directive.span.clone()).with_help(
                "write `-- @prefetch comments = CommentsByPost(id)`, or `-- @prefetch comments` to derive the loader from foreign keys",
            ),
        )
    };
    let args = directive.args.as_str();
    let base = directive.args_span.start;
    let (field_part, rest) = match args.split_once('=') {
        Some((field, rest)) => (field, Some(rest)),
        None => (args, None),
    };
    let field = field_part.trim();
    if !is_identifier(field) {
        return Err(bad("`@prefetch` needs a field name"));
    }
    let field_start = base + (field_part.len() - field_part.trim_start().len());
    let field_span = field_start..field_start + field.len();
    let Some(rest) = rest else {
        return Ok(PrefetchDirective {
            field: field.to_string(),
            field_span,
            source: RelationSource::Derived,
            span: directive.span.clone(),
            bindings: Vec::new(),
        });
    };
    let rest_start = base + field_part.len() + 1;
    let trimmed = rest.trim();
    let lead = rest.len() - rest.trim_start().len();
    let (Some(open), true) = (trimmed.find('('), trimmed.ends_with(')')) else {
        return Err(bad(
            "`@prefetch` loader must be written `Loader(parent_column)`",
        ));
    };
    let loader = trimmed[..open].trim();
    let inner = &trimmed[open + 1..trimmed.len() - 1];
    let mut pieces = split_args(inner, rest_start + lead + open + 1);
    let (column_piece, column_at) = pieces.remove(0);
    let column = column_piece.trim();
    if !is_identifier(loader) || !is_identifier(column) {
        return Err(bad(
            "`@prefetch` loader must be written `Loader(parent_column)`",
        ));
    }
    let loader_start = rest_start + lead;
    let column_start = column_at + (column_piece.len() - column_piece.trim_start().len());
    let mut bindings: Vec<Binding> = Vec::new();
    for (piece, at) in pieces {
        let binding = parse_binding(def, piece, at)?;
        if let Some(first) = bindings.iter().find(|b| b.name == binding.name) {
            let (line, col) = def.file.line_col(first.name_span.start);
            return Err(Box::new(
                Diagnostic::error_at(
                    format!("loader parameter `{}` bound twice", binding.name),
                    &def.file,
                    binding.name_span,
                )
                .with_label("bound again here")
                .with_help(format!(
                    "it is first bound at {line}:{col}; remove one of the two"
                )),
            ));
        }
        bindings.push(binding);
    }
    Ok(PrefetchDirective {
        field: field.to_string(),
        field_span,
        source: RelationSource::Named {
            loader: loader.to_string(),
            loader_span: loader_start..loader_start + loader.len(),
            parent_column: column.to_string(),
            column_span: column_start..column_start + column.len(),
        },
        span: directive.span.clone(),
        bindings,
    })
}

/// The comma-separated pieces of a loader's argument list, each with the
/// file offset where it starts (`start` is the offset of `text`).
fn split_args(text: &str, start: usize) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for piece in text.split(',') {
        out.push((piece, start + at));
        at += piece.len() + 1;
    }
    out
}

/// `name = :param` (a loader parameter bound from the parent call), at
/// file offset `at`.
fn parse_binding(def: &QueryDef, piece: &str, at: usize) -> Result<Binding, Box<Diagnostic>> {
    let lead = piece.len() - piece.trim_start().len();
    let text = piece.trim();
    let span = if text.is_empty() {
        at..at + piece.len()
    } else {
        at + lead..at + lead + text.len()
    };
    let parsed = text.split_once('=').and_then(|(name, value)| {
        let name = name.trim_end();
        let value_lead = value.len() - value.trim_start().len();
        let param = value.trim().strip_prefix(':')?;
        (is_identifier(name) && is_identifier(param)).then_some((name, value_lead, param))
    });
    let Some((name, value_lead, param)) = parsed else {
        let help = match text.split_once('=') {
            Some((name, value)) if is_identifier(value.trim()) => format!(
                "write `{} = :{}`: the value is a parameter of the parent query (or a new one of its function), written with `:`",
                name.trim(),
                value.trim()
            ),
            _ => "bind each loader parameter to a parameter of the parent: `-- @prefetch reviews = ReviewsByBook(id, since = :since)`".to_string(),
        };
        return Err(Box::new(
            Diagnostic::error_at(
                "`@prefetch` loader arguments after the parent column must be written `name = :param`",
                &def.file,
                span,
            )
            .with_label("not `name = :param`")
            .with_help(help),
        ));
    };
    let name_start = span.start;
    let param_start = name_start + text.find('=').unwrap_or(0) + 1 + value_lead;
    Ok(Binding {
        name: name.to_string(),
        name_span: name_start..name_start + name.len(),
        param: param.to_string(),
        param_span: param_start..param_start + param.len() + 1,
    })
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives() {
        let file = crate::diagnostic::SourceFile::new(
            "q.sql",
            "-- name: Q :many\n-- @key post_id\n-- @prefetch comments = CommentsByPost( id )\n-- @prefetch tags\nSELECT 1 AS post_id",
        );
        let (queries, errors) = crate::lex::lex_file(&file);
        assert!(errors.is_empty(), "{errors:?}");
        let (directives, errors) = parse_directives(&queries[0]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            directives.key.as_ref().map(|k| k.0.as_str()),
            Some("post_id")
        );
        assert_eq!(directives.prefetch.len(), 2);
        match &directives.prefetch[0].source {
            RelationSource::Named {
                loader,
                parent_column,
                column_span,
                ..
            } => {
                assert_eq!(
                    (loader.as_str(), parent_column.as_str()),
                    ("CommentsByPost", "id")
                );
                assert_eq!(&file.text[column_span.clone()], "id");
            }
            RelationSource::Derived => panic!("expected a named loader"),
        }
        assert_eq!(directives.prefetch[1].source, RelationSource::Derived);
        assert_eq!(
            &file.text[directives.prefetch[1].field_span.clone()],
            "tags"
        );
    }

    fn chunk_errors(header: &str) -> (Option<u32>, Vec<String>) {
        let file = crate::diagnostic::SourceFile::new("q.sql", format!("{header}\nSELECT 1 AS id"));
        let (queries, errors) = crate::lex::lex_file(&file);
        assert!(errors.is_empty(), "{errors:?}");
        let (directives, errors) = parse_directives(&queries[0]);
        let size = directives.chunk.map(|(size, _)| size);
        assert_eq!(size, chunk_size(&queries[0]));
        (size, errors.iter().map(|e| e.render()).collect())
    }

    #[test]
    fn parses_and_checks_chunk() {
        let many = "-- name: Q :many\n-- @prefetch tags";
        assert_eq!(
            chunk_errors(&format!("{many}\n-- @chunk 250")),
            (Some(250), vec![])
        );
        assert_eq!(
            chunk_errors(&format!("{many}\n-- @chunk {MAX_CHUNK}")).0,
            Some(MAX_CHUNK)
        );
        for bad in ["0", "-3", "1e3", "ten", "2147483647", "5 rows"] {
            let (_, errors) = chunk_errors(&format!("{many}\n-- @chunk {bad}"));
            assert_eq!(errors.len(), 1, "{bad}: {errors:?}");
            assert!(
                errors[0].contains("`@chunk` needs a number of rows from 1 to 2147483646"),
                "{errors:?}"
            );
        }
        let (_, errors) = chunk_errors(&format!("{many}\n-- @chunk"));
        assert!(errors[0].contains("`@chunk` needs a number"), "{errors:?}");
        let (_, errors) = chunk_errors(&format!("{many}\n-- @chunk 5\n-- @chunk 6"));
        assert!(errors[0].contains("duplicate `@chunk`"), "{errors:?}");
        for header in [
            "-- name: Q :many\n-- @chunk 5",
            "-- name: Q :one\n-- @prefetch tags\n-- @chunk 5",
        ] {
            let (_, errors) = chunk_errors(header);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(
                errors[0].contains(
                    "`@chunk` only applies to a `:many` query with `@prefetch` relations"
                ),
                "{errors:?}"
            );
        }
    }

    #[test]
    fn bulk_kinds_take_no_prefetch_directives() {
        for kind in [":copyfrom", ":batchexec", ":batchmany", ":batchone"] {
            let file = crate::diagnostic::SourceFile::new(
                "q.sql",
                format!(
                    "-- name: Q {kind}\n-- @key id\n-- @prefetch tags\n-- @chunk 5\nSELECT 1 AS id"
                ),
            );
            let (queries, errors) = crate::lex::lex_file(&file);
            assert!(errors.is_empty(), "{errors:?}");
            let (directives, errors) = parse_directives(&queries[0]);
            assert_eq!(directives, Directives::default());
            let messages: Vec<(String, String)> = errors
                .iter()
                .map(|e| (e.position().unwrap_or_default(), e.message.clone()))
                .collect();
            assert_eq!(
                messages,
                vec![
                    (
                        "q.sql:2:4".to_string(),
                        format!("`@key` does not apply to a `{kind}` query")
                    ),
                    (
                        "q.sql:3:4".to_string(),
                        format!("`@prefetch` does not apply to a `{kind}` query")
                    ),
                    (
                        "q.sql:4:4".to_string(),
                        format!("`@chunk` does not apply to a `{kind}` query")
                    ),
                ],
            );
        }
    }
}
