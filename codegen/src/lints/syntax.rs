//! Syntactic lints: what the parsed statement alone (and, for
//! `not_in_subquery_nullable`, the catalog's `NOT NULL`) tells.
//!
//! Each function is a [`super::Lint`] check; they walk the whole statement
//! (CTEs and subqueries included) with sqlparser's visitor.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, LimitClause, Query,
    Select, SelectItem, SetExpr, Spanned, Statement, TableFactor, Value, Visit, Visitor,
};

use super::{Finding, LintContext};
use crate::parse::{normalize_ident, object_base_name};

/// Calls `f` on every statement in the tree (the top one and data-modifying CTEs).
fn each_statement(statement: &Statement, mut f: impl FnMut(&Statement)) {
    struct Statements<F>(F);
    impl<F: FnMut(&Statement)> Visitor for Statements<F> {
        type Break = ();
        fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
            (self.0)(statement);
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Statements(&mut f));
}

/// Calls `f` on every query level, with whether it is the subquery of an `EXISTS`.
fn each_query(statement: &Statement, mut f: impl FnMut(&Query, bool)) {
    struct Queries<F> {
        f: F,
        exists: HashSet<*const Query>,
    }
    impl<F: FnMut(&Query, bool)> Visitor for Queries<F> {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Expr::Exists { subquery, .. } = expr {
                self.exists.insert(&**subquery as *const Query);
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            let in_exists = self.exists.contains(&(query as *const Query));
            (self.f)(query, in_exists);
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Queries {
        f: &mut f,
        exists: HashSet::new(),
    });
}

/// Calls `f` on every expression in the tree.
fn each_expr(statement: &Statement, mut f: impl FnMut(&Expr)) {
    struct Exprs<F>(F);
    impl<F: FnMut(&Expr)> Visitor for Exprs<F> {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            (self.0)(expr);
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Exprs(&mut f));
}

/// The span of the first `len` bytes of a statement node (its keyword).
fn keyword_span(context: &LintContext, node: &dyn Spanned, len: usize) -> std::ops::Range<usize> {
    let span = context.span_of(node);
    span.start..(span.start + len).min(span.end.max(span.start))
}

/// `update_without_where`.
pub(super) fn update_without_where(context: &LintContext) -> Vec<Finding> {
    let mut out = Vec::new();
    each_statement(context.statement, |statement| {
        if let Statement::Update(update) = statement {
            if update.selection.is_none() {
                out.push(Finding {
                    span: keyword_span(context, statement, "UPDATE".len()),
                    message: "UPDATE without WHERE changes every row".to_string(),
                    label: Some("no WHERE clause".to_string()),
                    help:
                        "add a WHERE clause; to really change every row, say so with `WHERE true`"
                            .to_string(),
                });
            }
        }
    });
    out
}

/// `delete_without_where`.
pub(super) fn delete_without_where(context: &LintContext) -> Vec<Finding> {
    let mut out = Vec::new();
    each_statement(context.statement, |statement| {
        if let Statement::Delete(delete) = statement {
            if delete.selection.is_none() {
                out.push(Finding {
                    span: keyword_span(context, statement, "DELETE".len()),
                    message: "DELETE without WHERE removes every row".to_string(),
                    label: Some("no WHERE clause".to_string()),
                    help: "add a WHERE clause; to empty the table, use `TRUNCATE` or say so with `WHERE true`"
                        .to_string(),
                });
            }
        }
    });
    out
}

/// The `LIMIT` expression of a query level, if any.
fn limit_of(query: &Query) -> Option<&Expr> {
    match &query.limit_clause {
        Some(LimitClause::LimitOffset { limit, .. }) => limit.as_ref(),
        Some(LimitClause::OffsetCommaLimit { limit, .. }) => Some(limit),
        None => None,
    }
}

/// The `OFFSET` expression of a query level, if any.
fn offset_of(query: &Query) -> Option<&Expr> {
    match &query.limit_clause {
        Some(LimitClause::LimitOffset { offset, .. }) => offset.as_ref().map(|o| &o.value),
        Some(LimitClause::OffsetCommaLimit { offset, .. }) => Some(offset),
        None => None,
    }
}

/// A plain `SELECT` of aggregates without `GROUP BY`: exactly one row,
/// which no `LIMIT` has to choose from.
fn is_single_row_aggregate(query: &Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    let no_group = match &select.group_by {
        sqlparser::ast::GroupByExpr::Expressions(exprs, _) => exprs.is_empty(),
        sqlparser::ast::GroupByExpr::All(_) => false,
    };
    no_group
        && !select.projection.is_empty()
        && select.projection.iter().all(|item| match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                is_aggregate_call(expr)
            }
            _ => false,
        })
}

