//! Index lints: `unindexed_foreign_key` and `unindexed_filter`.
//!
//! Owns the catalog-based checks that a query's lookups have an index to
//! use: a loader key (`@key`), a derived to-many relation (`@prefetch
//! comments`) or a join on a foreign key column that no index leads with
//! (PostgreSQL does not index foreign keys), and an equality filter
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
use crate::lex::QueryDef;
use crate::lint_context::{Finding, LintContext};
use crate::schema::{Catalog, RelationKind, Table};

use scope::Site;

/// Name of the lint for loader keys and joins on unindexed foreign keys.
pub const UNINDEXED_FOREIGN_KEY: &str = "unindexed_foreign_key";
/// Name of the lint for equality filters on unindexed columns.
pub const UNINDEXED_FILTER: &str = "unindexed_filter";

/// A table column: table OID and attribute number.
type ColumnRef = (u32, i16);

/// What an index lint found, before a level makes it a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFinding {
    /// Where, in the query's file.
    pub span: Range<usize>,
    /// One-line summary (without the lint name).
    pub message: String,
    /// Text next to the caret.
    pub label: String,
    /// The fix.
    pub help: String,
}

/// [`unindexed_foreign_key`] as a registered lint ([`crate::lints`]).
pub(crate) fn unindexed_foreign_key_lint(context: &LintContext) -> Vec<Finding> {
    let found = unindexed_foreign_key(
        context.def,
        context.statement,
        context.described,
        context.catalog,
    );
    found.into_iter().map(IndexFinding::into_finding).collect()
}

/// [`unindexed_filter`] as a registered lint ([`crate::lints`]).
pub(crate) fn unindexed_filter_lint(context: &LintContext) -> Vec<Finding> {
    let found = unindexed_filter(
        context.def,
        context.statement,
        context.described,
        context.catalog,
    );
    found.into_iter().map(IndexFinding::into_finding).collect()
}

impl IndexFinding {
    fn into_finding(self) -> Finding {
        Finding {
            span: self.span,
            message: self.message,
            label: Some(self.label),
            help: self.help,
        }
    }
}

/// `unindexed_foreign_key`: the query's loader key, the loaders its
/// derived `@prefetch` relations get, and its joins, on a foreign key column
/// no index leads with.
pub fn unindexed_foreign_key(
    def: &QueryDef,
    statement: &Statement,
    described: &Described,
    catalog: &Catalog,
) -> Vec<IndexFinding> {
    let mut out: Vec<IndexFinding> = loader_key(def, described, catalog).into_iter().collect();
    out.extend(derived_relations(def, described, catalog));
    let mut reported = BTreeSet::new();
    for site in scope::equality_sites(statement, &def.sql, catalog) {
        let Site::Join {
            child,
            parent,
            span,
        } = site
        else {
            continue;
        };
        if let Some((table, name)) = unindexed(catalog, child) {
            if reported.insert(child) {
                let at = def.file_span(span);
                out.push(join_finding(catalog, table, name, parent, at));
            }
        }
    }
    out
}

