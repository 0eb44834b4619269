//! The scoped analysis: nullability of every output column from the AST.
//!
//! Walks a statement the way PostgreSQL resolves it: a query's CTEs, then its
//! body; a SELECT's FROM items (tables, views, subqueries, CTEs, `LATERAL`,
//! functions, `UNNEST`, `VALUES`) joined left to right, outer joins marking
//! their nullable side; then `WHERE` refinement; then each projection
//! expression under DESIGN's rules. Every function returns `None` for a
//! construct it does not model, and the caller then falls back to the traced
//! prover — the analysis never guesses "non-null".

use std::cell::RefCell;
use std::collections::HashMap;

use sqlparser::ast::{
    BinaryOperator, Expr, FromTable, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, JoinConstraint, JoinOperator, ObjectName, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, SetOperator, Statement, TableAlias, TableFactor,
    TableObject, TableWithJoins, UnaryOperator, Value, WindowFrameBound, WindowType,
};

use super::functions::{
    aggregate_rule, scalar_rule, window_rule, AggregateRule, ScalarRule, WindowRule,
};
use crate::parse::{normalize_ident, object_base_name, object_schema};
use crate::schema::{Catalog, RelationKind};

/// The analysis result for one output column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OutputColumn {
    pub nullable: bool,
    pub computed: bool,
    pub can_be_null: bool,
}

/// Analyses a whole statement; `None` when it uses something not modelled.
pub(super) fn analyse_statement(
    statement: &Statement,
    catalog: &Catalog,
    params: &[bool],
) -> Option<Vec<OutputColumn>> {
    let analyser = Analyser {
        catalog,
        params,
        views: RefCell::new(HashMap::new()),
        depth: RefCell::new(0),
    };
    let columns = match statement {
        Statement::Query(query) => analyser.query(query, &Env::default(), None)?,
        other => analyser.modify(other, &Env::default())?,
    };
    Some(
        columns
            .into_iter()
            .map(|c| OutputColumn {
                nullable: c.fact.nullable,
                computed: c.fact.computed,
                can_be_null: c.fact.can_be_null,
            })
            .collect(),
    )
}

/// What is known about one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fact {
    nullable: bool,
    computed: bool,
    /// Provably NULL for some database state.
    can_be_null: bool,
}

impl Fact {
    const NON_NULL: Fact = Fact {
        nullable: false,
        computed: true,
        can_be_null: false,
    };
    const NULLABLE: Fact = Fact {
        nullable: true,
        computed: true,
        can_be_null: false,
    };
    const NULL: Fact = Fact {
        nullable: true,
        computed: true,
        can_be_null: true,
    };

    fn nullable(nullable: bool) -> Fact {
        Fact {
            nullable,
            computed: true,
            can_be_null: false,
        }
    }

    /// A computed value that is NULL if any input is.
    fn strict(inputs: &[Fact]) -> Fact {
        Fact {
            nullable: inputs.iter().any(|f| f.nullable),
            computed: true,
            can_be_null: inputs.iter().any(|f| f.can_be_null),
        }
    }
}

/// A named output column of a query or relation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: Option<String>,
    fact: Fact,
}

/// A relation in a FROM clause.
#[derive(Debug, Clone)]
struct Relation {
    /// The name it is referred to by (alias, or table/CTE name).
    name: Option<String>,
    columns: Vec<ScopeColumn>,
    /// On the nullable side of an outer join (and not proven matched since).
    outer: bool,
}

#[derive(Debug, Clone)]
struct ScopeColumn {
    name: String,
    fact: Fact,
    /// Proven non-null by a filter (`WHERE x IS NOT NULL`, an inner join's `ON`).
    refined: bool,
}

impl Relation {
    fn effective(&self, column: &ScopeColumn) -> Fact {
        if self.outer {
            Fact {
                nullable: true,
                computed: column.fact.computed,
                can_be_null: true,
            }
        } else if column.refined {
            Fact {
                nullable: false,
                can_be_null: false,
                ..column.fact
            }
        } else {
            column.fact
        }
    }
}

/// Names visible to expressions: the FROM relations of a SELECT and its outer queries.
struct Scope<'p> {
    relations: Vec<Relation>,
    parent: Option<&'p Scope<'p>>,
    /// Grouped by `GROUPING SETS`/`ROLLUP`/`CUBE`: plain column references may be NULL.
    grouping_sets: bool,
    /// The SELECT has `GROUP BY`: every group has at least one row.
    grouped: bool,
}

impl Scope<'_> {
    /// The fact for a column reference (`name` or `qualifier.name`); `None` if unresolved.
    fn lookup(&self, qualifier: Option<&str>, name: &str) -> Option<Fact> {
        let found: Vec<Fact> = self
            .relations
            .iter()
            .filter(|r| qualifier.is_none() || r.name.as_deref() == qualifier)
            .flat_map(|r| {
                r.columns
                    .iter()
                    .filter(|c| c.name == name)
                    .map(move |c| r.effective(c))
            })
            .collect();
        let fact = match found.as_slice() {
            [] => {
                return self
                    .parent
                    .and_then(|parent| parent.lookup(qualifier, name))
            }
            [one] => *one,
            // Only a USING/NATURAL merged column resolves to several: it is the
            // non-null one of them (COALESCE for FULL joins, the outer side's
            // for LEFT/RIGHT, and both equal and non-null for inner joins).
            many => Fact {
                nullable: many.iter().all(|f| f.nullable),
                computed: false,
                can_be_null: many.iter().all(|f| f.can_be_null),
            },
        };
        if self.grouping_sets {
            return Some(Fact::NULLABLE);
        }
        Some(fact)
    }

    /// Marks a column reference proven non-null: the column and, since a
    /// non-null value means the row matched, its whole relation.
    fn refine(&mut self, qualifier: Option<&str>, name: &str) {
        let candidates: Vec<usize> = self
            .relations
            .iter()
            .enumerate()
            .filter(|(_, r)| qualifier.is_none() || r.name.as_deref() == qualifier)
            .filter(|(_, r)| r.columns.iter().any(|c| c.name == name))
            .map(|(i, _)| i)
            .collect();
        // An ambiguous (merged) name proves nothing about one side.
        if let [index] = candidates.as_slice() {
            let relation = &mut self.relations[*index];
            relation.outer = false;
            for column in relation.columns.iter_mut().filter(|c| c.name == name) {
                column.refined = true;
            }
        }
    }
}