fn is_aggregate_call(expr: &Expr) -> bool {
    const AGGREGATES: &[&str] = &[
        "count",
        "sum",
        "min",
        "max",
        "avg",
        "bool_and",
        "bool_or",
        "every",
        "array_agg",
        "string_agg",
        "json_agg",
        "jsonb_agg",
    ];
    matches!(expr, Expr::Function(function)
        if object_base_name(&function.name).is_some_and(|name| AGGREGATES.contains(&name.as_str())))
}

/// `limit_without_order_by`: a query level with `LIMIT`/`FETCH` and no
/// `ORDER BY`, except under `EXISTS` (any row will do) and over a single
/// aggregate row.
pub(super) fn limit_without_order_by(context: &LintContext) -> Vec<Finding> {
    let mut out = Vec::new();
    each_query(context.statement, |query, in_exists| {
        if query.order_by.is_some() || in_exists || is_single_row_aggregate(query) {
            return;
        }
        let span = match (limit_of(query), &query.fetch) {
            (Some(limit), _) => context.span_of(limit),
            (None, Some(fetch)) => context.span_of(fetch),
            (None, None) => return,
        };
        out.push(Finding {
            span,
            message: "LIMIT without ORDER BY keeps rows in no particular order".to_string(),
            label: Some("which rows this keeps depends on the plan".to_string()),
            help: "add an ORDER BY that makes the order total (end it with a unique column)"
                .to_string(),
        });
    });
    out
}

/// `offset_pagination`: `OFFSET` with a parameter or a constant above 0
/// (`OFFSET 0` is the planner fence idiom, not pagination).
pub(super) fn offset_pagination(context: &LintContext) -> Vec<Finding> {
    let mut out = Vec::new();
    each_query(context.statement, |query, _| {
        let Some(offset) = offset_of(query) else {
            return;
        };
        let zero = matches!(offset, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.trim_start_matches('0').is_empty()));
        if zero {
            return;
        }
        out.push(Finding {
            span: context.span_of(offset),
            message: "OFFSET pagination reads and discards every skipped row".to_string(),
            label: Some("page N costs N pages of reads".to_string()),
            help: "paginate by key instead: `WHERE (created_at, id) < (:created_at, :id) ORDER BY created_at DESC, id DESC LIMIT :limit` with the last row's values"
                .to_string(),
        });
    });
    out
}

/// `select_star`: `*` or `t.*` in the select list of the outermost query
/// (every branch of a set operation).
pub(super) fn select_star(context: &LintContext) -> Vec<Finding> {
    let Statement::Query(query) = context.statement else {
        return Vec::new();
    };
    let mut selects = Vec::new();
    outer_selects(&query.body, &mut selects);
    let mut out = Vec::new();
    for select in selects {
        for item in &select.projection {
            if matches!(
                item,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
            ) && !crate::embed::is_embed(context.def, item)
            {
                out.push(Finding {
                    span: context.span_of(item),
                    message: "`*` in the select list".to_string(),
                    label: Some(format!(
                        "{} columns today; the row type changes with the table's columns",
                        context.described.columns.len()
                    )),
                    help: "list the columns the caller needs".to_string(),
                });
            }
        }
    }
    out
}

fn outer_selects<'a>(body: &'a SetExpr, out: &mut Vec<&'a Select>) {
    match body {
        SetExpr::Select(select) => out.push(select),
        SetExpr::SetOperation { left, right, .. } => {
            outer_selects(left, out);
            outer_selects(right, out);
        }
        SetExpr::Query(query) => outer_selects(&query.body, out),
        _ => {}
    }
}

/// `not_in_subquery_nullable`: `x NOT IN (SELECT col FROM t …)` where
/// `col` is a column of a table in the subquery's `FROM` that is not
/// `NOT NULL`, and the subquery's `WHERE` does not say `col IS NOT NULL`.
pub(super) fn not_in_subquery_nullable(context: &LintContext) -> Vec<Finding> {
    let mut out = Vec::new();
    each_expr(context.statement, |expr| {
        let Expr::InSubquery {
            subquery,
            negated: true,
            ..
        } = expr
        else {
            return;
        };
        let Some(column) = nullable_subquery_column(context, subquery) else {
            return;
        };
        out.push(Finding {
            span: context.span_of(expr),
            message: format!("NOT IN over `{column}`, which may be NULL"),
            label: Some(format!(
                "one NULL `{column}` makes this false for every row"
            )),
            help: format!(
                "use `NOT EXISTS (SELECT 1 FROM … WHERE {column} = x)`, or add `WHERE {column} IS NOT NULL` to the subquery"
            ),
        });
    });
    out
}