/// `unindexed_filter`: equality filters with parameters on a column no index
/// leads with (a loader's key column on a foreign key is left to
/// `unindexed_foreign_key`).
pub fn unindexed_filter(
    def: &QueryDef,
    statement: &Statement,
    described: &Described,
    catalog: &Catalog,
) -> Vec<IndexFinding> {
    let mut reported: BTreeSet<ColumnRef> = BTreeSet::new();
    if let Some((column, _)) = key_column(def, described, catalog) {
        reported.insert(column);
    }
    let mut out = Vec::new();
    for site in scope::equality_sites(statement, &def.sql, catalog) {
        let Site::Filter { column, span } = site else {
            continue;
        };
        if let Some((table, name)) = unindexed(catalog, column) {
            if reported.insert(column) {
                out.push(filter_finding(table, name, def.file_span(span)));
            }
        }
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

/// The query's `@key` column and where the key is written, when it is a
/// table column leading a foreign key that no index leads with.
fn key_column(
    def: &QueryDef,
    described: &Described,
    catalog: &Catalog,
) -> Option<(ColumnRef, Range<usize>)> {
    let directive = def.directives.iter().find(|d| d.name == "key")?;
    let key = directive.args.trim();
    let column = described.columns.iter().find(|c| c.name == key)?;
    let source = (column.table_oid?, column.column_id?);
    let (table, _) = unindexed(catalog, source)?;
    leads_foreign_key(table, source.1).then(|| (source, directive.args_span.clone()))
}

/// `unindexed_foreign_key` for a loader whose `@key` column is a foreign key
/// column no index leads with.
fn loader_key(def: &QueryDef, described: &Described, catalog: &Catalog) -> Option<IndexFinding> {
    let (column, span) = key_column(def, described, catalog)?;
    let (table, name) = unindexed(catalog, column)?;
    Some(IndexFinding {
        span,
        message: format!(
            "loader `{}` looks up `{}` by foreign key column `{name}`, which no index leads with",
            def.name, table.name
        ),
        label: "every batch scans the whole table".to_string(),
        help: format!(
            "add the index (PostgreSQL does not index foreign keys): `{}`",
            create_index(table, name)
        ),
    })
}

/// `unindexed_foreign_key` for the query's derived to-many relations
/// (`-- @prefetch comments`, no loader named): the loader Quarry derives
/// filters the table named like the field by its one foreign key to the
/// query's source table (the first output column's table, as derivation
/// reads it). To-one relations look up a primary key; a relation that is
/// ambiguous or missing is an error of its own.
fn derived_relations(
    def: &QueryDef,
    described: &Described,
    catalog: &Catalog,
) -> Vec<IndexFinding> {
    // Bulk kinds take no `@prefetch` (an error of its own).
    if def.kind.is_bulk() {
        return Vec::new();
    }
    let Some(source) = described.columns.iter().find_map(|c| c.table_oid) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for directive in def.directives.iter().filter(|d| d.name == "prefetch") {
        let field = directive.args.trim();
        if field.is_empty() || field.contains(['=', '(', ' ']) {
            continue;
        }
        // `comments` names the table `comments`, or `order` for `orders`.
        let singular = crate::prefetch::singular(field);
        let target = catalog
            .resolve(None, field)
            .or_else(|| catalog.resolve(None, &singular));
        let Some(target) = target else {
            continue;
        };
        let mut to_source = target
            .foreign_keys
            .iter()
            .filter(|fk| fk.referenced_table == source);
        let (Some(fk), None) = (to_source.next(), to_source.next()) else {
            continue;
        };
        let Some(&attnum) = fk.columns.first() else {
            continue;
        };
        let Some((table, name)) = unindexed(catalog, (target.oid, attnum)) else {
            continue;
        };
        let at = directive.args_span.start + directive.args.find(field).unwrap_or(0);
        out.push(IndexFinding {
            span: at..at + field.len(),
            message: format!(
                "this relation loads `{}` by foreign key column `{name}`, which no index leads with",
                table.name
            ),
            label: "every batch scans the whole table".to_string(),
            help: format!(
                "add the index (PostgreSQL does not index foreign keys): `{}`",
                create_index(table, name)
            ),
        });
    }
    out
}

/// `unindexed_foreign_key` for a join on a foreign key column.
fn join_finding(
    catalog: &Catalog,
    table: &Table,
    name: &str,
    (parent_oid, parent_attnum): ColumnRef,
    span: Range<usize>,
) -> IndexFinding {
    let parent = catalog
        .column(parent_oid, parent_attnum)
        .map_or_else(String::new, |(t, c)| format!(" to `{}.{}`", t.name, c.name));
    IndexFinding {
        span,
        message: format!(
            "join on foreign key column `{}.{name}`{parent}, which no index leads with",
            table.name
        ),
        label: "no index on the referencing side".to_string(),
        help: format!(
            "add the index (PostgreSQL does not index foreign keys): `{}`",
            create_index(table, name)
        ),
    }
}

/// `unindexed_filter` for an equality filter on an unindexed column.
fn filter_finding(table: &Table, name: &str, span: Range<usize>) -> IndexFinding {
    IndexFinding {
        span,
        message: format!(
            "equality filter on `{}.{name}`, which no index leads with",
            table.name
        ),
        label: "a sequential scan of the whole table".to_string(),
        help: format!(
            "add the index (reported without statistics: a small lookup table may not need it): `{}`",
            create_index(table, name)
        ),
    }
}
