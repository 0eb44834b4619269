//! The traced prover: columns PostgreSQL traces to base tables.
//!
//! Independent of the scope analysis and deliberately simple: a column that
//! describe traces to a base-table column (table OID and attribute number) is
//! non-null when that column is `attnotnull` **and** the table appears nowhere
//! on the nullable side of an outer join in the statement (through nested
//! joins, subqueries, `LATERAL` and CTEs) — unless the projection names an
//! inner-side instance of it (`p.title` with `p` inner). `RETURNING` columns
//! follow the target table; `GROUPING SETS`/`ROLLUP`/`CUBE` anywhere make
//! every column nullable. Everything else is nullable. The caller combines it
//! with the analysis: either proving a column non-null is enough.

use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_relations, Expr, FromTable, GroupByExpr, JoinOperator, Query, Select, SelectItem,
    SetExpr, Statement, TableFactor, TableObject, TableWithJoins, Visit, Visitor,
};

use crate::describe::DescribedColumn;
use crate::parse::{normalize_ident, object_base_name, object_schema};
use crate::schema::{Catalog, RelationKind};

/// The conservative rule: trace columns to base tables through describe.
pub(super) fn describe_based(
    statement: Option<&Statement>,
    columns: &[DescribedColumn],
    catalog: &Catalog,
) -> Vec<bool> {
    let all_nullable = || vec![true; columns.len()];
    let Some(statement) = statement else {
        return all_nullable();
    };
    let mut scan = Scan::new(catalog);
    let _ = statement.visit(&mut scan);
    if scan.grouping_sets {
        return all_nullable();
    }
    let nullable_tables = scan.nullable_tables();

    // Columns the projection names through an inner-side table instance.
    let proven = match statement {
        Statement::Query(query) => match query.body.as_ref() {
            SetExpr::Select(select) => {
                inner_projection_columns(select, catalog, &nullable_side_aliases(select))
            }
            _ => HashMap::new(),
        },
        _ => HashMap::new(),
    };
    let returning = returning_columns(statement, catalog, columns.len());

    columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            if let Some(&not_null) = returning.get(&index) {
                return !not_null;
            }
            let (Some(oid), Some(attnum)) = (column.table_oid, column.column_id) else {
                return true;
            };
            let Some((table, col)) = catalog.column(oid, attnum) else {
                return true;
            };
            if !col.not_null || table.kind != RelationKind::Table {
                return true;
            }
            if !nullable_tables.contains(&oid) {
                return false;
            }
            proven.get(&index) != Some(&oid)
        })
        .collect()
}

/// Walks the whole statement: outer joins, CTE definitions, grouping sets.
struct Scan<'a> {
    catalog: &'a Catalog,
    /// Relation names found on the nullable side of some outer join.
    nullable_names: Vec<sqlparser::ast::ObjectName>,
    /// CTE name → relations its definition reads.
    ctes: HashMap<String, Vec<sqlparser::ast::ObjectName>>,
    grouping_sets: bool,
}

impl<'a> Scan<'a> {
    fn new(catalog: &'a Catalog) -> Self {
        Self {
            catalog,
            nullable_names: Vec::new(),
            ctes: HashMap::new(),
            grouping_sets: false,
        }
    }

    fn joins(&mut self, from: &TableWithJoins) {
        for (index, join) in from.joins.iter().enumerate() {
            match &join.join_operator {
                JoinOperator::Left(_) | JoinOperator::LeftOuter(_) | JoinOperator::OuterApply => {
                    self.nullable_factor(&join.relation);
                }
                JoinOperator::Right(_) | JoinOperator::RightOuter(_) => {
                    self.nullable_factor(&from.relation);
                    for earlier in &from.joins[..index] {
                        self.nullable_factor(&earlier.relation);
                    }
                }
                JoinOperator::FullOuter(_) => {
                    self.nullable_factor(&join.relation);
                    self.nullable_factor(&from.relation);
                    for earlier in &from.joins[..index] {
                        self.nullable_factor(&earlier.relation);
                    }
                }
                _ => {}
            }
        }
    }

    fn nullable_factor(&mut self, factor: &TableFactor) {
        let names = &mut self.nullable_names;
        let _ = visit_relations(factor, |name| {
            names.push(name.clone());
            ControlFlow::<()>::Continue(())
        });
    }

