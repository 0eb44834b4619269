//! Prefetch resolution: checks every loader (`@key` column in the output, one
//! array parameter used as `= ANY(…)`, matching hashable key type) and every
//! relation (loader exists, parent column exists with the key's type, field
//! name free, no cycle), and decides each relation's shape (to-many, to-one,
//! optional). Every mistake is a diagnostic at the directive.

use std::collections::{BTreeSet, HashMap};
use std::ops::{ControlFlow, Range};

use sqlparser::ast::{visit_expressions, BinaryOperator, Expr, Statement, Value};

mod bindings;

use super::{Directives, PrefetchDirective, RelationSource};
use crate::describe::Described;
use crate::diagnostic::Diagnostic;
use crate::ident;
use crate::lex::{QueryDef, QueryKind};
use crate::schema::Catalog;
use crate::typemap::{RustType, TypeMapper};
pub use bindings::BindingSpec;
use bindings::{check_bindings, check_new_params};

/// What prefetching needs to know about every query, loaders and parents alike.
pub struct QueryFacts<'a> {
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
    /// Index of the key array among the loader's parameters (the others are
    /// scalars each relation binds from its parent call).
    pub key_param: usize,
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
    /// The loader's scalar parameters, bound from the parent call, in the
    /// order written.
    pub bindings: Vec<BindingSpec>,
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

