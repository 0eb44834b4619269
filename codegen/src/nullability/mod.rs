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
//! Then the user's word: [`decide_nullability`] applies the query's
//! overrides (`"col!"`, `"col?"`, `@nullable`, `@not_null`) on top, warning
//! when one contradicts a proven fact. No IO.

mod analysis;
mod functions;
#[cfg(test)]
mod tests;
mod traced;

use sqlparser::ast::Statement;

use crate::describe::Described;
use crate::diagnostic::{Diagnostic, Location};
use crate::lex::{ColumnOverride, Nullability, QueryDef};
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

/// Every output column's nullability: what inference concluded, and the
/// final answer after the user's overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Columns {
    /// What inference concluded, per column.
    pub inferred: Vec<ColumnNullability>,
    /// The final answer per column (`"col!"`/`"col?"`/`@nullable`/`@not_null`
    /// applied; the last override of a column wins).
    pub nullable: Vec<bool>,
}

/// Infers every column's nullability, then applies the query's overrides;
/// an override that contradicts a proven fact is a warning.
pub(crate) fn decide_nullability(
    def: &QueryDef,
    statement: Option<&Statement>,
    described: &Described,
    catalog: &Catalog,
) -> (Columns, Vec<Diagnostic>) {
    let params_nullable: Vec<bool> = def.params.iter().map(|p| p.nullable).collect();
    let inferred = infer_nullability(statement, described, &params_nullable, catalog);
    let mut warnings = Vec::new();
    let nullable = described
        .columns
        .iter()
        .zip(&inferred)
        .map(|(column, inferred)| {
            match def.overrides.iter().rev().find(|o| o.column == column.name) {
                Some(asserted) => {
                    warnings.extend(contradicted_override(def, asserted, inferred));
                    asserted.nullability == Nullability::Nullable
                }
                None => inferred.nullable,
            }
        })
        .collect();
    (Columns { inferred, nullable }, warnings)
}

/// A warning when an override contradicts what inference proved: `!` on a
/// column that can provably be NULL, `?` on one proven never NULL.
fn contradicted_override(
    def: &QueryDef,
    asserted: &ColumnOverride,
    inferred: &ColumnNullability,
) -> Option<Diagnostic> {
    let location = Some(Location::new(&def.file, asserted.span.clone()));
    match asserted.nullability {
        Nullability::NotNull if inferred.can_be_null => Some(
            Diagnostic::warning(
                format!("`{}` is declared not null, but it can be NULL", asserted.column),
                location,
            )
            .with_label("overrides a proven fact")
            .with_note("the value is NULL for some data (a NULL literal, the nullable side of an outer join, or an aggregate over no rows); decoding it will fail then")
            .with_help("use `COALESCE(…)` or an inner join instead, or drop the override"),
        ),
        Nullability::Nullable if !inferred.nullable => Some(
            Diagnostic::warning(
                format!("`{}` is declared nullable, but it is proven never NULL", asserted.column),
                location,
            )
            .with_label("overrides a proven fact")
            .with_help("drop the override to get a plain value instead of an `Option`"),
        ),
        _ => None,
    }
}