/// CTEs visible at a point, innermost last.
#[derive(Debug, Clone, Default)]
struct Env {
    ctes: Vec<(String, Vec<Column>)>,
}

impl Env {
    fn cte(&self, name: &str) -> Option<&Vec<Column>> {
        self.ctes
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
    }

    fn with(&self, name: String, columns: Vec<Column>) -> Env {
        let mut env = self.clone();
        env.ctes.push((name, columns));
        env
    }
}

struct Analyser<'c> {
    catalog: &'c Catalog,
    params: &'c [bool],
    /// View OID → its analysed columns (`None` while in progress or unanalysable).
    views: RefCell<HashMap<u32, Option<Vec<Column>>>>,
    depth: RefCell<usize>,
}

const MAX_DEPTH: usize = 64;

fn ident_parts(expr: &Expr) -> Option<(Option<String>, String)> {
    match expr {
        Expr::Identifier(ident) => Some((None, normalize_ident(ident))),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [qualifier, name] => Some((Some(normalize_ident(qualifier)), normalize_ident(name))),
            [.., qualifier, name] => {
                Some((Some(normalize_ident(qualifier)), normalize_ident(name)))
            }
            _ => None,
        },
        Expr::Nested(inner) => ident_parts(inner),
        _ => None,
    }
}

/// The top-level `AND` conjuncts of a condition.
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut out = conjuncts(left);
            out.extend(conjuncts(right));
            out
        }
        Expr::Nested(inner) => conjuncts(inner),
        other => vec![other],
    }
}

fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
            | BinaryOperator::PGRegexMatch
            | BinaryOperator::PGRegexIMatch
            | BinaryOperator::PGRegexNotMatch
            | BinaryOperator::PGRegexNotIMatch
            | BinaryOperator::PGLikeMatch
            | BinaryOperator::PGILikeMatch
            | BinaryOperator::PGNotLikeMatch
            | BinaryOperator::PGNotILikeMatch
            // Containment, existence and overlap operators of jsonb, arrays,
            // ranges and text search: strict, NULL for a NULL operand.
            | BinaryOperator::AtArrow
            | BinaryOperator::ArrowAt
            | BinaryOperator::PGOverlap
            | BinaryOperator::Question
            | BinaryOperator::QuestionAnd
            | BinaryOperator::QuestionPipe
            | BinaryOperator::AtQuestion
            | BinaryOperator::AtAt
    )
}

/// Operators that are NULL exactly when an operand is (for refinement: a
/// non-null result proves non-null operands).
fn is_strict_operator(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo
            | BinaryOperator::StringConcat
    )
}

/// JSON operators return NULL for a missing key even on non-null input.
fn is_json_lookup(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Arrow
            | BinaryOperator::LongArrow
            | BinaryOperator::HashArrow
            | BinaryOperator::HashLongArrow
    )
}

fn function_name(function: &Function) -> Option<String> {
    object_base_name(&function.name).map(|n| n.to_lowercase())
}

fn function_args(function: &Function) -> Option<Vec<&FunctionArgExpr>> {
    match &function.args {
        FunctionArguments::None => Some(Vec::new()),
        FunctionArguments::Subquery(_) => None,
        FunctionArguments::List(list) => Some(
            list.args
                .iter()
                .map(|arg| match arg {
                    FunctionArg::Named { arg, .. }
                    | FunctionArg::ExprNamed { arg, .. }
                    | FunctionArg::Unnamed(arg) => arg,
                })
                .collect(),
        ),
    }
}

/// Applies a table alias's column list (`AS t(a, b)`) to a relation's columns.
fn rename(columns: Vec<Column>, alias: Option<&TableAlias>) -> Vec<Column> {
    let Some(alias) = alias else {
        return columns;
    };
    columns
        .into_iter()
        .enumerate()
        .map(|(i, column)| match alias.columns.get(i) {
            Some(def) => Column {
                name: Some(normalize_ident(&def.name)),
                fact: column.fact,
            },
            None => column,
        })
        .collect()
}

fn relation(name: Option<String>, columns: Vec<Column>) -> Relation {
    Relation {
        name,
        columns: columns
            .into_iter()
            .map(|c| ScopeColumn {
                name: c.name.unwrap_or_default(),
                fact: c.fact,
                refined: false,
            })
            .collect(),
        outer: false,
    }
}

