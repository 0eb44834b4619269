//! Checking a dynamic query's variants against PostgreSQL: every checked
//! variant ([`DynamicDef::checked_variants`]) is prepared — all of them on
//! one connection, pipelined — and must take the full variant's parameter
//! types and return its columns (names and types). Its columns'
//! nullability is decided on its own statement and unioned into the
//! query's (nullable if nullable in any variant), and the query is read-only
//! only if every variant is.

use std::collections::BTreeSet;
use std::ops::Range;

use tokio_postgres::Client;

use super::{variant_def, variant_label, DynamicDef, VariantKey};
use crate::describe::{self, Described};
use crate::diagnostic::Diagnostic;
use crate::lex::QueryDef;
use crate::nullability::{self, ColumnNullability};
use crate::schema::Catalog;

/// One variant that PostgreSQL prepared, with what it said.
#[derive(Debug, Clone)]
pub struct CheckedVariant {
    /// Which variant.
    pub key: VariantKey,
    /// Its SQL as a query of its own ([`variant_def`]).
    pub def: QueryDef,
    /// Its parameter and column types.
    pub described: Described,
}

/// Prepares the checked variants (other than the full one, described
/// already) of every dynamic query in `queries` — the full variant's
/// definition and description — pipelined on `client`. Per query: its
/// variants, or the errors (one per distinct failure).
pub async fn describe_variants(
    client: &Client,
    queries: &[(&QueryDef, &Described)],
) -> Vec<Result<Vec<CheckedVariant>, Vec<Diagnostic>>> {
    let planned: Vec<Vec<(VariantKey, QueryDef)>> = queries
        .iter()
        .map(|(def, _)| match &def.dynamic {
            Some(dynamic) => planned_variants(def, dynamic),
            None => Vec::new(),
        })
        .collect();
    let defs: Vec<&QueryDef> = planned.iter().flatten().map(|(_, def)| def).collect();
    let mut results = describe::describe_statements(client, &defs)
        .await
        .into_iter();
    let mut out = Vec::with_capacity(queries.len());
    for ((full_def, full), variants) in queries.iter().zip(planned) {
        let mut checked = Vec::with_capacity(variants.len());
        let mut errors: Vec<Diagnostic> = Vec::new();
        let mut seen: BTreeSet<(Option<(usize, usize)>, String)> = BTreeSet::new();
        for (key, def) in variants {
            let Some(result) = results.next() else {
                break;
            };
            let label = variant_label(full_def, key);
            let error = match result {
                Ok(described) => {
                    let variant = CheckedVariant {
                        key,
                        def,
                        described,
                    };
                    match compare(full_def, full, &variant, &label) {
                        None => {
                            checked.push(variant);
                            continue;
                        }
                        Some(error) => error,
                    }
                }
                Err(error) => Diagnostic {
                    message: format!(
                        "{}, in the {label} of query `{}`",
                        error.message, full_def.name
                    ),
                    ..error
                },
            };
            let place = error.location.as_ref().map(|l| (l.span.start, l.span.end));
            // The same failure in many variants is reported once.
            if seen.insert((place, error.message.replace(&label, ""))) {
                errors.push(error);
            }
        }
        out.push(if errors.is_empty() {
            Ok(checked)
        } else {
            Err(errors)
        });
    }
    out
}

/// The checked variants but the full one, each with its query.
fn planned_variants(def: &QueryDef, dynamic: &DynamicDef) -> Vec<(VariantKey, QueryDef)> {
    let full = dynamic.full_key();
    dynamic
        .checked_variants()
        .into_iter()
        .filter(|key| *key != full)
        .map(|key| (key, variant_def(def, key)))
        .collect()
}

