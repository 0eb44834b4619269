//! Index lints: `unindexed_foreign_key` and `unindexed_filter`.
//!
//! Owns the catalog-based checks that a query's lookups have an index to
//! use: a loader key (a user's `@key` or a loader derived for `@prefetch`)
//! or a join on a foreign key column whose referencing column no index leads
//! with (PostgreSQL does not index foreign keys), and an equality filter
//! (`col = $n`, `col = ANY($n)`, `col IN ($n, …)`) on a table column no index
//! leads with. Only direct column references resolvable through the FROM
//! clauses (aliases, correlated subqueries) are checked; the catalog has no
//! statistics, so small tables are reported too. Reads the parsed statement,
//! the describe result and the catalog; no IO.

mod scope;

use std::collections::BTreeSet;
use std::ops::Range;

use sqlparser::ast::Statement;

use crate::describe::Described;
use crate::diagnostic::{Diagnostic, Location};
use crate::lex::QueryDef;
use crate::prefetch::Directives;
use crate::schema::{Catalog, RelationKind, Table};

use scope::Site;

/// Name of the lint for loader keys and joins on unindexed foreign keys.
pub const UNINDEXED_FOREIGN_KEY: &str = "unindexed_foreign_key";
/// Name of the lint for equality filters on unindexed columns.
pub const UNINDEXED_FILTER: &str = "unindexed_filter";

/// A table column: table OID and attribute number.
type ColumnRef = (u32, i16);

/// Runs both index lints on one query.
pub fn lint_indexes(
    def: &QueryDef,
    statement: Option<&Statement>,
    described: &Described,
    directives: &Directives,
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Columns already reported for this query: one warning per column.
    let mut reported: BTreeSet<ColumnRef> = BTreeSet::new();
    if let Some(diagnostic) = loader_key(def, described, directives, catalog, &mut reported) {
        out.push(diagnostic);
    }
    let Some(statement) = statement else {
        return out;
    };
    for site in scope::equality_sites(statement, &def.sql, catalog) {
        let (column, span, join) = match &site {
            Site::Filter { column, span } => (*column, span, None),
            Site::Join {
                child,
                parent,
                span,
            } => (*child, span, Some(*parent)),
        };
        if reported.contains(&column) {
            continue;
        }
        let Some((table, name)) = unindexed(catalog, column) else {
            continue;
        };
        let at = def.file_span(span.clone());
        let diagnostic = match join {
            Some(parent) => join_warning(def, catalog, table, name, parent, at),
            None => filter_warning(def, table, name, at),
        };
        reported.insert(column);
        out.push(diagnostic);
    }
    out
}

/// The table and column name of `column` when it is a column of an ordinary
/// table that no index leads with.
fn unindexed(catalog: &Catalog, (oid, attnum): ColumnRef) -> Option<(&Table, &str)> {
    let (table, column) = catalog.column(oid, attnum)?;
    if table.kind != RelationKind::Table {
        return None;
    }
    let indexed = table
        .indexes
        .iter()
        .any(|index| index.columns.first() == Some(&attnum));
    (!indexed).then_some((table, column.name.as_str()))
}

/// Whether `attnum` leads a foreign key of `table`.
fn leads_foreign_key(table: &Table, attnum: i16) -> bool {
    table
        .foreign_keys
        .iter()
        .any(|fk| fk.columns.first() == Some(&attnum))
}

/// The fix for an unindexed column.
fn create_index(table: &Table, column: &str) -> String {
    let table_name = if table.schema == "public" {
        crate::ident::sql_ident(&table.name)
    } else {
        format!(
            "{}.{}",
            crate::ident::sql_ident(&table.schema),
            crate::ident::sql_ident(&table.name)
        )
    };
    format!(
        "CREATE INDEX ON {table_name} ({});",
        crate::ident::sql_ident(column)
    )
}

/// `unindexed_foreign_key` for a loader whose `@key` column is a foreign key
/// column no index leads with.
fn loader_key(
    def: &QueryDef,
    described: &Described,
    directives: &Directives,
    catalog: &Catalog,
    reported: &mut BTreeSet<ColumnRef>,
) -> Option<Diagnostic> {
    let (key, key_span) = directives.key.as_ref()?;
    let column = described.columns.iter().find(|c| &c.name == key)?;
    let source = (column.table_oid?, column.column_id?);
    let (table, name) = unindexed(catalog, source)?;
    if !leads_foreign_key(table, source.1) {
        return None;
    }
    reported.insert(source);
    // A derived loader's key directive is the parent's `@prefetch` field.
    let derived = def.name_span == *key_span;
    let what = if derived {
        format!(
            "the relation loaded by `{}` (derived for this `@prefetch`)",
            def.name
        )
    } else {
        format!("loader `{}`", def.name)
    };
    Some(
        Diagnostic::warning(
            format!(
                "{what} looks up `{}` by foreign key column `{name}`, which no index leads with [{UNINDEXED_FOREIGN_KEY}]",
                table.name
            ),
            Some(Location::new(&def.file, key_span.clone())),
        )
        .with_label("every batch scans the whole table")
        .with_note("PostgreSQL does not index foreign key columns by itself")
        .with_help(format!("add the index: `{}`", create_index(table, name))),
    )
}

/// `unindexed_foreign_key` for a join on a foreign key column.
fn join_warning(
    def: &QueryDef,
    catalog: &Catalog,
    table: &Table,
    name: &str,
    (parent_oid, parent_attnum): ColumnRef,
    at: Range<usize>,
) -> Diagnostic {
    let parent = catalog
        .column(parent_oid, parent_attnum)
        .map_or_else(String::new, |(t, c)| format!(" to `{}.{}`", t.name, c.name));
    Diagnostic::warning(
        format!(
            "query `{}` joins on foreign key column `{}.{name}`{parent}, which no index leads with [{UNINDEXED_FOREIGN_KEY}]",
            def.name, table.name
        ),
        Some(Location::new(&def.file, at)),
    )
    .with_label("this join has no index on the referencing side")
    .with_note("PostgreSQL does not index foreign key columns by itself")
    .with_help(format!("add the index: `{}`", create_index(table, name)))
}

/// `unindexed_filter` for an equality filter on an unindexed column.
fn filter_warning(def: &QueryDef, table: &Table, name: &str, at: Range<usize>) -> Diagnostic {
    Diagnostic::warning(
        format!(
            "query `{}` filters `{}.{name}` by equality, but no index leads with it [{UNINDEXED_FILTER}]",
            def.name, table.name
        ),
        Some(Location::new(&def.file, at)),
    )
    .with_label("a sequential scan of the whole table")
    .with_note("catalog-based: without statistics, small lookup tables are reported too")
    .with_help(format!("add the index: `{}`", create_index(table, name)))
}
