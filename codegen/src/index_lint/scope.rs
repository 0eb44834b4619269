//! Equality sites of a statement, resolved to table columns.
//!
//! Owns the walk over a statement's SELECTs (CTEs, set operations, derived
//! tables and subqueries, with correlated references resolved outward),
//! `UPDATE … FROM` and `DELETE … USING`: the top-level `AND` conjuncts of
//! each `WHERE` and `JOIN … ON` that compare a column with a parameter
//! (`col = $n`, `col = ANY($n)`, `col IN ($n, …)`) or a foreign key column
//! with the column it references. Only references that resolve to exactly
//! one table column count; anything else (a CTE, a function, an ambiguous
//! unqualified name) is skipped.

use std::ops::{ControlFlow, Range};

use sqlparser::ast::{
    BinaryOperator, Expr, FromTable, JoinConstraint, JoinOperator, Query, Select, SetExpr, Spanned,
    Statement, TableFactor, TableWithJoins, UpdateTableFromKind, Value, Visit, Visitor,
};

use super::ColumnRef;
use crate::parse::{normalize_ident, object_base_name, object_schema, span_range};
use crate::schema::Catalog;

/// One equality the index lints look at (spans in the rewritten SQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// A column compared with parameters.
    Filter {
        /// The column.
        column: ColumnRef,
        /// The comparison.
        span: Range<usize>,
    },
    /// A foreign key column compared with the column it references.
    Join {
        /// The referencing column.
        child: ColumnRef,
        /// The referenced column.
        parent: ColumnRef,
        /// The comparison.
        span: Range<usize>,
    },
}

/// One FROM item: the name it is referred to by, and its table (`None` for
/// anything that is not a catalog table: a CTE, a subquery, a function).
type Entry = (String, Option<u32>);

/// The FROM items of one query level, and the levels around it.
struct Scope<'p> {
    entries: Vec<Entry>,
    ctes: Vec<String>,
    parent: Option<&'p Scope<'p>>,
}

/// Collects the sites of `statement`.
/// `sql` is the (rewritten) SQL `statement` was parsed from: the sites'
/// spans are byte ranges in it.
pub fn equality_sites(statement: &Statement, sql: &str, catalog: &Catalog) -> Vec<Site> {
    let mut walk = Walk {
        catalog,
        sql,
        sites: Vec::new(),
    };
    let root = Scope {
        entries: Vec::new(),
        ctes: Vec::new(),
        parent: None,
    };
    match statement {
        Statement::Update(update) => {
            let mut froms = vec![&update.table];
            if let Some(
                UpdateTableFromKind::AfterSet(tables) | UpdateTableFromKind::BeforeSet(tables),
            ) = &update.from
            {
                froms.extend(tables);
            }
            walk.level(&root, &froms, update.selection.as_ref(), statement);
        }
        Statement::Delete(delete) => {
            let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) =
                &delete.from;
            let mut froms: Vec<&TableWithJoins> = tables.iter().collect();
            froms.extend(delete.using.iter().flatten());
            walk.level(&root, &froms, delete.selection.as_ref(), statement);
        }
        other => {
            for query in top_queries(other) {
                walk.query(&query, &root);
            }
        }
    }
    walk.sites
}

struct Walk<'c> {
    catalog: &'c Catalog,
    sql: &'c str,
    sites: Vec<Site>,
}

