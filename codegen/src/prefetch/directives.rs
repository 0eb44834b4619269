//! Prefetch directives: reads `-- @key <column>` and
//! `-- @prefetch field [= Loader(parent_column)]` from a lexed query into
//! [`Directives`], with a diagnostic at the directive for each malformed line.
//! Knows nothing of the schema or of other queries.

use super::{Directives, PrefetchDirective, RelationSource};
use crate::diagnostic::Diagnostic;
use crate::lex::{Directive, QueryDef};

/// Reads `@key` and `@prefetch` from a lexed query.
pub fn parse_directives(def: &QueryDef) -> (Directives, Vec<Diagnostic>) {
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
            _ => {}
        }
    }
    (out, errors)
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
    let column = trimmed[open + 1..trimmed.len() - 1].trim();
    if !is_identifier(loader) || !is_identifier(column) {
        return Err(bad(
            "`@prefetch` loader must be written `Loader(parent_column)`",
        ));
    }
    let loader_start = rest_start + lead;
    let column_offset = trimmed[open + 1..].find(column).unwrap_or(0);
    let column_start = loader_start + open + 1 + column_offset;
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
}
