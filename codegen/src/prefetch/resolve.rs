//! Prefetch resolution: checks every loader (`@key` column in the output, one
//! array parameter used as `= ANY(…)`, matching hashable key type) and every
//! relation (loader exists, parent column exists with the key's type, field
//! name free, no cycle), and decides each relation's shape (to-many, to-one,
//! optional). Every mistake is a diagnostic at the directive.

use std::collections::{BTreeSet, HashMap};
use std::ops::{ControlFlow, Range};

use sqlparser::ast::{visit_expressions, BinaryOperator, Expr, Statement, Value};

use super::{Directives, RelationSource};
use crate::describe::Described;
use crate::diagnostic::Diagnostic;
use crate::ident;
use crate::lex::{QueryDef, QueryKind};
use crate::schema::Catalog;
use crate::typemap::{RustType, TypeMapper};

/// What prefetching needs to know about every query, loaders and parents alike.
pub struct QueryFacts<'a> {
    /// Module of the query.
    pub module: &'a str,
    /// The query.
    pub def: &'a QueryDef,
    /// Its parsed statement, if sqlparser could parse it.
    pub statement: Option<&'a Statement>,
    /// Its describe result.
    pub described: &'a Described,
    /// Final nullability per column (inference and overrides).
    pub nullable: &'a [bool],
    /// Its `@key`/`@prefetch` directives.
    pub directives: &'a Directives,
    /// Whether the key is hidden from the row struct (derived junction loaders).
    pub hidden_key: bool,
}

/// A checked loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaderSpec {
    /// Index of the key column in the output.
    pub key_index: usize,
    /// Its name.
    pub key_column: String,
    /// Its Rust type.
    pub key_type: RustType,
    /// Not a field of the row struct.
    pub hidden: bool,
    /// `:many` → to-many; `:one`/`:opt` → at most one row per key.
    pub to_many: bool,
}

/// A checked relation of a parent query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationSpec {
    /// Field name in the parent's row struct.
    pub field: String,
    /// Index (in the facts slice) of the loader query.
    pub loader: usize,
    /// Index of the parent column holding the key.
    pub parent_index: usize,
    /// Name of that column.
    pub parent_column: String,
    /// The parent column is `Option`.
    pub parent_nullable: bool,
    /// To-many (`Vec`) or to-one.
    pub to_many: bool,
    /// For to-one: typed `Option<Row>`.
    pub optional: bool,
}

/// Per query: its loader spec (if it is one) and its relations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryPrefetch {
    /// Set for loaders.
    pub loader: Option<LoaderSpec>,
    /// Relations in directive order.
    pub relations: Vec<RelationSpec>,
}

fn column_type(facts: &QueryFacts<'_>, index: usize, mapper: &TypeMapper<'_>) -> Option<RustType> {
    facts
        .described
        .columns
        .get(index)
        .and_then(|c| mapper.map(&c.ty))
}