    /// OIDs of every base table that may be on a nullable side, expanding CTE names.
    fn nullable_tables(&self) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        let mut pending: Vec<&sqlparser::ast::ObjectName> = self.nullable_names.iter().collect();
        let mut seen_ctes = BTreeSet::new();
        while let Some(name) = pending.pop() {
            let Some(base) = object_base_name(name) else {
                continue;
            };
            if let Some(table) = self.catalog.resolve(object_schema(name).as_deref(), &base) {
                out.insert(table.oid);
            }
            if name.0.len() == 1 && seen_ctes.insert(base.clone()) {
                if let Some(reads) = self.ctes.get(&base) {
                    pending.extend(reads.iter());
                }
            }
        }
        out
    }
}

impl Visitor for Scan<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let mut reads = Vec::new();
                let _ = visit_relations(cte.query.as_ref(), |name| {
                    reads.push(name.clone());
                    ControlFlow::<()>::Continue(())
                });
                self.ctes
                    .entry(normalize_ident(&cte.alias.name))
                    .or_default()
                    .extend(reads);
            }
        }
        self.set_expr(&query.body);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::NestedJoin {
            table_with_joins, ..
        } = factor
        {
            self.joins(table_with_joins);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if matches!(
            expr,
            Expr::GroupingSets(_) | Expr::Cube(_) | Expr::Rollup(_)
        ) {
            self.grouping_sets = true;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        match statement {
            Statement::Update(update) => {
                self.joins(&update.table);
                if let Some(from) = &update.from {
                    let (sqlparser::ast::UpdateTableFromKind::BeforeSet(tables)
                    | sqlparser::ast::UpdateTableFromKind::AfterSet(tables)) = from;
                    for table in tables {
                        self.joins(table);
                    }
                }
            }
            Statement::Delete(delete) => {
                let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) =
                    &delete.from;
                for table in tables.iter().chain(delete.using.iter().flatten()) {
                    self.joins(table);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

impl Scan<'_> {
    fn set_expr(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Select(select) => {
                for from in &select.from {
                    self.joins(from);
                }
                if !matches!(&select.group_by, GroupByExpr::Expressions(_, modifiers) if modifiers.is_empty())
                {
                    self.grouping_sets = true;
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left);
                self.set_expr(right);
            }
            SetExpr::Query(query) => self.set_expr(&query.body),
            _ => {}
        }
    }
}

/// Aliases (or table names) of the top-level FROM items on a nullable side.
fn nullable_side_aliases(select: &Select) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |factor: &TableFactor| {
        let mut names = Vec::new();
        collect_factor_names(factor, &mut names);
        out.extend(names);
    };
    for from in &select.from {
        for (index, join) in from.joins.iter().enumerate() {
            match &join.join_operator {
                JoinOperator::Left(_) | JoinOperator::LeftOuter(_) | JoinOperator::OuterApply => {
                    add(&join.relation)
                }
                JoinOperator::Right(_)
                | JoinOperator::RightOuter(_)
                | JoinOperator::FullOuter(_) => {
                    add(&from.relation);
                    for earlier in &from.joins[..index] {
                        add(&earlier.relation);
                    }
                    if matches!(join.join_operator, JoinOperator::FullOuter(_)) {
                        add(&join.relation);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The names a FROM item can be referred to by (its alias, else its table name),
/// including everything inside a parenthesised join.
fn collect_factor_names(factor: &TableFactor, out: &mut Vec<String>) {
    match factor {
        TableFactor::Table { name, alias, .. } => {
            if let Some(alias) = alias {
                out.push(normalize_ident(&alias.name));
            } else if let Some(base) = object_base_name(name) {
                out.push(base);
            }
        }
        TableFactor::NestedJoin {
            table_with_joins,
            alias,
        } => {
            if let Some(alias) = alias {
                out.push(normalize_ident(&alias.name));
            }
            collect_factor_names(&table_with_joins.relation, out);
            for join in &table_with_joins.joins {
                collect_factor_names(&join.relation, out);
            }
        }
        other => {
            if let Some(alias) = factor_alias(other) {
                out.push(alias);
            }
        }
    }
}

fn factor_alias(factor: &TableFactor) -> Option<String> {
    match factor {
        TableFactor::Derived { alias, .. }
        | TableFactor::TableFunction { alias, .. }
        | TableFactor::Function { alias, .. }
        | TableFactor::UNNEST { alias, .. } => alias.as_ref().map(|a| normalize_ident(&a.name)),
        _ => None,
    }
}

/// Top-level FROM items that are plain tables, by the name they are referred to.
fn top_level_tables(select: &Select, catalog: &Catalog) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    let mut add = |factor: &TableFactor| {
        if let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = factor
        {
            if let (Some(base), Some(table)) = (
                object_base_name(name),
                object_base_name(name)
                    .and_then(|base| catalog.resolve(object_schema(name).as_deref(), &base)),
            ) {
                let key = alias.as_ref().map_or(base, |a| normalize_ident(&a.name));
                out.insert(key, table.oid);
            }
        }
    };
    for from in &select.from {
        add(&from.relation);
        for join in &from.joins {
            add(&join.relation);
        }
    }
    out
}

/// Output index → table OID for projection items `alias.column` whose alias is a
/// plain table on the inner side of every join at the top level. Stops at the
/// first wildcard (positions after it are unknown here).
fn inner_projection_columns(
    select: &Select,
    catalog: &Catalog,
    nullable: &BTreeSet<String>,
) -> HashMap<usize, u32> {
    let tables = top_level_tables(select, catalog);
    let mut out = HashMap::new();
    for (index, item) in select.projection.iter().enumerate() {
        let expr = match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => break,
            SelectItem::ExprWithAliases { .. } => break,
        };
        if let Expr::CompoundIdentifier(parts) = expr {
            if parts.len() == 2 {
                let qualifier = normalize_ident(&parts[0]);
                if !nullable.contains(&qualifier) {
                    if let Some(&oid) = tables.get(&qualifier) {
                        out.insert(index, oid);
                    }
                }
            }
        }
    }
    out
}

/// Output index → "is not null" for `RETURNING` items that name a column of the
/// target table (or `RETURNING *` of a single-table statement).
fn returning_columns(
    statement: &Statement,
    catalog: &Catalog,
    count: usize,
) -> HashMap<usize, bool> {
    let (target, alias, returning, single_table) = match statement {
        Statement::Insert(insert) => match &insert.table {
            TableObject::TableName(name) => (
                Some(name),
                insert
                    .table_alias
                    .as_ref()
                    .map(|a| normalize_ident(&a.alias)),
                insert.returning.as_ref(),
                true,
            ),
            _ => (None, None, None, false),
        },
        Statement::Update(update) => match &update.table.relation {
            TableFactor::Table { name, alias, .. } => (
                Some(name),
                alias.as_ref().map(|a| normalize_ident(&a.name)),
                update.returning.as_ref(),
                update.from.is_none() && update.table.joins.is_empty(),
            ),
            _ => (None, None, None, false),
        },
        Statement::Delete(delete) => {
            let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) =
                &delete.from;
            match tables.as_slice() {
                [only] if only.joins.is_empty() => match &only.relation {
                    TableFactor::Table { name, alias, .. } => (
                        Some(name),
                        alias.as_ref().map(|a| normalize_ident(&a.name)),
                        delete.returning.as_ref(),
                        delete.using.is_none(),
                    ),
                    _ => (None, None, None, false),
                },
                _ => (None, None, None, false),
            }
        }
        _ => (None, None, None, false),
    };
    let mut out = HashMap::new();
    let (Some(target), Some(returning)) = (target, returning) else {
        return out;
    };
    let Some(base) = object_base_name(target) else {
        return out;
    };
    let Some(table) = catalog.resolve(object_schema(target).as_deref(), &base) else {
        return out;
    };
    let own_names = [Some(base.clone()), alias];
    let mut index = 0;
    for item in returning {
        match item {
            SelectItem::Wildcard(_) if single_table => {
                for column in &table.columns {
                    out.insert(index, column.not_null);
                    index += 1;
                }
            }
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                let column = match expr {
                    Expr::Identifier(ident) => Some(normalize_ident(ident)),
                    Expr::CompoundIdentifier(parts)
                        if parts.len() == 2
                            && own_names.contains(&Some(normalize_ident(&parts[0]))) =>
                    {
                        Some(normalize_ident(&parts[1]))
                    }
                    _ => None,
                };
                if let Some(column) = column.and_then(|name| table.column_named(&name)) {
                    out.insert(index, column.not_null);
                }
                index += 1;
            }
            _ => return HashMap::new(),
        }
    }
    if index != count {
        // The RETURNING list did not line up with the described columns; trust nothing.
        return HashMap::new();
    }
    out
}
