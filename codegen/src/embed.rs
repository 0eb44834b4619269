//! `sqlc.embed(t)`: where each embed of a query stands and which result
//! columns it becomes.
//!
//! The lexer rewrote every `sqlc.embed(t)` to `t.*` ([`EmbedDef`]). Before
//! any database, [`check`] says whether the query can have embeds at all and
//! whether each stands in the select list of its `SELECT`, with no `*` before
//! it (whose width would be unknown). After describe, [`locate`] maps each to
//! its run of result columns: a plain select item is one column, an embed is
//! as many as its table has, and those columns must come straight from that
//! table, in its order (PostgreSQL's describe names each column's table and
//! attribute). The IR (`ir/embed.rs`) turns the runs into nested structs.

use std::ops::Range;

use sqlparser::ast::{SelectItem, SetExpr, Spanned, Statement};

use crate::describe::Described;
use crate::diagnostic::Diagnostic;
use crate::lex::embed::EmbedDef;
use crate::lex::QueryDef;
use crate::parse::SyntaxError;
use crate::schema::Catalog;

/// The result columns of one `sqlc.embed(t)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedRun {
    /// Index in [`QueryDef::embeds`].
    pub embed: usize,
    /// The table its columns come from.
    pub table_oid: u32,
    /// Its first result column.
    pub first: usize,
    /// How many columns (the table's).
    pub len: usize,
}

/// One item of the select list, as embeds care.
enum Item {
    /// One column.
    Plain,
    /// `*` or a `t.*` the user wrote: how many columns is not known here.
    Star(Range<usize>),
    /// The embed of this index in [`QueryDef::embeds`].
    Embed(usize),
}

/// Whether the query's embeds are usable: every one in the select list of a
/// plain `SELECT` returning rows, none after a `*`, and none in a query whose
/// row type is shared or has relations (not supported together).
pub(crate) fn check(
    def: &QueryDef,
    statement: Result<&Statement, &SyntaxError>,
) -> Vec<Diagnostic> {
    let Some(first) = def.embeds.first() else {
        return Vec::new();
    };
    if let Some(what) = unsupported_with(def) {
        return vec![Diagnostic::error_at(
            format!("`sqlc.embed` is not supported in {what}"),
            &def.file,
            first.span.clone(),
        )
        .with_help("list the table's columns instead: `t.id, t.name, …`")];
    }
    let statement = match statement {
        Ok(statement) => statement,
        Err(error) => {
            return vec![Diagnostic::error_at(
                format!(
                    "cannot place `sqlc.embed` in query `{}`: {}",
                    def.name, error.message
                ),
                &def.file,
                first.span.clone(),
            )
            .with_note("the embedded columns are found in the parsed select list")];
        }
    };
    let items = select_items(def, statement).unwrap_or_default();
    let mut errors = Vec::new();
    for (index, embed) in def.embeds.iter().enumerate() {
        if !items
            .iter()
            .any(|item| matches!(item, Item::Embed(i) if *i == index))
        {
            errors.push(outside_select_list(def, embed));
        }
    }
    let last_embed = items
        .iter()
        .rposition(|item| matches!(item, Item::Embed(_)));
    let star_before = items
        .iter()
        .take(last_embed.unwrap_or(0))
        .find_map(|item| match item {
            Item::Star(span) => Some(span.clone()),
            _ => None,
        });
    if let Some(star) = star_before {
        errors.push(
            Diagnostic::error_at(
                "`*` before `sqlc.embed` in the select list",
                &def.file,
                star,
            )
            .with_label("how many columns this is is not known here")
            .with_help("list these columns, or move the `*` after every `sqlc.embed`"),
        );
    }
    errors
}

/// What a query with embeds may not be (the same row type across queries,
/// relations, loaders, variants), or `None`.
fn unsupported_with(def: &QueryDef) -> Option<String> {
    if !def.kind.returns_rows() {
        return Some(format!(
            "a `{}` query, which returns no rows",
            def.kind.as_str()
        ));
    }
    if def.dynamic.is_some() {
        return Some("a dynamic query (`/*? … */`, `/*sort: … */`)".to_string());
    }
    if def.row_name.is_some() {
        return Some("a query with `-- @row`".to_string());
    }
    ["key", "prefetch"]
        .into_iter()
        .find(|name| def.directives.iter().any(|d| d.name == *name))
        .map(|name| format!("a query with `-- @{name}`"))
}

