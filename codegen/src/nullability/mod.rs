//! Nullability inference: is each output column `T` or `Option<T>`?
//!
//! Owns the one rule that must never break: **a column inferred non-null
//! never yields NULL** (soundness). Within that, it is as precise as the SQL
//! allows. Two independent provers run and a column is non-null when either
//! proves it:
//!
//! * [`analysis`] — a scoped analysis of the sqlparser AST: FROM items of every
//!   kind, joins to any depth, set operations, CTEs (recursive and
//!   data-modifying), views traced through their definitions, domains,
//!   `WHERE` refinement, and DESIGN's expression rules (aggregates, window
//!   functions, `COALESCE`, `CASE`, strict functions, …). It gives up (returns
//!   nothing) on constructs it does not model, never guesses;
//! * [`traced`] — describe's source table/attribute of each column, checked
//!   against `attnotnull` and every outer join of the statement.
//!
//! User overrides are applied afterwards by the caller. No IO.

mod analysis;
mod functions;
#[cfg(test)]
mod tests;
mod traced;

use sqlparser::ast::Statement;

use crate::describe::Described;
use crate::schema::Catalog;

/// What inference concluded about one output column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnNullability {
    /// May be NULL (`Option<T>`).
    pub nullable: bool,
    /// Computed by an expression (aggregate, window function, `COALESCE`,
    /// `CASE`, …) rather than a plain column reference.
    pub computed: bool,
    /// Provably NULL for some database state (a NULL literal, the nullable
    /// side of an outer join, an aggregate over a possibly empty input): a
    /// `"col!"` override on it contradicts a proven fact.
    pub can_be_null: bool,
}

/// Infers, for each described output column, whether it may be NULL.
/// `params_nullable[i]` says whether `$(i+1)` was declared nullable.
pub fn infer_nullability(
    statement: Option<&Statement>,
    described: &Described,
    params_nullable: &[bool],
    catalog: &Catalog,
) -> Vec<ColumnNullability> {
    let traced = traced::describe_based(statement, &described.columns, catalog);
    let analysed = statement
        .and_then(|statement| analysis::analyse_statement(statement, catalog, params_nullable))
        .filter(|columns| columns.len() == described.columns.len());
    traced
        .iter()
        .enumerate()
        .map(
            |(index, &traced_nullable)| match analysed.as_ref().map(|columns| columns[index]) {
                Some(column) => ColumnNullability {
                    nullable: column.nullable && traced_nullable,
                    computed: column.computed,
                    can_be_null: column.can_be_null && traced_nullable,
                },
                None => ColumnNullability {
                    nullable: traced_nullable,
                    computed: described.columns[index].table_oid.is_none(),
                    can_be_null: false,
                },
            },
        )
        .collect()
}