/// Whether `placeholder` (`$1`) is used as `<expr> = ANY($1)` in the statement.
fn uses_any(statement: &Statement, placeholder: &str) -> bool {
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
                if matches!(&value.value, Value::Placeholder(p) if p == placeholder) {
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
    match loader_spec(facts, key, key_span, mapper) {
        Ok(spec) => spec,
        Err(error) => {
            errors.push(*error);
            None
        }
    }
}

/// The spec of a query with `@key`; `Ok(None)` when its key has no Rust
/// type (reported where row types are built).
fn loader_spec(
    facts: &QueryFacts<'_>,
    key: &str,
    key_span: &Range<usize>,
    mapper: &TypeMapper<'_>,
) -> Result<Option<LoaderSpec>, Box<Diagnostic>> {
    let def = facts.def;
    if !def.kind.returns_rows() {
        return Err(Box::new(Diagnostic::error_at(
            format!("loader `{}` must return rows", def.name),
            &def.file,
            def.kind_span.clone(),
        )));
    }
    let Some(key_index) = facts.described.columns.iter().position(|c| c.name == key) else {
        return Err(Box::new(facts.described.unknown_column(
            def,
            &format!("@key {key}"),
            key_span.clone(),
        )));
    };
    let (key_param, param_span) = key_array_param(facts, key_span)?;
    let Some(key_type) = column_type(facts, key_index, mapper) else {
        return Ok(None);
    };
    let param = (key_param, param_span);
    check_key_type(facts, key, key_index, &key_type, mapper, param, key_span)?;
    Ok(Some(LoaderSpec {
        key_index,
        key_column: key.to_string(),
        key_type,
        hidden: facts.hidden_key,
        to_many: def.kind == QueryKind::Many,
        key_param,
    }))
}

/// A loader takes exactly one array parameter, used as `= ANY(…)` (its
/// other parameters are scalars bound by each relation); returns its index
/// and where it is written.
fn key_array_param(
    facts: &QueryFacts<'_>,
    key_span: &Range<usize>,
) -> Result<(usize, Range<usize>), Box<Diagnostic>> {
    let def = facts.def;
    let error =
        |message: String, span: Range<usize>| Diagnostic::error_at(message, &def.file, span);
    let arrays: Vec<usize> = facts
        .described
        .params
        .iter()
        .enumerate()
        .filter(|(_, ty)| matches!(ty.kind(), postgres_types::Kind::Array(_)))
        .map(|(i, _)| i)
        .collect();
    if arrays.len() != 1 {
        let what = if arrays.is_empty() {
            "no array parameter".to_string()
        } else {
            format!("{} array parameters", arrays.len())
        };
        let span = def
            .params
            .get(arrays.get(1).copied().unwrap_or(0))
            .and_then(|p| p.spans.first().cloned())
            .unwrap_or_else(|| key_span.clone());
        return Err(Box::new(
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
        ));
    }
    let key_param = arrays[0];
    let param_span = def
        .params
        .get(key_param)
        .and_then(|p| p.spans.first().cloned())
        .unwrap_or_else(|| key_span.clone());
    let placeholder = format!("${}", key_param + 1);
    if facts.statement.is_some_and(|s| !uses_any(s, &placeholder)) {
        return Err(Box::new(
            error(
                format!(
                    "loader `{}` must use its key array as `<expr> = ANY(…)`",
                    def.name
                ),
                param_span,
            )
            .with_help("write `WHERE t.post_id = ANY(:post_ids)`"),
        ));
    }
    Ok((key_param, param_span))
}

/// The key array's elements have the key column's type, and it can key a map.
fn check_key_type(
    facts: &QueryFacts<'_>,
    key: &str,
    key_index: usize,
    key_type: &RustType,
    mapper: &TypeMapper<'_>,
    (key_param, param_span): (usize, Range<usize>),
    key_span: &Range<usize>,
) -> Result<(), Box<Diagnostic>> {
    let def = facts.def;
    let key_pg_type = facts.described.columns[key_index].ty.name();
    let element = facts.described.params[key_param].kind();
    let element_type = match element {
        postgres_types::Kind::Array(element) => mapper.map(element),
        _ => None,
    };
    if element_type.as_ref() != Some(key_type) {
        let element_name = match element {
            postgres_types::Kind::Array(element) => element.name().to_string(),
            _ => facts.described.params[key_param].name().to_string(),
        };
        return Err(Box::new(
            Diagnostic::error_at(
                format!(
                    "loader `{}`: key array elements are `{element_name}` but `@key {key}` is `{key_pg_type}`",
                    def.name,
                ),
                &def.file,
                param_span,
            )
            .with_help(format!("cast one side, e.g. `= ANY(:keys::{key_pg_type}[])`")),
        ));
    }
    if !key_type.is_hashable() {
        return Err(Box::new(Diagnostic::error_at(
            format!("`@key {key}` has type `{key_pg_type}`, which cannot key a map"),
            &def.file,
            key_span.clone(),
        )));
    }
    Ok(())
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
    let known = KnownLoaders {
        queries,
        loaders: &loaders,
        by_name: queries
            .iter()
            .enumerate()
            .map(|(i, q)| (q.def.name.as_str(), i))
            .collect(),
    };
    let out: Vec<QueryPrefetch> = queries
        .iter()
        .zip(&loaders)
        .map(|(parent, loader)| QueryPrefetch {
            loader: loader.clone(),
            relations: relations_of(parent, &known, catalog, mapper, &mut errors),
        })
        .collect();
    report_cycles(queries, &out, &known.by_name, &mut errors);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Every query with its loader spec, if it is a loader, and by name.
struct KnownLoaders<'a, 'q> {
    queries: &'a [QueryFacts<'q>],
    loaders: &'a [Option<LoaderSpec>],
    by_name: HashMap<&'a str, usize>,
}

impl KnownLoaders<'_, '_> {
    /// The index and spec of the loader a relation names.
    fn find(
        &self,
        loader: &str,
        loader_span: &Range<usize>,
        def: &QueryDef,
    ) -> Result<(usize, &LoaderSpec), Box<Diagnostic>> {
        let error = |message: String| Diagnostic::error_at(message, &def.file, loader_span.clone());
        let Some(&index) = self.by_name.get(loader) else {
            let known: Vec<&str> = self
                .queries
                .iter()
                .zip(self.loaders)
                .filter(|(_, l)| l.is_some())
                .map(|(q, _)| q.def.name.as_str())
                .collect();
            return Err(Box::new(
                error(format!("unknown loader `{loader}`"))
                    .with_label("no query of this name")
                    .with_help(if known.is_empty() {
                        "declare a loader with `-- @key <column>` and `= ANY(:keys)`".to_string()
                    } else {
                        format!("loaders: {}", known.join(", "))
                    }),
            ));
        };
        let Some(spec) = &self.loaders[index] else {
            return Err(Box::new(
                error(format!(
                    "query `{loader}` is not a loader: it has no `@key`"
                ))
                .with_help(format!(
                    "add `-- @key <column>` to `{loader}` and select its rows with `= ANY(:keys)`"
                )),
            ));
        };
        Ok((index, spec))
    }
}

/// The checked relations of one query, in directive order.
fn relations_of(
    parent: &QueryFacts<'_>,
    known: &KnownLoaders<'_, '_>,
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<RelationSpec> {
    let mut fields: BTreeSet<String> = parent
        .described
        .columns
        .iter()
        .map(|c| ident::snake(&c.name))
        .collect();
    let mut relations = Vec::new();
    for prefetch in &parent.directives.prefetch {
        match check_relation(parent, prefetch, &mut fields, known, catalog, mapper) {
            Ok(Some(relation)) => relations.push((relation, prefetch)),
            Ok(None) => {} // derivation failed and was reported
            Err(error) => errors.push(*error),
        }
    }
    errors.extend(check_new_params(parent, &relations, known.queries, mapper));
    relations
        .into_iter()
        .map(|(relation, _)| relation)
        .collect()
}

/// One `@prefetch field = Loader(parent_column)` of `parent`; `fields`
/// holds the names taken in the parent's row so far. `None` for a relation
/// still to be derived (its derivation failed).
fn check_relation(
    parent: &QueryFacts<'_>,
    prefetch: &PrefetchDirective,
    fields: &mut BTreeSet<String>,
    known: &KnownLoaders<'_, '_>,
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
) -> Result<Option<RelationSpec>, Box<Diagnostic>> {
    let RelationSource::Named {
        loader,
        loader_span,
        parent_column,
        column_span,
    } = &prefetch.source
    else {
        return Ok(None);
    };
    let def = parent.def;
    let error = |message: String, span: &Range<usize>| {
        Diagnostic::error_at(message, &def.file, span.clone())
    };
    if !def.kind.returns_rows() {
        return Err(Box::new(error(
            format!("`@prefetch` on `{}`, which returns no rows", def.name),
            &prefetch.span,
        )));
    }
    let field = ident::snake(&prefetch.field);
    if !fields.insert(field.clone()) {
        return Err(Box::new(
            error(
                format!(
                    "relation field `{field}` collides with a column or relation of `{}`",
                    def.name
                ),
                &prefetch.field_span,
            )
            .with_help("choose another field name"),
        ));
    }
    let (loader_index, spec) = known.find(loader, loader_span, def)?;
    let Some(parent_index) = parent
        .described
        .columns
        .iter()
        .position(|c| &c.name == parent_column)
    else {
        return Err(Box::new(parent.described.unknown_column(
            def,
            parent_column,
            column_span.clone(),
        )));
    };
    let loader_facts = &known.queries[loader_index];
    let parent_type = column_type(parent, parent_index, mapper);
    if parent_type.as_ref() != Some(&spec.key_type) {
        return Err(Box::new(
            error(
                format!(
                    "type mismatch: `{}.{parent_column}` is `{}` but the key of `{loader}` is `{}`",
                    def.name,
                    parent.described.columns[parent_index].ty.name(),
                    loader_facts.described.columns[spec.key_index].ty.name()
                ),
                column_span,
            )
            .with_help("cast the parent column to the key's type in the parent query"),
        ));
    }
    let bindings = check_bindings(parent, prefetch, loader_facts, spec, loader_span, mapper)?;
    let parent_nullable = parent.nullable.get(parent_index).copied().unwrap_or(true);
    let optional = !spec.to_many
        && (parent_nullable
            || !backed_by_foreign_key(parent, parent_index, loader_facts, spec.key_index, catalog));
    Ok(Some(RelationSpec {
        field,
        loader: loader_index,
        parent_index,
        parent_column: parent_column.clone(),
        parent_nullable,
        to_many: spec.to_many,
        optional,
        bindings,
    }))
}

/// Cycles: a loader reachable from itself would recurse forever. Each cycle
/// is reported once, at the relation of its lowest query that closes it.
fn report_cycles(
    queries: &[QueryFacts<'_>],
    graph: &[QueryPrefetch],
    by_name: &HashMap<&str, usize>,
    errors: &mut Vec<Diagnostic>,
) {
    for (start, query) in queries.iter().enumerate() {
        let Some(cycle) = find_cycle(start, graph) else {
            continue;
        };
        let closing = query.directives.prefetch.iter().find(|p| match &p.source {
            RelationSource::Named { loader, .. } => by_name.get(loader.as_str()) == cycle.get(1),
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