/// The first way `variant` differs from the full variant: a parameter's
/// type, the number of columns, a column's name or type.
fn compare(
    full_def: &QueryDef,
    full: &Described,
    variant: &CheckedVariant,
    label: &str,
) -> Option<Diagnostic> {
    let dynamic = full_def.dynamic.as_ref()?;
    let mapping = dynamic.variant_params(variant.key, full_def.params.len());
    for (k, ty) in variant.described.params.iter().enumerate() {
        let index = mapping.get(k).copied()?;
        let expected = full.params.get(index)?;
        if ty != expected {
            let param = full_def.params.get(index)?;
            let name = param
                .name
                .clone()
                .unwrap_or_else(|| format!("${}", index + 1));
            let span = param
                .spans
                .first()
                .cloned()
                .unwrap_or(full_def.name_span.clone());
            return Some(
                Diagnostic::error_at(
                    format!(
                        "parameter `{name}` is `{}` in the {label} of query `{}` but `{}` in the full query",
                        ty.name(),
                        full_def.name,
                        expected.name()
                    ),
                    &full_def.file,
                    span,
                )
                .with_help("give the parameter an explicit type (`:name::int8`) so every variant agrees"),
            );
        }
    }
    let (theirs, ours) = (&variant.described.columns, &full.columns);
    let difference = if theirs.len() != ours.len() {
        Some(format!(
            "returns {} columns, the full query {}",
            theirs.len(),
            ours.len()
        ))
    } else {
        theirs.iter().zip(ours).find_map(|(v, f)| {
            if v.name != f.name {
                Some(format!(
                    "names a column `{}` where the full query has `{}`",
                    v.name, f.name
                ))
            } else if v.ty != f.ty {
                Some(format!(
                    "returns column `{}` as `{}`, the full query as `{}`",
                    v.name,
                    v.ty.name(),
                    f.ty.name()
                ))
            } else {
                None
            }
        })
    };
    let difference = difference?;
    Some(
        Diagnostic::error_at(
            format!("the {label} of query `{}` {difference}", full_def.name),
            &full_def.file,
            cause_span(full_def, dynamic, variant.key),
        )
        .with_label("changes the query's columns")
        .with_help("every variant must return the same columns: a block may add filters (WHERE, JOIN … ON, HAVING) but not change what is selected"),
    )
}

/// Where a variant's difference comes from: the first block it leaves
/// out, else its sort entry, else the query's name.
fn cause_span(def: &QueryDef, dynamic: &DynamicDef, key: VariantKey) -> Range<usize> {
    let absent = dynamic
        .blocks
        .iter()
        .enumerate()
        .find(|(i, _)| key.mask & (1 << i) == 0)
        .map(|(_, block)| block.span.clone());
    let sort = dynamic
        .sort
        .as_ref()
        .zip(key.sort)
        .and_then(|(sort, (entry, _))| sort.entries.get(entry))
        .map(|entry| entry.span.clone());
    absent.or(sort).unwrap_or(def.name_span.clone())
}

/// Unions every variant's nullability into the full variant's `inferred`
/// and `nullable` (a column is nullable if it is in any variant), and says
/// whether every variant is read-only (`writes_nothing` on its statement).
pub fn union_variants(
    variants: &[CheckedVariant],
    catalog: &Catalog,
    inferred: &mut [ColumnNullability],
    nullable: &mut [bool],
    writes_nothing: impl Fn(Option<&sqlparser::ast::Statement>) -> bool,
) -> bool {
    let mut read_only = true;
    for variant in variants {
        let statement = crate::parse::parse_query(&variant.def).ok();
        let (columns, _) = nullability::decide_nullability(
            &variant.def,
            statement.as_ref(),
            &variant.described,
            catalog,
        );
        for (ours, theirs) in inferred.iter_mut().zip(&columns.inferred) {
            ours.nullable |= theirs.nullable;
            ours.can_be_null |= theirs.can_be_null;
            ours.computed |= theirs.computed;
        }
        for (ours, theirs) in nullable.iter_mut().zip(&columns.nullable) {
            *ours |= theirs;
        }
        read_only &= writes_nothing(statement.as_ref());
    }
    read_only
}