impl Walk<'_> {
    /// Where `expr` is in the SQL.
    fn span_of(&self, expr: &Expr) -> Option<Range<usize>> {
        span_range(self.sql, expr.span())
    }

    fn query(&mut self, query: &Query, outer: &Scope<'_>) {
        let mut ctes = outer.ctes.clone();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                ctes.push(normalize_ident(&cte.alias.name));
                let scope = Scope {
                    entries: Vec::new(),
                    ctes: ctes.clone(),
                    parent: Some(outer),
                };
                self.query(&cte.query, &scope);
            }
        }
        let scope = Scope {
            entries: Vec::new(),
            ctes,
            parent: Some(outer),
        };
        self.set_expr(&query.body, &scope);
    }

    fn set_expr(&mut self, body: &SetExpr, outer: &Scope<'_>) {
        match body {
            SetExpr::Select(select) => self.select(select, outer),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left, outer);
                self.set_expr(right, outer);
            }
            SetExpr::Query(query) => self.query(query, outer),
            _ => {}
        }
    }

    fn select(&mut self, select: &Select, outer: &Scope<'_>) {
        let froms: Vec<&TableWithJoins> = select.from.iter().collect();
        self.level(outer, &froms, select.selection.as_ref(), select);
    }

    /// One query level: its FROM items, the conjuncts of its `WHERE` and
    /// `ON`s, then the queries nested in `node` (derived tables,
    /// subqueries) with this level around them.
    fn level(
        &mut self,
        outer: &Scope<'_>,
        froms: &[&TableWithJoins],
        selection: Option<&Expr>,
        node: &dyn VisitDyn,
    ) {
        let mut scope = Scope {
            entries: Vec::new(),
            ctes: outer.ctes.clone(),
            parent: Some(outer),
        };
        let mut conditions: Vec<&Expr> = selection.into_iter().collect();
        for from in froms {
            self.factor(
                &from.relation,
                &mut scope.entries,
                &mut conditions,
                &outer.ctes,
            );
            for join in &from.joins {
                self.factor(
                    &join.relation,
                    &mut scope.entries,
                    &mut conditions,
                    &outer.ctes,
                );
                if let Some(JoinConstraint::On(on)) = join_constraint(&join.join_operator) {
                    conditions.push(on);
                }
            }
        }
        for condition in conditions {
            self.conjuncts(condition, &scope);
        }
        for query in node.top_queries() {
            self.query(&query, &scope);
        }
    }

    fn factor<'e>(
        &self,
        factor: &'e TableFactor,
        entries: &mut Vec<Entry>,
        conditions: &mut Vec<&'e Expr>,
        ctes: &[String],
    ) {
        match factor {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                let base = object_base_name(name);
                let schema = object_schema(name);
                let is_cte = schema.is_none() && base.as_ref().is_some_and(|b| ctes.contains(b));
                let oid = base
                    .as_ref()
                    .filter(|_| !is_cte && args.is_none())
                    .and_then(|b| self.catalog.resolve(schema.as_deref(), b))
                    .map(|t| t.oid);
                let key = alias.as_ref().map(|a| normalize_ident(&a.name)).or(base);
                if let Some(key) = key {
                    entries.push((key, oid));
                }
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.factor(&table_with_joins.relation, entries, conditions, ctes);
                for join in &table_with_joins.joins {
                    self.factor(&join.relation, entries, conditions, ctes);
                    if let Some(JoinConstraint::On(on)) = join_constraint(&join.join_operator) {
                        conditions.push(on);
                    }
                }
            }
            // Opaque: blocks resolving unqualified names at this level.
            _ => entries.push((String::new(), None)),
        }
    }

    fn conjuncts(&mut self, expr: &Expr, scope: &Scope<'_>) {
        match expr {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                self.conjuncts(left, scope);
                self.conjuncts(right, scope);
            }
            Expr::Nested(inner) => self.conjuncts(inner, scope),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => self.equality(expr, left, right, scope),
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } if is_param(right) => self.filter(expr, left, scope),
            Expr::InList {
                expr: column,
                list,
                negated: false,
            } if !list.is_empty() && list.iter().all(is_param) => self.filter(expr, column, scope),
            _ => {}
        }
    }

    fn equality(&mut self, expr: &Expr, left: &Expr, right: &Expr, scope: &Scope<'_>) {
        if is_param(right) {
            return self.filter(expr, left, scope);
        }
        if is_param(left) {
            return self.filter(expr, right, scope);
        }
        let (Some(a), Some(b)) = (
            resolve(left, scope, self.catalog),
            resolve(right, scope, self.catalog),
        ) else {
            return;
        };
        let Some(span) = self.span_of(expr) else {
            return;
        };
        for (child, parent) in [(a, b), (b, a)] {
            if self.references(child, parent) {
                self.sites.push(Site::Join {
                    child,
                    parent,
                    span: span.clone(),
                });
            }
        }
    }

    /// Whether `child` leads a foreign key whose first referenced column is `parent`.
    fn references(&self, child: ColumnRef, parent: ColumnRef) -> bool {
        self.catalog.tables.get(&child.0).is_some_and(|table| {
            table.foreign_keys.iter().any(|fk| {
                fk.columns.first() == Some(&child.1)
                    && fk.referenced_table == parent.0
                    && fk.referenced_columns.first() == Some(&parent.1)
            })
        })
    }

    fn filter(&mut self, expr: &Expr, column: &Expr, scope: &Scope<'_>) {
        if let (Some(column), Some(span)) =
            (resolve(column, scope, self.catalog), self.span_of(expr))
        {
            self.sites.push(Site::Filter { column, span });
        }
    }
}