fn outside_select_list(def: &QueryDef, embed: &EmbedDef) -> Diagnostic {
    Diagnostic::error_at(
        "`sqlc.embed` outside the select list",
        &def.file,
        embed.span.clone(),
    )
    .with_label("not an item of the outermost SELECT's select list")
    .with_help(
        "write `sqlc.embed(t)` as an item of the select list: `SELECT sqlc.embed(t), … FROM t …`",
    )
}

/// The select list of a plain `SELECT` (the outermost query), item by item.
fn select_items(def: &QueryDef, statement: &Statement) -> Option<Vec<Item>> {
    let Statement::Query(query) = statement else {
        return None;
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let items = select.projection.iter().map(|item| {
        let span = crate::parse::span_range(&def.sql, item.span());
        match item {
            SelectItem::QualifiedWildcard(..) => {
                let start = span.as_ref().map(|span| span.start);
                match def.embeds.iter().position(|e| Some(e.at.start) == start) {
                    Some(index) => Item::Embed(index),
                    None => Item::Star(def.file_span(span.unwrap_or(0..0))),
                }
            }
            SelectItem::Wildcard(_) => Item::Star(def.file_span(span.unwrap_or(0..0))),
            _ => Item::Plain,
        }
    });
    Some(items.collect())
}

/// Each embed's run of result columns, in select-list order; an error at
/// an embed whose columns are not its table's, in order. Empty when
/// [`check`] already reported the query.
pub(crate) fn locate(
    def: &QueryDef,
    statement: Option<&Statement>,
    described: &Described,
    catalog: &Catalog,
) -> Result<Vec<EmbedRun>, Box<Diagnostic>> {
    if def.embeds.is_empty() || unsupported_with(def).is_some() {
        return Ok(Vec::new());
    }
    let Some(items) = statement.and_then(|statement| select_items(def, statement)) else {
        return Ok(Vec::new());
    };
    let mut runs = Vec::new();
    let mut column = 0;
    for item in items {
        match item {
            Item::Plain => column += 1,
            Item::Star(_) => break,
            Item::Embed(embed) => {
                let run = table_run(described, catalog, column)
                    .map(|(table_oid, len)| EmbedRun {
                        embed,
                        table_oid,
                        first: column,
                        len,
                    })
                    .ok_or_else(|| Box::new(not_a_table(def, &def.embeds[embed])))?;
                column += run.len;
                runs.push(run);
            }
        }
    }
    Ok(runs)
}

/// The table whose columns, all of them in order, are the result columns
/// from `first` on: its OID and column count.
fn table_run(described: &Described, catalog: &Catalog, first: usize) -> Option<(u32, usize)> {
    let oid = described.columns.get(first)?.table_oid?;
    let table = catalog.tables.get(&oid)?;
    let columns = described.columns.get(first..first + table.columns.len())?;
    let straight = columns.iter().zip(&table.columns).all(|(result, column)| {
        result.table_oid == Some(oid) && result.column_id == Some(column.attnum)
    });
    (straight && !table.columns.is_empty()).then_some((oid, table.columns.len()))
}

fn not_a_table(def: &QueryDef, embed: &EmbedDef) -> Diagnostic {
    Diagnostic::error_at(
        format!("`sqlc.embed({})` does not name a table", embed.alias),
        &def.file,
        embed.span.clone(),
    )
    .with_label("its columns do not come straight from one table")
    .with_help("embed a table (or its alias) of the FROM clause, not a subquery, function or CTE")
}

/// Whether a select item is the `t.*` an `sqlc.embed(t)` was rewritten to
/// (not a `*` the user wrote: the `select_star` lint leaves it alone).
pub(crate) fn is_embed(def: &QueryDef, item: &SelectItem) -> bool {
    matches!(item, SelectItem::QualifiedWildcard(..))
        && crate::parse::span_range(&def.sql, item.span())
            .is_some_and(|span| def.embeds.iter().any(|e| e.at.start == span.start))
}

#[cfg(test)]
mod tests;