/// Whether `$1` is used as `<expr> = ANY($1)` in the statement.
fn uses_any(statement: &Statement) -> bool {
    let found = visit_expressions(statement, |expr| {
        if let Expr::AnyOp {
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } = expr
        {
            let mut inner = right.as_ref();
            while let Expr::Nested(e) | Expr::Cast { expr: e, .. } = inner {
                inner = e;
            }
            if let Expr::Value(value) = inner {
                if matches!(&value.value, Value::Placeholder(p) if p == "$1") {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    });
    found.is_break()
}

fn check_loader(
    facts: &QueryFacts<'_>,
    mapper: &TypeMapper<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Option<LoaderSpec> {
    let (key, key_span) = facts.directives.key.as_ref()?;
    let def = facts.def;
    let error =
        |message: String, span: Range<usize>| Diagnostic::error_at(message, &def.file, span);
    if !def.kind.returns_rows() {
        errors.push(error(
            format!("loader `{}` must return rows", def.name),
            def.kind_span.clone(),
        ));
        return None;
    }
    let Some(key_index) = facts.described.columns.iter().position(|c| &c.name == key) else {
        errors.push(
            facts
                .described
                .unknown_column(def, &format!("@key {key}"), key_span.clone()),
        );
        return None;
    };
    let arrays: Vec<usize> = facts
        .described
        .params
        .iter()
        .enumerate()
        .filter(|(_, ty)| matches!(ty.kind(), postgres_types::Kind::Array(_)))
        .map(|(i, _)| i)
        .collect();
    if facts.described.params.len() != 1 || arrays.len() != 1 {
        let what = if arrays.len() > 1 {
            format!("{} array parameters", arrays.len())
        } else if arrays.is_empty() {
            "no array parameter".to_string()
        } else {
            format!("{} parameters", facts.described.params.len())
        };
        let span = def
            .params
            .get(arrays.get(1).copied().unwrap_or(0))
            .and_then(|p| p.spans.first().cloned())
            .unwrap_or_else(|| key_span.clone());
        errors.push(
            error(
                format!(
                    "loader `{}` must take exactly one array parameter, found {what}",
                    def.name
                ),
                span,
            )
            .with_help(
                "a loader selects rows for a set of keys: `WHERE t.post_id = ANY(:post_ids)`",
            ),
        );
        return None;
    }
    let param_span = def.params[0]
        .spans
        .first()
        .cloned()
        .unwrap_or_else(|| key_span.clone());
    if facts.statement.is_some_and(|s| !uses_any(s)) {
        errors.push(
            error(
                format!(
                    "loader `{}` must use its key array as `<expr> = ANY(…)`",
                    def.name
                ),
                param_span.clone(),
            )
            .with_help("write `WHERE t.post_id = ANY(:post_ids)`"),
        );
        return None;
    }
    let key_type = column_type(facts, key_index, mapper)?;
    let element = facts.described.params[0].kind();
    let element_type = match element {
        postgres_types::Kind::Array(element) => mapper.map(element),
        _ => None,
    };
    if element_type.as_ref() != Some(&key_type) {
        let element_name = match element {
            postgres_types::Kind::Array(element) => element.name().to_string(),
            _ => facts.described.params[0].name().to_string(),
        };
        errors.push(
            error(
                format!(
                    "loader `{}`: key array elements are `{element_name}` but `@key {key}` is `{}`",
                    def.name,
                    facts.described.columns[key_index].ty.name()
                ),
                param_span,
            )
            .with_help(format!(
                "cast one side, e.g. `= ANY(:keys::{}[])`",
                facts.described.columns[key_index].ty.name()
            )),
        );
        return None;
    }
    if !key_type.is_hashable() {
        errors.push(error(
            format!(
                "`@key {key}` has type `{}`, which cannot key a map",
                facts.described.columns[key_index].ty.name()
            ),
            key_span.clone(),
        ));
        return None;
    }
    Some(LoaderSpec {
        key_index,
        key_column: key.clone(),
        key_type,
        hidden: facts.hidden_key,
        to_many: def.kind == QueryKind::Many,
    })
}

/// Whether a foreign key makes `parent.column → loader.key` total.
fn backed_by_foreign_key(
    parent: &QueryFacts<'_>,
    parent_index: usize,
    loader: &QueryFacts<'_>,
    key_index: usize,
    catalog: &Catalog,
) -> bool {
    let (Some(from), Some(to)) = (
        parent.described.columns.get(parent_index),
        loader.described.columns.get(key_index),
    ) else {
        return false;
    };
    let (Some(from_table), Some(from_column), Some(to_table), Some(to_column)) =
        (from.table_oid, from.column_id, to.table_oid, to.column_id)
    else {
        return false;
    };
    catalog.tables.get(&from_table).is_some_and(|table| {
        table.foreign_keys.iter().any(|fk| {
            fk.columns == [from_column]
                && fk.referenced_table == to_table
                && fk.referenced_columns == [to_column]
        })
    })
}

/// Checks every loader and relation; returns one entry per query, in order.
pub fn resolve_prefetch(
    queries: &[QueryFacts<'_>],
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
) -> Result<Vec<QueryPrefetch>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let loaders: Vec<Option<LoaderSpec>> = queries
        .iter()
        .map(|q| check_loader(q, mapper, &mut errors))
        .collect();
    let by_name: HashMap<&str, usize> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| (q.def.name.as_str(), i))
        .collect();
    let mut out: Vec<QueryPrefetch> = loaders
        .iter()
        .map(|loader| QueryPrefetch {
            loader: loader.clone(),
            relations: Vec::new(),
        })
        .collect();
    for (index, parent) in queries.iter().enumerate() {
        let def = parent.def;
        let mut fields: BTreeSet<String> = parent
            .described
            .columns
            .iter()
            .map(|c| ident::snake(&c.name))
            .collect();
        for prefetch in &parent.directives.prefetch {
            let RelationSource::Named {
                loader,
                loader_span,
                parent_column,
                column_span,
            } = &prefetch.source
            else {
                continue; // derivation failed and was reported
            };
            let error = |message: String, span: &Range<usize>| {
                Diagnostic::error_at(message, &def.file, span.clone())
            };
            if !def.kind.returns_rows() {
                errors.push(error(
                    format!("`@prefetch` on `{}`, which returns no rows", def.name),
                    &prefetch.span,
                ));
                continue;
            }
            let field = ident::snake(&prefetch.field);
            if !fields.insert(field.clone()) {
                errors.push(
                    error(
                        format!(
                            "relation field `{field}` collides with a column or relation of `{}`",
                            def.name
                        ),
                        &prefetch.field_span,
                    )
                    .with_help("choose another field name"),
                );
                continue;
            }
            let Some(&loader_index) = by_name.get(loader.as_str()) else {
                let known: Vec<&str> = queries
                    .iter()
                    .zip(&loaders)
                    .filter(|(_, l)| l.is_some())
                    .map(|(q, _)| q.def.name.as_str())
                    .collect();
                errors.push(
                    error(format!("unknown loader `{loader}`"), loader_span)
                        .with_label("no query of this name")
                        .with_help(if known.is_empty() {
                            "declare a loader with `-- @key <column>` and `= ANY(:keys)`"
                                .to_string()
                        } else {
                            format!("loaders: {}", known.join(", "))
                        }),
                );
                continue;
            };
            let Some(spec) = &loaders[loader_index] else {
                errors.push(
                    error(format!("query `{loader}` is not a loader: it has no `@key`"), loader_span)
                        .with_help(format!("add `-- @key <column>` to `{loader}` and select its rows with `= ANY(:keys)`")),
                );
                continue;
            };
            let Some(parent_index) = parent
                .described
                .columns
                .iter()
                .position(|c| &c.name == parent_column)
            else {
                errors.push(parent.described.unknown_column(
                    def,
                    parent_column,
                    column_span.clone(),
                ));
                continue;
            };
            let parent_type = column_type(parent, parent_index, mapper);
            if parent_type.as_ref() != Some(&spec.key_type) {
                errors.push(
                    error(
                        format!(
                            "type mismatch: `{}.{parent_column}` is `{}` but the key of `{loader}` is `{}`",
                            def.name,
                            parent.described.columns[parent_index].ty.name(),
                            queries[loader_index].described.columns[spec.key_index].ty.name()
                        ),
                        column_span,
                    )
                    .with_help("cast the parent column to the key's type in the parent query"),
                );
                continue;
            }
            let parent_nullable = parent.nullable.get(parent_index).copied().unwrap_or(true);
            let optional = !spec.to_many
                && (parent_nullable
                    || !backed_by_foreign_key(
                        parent,
                        parent_index,
                        &queries[loader_index],
                        spec.key_index,
                        catalog,
                    ));
            out[index].relations.push(RelationSpec {
                field,
                loader: loader_index,
                parent_index,
                parent_column: parent_column.clone(),
                parent_nullable,
                to_many: spec.to_many,
                optional,
            });
        }
    }
    // Cycles: a loader reachable from itself would recurse forever.
    for (start, query) in queries.iter().enumerate() {
        if let Some(cycle) = find_cycle(start, &out) {
            let closing = query.directives.prefetch.iter().find(|p| match &p.source {
                RelationSource::Named { loader, .. } => {
                    by_name.get(loader.as_str()) == cycle.get(1)
                }
                RelationSource::Derived => false,
            });
            if let (Some(closing), true) = (closing, cycle.iter().min() == Some(&start)) {
                let names: Vec<&str> = cycle
                    .iter()
                    .map(|&i| queries[i].def.name.as_str())
                    .collect();
                errors.push(
                    Diagnostic::error_at(format!("prefetch cycle: {}", names.join(" → ")), &query.def.file, closing.span.clone())
                        .with_help("relations are loaded level by level; a cycle would never end — remove one `@prefetch`"),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A path `start → … → start` in the relation graph, if any.
fn find_cycle(start: usize, graph: &[QueryPrefetch]) -> Option<Vec<usize>> {
    let mut stack = vec![(start, vec![start])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for relation in &graph[node].relations {
            if relation.loader == start {
                let mut cycle = path.clone();
                cycle.push(start);
                return Some(cycle);
            }
            if seen.insert(relation.loader) {
                let mut next = path.clone();
                next.push(relation.loader);
                stack.push((relation.loader, next));
            }
        }
    }
    None
}