/// The name of the subquery's single output column when it is a nullable
/// table column.
fn nullable_subquery_column(context: &LintContext, subquery: &Query) -> Option<String> {
    let SetExpr::Select(select) = subquery.body.as_ref() else {
        return None;
    };
    let [item] = select.projection.as_slice() else {
        return None;
    };
    let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item else {
        return None;
    };
    let (qualifier, column) = match expr {
        Expr::Identifier(ident) => (None, normalize_ident(ident)),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            (Some(normalize_ident(&parts[0])), normalize_ident(&parts[1]))
        }
        _ => return None,
    };
    if let Some(selection) = &select.selection {
        let mut excluded = false;
        let _ = selection.visit(&mut NotNullCheck {
            column: &column,
            found: &mut excluded,
        });
        if excluded {
            return None;
        }
    }
    let tables = select
        .from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    for factor in tables {
        let TableFactor::Table { name, alias, .. } = factor else {
            continue;
        };
        let base = object_base_name(name)?;
        let alias = alias.as_ref().map(|a| normalize_ident(&a.name));
        if qualifier
            .as_ref()
            .is_some_and(|q| Some(q) != alias.as_ref() && *q != base)
        {
            continue;
        }
        let schema = (name.0.len() == 2)
            .then(|| {
                name.0
                    .first()
                    .and_then(|p| p.as_ident())
                    .map(normalize_ident)
            })
            .flatten();
        let table = context.catalog.resolve(schema.as_deref(), &base)?;
        if let Some(found) = table.column_named(&column) {
            return (!found.not_null).then(|| column.clone());
        }
    }
    None
}

/// Finds `column IS NOT NULL` in a `WHERE`.
struct NotNullCheck<'a> {
    column: &'a str,
    found: &'a mut bool,
}

impl Visitor for NotNullCheck<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::IsNotNull(inner) = expr {
            let name = match inner.as_ref() {
                Expr::Identifier(ident) => Some(normalize_ident(ident)),
                Expr::CompoundIdentifier(parts) => parts.last().map(normalize_ident),
                _ => None,
            };
            if name.as_deref() == Some(self.column) {
                *self.found = true;
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

/// `count_for_existence`: `count(*) > 0`, `count(*) >= 1`, `count(*) <> 0`
/// (either way round; bare or as a scalar subquery); not in `HAVING`,
/// where every group has a row anyway.
pub(super) fn count_for_existence(context: &LintContext) -> Vec<Finding> {
    let mut having = Vec::new();
    each_query(context.statement, |query, _| {
        let mut selects = Vec::new();
        outer_selects(&query.body, &mut selects);
        for select in selects {
            if let Some(expr) = &select.having {
                having.push(context.span_of(expr));
            }
        }
    });
    let mut out = Vec::new();
    each_expr(context.statement, |expr| {
        if !is_existence_count(expr) {
            return;
        }
        let span = context.span_of(expr);
        if having
            .iter()
            .any(|h| h.start <= span.start && span.end <= h.end && h.start < h.end)
        {
            return;
        }
        out.push(Finding {
            span,
            message: "count compared with 0 to test for existence".to_string(),
            label: Some("counts every matching row".to_string()),
            help: "use `EXISTS (SELECT 1 FROM … WHERE …)`, which stops at the first row"
                .to_string(),
        });
    });
    out
}

fn is_existence_count(expr: &Expr) -> bool {
    let Expr::BinaryOp { left, op, right } = expr else {
        return false;
    };
    let number = |e: &Expr| match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse::<i64>().ok(),
            _ => None,
        },
        _ => None,
    };
    let (count, op, n) = match (is_count(left), is_count(right)) {
        (true, false) => (true, op.clone(), number(right)),
        (false, true) => (true, flip(op), number(left)),
        _ => (false, op.clone(), None),
    };
    count
        && matches!(
            (op, n),
            (BinaryOperator::Gt, Some(0))
                | (BinaryOperator::GtEq, Some(1))
                | (BinaryOperator::NotEq, Some(0))
        )
}

/// `a op b` as `b op' a`.
fn flip(op: &BinaryOperator) -> BinaryOperator {
    match op {
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        other => other.clone(),
    }
}

/// `count(*)`/`count(1)`, bare or as a scalar subquery's only column.
fn is_count(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) => is_count(inner),
        Expr::Subquery(query) => match query.body.as_ref() {
            SetExpr::Select(select) => match select.projection.as_slice() {
                [SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }] => {
                    is_count(e)
                        && matches!(&select.group_by, sqlparser::ast::GroupByExpr::Expressions(g, _) if g.is_empty())
                }
                _ => false,
            },
            _ => false,
        },
        Expr::Function(function) => {
            let counts = object_base_name(&function.name).as_deref() == Some("count");
            let FunctionArguments::List(list) = &function.args else {
                return false;
            };
            let star_or_constant = matches!(
                list.args.as_slice(),
                [FunctionArg::Unnamed(
                    FunctionArgExpr::Wildcard | FunctionArgExpr::Expr(Expr::Value(_))
                )]
            );
            counts
                && star_or_constant
                && list.duplicate_treatment.is_none()
                && function.filter.is_none()
        }
        _ => false,
    }
}