impl Analyser<'_> {
    fn enter(&self) -> Option<DepthGuard<'_>> {
        let mut depth = self.depth.borrow_mut();
        if *depth >= MAX_DEPTH {
            return None;
        }
        *depth += 1;
        Some(DepthGuard(&self.depth))
    }

    // ----- queries -------------------------------------------------------

    fn query(&self, query: &Query, env: &Env, outer: Option<&Scope<'_>>) -> Option<Vec<Column>> {
        let _guard = self.enter()?;
        let mut env = env.clone();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let name = normalize_ident(&cte.alias.name);
                let columns = if with.recursive {
                    self.recursive_cte(&name, &cte.query, &env, outer)?
                } else {
                    self.query(&cte.query, &env, outer)?
                };
                let columns = rename(columns, Some(&cte.alias));
                env = env.with(name, columns);
            }
        }
        self.set_expr(&query.body, &env, outer)
    }

    /// A recursive CTE: its anchor, then the recursive term with the CTE bound
    /// to what is known so far, until nothing changes.
    fn recursive_cte(
        &self,
        name: &str,
        query: &Query,
        env: &Env,
        outer: Option<&Scope<'_>>,
    ) -> Option<Vec<Column>> {
        let SetExpr::SetOperation {
            op: SetOperator::Union,
            left,
            right,
            ..
        } = query.body.as_ref()
        else {
            // Not self-referencing in the recursive shape: an ordinary CTE.
            return self.query(query, env, outer);
        };
        let mut known = self.set_expr(left, env, outer)?;
        for _ in 0..8 {
            let bound = env.with(name.to_string(), known.clone());
            let step = self.set_expr(right, &bound, outer)?;
            if step.len() != known.len() {
                return None;
            }
            let merged: Vec<Column> = known
                .iter()
                .zip(&step)
                .map(|(a, b)| Column {
                    name: a.name.clone(),
                    fact: Fact {
                        nullable: a.fact.nullable || b.fact.nullable,
                        computed: a.fact.computed || b.fact.computed,
                        can_be_null: a.fact.can_be_null || b.fact.can_be_null,
                    },
                })
                .collect();
            if merged == known {
                return Some(known);
            }
            known = merged;
        }
        None
    }

    fn set_expr(
        &self,
        body: &SetExpr,
        env: &Env,
        outer: Option<&Scope<'_>>,
    ) -> Option<Vec<Column>> {
        match body {
            SetExpr::Select(select) => self.select(select, env, outer),
            SetExpr::Query(query) => self.query(query, env, outer),
            SetExpr::SetOperation {
                op, left, right, ..
            } => {
                let left = self.set_expr(left, env, outer)?;
                let right = self.set_expr(right, env, outer)?;
                if left.len() != right.len() {
                    return None;
                }
                Some(
                    left.into_iter()
                        .zip(right)
                        .map(|(l, r)| {
                            let nullable = match op {
                                SetOperator::Union => l.fact.nullable || r.fact.nullable,
                                SetOperator::Intersect => l.fact.nullable && r.fact.nullable,
                                SetOperator::Except => l.fact.nullable,
                                _ => true,
                            };
                            Column {
                                name: l.name,
                                fact: Fact {
                                    nullable,
                                    computed: l.fact.computed || r.fact.computed,
                                    can_be_null: nullable
                                        && (l.fact.can_be_null || r.fact.can_be_null),
                                },
                            }
                        })
                        .collect(),
                )
            }
            SetExpr::Values(values) => {
                let scope = Scope {
                    relations: Vec::new(),
                    parent: outer,
                    grouping_sets: false,
                    grouped: false,
                };
                let width = values.rows.first()?.content.len();
                let mut facts = vec![Fact::NON_NULL; width];
                for row in &values.rows {
                    if row.content.len() != width {
                        return None;
                    }
                    for (fact, expr) in facts.iter_mut().zip(&row.content) {
                        let value = self.expr(expr, &scope, env);
                        fact.nullable |= value.nullable;
                        fact.can_be_null |= value.can_be_null;
                    }
                }
                Some(
                    facts
                        .into_iter()
                        .enumerate()
                        .map(|(i, fact)| Column {
                            name: Some(format!("column{}", i + 1)),
                            fact,
                        })
                        .collect(),
                )
            }
            SetExpr::Insert(statement)
            | SetExpr::Update(statement)
            | SetExpr::Delete(statement) => self.modify(statement, env),
            _ => None,
        }
    }

    // ----- SELECT --------------------------------------------------------

    fn select(&self, select: &Select, env: &Env, outer: Option<&Scope<'_>>) -> Option<Vec<Column>> {
        if select.top.is_some() || select.into.is_some() || !select.lateral_views.is_empty() {
            return None;
        }
        let (grouped, grouping_sets) = match &select.group_by {
            GroupByExpr::Expressions(exprs, modifiers) => (
                !exprs.is_empty(),
                !modifiers.is_empty()
                    || exprs.iter().any(|e| {
                        matches!(e, Expr::GroupingSets(_) | Expr::Cube(_) | Expr::Rollup(_))
                    }),
            ),
            GroupByExpr::All(_) => return None,
        };
        let mut scope = Scope {
            relations: Vec::new(),
            parent: outer,
            grouping_sets: false,
            grouped,
        };
        for from in &select.from {
            let relations = self.table_with_joins(from, env, &scope)?;
            scope.relations.extend(relations);
        }
        if let Some(selection) = &select.selection {
            self.refine(&mut scope, selection);
        }
        scope.grouping_sets = grouping_sets;
        let mut out = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(expr) => out.push(Column {
                    name: ident_parts(expr).map(|(_, n)| n),
                    fact: self.expr(expr, &scope, env),
                }),
                SelectItem::ExprWithAlias { expr, alias } => out.push(Column {
                    name: Some(normalize_ident(alias)),
                    fact: self.expr(expr, &scope, env),
                }),
                SelectItem::Wildcard(options) => {
                    if options.opt_exclude.is_some()
                        || options.opt_except.is_some()
                        || options.opt_rename.is_some()
                    {
                        return None;
                    }
                    // Merged USING/NATURAL columns would change the expansion: not modelled.
                    if select.from.iter().any(|f| {
                        f.joins.iter().any(|j| match &j.join_operator {
                            JoinOperator::Join(c)
                            | JoinOperator::Inner(c)
                            | JoinOperator::Left(c)
                            | JoinOperator::LeftOuter(c)
                            | JoinOperator::Right(c)
                            | JoinOperator::RightOuter(c)
                            | JoinOperator::FullOuter(c) => {
                                matches!(c, JoinConstraint::Using(_) | JoinConstraint::Natural)
                            }
                            _ => false,
                        })
                    }) {
                        return None;
                    }
                    for relation in &scope.relations {
                        for column in &relation.columns {
                            let fact = if scope.grouping_sets {
                                Fact::NULLABLE
                            } else {
                                relation.effective(column)
                            };
                            out.push(Column {
                                name: Some(column.name.clone()),
                                fact,
                            });
                        }
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return None;
                    };
                    let qualifier = object_base_name(name)?;
                    let relation = scope
                        .relations
                        .iter()
                        .find(|r| r.name.as_deref() == Some(&qualifier))?;
                    for column in &relation.columns {
                        let fact = if scope.grouping_sets {
                            Fact::NULLABLE
                        } else {
                            relation.effective(column)
                        };
                        out.push(Column {
                            name: Some(column.name.clone()),
                            fact,
                        });
                    }
                }
                SelectItem::ExprWithAliases { .. } => return None,
            }
        }
        Some(out)
    }

    /// One comma-separated FROM item with its joins, left to right.
    fn table_with_joins(
        &self,
        from: &TableWithJoins,
        env: &Env,
        scope: &Scope<'_>,
    ) -> Option<Vec<Relation>> {
        let mut relations = self.factor(&from.relation, env, scope)?;
        for join in &from.joins {
            let lateral_scope = Scope {
                relations: scope
                    .relations
                    .iter()
                    .chain(relations.iter())
                    .cloned()
                    .collect(),
                parent: scope.parent,
                grouping_sets: false,
                grouped: false,
            };
            let mut right = self.factor(&join.relation, env, &lateral_scope)?;
            let right_len = right.len();
            let (constraint, left_outer, right_outer) = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (Some(c), false, false),
                JoinOperator::CrossJoin(c) => (Some(c), false, false),
                JoinOperator::CrossApply => (None, false, false),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (Some(c), false, true),
                JoinOperator::OuterApply => (None, false, true),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (Some(c), true, false),
                JoinOperator::FullOuter(c) => (Some(c), true, true),
                _ => return None,
            };
            let inner = !left_outer && !right_outer;
            relations.append(&mut right);
            if inner {
                if let Some(JoinConstraint::On(on)) = constraint {
                    let mut joined = Scope {
                        relations: std::mem::take(&mut relations),
                        parent: scope.parent,
                        grouping_sets: false,
                        grouped: false,
                    };
                    self.refine(&mut joined, on);
                    relations = joined.relations;
                }
            }
            let left_count = relations.len() - right_len;
            let merged = match constraint {
                Some(JoinConstraint::Using(columns)) => {
                    merged_using_columns(&relations, left_count, columns, left_outer, right_outer)
                }
                _ => None,
            };
            if left_outer {
                for relation in &mut relations[..left_count] {
                    relation.outer = true;
                }
            }
            if right_outer {
                for relation in &mut relations[left_count..] {
                    relation.outer = true;
                }
            }
            relations.extend(merged);
        }
        Some(relations)
    }

    /// The relations of one FROM factor; `scope` includes the relations joined
    /// on its left (visible to `LATERAL`).
    fn factor(&self, factor: &TableFactor, env: &Env, scope: &Scope<'_>) -> Option<Vec<Relation>> {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args,
                with_ordinality,
                ..
            } => {
                if let Some(args) = args {
                    // A set-returning function written as `FROM f(...)`.
                    let function_name = object_base_name(name)?.to_lowercase();
                    let exprs: Vec<&Expr> = args
                        .args
                        .iter()
                        .filter_map(|arg| match arg {
                            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                            _ => None,
                        })
                        .collect();
                    let elements = self.set_returning_fact(&function_name, &exprs, scope, env);
                    let columns = table_function_columns(
                        &function_name,
                        alias.as_ref(),
                        *with_ordinality,
                        elements,
                    );
                    return Some(vec![relation(
                        alias_name(alias.as_ref()).or(Some(function_name)),
                        columns?,
                    )]);
                }
                let base = object_base_name(name)?;
                let columns = match (name.0.len(), env.cte(&base)) {
                    (1, Some(columns)) => columns.clone(),
                    _ => self.table_columns(name)?,
                };
                let columns = rename(columns, alias.as_ref());
                Some(vec![relation(
                    alias_name(alias.as_ref()).or(Some(base)),
                    columns,
                )])
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let columns = self.query(subquery, env, Some(scope))?;
                let columns = rename(columns, alias.as_ref());
                Some(vec![relation(alias_name(alias.as_ref()), columns)])
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if alias.is_some() {
                    return None;
                }
                self.table_with_joins(table_with_joins, env, scope)
            }
            TableFactor::Function {
                name, alias, args, ..
            } => {
                let function_name = object_base_name(name)?.to_lowercase();
                let exprs: Vec<&Expr> = args
                    .iter()
                    .filter_map(|arg| match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                        _ => None,
                    })
                    .collect();
                let elements = self.set_returning_fact(&function_name, &exprs, scope, env);
                let columns =
                    table_function_columns(&function_name, alias.as_ref(), false, elements)?;
                Some(vec![relation(
                    alias_name(alias.as_ref()).or(Some(function_name)),
                    columns,
                )])
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_ordinality,
                ..
            } => {
                // Elements may be NULL; the ordinality column never is.
                let exprs: Vec<&Expr> = array_exprs.iter().collect();
                let fact = self.set_returning_fact("unnest", &exprs, scope, env);
                let mut columns: Vec<Column> = array_exprs
                    .iter()
                    .map(|_| Column {
                        name: Some("unnest".to_string()),
                        fact,
                    })
                    .collect();
                if *with_ordinality {
                    columns.push(Column {
                        name: Some("ordinality".to_string()),
                        fact: Fact::NON_NULL,
                    });
                }
                let columns = rename(columns, alias.as_ref());
                Some(vec![relation(
                    alias_name(alias.as_ref()).or(Some("unnest".to_string())),
                    columns,
                )])
            }
            _ => None,
        }
    }

    /// Columns of a base table or view (views traced through their definition).
    fn table_columns(&self, name: &ObjectName) -> Option<Vec<Column>> {
        let base = object_base_name(name)?;
        let table = self
            .catalog
            .resolve(object_schema(name).as_deref(), &base)?;
        let from_catalog = |table: &crate::schema::Table| -> Vec<Column> {
            table
                .columns
                .iter()
                .map(|c| {
                    let domain_not_null = self
                        .catalog
                        .domains
                        .get(&c.type_oid)
                        .is_some_and(|d| d.not_null);
                    let not_null =
                        table.kind == RelationKind::Table && (c.not_null || domain_not_null);
                    Column {
                        name: Some(c.name.clone()),
                        fact: Fact {
                            nullable: !not_null,
                            computed: false,
                            can_be_null: false,
                        },
                    }
                })
                .collect()
        };
        match table.kind {
            RelationKind::View | RelationKind::MaterializedView => {
                let traced = self.view_columns(table.oid, table.definition.as_deref());
                Some(match traced {
                    Some(columns) if columns.len() == table.columns.len() => table
                        .columns
                        .iter()
                        .zip(columns)
                        .map(|(c, traced)| Column {
                            name: Some(c.name.clone()),
                            fact: traced.fact,
                        })
                        .collect(),
                    _ => from_catalog(table),
                })
            }
            _ => Some(from_catalog(table)),
        }
    }

    fn view_columns(&self, oid: u32, definition: Option<&str>) -> Option<Vec<Column>> {
        if let Some(known) = self.views.borrow().get(&oid) {
            return known.clone();
        }
        self.views.borrow_mut().insert(oid, None); // a view reached from itself stays unknown
        let statement =
            crate::parse::parse_statement(definition?.trim().trim_end_matches(';')).ok()?;
        let Statement::Query(query) = statement else {
            return None;
        };
        let columns = self.query(&query, &Env::default(), None);
        self.views.borrow_mut().insert(oid, columns.clone());
        columns
    }

    /// The values a set-returning function yields: `generate_series` never
    /// NULL (NULL bounds give no rows); `unnest` of one non-null parameter
    /// array (a Rust slice has no NULL elements) never NULL; anything else may be.
    fn set_returning_fact(&self, name: &str, args: &[&Expr], scope: &Scope<'_>, env: &Env) -> Fact {
        let _ = (scope, env);
        let mut unwrapped = args.iter().map(|arg| {
            let mut e: &Expr = arg;
            while let Expr::Nested(inner) | Expr::Cast { expr: inner, .. } = e {
                e = inner;
            }
            e
        });
        match name {
            "generate_series" | "generate_subscripts" => Fact::NON_NULL,
            "unnest" if args.len() == 1 => match unwrapped.next() {
                Some(Expr::Value(value)) => match &value.value {
                    Value::Placeholder(p) => {
                        let index: Option<usize> = p.strip_prefix('$').and_then(|n| n.parse().ok());
                        let nullable = index
                            .and_then(|i| i.checked_sub(1))
                            .and_then(|i| self.params.get(i))
                            .copied()
                            .unwrap_or(true);
                        // A slice has no NULL elements, and a NULL array
                        // (`Option<&[T]>` = None) unnests to no rows at all.
                        let _ = nullable;
                        Fact::NON_NULL
                    }
                    _ => Fact::NULLABLE,
                },
                _ => Fact::NULLABLE,
            },
            _ => Fact::NULLABLE,
        }
    }

    // ----- refinement ----------------------------------------------------

    /// Applies what a filter proves: each conjunct that is NULL (so filters the
    /// row out) when a column is NULL makes that column non-null.
    fn refine(&self, scope: &mut Scope<'_>, condition: &Expr) {
        for conjunct in conjuncts(condition) {
            let mut columns = Vec::new();
            match conjunct {
                Expr::IsNotNull(inner) => self.strict_columns(inner, &mut columns),
                Expr::UnaryOp {
                    op: UnaryOperator::Not,
                    expr,
                } => match expr.as_ref() {
                    Expr::IsNull(inner) => self.strict_columns(inner, &mut columns),
                    other => self.strict_columns(other, &mut columns),
                },
                Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                    self.strict_columns(left, &mut columns);
                    self.strict_columns(right, &mut columns);
                }
                Expr::Like { expr, pattern, .. }
                | Expr::ILike { expr, pattern, .. }
                | Expr::SimilarTo { expr, pattern, .. } => {
                    self.strict_columns(expr, &mut columns);
                    self.strict_columns(pattern, &mut columns);
                }
                Expr::Between {
                    expr, low, high, ..
                } => {
                    self.strict_columns(expr, &mut columns);
                    self.strict_columns(low, &mut columns);
                    self.strict_columns(high, &mut columns);
                }
                Expr::InList { expr, .. } | Expr::InSubquery { expr, .. } => {
                    self.strict_columns(expr, &mut columns)
                }
                Expr::AnyOp { left, .. } | Expr::AllOp { left, .. } => {
                    self.strict_columns(left, &mut columns)
                }
                Expr::IsTrue(inner) | Expr::IsFalse(inner) => {
                    self.strict_columns(inner, &mut columns)
                }
                plain @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_)) => {
                    self.strict_columns(plain, &mut columns)
                }
                _ => {}
            }
            for (qualifier, name) in columns {
                scope.refine(qualifier.as_deref(), &name);
            }
        }
    }

    /// Column references whose NULL makes `expr` NULL (through strict
    /// operators, casts and strict functions).
    fn strict_columns(&self, expr: &Expr, out: &mut Vec<(Option<String>, String)>) {
        match expr {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                if let Some(parts) = ident_parts(expr) {
                    out.push(parts);
                }
            }
            Expr::Nested(inner)
            | Expr::Cast { expr: inner, .. }
            | Expr::Collate { expr: inner, .. } => self.strict_columns(inner, out),
            Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr,
            } => self.strict_columns(expr, out),
            Expr::BinaryOp { left, op, right } if is_strict_operator(op) => {
                self.strict_columns(left, out);
                self.strict_columns(right, out);
            }
            Expr::Function(function) if function.over.is_none() && function.filter.is_none() => {
                let Some(name) = function_name(function) else {
                    return;
                };
                if aggregate_rule(&name, self.catalog).is_none()
                    && scalar_rule(&name, self.catalog) == ScalarRule::Strict
                {
                    for arg in function_args(function).unwrap_or_default() {
                        if let FunctionArgExpr::Expr(arg) = arg {
                            self.strict_columns(arg, out);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // ----- expressions ---------------------------------------------------

    fn expr(&self, expr: &Expr, scope: &Scope<'_>, env: &Env) -> Fact {
        match expr {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => match ident_parts(expr) {
                Some((qualifier, name)) => scope
                    .lookup(qualifier.as_deref(), &name)
                    .unwrap_or(Fact::NULLABLE),
                None => Fact::NULLABLE,
            },
            Expr::Value(value) => self.literal(&value.value),
            Expr::TypedString(_) => Fact::NON_NULL,
            Expr::Nested(inner) => self.expr(inner, scope, env),
            Expr::Cast { expr, .. } | Expr::Collate { expr, .. } => {
                let inner = self.expr(expr, scope, env);
                Fact {
                    computed: true,
                    ..inner
                }
            }
            Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNotFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotUnknown(_)
            | Expr::IsDistinctFrom(_, _)
            | Expr::IsNotDistinctFrom(_, _)
            | Expr::Exists { .. } => Fact::NON_NULL,
            Expr::InSubquery { .. } | Expr::AnyOp { .. } | Expr::AllOp { .. } => {
                self.membership(expr, scope, env)
            }
            Expr::Case {
                operand: _,
                conditions,
                else_result,
                ..
            } => {
                let Some(else_result) = else_result else {
                    return Fact::NULLABLE;
                };
                let mut facts: Vec<Fact> = conditions
                    .iter()
                    .map(|c| self.expr(&c.result, scope, env))
                    .collect();
                facts.push(self.expr(else_result, scope, env));
                Fact::nullable(facts.iter().any(|f| f.nullable))
            }
            Expr::Tuple(_) | Expr::Array(_) => Fact::NON_NULL,
            Expr::Subquery(query) => self.scalar_subquery(query, scope, env),
            Expr::Function(function) => self.function(function, scope, env),
            Expr::Extract { .. }
            | Expr::Ceil { .. }
            | Expr::Floor { .. }
            | Expr::Position { .. }
            | Expr::Substring { .. }
            | Expr::Trim { .. }
            | Expr::Overlay { .. } => self.function_syntax(expr, scope, env),
            _ => self.operator(expr, scope, env),
        }
    }

    /// A literal: `NULL`, a parameter (nullable as declared), or a constant.
    fn literal(&self, value: &Value) -> Fact {
        match value {
            Value::Null => Fact::NULL,
            Value::Placeholder(p) => {
                let index: Option<usize> = p.strip_prefix('$').and_then(|n| n.parse().ok());
                let nullable = index
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| self.params.get(i))
                    .copied()
                    .unwrap_or(true);
                Fact::nullable(nullable)
            }
            _ => Fact::NON_NULL,
        }
    }

    /// NULL when any input is (a strict operator or function).
    fn strict(&self, inputs: &[&Expr], scope: &Scope<'_>, env: &Env) -> Fact {
        let facts: Vec<Fact> = inputs.iter().map(|e| self.expr(e, scope, env)).collect();
        Fact::strict(&facts)
    }

    /// Operators; anything not recognised here is nullable.
    fn operator(&self, expr: &Expr, scope: &Scope<'_>, env: &Env) -> Fact {
        match expr {
            Expr::Interval(interval) => self.strict(&[&interval.value], scope, env),
            Expr::UnaryOp { expr, .. } => self.strict(&[expr], scope, env),
            Expr::BinaryOp { left, op, right } => {
                if is_json_lookup(op) {
                    Fact::NULLABLE
                } else {
                    // Arithmetic, comparison, `||`, AND/OR, and PostgreSQL operators
                    // (which call strict functions) propagate NULL.
                    self.strict(&[left, right], scope, env)
                }
            }
            Expr::Like {
                expr,
                pattern,
                escape_char,
                any: false,
                ..
            }
            | Expr::ILike {
                expr,
                pattern,
                escape_char,
                any: false,
                ..
            }
            | Expr::SimilarTo {
                expr,
                pattern,
                escape_char,
                ..
            } => {
                let mut inputs: Vec<&Expr> = vec![expr, pattern];
                inputs.extend(escape_char.as_deref());
                self.strict(&inputs, scope, env)
            }
            Expr::Between {
                expr, low, high, ..
            } => self.strict(&[expr, low, high], scope, env),
            Expr::InList { expr, list, .. } => {
                let mut inputs: Vec<&Expr> = vec![expr];
                inputs.extend(list.iter());
                self.strict(&inputs, scope, env)
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => self.strict(&[timestamp, time_zone], scope, env),
            _ => Fact::NULLABLE,
        }
    }

    /// `x IN (subquery)`, `x = ANY(…)`, `x = ALL(…)`.
    fn membership(&self, expr: &Expr, scope: &Scope<'_>, env: &Env) -> Fact {
        match expr {
            Expr::InSubquery { expr, subquery, .. } => {
                let left = self.expr(expr, scope, env);
                match self.query(subquery, env, Some(scope)).as_deref() {
                    Some([column]) if !left.nullable && !column.fact.nullable => Fact::NON_NULL,
                    _ => Fact::NULLABLE,
                }
            }
            Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => {
                // NULL also when no element matches and one is NULL; a non-null
                // parameter array (a Rust slice) has no NULL elements.
                let left = self.expr(left, scope, env);
                let is_param = matches!(right.as_ref(), Expr::Value(v) if matches!(v.value, Value::Placeholder(_)));
                let right = self.expr(right, scope, env);
                Fact::nullable(left.nullable || right.nullable || !is_param)
            }
            _ => Fact::NULLABLE,
        }
    }

    /// Functions SQL writes with keywords: `EXTRACT`, `CEIL`, `FLOOR`,
    /// `POSITION`, `SUBSTRING`, `TRIM`, `OVERLAY`.
    fn function_syntax(&self, expr: &Expr, scope: &Scope<'_>, env: &Env) -> Fact {
        match expr {
            Expr::Extract { expr, .. } | Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
                self.strict(&[expr], scope, env)
            }
            Expr::Position { expr, r#in } => self.strict(&[expr, r#in], scope, env),
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                // `substring(x FROM 'pattern')` is a regex match: NULL when nothing matches.
                let numeric = |e: &Option<Box<Expr>>| match e.as_deref() {
                    None => true,
                    Some(Expr::Value(v)) => matches!(v.value, Value::Number(..)),
                    Some(_) => false,
                };
                if numeric(substring_from) && numeric(substring_for) {
                    self.strict(&[expr], scope, env)
                } else {
                    Fact::NULLABLE
                }
            }
            Expr::Trim {
                expr, trim_what, ..
            } => {
                let mut inputs: Vec<&Expr> = vec![expr];
                inputs.extend(trim_what.as_deref());
                self.strict(&inputs, scope, env)
            }
            Expr::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                let mut inputs: Vec<&Expr> = vec![expr, overlay_what, overlay_from];
                inputs.extend(overlay_for.as_deref());
                self.strict(&inputs, scope, env)
            }
            _ => Fact::NULLABLE,
        }
    }

    /// A scalar subquery is NULL when it returns no row — except an
    /// aggregate-only SELECT without GROUP BY, which always returns one.
    fn scalar_subquery(&self, query: &Query, scope: &Scope<'_>, env: &Env) -> Fact {
        let Some(columns) = self.query(query, env, Some(scope)) else {
            return Fact::NULLABLE;
        };
        let [column] = columns.as_slice() else {
            return Fact::NULLABLE;
        };
        let one_row = query.with.is_none()
            && query.limit_clause.is_none()
            && query.fetch.is_none()
            && match query.body.as_ref() {
                SetExpr::Select(select) => {
                    select.having.is_none()
                        && matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
                        && select.projection.len() == 1
                        && match &select.projection[0] {
                            SelectItem::UnnamedExpr(e)
                            | SelectItem::ExprWithAlias { expr: e, .. } => {
                                self.is_aggregate_call(e)
                            }
                            _ => false,
                        }
                }
                _ => false,
            };
        if one_row {
            Fact {
                computed: true,
                ..column.fact
            }
        } else {
            Fact::NULLABLE
        }
    }

    /// Whether `expr` is computed from aggregates only (`count(*)`,
    /// `coalesce(sum(x), 0)`, `max(a) - min(a)`): one value per group, no
    /// bare column reference.
    fn is_aggregate_call(&self, expr: &Expr) -> bool {
        let aggregate_only = |e: &Expr| {
            self.is_aggregate_call(e) || matches!(e, Expr::Value(_) | Expr::TypedString(_))
        };
        match expr {
            Expr::Function(function) if function.over.is_none() => match function_name(function) {
                Some(name) if aggregate_rule(&name, self.catalog).is_some() => true,
                Some(_) => function_args(function).is_some_and(|args| {
                    !args.is_empty()
                        && args
                            .iter()
                            .all(|arg| matches!(arg, FunctionArgExpr::Expr(e) if aggregate_only(e)))
                        && args.iter().any(|arg| matches!(arg, FunctionArgExpr::Expr(e) if self.is_aggregate_call(e)))
                }),
                None => false,
            },
            Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => self.is_aggregate_call(inner),
            Expr::BinaryOp { left, right, .. } => {
                aggregate_only(left) && aggregate_only(right) && (self.is_aggregate_call(left) || self.is_aggregate_call(right))
            }
            _ => false,
        }
    }

    fn args_facts(&self, function: &Function, scope: &Scope<'_>, env: &Env) -> Option<Vec<Fact>> {
        function_args(function).map(|args| {
            args.iter()
                .map(|arg| match arg {
                    FunctionArgExpr::Expr(expr) => self.expr(expr, scope, env),
                    // `count(*)`, `f(t.*)`: a row, never NULL itself.
                    _ => Fact::NON_NULL,
                })
                .collect()
        })
    }

    fn function(&self, function: &Function, scope: &Scope<'_>, env: &Env) -> Fact {
        let Some(name) = function_name(function) else {
            return Fact::NULLABLE;
        };
        if name == "array" && matches!(function.args, FunctionArguments::Subquery(_)) {
            return Fact::NON_NULL; // ARRAY(SELECT …): an empty array when there are no rows
        }
        let Some(args) = self.args_facts(function, scope, env) else {
            return Fact::NULLABLE;
        };
        let all_args_non_null = args.iter().all(|f| !f.nullable);
        if let Some(over) = &function.over {
            return self.window(function, &name, &args, over, scope);
        }
        if let Some(rule) = aggregate_rule(&name, self.catalog) {
            return match rule {
                AggregateRule::Count => Fact::NON_NULL,
                // Over a group (at least one row) without FILTER, non-null input gives non-null.
                AggregateRule::NonEmpty
                    if scope.grouped && function.filter.is_none() && all_args_non_null =>
                {
                    Fact::NON_NULL
                }
                AggregateRule::NonEmpty if !scope.grouped => Fact::NULL,
                _ => Fact::NULLABLE,
            };
        }
        match scalar_rule(&name, self.catalog) {
            ScalarRule::AnyArgument => Fact::nullable(args.iter().all(|f| f.nullable)),
            ScalarRule::FirstArgument => Fact::nullable(args.first().is_none_or(|f| f.nullable)),
            ScalarRule::NonNull => Fact::NON_NULL,
            ScalarRule::Strict => Fact::strict(&args),
            ScalarRule::Nullable => Fact::NULLABLE,
        }
    }

    fn window(
        &self,
        function: &Function,
        name: &str,
        args: &[Fact],
        over: &WindowType,
        scope: &Scope<'_>,
    ) -> Fact {
        let _ = scope;
        let all_args_non_null = args.iter().all(|f| !f.nullable);
        if let Some(rule) = window_rule(name) {
            return match rule {
                WindowRule::Ranking => Fact::NON_NULL,
                WindowRule::Strict => Fact::strict(args),
                // lag(x, offset, default): the default stands in for a missing row.
                WindowRule::Offset if args.len() == 3 && all_args_non_null => Fact::NON_NULL,
                WindowRule::Offset | WindowRule::Value => Fact::NULLABLE,
            };
        }
        let Some(rule) = aggregate_rule(name, self.catalog) else {
            return Fact::NULLABLE;
        };
        // The frame contains the current row unless it says otherwise: then it is
        // never empty, and an aggregate of non-null input is non-null.
        let frame_has_current_row = match over {
            WindowType::WindowSpec(spec) => match &spec.window_frame {
                None => true,
                Some(frame) => {
                    let starts_before = matches!(
                        frame.start_bound,
                        WindowFrameBound::CurrentRow | WindowFrameBound::Preceding(_)
                    );
                    let ends_after = match &frame.end_bound {
                        None => true,
                        Some(bound) => matches!(
                            bound,
                            WindowFrameBound::CurrentRow | WindowFrameBound::Following(_)
                        ),
                    };
                    starts_before && ends_after
                }
            },
            WindowType::NamedWindow(_) => false,
        };
        match rule {
            AggregateRule::Count => Fact::NON_NULL,
            AggregateRule::NonEmpty
                if frame_has_current_row && function.filter.is_none() && all_args_non_null =>
            {
                Fact::NON_NULL
            }
            _ => Fact::NULLABLE,
        }
    }

    // ----- INSERT / UPDATE / DELETE … RETURNING --------------------------

    fn modify(&self, statement: &Statement, env: &Env) -> Option<Vec<Column>> {
        let _guard = self.enter()?;
        let mut scope = Scope {
            relations: Vec::new(),
            parent: None,
            grouping_sets: false,
            grouped: false,
        };
        let returning = match statement {
            Statement::Insert(insert) => {
                let TableObject::TableName(name) = &insert.table else {
                    return None;
                };
                let base = object_base_name(name)?;
                let alias = insert
                    .table_alias
                    .as_ref()
                    .map(|a| normalize_ident(&a.alias));
                scope
                    .relations
                    .push(relation(alias.or(Some(base)), self.table_columns(name)?));
                insert.returning.as_ref()
            }
            Statement::Update(update) => {
                scope
                    .relations
                    .extend(self.table_with_joins(&update.table, env, &scope)?);
                if let Some(from) = &update.from {
                    let (sqlparser::ast::UpdateTableFromKind::BeforeSet(tables)
                    | sqlparser::ast::UpdateTableFromKind::AfterSet(tables)) = from;
                    for table in tables {
                        let relations = self.table_with_joins(table, env, &scope)?;
                        scope.relations.extend(relations);
                    }
                }
                if let Some(selection) = &update.selection {
                    self.refine(&mut scope, selection);
                }
                self.assign(&mut scope, &update.assignments, env);
                update.returning.as_ref()
            }
            Statement::Delete(delete) => {
                let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) =
                    &delete.from;
                for table in tables.iter().chain(delete.using.iter().flatten()) {
                    let relations = self.table_with_joins(table, env, &scope)?;
                    scope.relations.extend(relations);
                }
                if let Some(selection) = &delete.selection {
                    self.refine(&mut scope, selection);
                }
                delete.returning.as_ref()
            }
            _ => return None,
        }?;
        let mut out = Vec::new();
        for item in returning {
            match item {
                SelectItem::UnnamedExpr(expr) => out.push(Column {
                    name: ident_parts(expr).map(|(_, n)| n),
                    fact: self.expr(expr, &scope, env),
                }),
                SelectItem::ExprWithAlias { expr, alias } => out.push(Column {
                    name: Some(normalize_ident(alias)),
                    fact: self.expr(expr, &scope, env),
                }),
                SelectItem::Wildcard(_) => {
                    for relation in &scope.relations {
                        for column in &relation.columns {
                            out.push(Column {
                                name: Some(column.name.clone()),
                                fact: relation.effective(column),
                            });
                        }
                    }
                }
                _ => return None,
            }
        }
        Some(out)
    }

    /// `UPDATE … SET c = e`: `RETURNING` sees the new value of `c`, which is
    /// `e` (evaluated on the old row) — non-null anyway if `c` is `NOT NULL`.
    fn assign(&self, scope: &mut Scope<'_>, assignments: &[sqlparser::ast::Assignment], env: &Env) {
        let mut new_facts = Vec::new();
        for assignment in assignments {
            let names: Vec<&ObjectName> = match &assignment.target {
                sqlparser::ast::AssignmentTarget::ColumnName(name) => vec![name],
                sqlparser::ast::AssignmentTarget::Tuple(names) => names.iter().collect(),
            };
            let fact = if names.len() == 1 {
                self.expr(&assignment.value, scope, env)
            } else {
                Fact::NULLABLE
            };
            for name in names {
                if let Some(column) = object_base_name(name) {
                    new_facts.push((column, fact));
                }
            }
        }
        let Some(target) = scope.relations.first_mut() else {
            return;
        };
        for (name, fact) in new_facts {
            for column in target.columns.iter_mut().filter(|c| c.name == name) {
                if column.fact.nullable {
                    column.fact = Fact {
                        computed: column.fact.computed,
                        ..fact
                    };
                    column.refined = false;
                }
            }
        }
    }
}