fn join_constraint(operator: &JoinOperator) -> Option<&JoinConstraint> {
    match operator {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c) => Some(c),
        _ => None,
    }
}

/// `$n`, possibly cast or parenthesised.
fn is_param(expr: &Expr) -> bool {
    match expr {
        Expr::Value(value) => matches!(value.value, Value::Placeholder(_)),
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => is_param(inner),
        _ => false,
    }
}

/// The table column a direct reference (`col`, `alias.col`,
/// `schema.table.col`) names, looking outward through the levels.
fn resolve(expr: &Expr, scope: &Scope<'_>, catalog: &Catalog) -> Option<ColumnRef> {
    let (qualifier, name) = match expr {
        Expr::Nested(inner) => return resolve(inner, scope, catalog),
        Expr::Identifier(ident) => (None, normalize_ident(ident)),
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => (
            Some(normalize_ident(&parts[parts.len() - 2])),
            normalize_ident(&parts[parts.len() - 1]),
        ),
        _ => return None,
    };
    let column = |oid: u32| {
        let table = catalog.tables.get(&oid)?;
        Some((oid, table.column_named(&name)?.attnum))
    };
    let mut level = Some(scope);
    while let Some(scope) = level {
        match &qualifier {
            Some(qualifier) => {
                if let Some((_, oid)) = scope.entries.iter().find(|(key, _)| key == qualifier) {
                    return column((*oid)?);
                }
            }
            None => {
                if scope.entries.iter().any(|(_, oid)| oid.is_none()) {
                    return None;
                }
                let found: Vec<ColumnRef> = scope
                    .entries
                    .iter()
                    .filter_map(|(_, oid)| column((*oid)?))
                    .collect();
                match found.as_slice() {
                    [] => {}
                    [one] => return Some(*one),
                    _ => return None,
                }
            }
        }
        level = scope.parent;
    }
    None
}

/// Something whose nested queries can be listed.
trait VisitDyn {
    /// The queries nested directly in this node (not inside another nested query).
    fn top_queries(&self) -> Vec<Query>;
}

impl<T: Visit> VisitDyn for T {
    fn top_queries(&self) -> Vec<Query> {
        top_queries(self)
    }
}

/// The outermost queries nested in `node` (cloned: the visitor's borrows do
/// not outlive its callbacks).
fn top_queries<T: Visit + ?Sized>(node: &T) -> Vec<Query> {
    struct Top {
        depth: usize,
        found: Vec<Query>,
    }
    impl Visitor for Top {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if self.depth == 0 {
                self.found.push(query.clone());
            }
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
            self.depth = self.depth.saturating_sub(1);
            ControlFlow::Continue(())
        }
    }
    let mut top = Top {
        depth: 0,
        found: Vec::new(),
    };
    let _ = node.visit(&mut top);
    top.found
}
