//! Field names of result columns, decided the way sqlc decides them.
//!
//! Owns the rules that turn the names PostgreSQL gives a statement's result
//! columns into distinct Rust field names (in both dialects):
//!
//! * a column without a name (PostgreSQL's `?column?`, as for `SELECT 1`)
//!   is `column_N`, N its 1-based position among the result columns;
//! * a column whose name is a key of sqlc's `rename` map
//!   ([`TypeConfig::renames`](crate::config::TypeConfig::renames)) is named
//!   after the snake case of the value (`SpotifyURL` → `spotify_url`);
//! * a name already taken (`SELECT a.id, b.id`, or `a` and `"A"`, which
//!   become the same field) gets `_2`, `_3`… (the count of columns so far
//!   with that name, plus one, as sqlc counts; further if that is taken too).
//!
//! Each unnamed or renamed-for-a-duplicate column is reported with a warning
//! at its place in the select list (or `RETURNING` list) when that can be
//! found, suggesting an alias.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use crate::describe::DescribedColumn;
use crate::diagnostic::{Diagnostic, Location};
use crate::ident;
use crate::lex::{tokens, QueryDef, TokenKind};

/// The name PostgreSQL gives a result column that has none.
const UNNAMED: &str = "?column?";

/// The field name of every column of `columns` (a query's result columns
/// in order, without the columns of its `sqlc.embed` items: `embeds` holds
/// each one's first index and length in the whole row); `None` for the
/// column at `hidden` (a loader's hidden key), which takes no name.
/// Warnings for unnamed and duplicate columns are pushed to `warnings`.
pub(crate) fn field_names(
    def: &QueryDef,
    (columns, embeds): (&[DescribedColumn], &[(usize, usize)]),
    hidden: Option<usize>,
    renames: &BTreeMap<String, String>,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Option<String>> {
    // A column's place in the select list, where an embed is one item (as
    // sqlc numbers `column_N`).
    let positions = list_positions(columns.len(), embeds);
    // Usable when each embed (`t.*` by now) is the only kind of `*` there.
    let items = select_items(&def.sql).filter(|items| {
        let stars = items
            .iter()
            .filter(|item| is_star(&def.sql[(*item).clone()]))
            .count();
        stars == embeds.len() && items.len() == columns.len() + embeds.len()
    });
    let at = |position: usize| match items.as_ref().and_then(|items| items.get(position)) {
        Some(item) => def.file_span(item.clone()),
        None => def.sql_span.start..def.sql_span.start,
    };
    // Rendered identifiers taken so far (`self` and `self_` are one).
    let mut taken: HashSet<String> = HashSet::new();
    // Base name → (columns so far with it, the first one's SQL name).
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    let mut names = Vec::with_capacity(columns.len());
    for (index, column) in columns.iter().enumerate() {
        if Some(index) == hidden {
            names.push(None);
            continue;
        }
        let unnamed = column.name == UNNAMED;
        let position = positions.get(index).copied().unwrap_or(index);
        let sql_name = if unnamed {
            format!("column_{}", position + 1)
        } else {
            column.name.clone()
        };
        // sqlc ignores an empty rename.
        let base = match renames.get(&sql_name).filter(|renamed| !renamed.is_empty()) {
            Some(renamed) => ident::snake(renamed),
            None => ident::snake(&sql_name),
        };
        let (count, first) = seen
            .entry(base.clone())
            .and_modify(|(count, _)| *count += 1)
            .or_insert_with(|| (1, column.name.clone()));
        let mut name = base.clone();
        let mut suffix = *count;
        while !taken.insert(rendered(&name)) {
            suffix = suffix.max(2);
            name = format!("{base}_{suffix}");
            suffix += 1;
        }
        let location = Some(Location::new(&def.file, at(position)));
        if unnamed {
            warnings.push(unnamed_warning(def, position, &name, location));
        } else if name != base {
            warnings.push(duplicate_warning(
                def,
                (first, &column.name),
                &base,
                &name,
                location,
            ));
        }
        names.push(Some(name));
    }
    names
}

/// The 0-based select-list position of each of the `count` columns left
/// when the runs `embeds` (first index, length) are taken out of a row:
/// each run is one item of the list.
fn list_positions(count: usize, embeds: &[(usize, usize)]) -> Vec<usize> {
    let mut positions = Vec::with_capacity(count);
    let (mut row, mut item) = (0, 0);
    while positions.len() < count {
        match embeds.iter().find(|(first, _)| *first == row) {
            Some((_, len)) => row += (*len).max(1),
            None => {
                positions.push(item);
                row += 1;
            }
        }
        item += 1;
    }
    positions
}

/// `name` as the identifier generated code spells it.
fn rendered(name: &str) -> String {
    ident::ident(name).to_string()
}

fn unnamed_warning(
    def: &QueryDef,
    index: usize,
    name: &str,
    location: Option<Location>,
) -> Diagnostic {
    Diagnostic::warning(
        format!(
            "column {} of query `{}` has no name: it becomes the field `{}`",
            index + 1,
            def.name,
            rendered(name)
        ),
        location,
    )
    .with_label("unnamed column")
    .with_help("name it with an alias: `count(*) AS total`")
}

fn duplicate_warning(
    def: &QueryDef,
    (first, this): (&str, &str),
    base: &str,
    name: &str,
    location: Option<Location>,
) -> Diagnostic {
    let message = if first == this {
        format!(
            "query `{}` returns more than one column named `{this}`: this one becomes the field `{}`",
            def.name,
            rendered(name)
        )
    } else {
        format!(
            "query `{}` returns columns `{first}` and `{this}`, which both become `{}`: `{this}` becomes the field `{}`",
            def.name,
            rendered(base),
            rendered(name)
        )
    };
    Diagnostic::warning(message, location)
        .with_label("a field of this name exists")
        .with_help("alias one of them: `a.id AS author_id`")
}

/// Words that end a select list (at the top level).
const LIST_END: &[&str] = &[
    "from",
    "into",
    "where",
    "group",
    "having",
    "window",
    "order",
    "limit",
    "offset",
    "fetch",
    "for",
    "union",
    "intersect",
    "except",
];

/// The byte ranges in `sql` of the items of the list that names the
/// statement's result columns: its top-level `RETURNING` list, else its
/// first top-level `SELECT` list. `None` when there is none. An item may be
/// a `*` ([`is_star`]), which stands for several columns.
pub(crate) fn select_items(sql: &str) -> Option<Vec<Range<usize>>> {
    let tokens: Vec<(usize, crate::lex::Token)> = {
        let mut depth = 0usize;
        tokens(sql)
            .filter(|token| !matches!(token.kind, TokenKind::LineComment | TokenKind::BlockComment))
            .map(|token| {
                let text = &sql[token.span.clone()];
                let here = match (token.kind, text) {
                    (TokenKind::Punct, "(" | "[") => {
                        depth += 1;
                        depth - 1
                    }
                    (TokenKind::Punct, ")" | "]") => {
                        depth = depth.saturating_sub(1);
                        depth
                    }
                    _ => depth,
                };
                (here, token)
            })
            .collect()
    };
    let word = |i: usize, w: &str| {
        tokens.get(i).is_some_and(|(depth, token)| {
            *depth == 0
                && token.kind == TokenKind::Word
                && sql[token.span.clone()].eq_ignore_ascii_case(w)
        })
    };
    let keyword = (0..tokens.len())
        .rev()
        .find(|&i| word(i, "returning"))
        .or_else(|| (0..tokens.len()).find(|&i| word(i, "select")))?;
    let mut i = keyword + 1;
    if word(i, "all") {
        i += 1;
    } else if word(i, "distinct") {
        i += 1;
        if word(i, "on") {
            // `(`, the expressions inside, `)`.
            i += 2;
            while tokens.get(i).is_some_and(|(depth, _)| *depth > 0) {
                i += 1;
            }
            i += 1;
        }
    }
    let mut items = Vec::new();
    let mut current: Option<Range<usize>> = None;
    for (depth, token) in &tokens[i.min(tokens.len())..] {
        let text = &sql[token.span.clone()];
        let top = *depth == 0;
        let ends = top
            && (text == ";"
                || token.kind == TokenKind::Word
                    && LIST_END.iter().any(|end| end.eq_ignore_ascii_case(text)));
        if ends {
            break;
        }
        if top && token.kind == TokenKind::Punct && text == "," {
            items.push(current.take()?);
            continue;
        }
        let start = current
            .as_ref()
            .map_or(token.span.start, |range| range.start);
        current = Some(start..token.span.end);
    }
    items.push(current?);
    Some(items)
}

/// Whether a select-list item is `*` or `t.*`.
fn is_star(item: &str) -> bool {
    item == "*" || item.ends_with(".*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(sql: &str) -> Option<Vec<&str>> {
        Some(
            select_items(sql)?
                .into_iter()
                .map(|range| &sql[range])
                .collect(),
        )
    }

    /// The field names and warnings of the query `text` (one `-- name:`
    /// query) whose result columns PostgreSQL names `columns`.
    fn named(
        text: &str,
        columns: &[&str],
        renames: &[(&str, &str)],
    ) -> (Vec<Option<String>>, Vec<Diagnostic>) {
        let file = crate::diagnostic::SourceFile::new("q.sql", text);
        let (defs, errors) = crate::lex::lex_file(&file);
        assert!(errors.is_empty(), "{errors:?}");
        let columns: Vec<DescribedColumn> = columns
            .iter()
            .map(|name| DescribedColumn {
                name: name.to_string(),
                ty: postgres_types::Type::INT4,
                table_oid: None,
                column_id: None,
            })
            .collect();
        let renames = renames
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut warnings = Vec::new();
        let names = field_names(&defs[0], (&columns, &[]), None, &renames, &mut warnings);
        (names, warnings)
    }

    fn some(names: &[&str]) -> Vec<Option<String>> {
        names.iter().map(|name| Some(name.to_string())).collect()
    }

    #[test]
    fn unnamed_columns_are_column_n_with_a_warning_at_the_column() {
        let text = "-- name: Two :one\nSELECT 1, x AS b, 2;\n";
        let (names, warnings) = named(text, &["?column?", "b", "?column?"], &[]);
        assert_eq!(names, some(&["column_1", "b", "column_3"]));
        let rendered: Vec<String> = warnings.iter().map(Diagnostic::render).collect();
        assert_eq!(warnings.len(), 2, "{rendered:?}");
        assert!(!warnings[0].is_error());
        assert_eq!(
            warnings[0].message,
            "column 1 of query `Two` has no name: it becomes the field `column_1`"
        );
        // At `1` and `2` in the select list (line 2).
        assert_eq!(warnings[0].position().as_deref(), Some("q.sql:2:8"));
        assert_eq!(warnings[1].position().as_deref(), Some("q.sql:2:19"));
        assert!(rendered[0].contains("AS total"), "{}", rendered[0]);
    }

    #[test]
    fn duplicates_are_suffixed_by_their_count() {
        let text = "-- name: Ids :many\nSELECT a.id, b.id, c.id, 1 AS id_2 FROM a, b, c;\n";
        let (names, warnings) = named(text, &["id", "id", "id", "id_2"], &[]);
        // `id_2` is taken by the second `id` when the column named so comes.
        assert_eq!(names, some(&["id", "id_2", "id_3", "id_2_2"]));
        let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "query `Ids` returns more than one column named `id`: this one becomes the field `id_2`",
                "query `Ids` returns more than one column named `id`: this one becomes the field `id_3`",
                "query `Ids` returns more than one column named `id_2`: this one becomes the field `id_2_2`",
            ]
        );
        assert_eq!(warnings[0].position().as_deref(), Some("q.sql:2:14"));
    }

    #[test]
    fn names_that_become_one_field_are_duplicates() {
        let text = "-- name: Cased :one\nSELECT 1 AS a, 2 AS \"A\", 3 AS self, 4 AS self_;\n";
        let (names, warnings) = named(text, &["a", "A", "self", "self_"], &[]);
        assert_eq!(names, some(&["a", "a_2", "self", "self_2"]));
        assert_eq!(
            warnings[0].message,
            "query `Cased` returns columns `a` and `A`, which both become `a`: `A` becomes the field `a_2`"
        );
        assert_eq!(warnings.len(), 2);
    }

    #[test]
    fn renames_name_fields_after_the_value_in_snake_case() {
        let text = "-- name: Songs :many\nSELECT spotify_url, u.spotify_url, 1 FROM songs, u;\n";
        let renames = [("spotify_url", "SpotifyURL"), ("column_3", "Answer")];
        let (names, warnings) = named(text, &["spotify_url", "spotify_url", "?column?"], &renames);
        assert_eq!(names, some(&["spotify_url", "spotify_url_2", "answer"]));
        // The duplicate and the unnamed column still warn.
        assert_eq!(warnings.len(), 2);
        let renames = [
            ("id", "AuthorID"),
            ("author_id", "Writer"),
            ("column_3", ""),
        ];
        let (names, warnings) = named(text, &["id", "author_id", "?column?"], &renames);
        assert_eq!(names, some(&["author_id", "writer", "column_3"]));
        assert_eq!(warnings.len(), 1);
        // A rename onto a name taken is a duplicate too.
        let renames = [("id", "AuthorID")];
        let (names, _) = named(text, &["author_id", "id", "?column?"], &renames);
        assert_eq!(names, some(&["author_id", "author_id_2", "column_3"]));
    }

    #[test]
    fn the_hidden_column_takes_no_name() {
        let file = crate::diagnostic::SourceFile::new("q.sql", "-- name: K :many\nSELECT 1, 2;\n");
        let (defs, _) = crate::lex::lex_file(&file);
        let column = |name: &str| DescribedColumn {
            name: name.to_string(),
            ty: postgres_types::Type::INT4,
            table_oid: None,
            column_id: None,
        };
        let mut warnings = Vec::new();
        let columns = [column("k"), column("k")];
        let names = field_names(
            &defs[0],
            (&columns, &[]),
            Some(0),
            &BTreeMap::new(),
            &mut warnings,
        );
        assert_eq!(names, [None, Some("k".to_string())]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn an_embed_is_one_item_of_the_list() {
        // `SELECT sqlc.embed(a), 1, x, 2`: `a` has 3 columns (row 0..3).
        assert_eq!(list_positions(3, &[(0, 3)]), [1, 2, 3]);
        assert_eq!(list_positions(3, &[(1, 2), (4, 5)]), [0, 2, 4]);
        assert_eq!(list_positions(2, &[]), [0, 1]);
        let file = crate::diagnostic::SourceFile::new(
            "q.sql",
            "-- name: E :one\nSELECT sqlc.embed(a), 1, x, 2 FROM a;\n",
        );
        let (defs, _) = crate::lex::lex_file(&file);
        let column = |name: &str| DescribedColumn {
            name: name.to_string(),
            ty: postgres_types::Type::INT4,
            table_oid: None,
            column_id: None,
        };
        let columns = [column("?column?"), column("x"), column("?column?")];
        let mut warnings = Vec::new();
        let names = field_names(
            &defs[0],
            (&columns, &[(0, 3)]),
            None,
            &BTreeMap::new(),
            &mut warnings,
        );
        assert_eq!(names, some(&["column_2", "x", "column_4"]));
        let positions: Vec<Option<String>> = warnings.iter().map(Diagnostic::position).collect();
        assert_eq!(
            positions,
            [
                Some("q.sql:2:23".to_string()),
                Some("q.sql:2:29".to_string())
            ]
        );
    }

    #[test]
    fn select_and_returning_lists() {
        assert_eq!(items("SELECT 1, 2"), Some(vec!["1", "2"]));
        assert_eq!(
            items("SELECT a.id, f(b.x, (1)) AS y FROM a JOIN b ON true"),
            Some(vec!["a.id", "f(b.x, (1)) AS y"])
        );
        assert_eq!(
            items("WITH w AS (SELECT 1) SELECT DISTINCT ON (x) x, y FROM w ORDER BY 1"),
            Some(vec!["x", "y"])
        );
        assert_eq!(
            items("INSERT INTO t (a) SELECT b FROM u RETURNING id, 2"),
            Some(vec!["id", "2"])
        );
        assert_eq!(
            items("SELECT 1 /* , */ + 1, 'a,b' UNION SELECT 3, 4"),
            Some(vec!["1 /* , */ + 1", "'a,b'"])
        );
        assert_eq!(items("SELECT *, 1 FROM t"), Some(vec!["*", "1"]));
        assert_eq!(items("SELECT t.* FROM t"), Some(vec!["t.*"]));
        assert_eq!(items("VALUES (1)"), None);
    }
}