struct DepthGuard<'a>(&'a RefCell<usize>);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        let mut depth = self.0.borrow_mut();
        *depth = depth.saturating_sub(1);
    }
}

/// The merged columns of `JOIN … USING (x)`, as an unnamed relation (so only
/// unqualified `x` finds it): the left side's `x` for LEFT, the right's for
/// RIGHT, never NULL for an inner join (the equality held), and
/// `COALESCE(left, right)` for FULL — NULL only if a side's own `x` can be.
/// Facts are taken before this join marks its nullable sides.
fn merged_using_columns(
    relations: &[Relation],
    left_count: usize,
    columns: &[ObjectName],
    left_outer: bool,
    right_outer: bool,
) -> Option<Relation> {
    let side = |range: &[Relation], name: &str| -> Option<Fact> {
        let mut found = range.iter().flat_map(|r| {
            r.columns
                .iter()
                .filter(|c| c.name == name)
                .map(move |c| r.effective(c))
        });
        let fact = found.next()?;
        found.next().is_none().then_some(fact)
    };
    let mut merged = Vec::new();
    for column in columns {
        let name = object_base_name(column)?;
        let left = side(&relations[..left_count], &name);
        let right = side(&relations[left_count..], &name);
        let fact = match (left, right, left_outer, right_outer) {
            (_, _, false, false) => Fact {
                nullable: false,
                computed: false,
                can_be_null: false,
            },
            (Some(left), _, false, true) => left,
            (_, Some(right), true, false) => right,
            (Some(left), Some(right), true, true) => Fact {
                nullable: left.nullable || right.nullable,
                computed: false,
                can_be_null: left.can_be_null && right.can_be_null,
            },
            _ => Fact::NULLABLE,
        };
        merged.push(ScopeColumn {
            name,
            fact,
            refined: false,
        });
    }
    Some(Relation {
        name: None,
        columns: merged,
        outer: false,
    })
}

fn alias_name(alias: Option<&TableAlias>) -> Option<String> {
    alias.map(|a| normalize_ident(&a.name))
}

/// Columns of a set-returning function in FROM, each with `fact` (the
/// ordinality column is never NULL).
fn table_function_columns(
    name: &str,
    alias: Option<&TableAlias>,
    with_ordinality: bool,
    fact: Fact,
) -> Option<Vec<Column>> {
    let width = alias.map_or(1, |a| {
        a.columns
            .len()
            .saturating_sub(usize::from(with_ordinality))
            .max(1)
    });
    let mut columns: Vec<Column> = (0..width)
        .map(|_| Column {
            name: Some(alias.map_or_else(|| name.to_string(), |a| normalize_ident(&a.name))),
            fact,
        })
        .collect();
    if with_ordinality {
        columns.push(Column {
            name: Some("ordinality".to_string()),
            fact: Fact::NON_NULL,
        });
    }
    Some(rename(columns, alias))
}
