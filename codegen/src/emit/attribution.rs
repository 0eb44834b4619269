//! Attribution at the server: the SQL text generated code sends starts with
//! a comment naming its query, `/* quarry:ListPosts */ SELECT …`, so
//! `pg_stat_activity`, `pg_stat_statements` and the statement log show which
//! generated function a statement came from.
//!
//! Owns that comment: its one spelling (stable per query, so the server
//! groups a query's executions under one text) and its safety — the name
//! inside can neither end the comment nor open a nested one. The SQL the
//! generator prepares and the SQL the rustdoc shows stay as written; only
//! the text in `quarry::Query::new` and a `:copyfrom`'s `COPY` carries it.

use crate::ir::QueryIr;

/// What every attribution comment starts with, after `/* `.
const PREFIX: &str = "quarry:";

/// `sql` as the generated code sends it for `query`: with the comment
/// naming the query in front when attribution is on, else as it is.
pub(super) fn sent_sql(query: &QueryIr, sql: &str) -> String {
    if query.attribution {
        format!("{} {sql}", comment(&query.name))
    } else {
        sql.to_string()
    }
}

/// `/* quarry:<name> */`. Query names are identifiers, so this is the name
/// as written; any other character (none today) becomes `_`, so the text
/// can hold no `*/` (which would end the comment early) nor `/*` (which
/// PostgreSQL nests, swallowing the statement), and no line break.
fn comment(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("/* {PREFIX}{safe} */")
}

#[cfg(test)]
mod tests {
    use super::{comment, sent_sql};
    use crate::ir::QueryIr;
    use crate::lex::QueryKind;

    fn query(name: &str, attribution: bool) -> QueryIr {
        QueryIr {
            name: name.to_string(),
            fn_name: "f".to_string(),
            kind: QueryKind::Many,
            takes_row_locks: false,
            docs: Vec::new(),
            sql: "SELECT 1".to_string(),
            attribution,
            params: Vec::new(),
            relation_params: Vec::new(),
            row: None,
            loader: None,
            has_relations: false,
            params_struct: None,
            chunk: None,
            read_only: false,
            copy: None,
            unnest: None,
            custom_types: false,
            pooler_safe: false,
            dynamic: None,
            command: None,
        }
    }

    #[test]
    fn the_comment_names_the_query_then_one_space_then_the_statement() {
        let on = query("ListPosts", true);
        assert_eq!(sent_sql(&on, &on.sql), "/* quarry:ListPosts */ SELECT 1");
        // Stable: the same text every time, whatever else is emitted.
        assert_eq!(sent_sql(&on, &on.sql), sent_sql(&on, &on.sql));
        let off = query("ListPosts", false);
        assert_eq!(sent_sql(&off, &off.sql), "SELECT 1");
    }

    #[test]
    fn nothing_in_a_name_can_end_or_nest_the_comment() {
        for name in [
            "a*/b",
            "a/*b",
            "*/",
            "x\ny",
            "é*/--",
            "a */ DROP TABLE t; /*",
        ] {
            let text = comment(name);
            let inner = text
                .strip_prefix("/* ")
                .and_then(|rest| rest.strip_suffix(" */"))
                .unwrap_or_default();
            assert!(
                inner.starts_with("quarry:")
                    && !inner.contains("*/")
                    && !inner.contains("/*")
                    && !inner.contains(char::is_whitespace),
                "{name:?} gave {text:?}"
            );
        }
        assert_eq!(comment("a*/b"), "/* quarry:a__b */");
    }
}
