//! The row-wise form of the `unnest` idiom.
//!
//! Owns one decision: whether a query's parameters are all arrays feeding
//! exactly one `unnest(…)` in a FROM clause, one parameter per argument —
//!
//! ```sql
//! INSERT INTO tags (id, name)
//! SELECT * FROM unnest(:ids::bigint[], :names::text[])
//! ON CONFLICT (id) DO UPDATE SET name = excluded.name
//! ```
//!
//! — in which case the generator also writes `<Name>Item` (one owned field
//! per `unnest` column) and `<name>_items(db, &[<Name>Item])`, which
//! transposes the items into one column vector per parameter and calls
//! `<name>`. The statement must use each parameter once, as an argument of
//! that call (bare or cast: `$1`, `$1::bigint[]`), and nowhere else; the call
//! has no other argument, and it is the statement's only `unnest`.
//!
//! [`find_unnest`] reads the syntax tree (no types); [`plan`] adds what
//! describe and the type mapping said: every parameter an array whose
//! element is no array (`unnest` flattens a multi-dimensional array, so an
//! array-typed column cannot go through it), and names the fields. Pure.

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;

use postgres_types::{Kind, Type};
use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement, TableFactor, Value, Visit, Visitor};

use crate::ident;
use crate::lex::QueryKind;
use crate::parse::{normalize_ident, object_base_name};
use crate::typemap::RustType;

/// The one `unnest(…)` all of a query's parameters feed, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnnestCall {
    /// For each argument (each column of the `unnest`), in order: the
    /// 0-based index of the parameter it is.
    pub params: Vec<usize>,
    /// Names the SQL gives the columns, as PostgreSQL folds them: the
    /// alias's column list (`AS u(id, name)`), else the columns of
    /// `INSERT INTO t (c1, …) SELECT * FROM unnest(…)`, when there are as
    /// many as arguments.
    pub names: Option<Vec<String>>,
}

/// What the generator writes for a query with an [`UnnestCall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnnestIr {
    /// `<Name>Item`: one element of each array, owned.
    pub item_struct: String,
    /// `<name>_items`: the row-wise function.
    pub items_fn: String,
    /// The struct's fields in the `unnest`'s column order: the field name
    /// and the index (in the query's parameters) of the array it is an
    /// element of. Every parameter is exactly one field.
    pub fields: Vec<(String, usize)>,
}

/// The `unnest(…)` of `statement` that its `param_count` parameters
/// (`$1` … `$n`) feed, if the statement has the shape the module doc describes.
pub fn find_unnest(statement: &Statement, param_count: usize) -> Option<UnnestCall> {
    if param_count == 0 {
        return None;
    }
    let mut finder = Finder::default();
    let _ = statement.visit(&mut finder);
    let [(args, alias_names)] = finder.calls.as_slice() else {
        return None;
    };
    if finder.other_unnest || args.len() != param_count {
        return None;
    }
    let params: Vec<usize> = args
        .iter()
        .map(|arg| arg.and_then(|n| n.checked_sub(1)))
        .collect::<Option<_>>()?;
    let mut seen = HashSet::new();
    let distinct = params
        .iter()
        .all(|&index| index < param_count && seen.insert(index));
    // Each parameter once in the whole statement: the unnest's argument.
    let used_once = finder.placeholders.len() == param_count
        && finder.placeholders.values().all(|&uses| uses == 1);
    if !distinct || !used_once {
        return None;
    }
    let names = alias_names
        .clone()
        .filter(|names| names.len() == param_count)
        .or_else(|| insert_columns(statement).filter(|names| names.len() == param_count));
    Some(UnnestCall { params, names })
}

/// An `unnest(…)` in a FROM clause: the `$n` of each argument (`None`
/// for anything but a parameter) and the alias's column names.
type FoundCall = (Vec<Option<usize>>, Option<Vec<String>>);

/// Collects the `unnest` calls of a statement and its placeholders.
#[derive(Default)]
struct Finder {
    /// Each `unnest(…)` in a FROM clause.
    calls: Vec<FoundCall>,
    /// An `unnest` anywhere else (a function in an expression).
    other_unnest: bool,
    /// `$n` → how many times it occurs.
    placeholders: BTreeMap<usize, usize>,
}

impl Visitor for Finder {
    type Break = ();

    fn pre_visit_table_factor(&mut self, table: &TableFactor) -> ControlFlow<()> {
        match table {
            TableFactor::UNNEST {
                alias, array_exprs, ..
            } => {
                let args = array_exprs.iter().map(parameter).collect();
                let names = alias
                    .as_ref()
                    .filter(|alias| !alias.columns.is_empty())
                    .map(|alias| {
                        alias
                            .columns
                            .iter()
                            .map(|c| normalize_ident(&c.name))
                            .collect()
                    });
                self.calls.push((args, names));
            }
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. }
                if is_unnest(name) =>
            {
                self.other_unnest = true;
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Value(value) => {
                if let Some(n) = placeholder(&value.value) {
                    *self.placeholders.entry(n).or_insert(0) += 1;
                }
            }
            Expr::Function(function) if is_unnest(&function.name) => self.other_unnest = true,
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn is_unnest(name: &sqlparser::ast::ObjectName) -> bool {
    object_base_name(name).is_some_and(|name| name == "unnest")
}

/// `n` of a `$n` placeholder.
fn placeholder(value: &Value) -> Option<usize> {
    match value {
        Value::Placeholder(text) => text.strip_prefix('$')?.parse().ok(),
        _ => None,
    }
}

/// `n` when `expr` is `$n`, bare or cast (`$1::bigint[]`, `CAST($1 AS …)`).
fn parameter(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(value) => placeholder(&value.value),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => parameter(expr),
        _ => None,
    }
}

/// The columns of `INSERT INTO t (c1, …) SELECT * FROM unnest(…)`: the
/// SELECT has only `*` and only the `unnest` in its FROM.
fn insert_columns(statement: &Statement) -> Option<Vec<String>> {
    let Statement::Insert(insert) = statement else {
        return None;
    };
    let SetExpr::Select(select) = insert.source.as_ref()?.body.as_ref() else {
        return None;
    };
    let [SelectItem::Wildcard(_)] = select.projection.as_slice() else {
        return None;
    };
    let [from] = select.from.as_slice() else {
        return None;
    };
    if !from.joins.is_empty() || !matches!(from.relation, TableFactor::UNNEST { .. }) {
        return None;
    }
    insert.columns.iter().map(object_base_name).collect()
}

/// What the generator writes for `call` of query `query_name` (function
/// `fn_name`): `None` unless it is `:exec`, `:execresult` or `:many` and
/// every parameter (`params`: name and Rust type; `pg_types`: as described)
/// is an array whose elements are no arrays.
pub fn plan(
    kind: QueryKind,
    (query_name, fn_name): (&str, &str),
    call: &UnnestCall,
    params: &[(&str, &RustType)],
    pg_types: &[Type],
) -> Option<UnnestIr> {
    let exec = matches!(kind, QueryKind::Exec | QueryKind::ExecResult);
    let shape_ok = (exec || kind == QueryKind::Many)
        && params.len() == call.params.len()
        && pg_types.len() == params.len();
    let columns_ok = params
        .iter()
        .zip(pg_types)
        .all(|((_, rust), pg)| is_flat_array(rust, pg));
    if !shape_ok || !columns_ok {
        return None;
    }
    let param_names: Vec<&str> = call
        .params
        .iter()
        .map(|&index| params.get(index).map(|(name, _)| *name))
        .collect::<Option<_>>()?;
    let names = field_names(call.names.as_deref(), &param_names);
    Some(UnnestIr {
        item_struct: item_struct_name(query_name),
        items_fn: items_fn(fn_name),
        fields: names.into_iter().zip(call.params.iter().copied()).collect(),
    })
}

/// A one-dimensional array of something that is no array (also not a
/// domain over one).
fn is_flat_array(rust: &RustType, pg: &Type) -> bool {
    let RustType::Array { element, .. } = rust else {
        return false;
    };
    let Kind::Array(pg_element) = pg.kind() else {
        return false;
    };
    !matches!(element.as_ref(), RustType::Array { .. }) && !is_array(pg_element)
}

fn is_array(ty: &Type) -> bool {
    match ty.kind() {
        Kind::Array(_) => true,
        Kind::Domain(base) => is_array(base),
        _ => false,
    }
}

/// The fields' names: the SQL's names when each already is a distinct
/// snake_case field name, else the parameters' names (`param_names`, in
/// the `unnest`'s column order).
fn field_names(sql_names: Option<&[String]>, param_names: &[&str]) -> Vec<String> {
    let usable = sql_names.filter(|names| {
        let mut seen = HashSet::new();
        names
            .iter()
            .all(|name| ident::snake(name) == *name && seen.insert(name.as_str()))
    });
    match usable {
        Some(names) => names.to_vec(),
        None => param_names.iter().map(|name| (*name).to_string()).collect(),
    }
}

/// `<Name>Item` of query `query_name`.
pub fn item_struct_name(query_name: &str) -> String {
    ident::type_name_str(format!("{}Item", ident::pascal(query_name)))
}

/// `<name>_items` of function `fn_name`.
pub fn items_fn(fn_name: &str) -> String {
    format!("{fn_name}_items")
}

#[cfg(test)]
mod tests {
    use postgres_types::{Kind, Type};

    use super::{find_unnest, plan, UnnestCall, UnnestIr};
    use crate::lex::QueryKind;
    use crate::parse::parse_statement;
    use crate::typemap::{Builtin, RustType};

    /// What [`find_unnest`] says of `sql` with `count` parameters (`None`
    /// as well when sqlparser cannot parse it, which fails the test's
    /// expectation of a call).
    fn call(sql: &str, count: usize) -> Option<UnnestCall> {
        let statement = match parse_statement(sql) {
            Ok(statement) => statement,
            Err(error) => panic!("{sql}: {error:?}"),
        };
        find_unnest(&statement, count)
    }

    fn names(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|name| (*name).to_string()).collect())
    }

    #[test]
    fn an_insert_select_star_from_unnest_names_its_fields_after_the_insert_columns() {
        let sql = "INSERT INTO tags (id, name) SELECT * FROM unnest($1::bigint[], $2::text[]) \
                   ON CONFLICT (id) DO UPDATE SET name = excluded.name RETURNING id, name";
        assert_eq!(
            call(sql, 2),
            Some(UnnestCall {
                params: vec![0, 1],
                names: names(&["id", "name"]),
            })
        );
    }

    #[test]
    fn the_alias_column_list_names_the_fields_first() {
        let sql = "INSERT INTO products (id, sku) SELECT u.i, u.s \
                   FROM unnest($1::int[], $2::text[]) AS u(I, s)";
        let found = call(sql, 2);
        assert_eq!(found.and_then(|c| c.names), names(&["i", "s"]));
        let sql =
            "INSERT INTO products (id, sku) SELECT * FROM unnest($1::int[], $2::text[]) AS u(i, s)";
        assert_eq!(call(sql, 2).and_then(|c| c.names), names(&["i", "s"]));
    }

    #[test]
    fn other_shapes_that_qualify() {
        // Arguments in another order than the parameters: each column knows its parameter.
        let sql = "INSERT INTO tags (name, id) SELECT * FROM unnest($2::text[], $1::bigint[])";
        assert_eq!(
            call(sql, 2),
            Some(UnnestCall {
                params: vec![1, 0],
                names: names(&["name", "id"]),
            })
        );
        // A bulk UPDATE, bare and CAST arguments, an unnest inside a CTE.
        for sql in [
            "UPDATE items SET price = u.price FROM unnest($1::bigint[], $2::int[]) AS u(id, price) WHERE items.id = u.id",
            "SELECT * FROM unnest($1, CAST($2 AS text[]))",
            "WITH input AS (SELECT * FROM unnest($1::int[], $2::text[]) AS i(a, b)) INSERT INTO t (a, b) SELECT a, b FROM input",
            "DELETE FROM tags USING unnest($1::bigint[], $2::text[]) AS u(id, name) WHERE tags.id = u.id AND tags.name = u.name",
        ] {
            assert_eq!(call(sql, 2).map(|c| c.params), Some(vec![0, 1]), "{sql}");
        }
        // Neither an alias list nor INSERT … SELECT *: the parameters name the fields.
        let sql = "INSERT INTO tags (id, name) SELECT u.id, upper(u.name) FROM unnest($1::bigint[], $2::text[]) AS u";
        assert_eq!(call(sql, 2).map(|c| c.names), Some(None));
        // An alias list or INSERT columns of another length are ignored.
        let sql = "INSERT INTO tags (id) SELECT * FROM unnest($1::bigint[], $2::text[])";
        assert_eq!(call(sql, 2).map(|c| c.names), Some(None));
        let sql = "SELECT * FROM unnest($1::int[], $2::int[]) WITH ORDINALITY AS u(a, b, n)";
        assert_eq!(call(sql, 2).map(|c| c.names), Some(None));
    }

    #[test]
    fn statements_that_do_not_qualify() {
        for (sql, count) in [
            // A parameter also used in WHERE.
            ("UPDATE t SET x = u.x FROM unnest($1::int[], $2::int[]) AS u(id, x) WHERE t.id = u.id AND t.id <> ALL($1)", 2),
            // A parameter outside the unnest.
            ("INSERT INTO t (a) SELECT * FROM unnest($1::int[]) WHERE $2", 2),
            ("INSERT INTO t (a, b) SELECT u.a, $2 FROM unnest($1::int[]) AS u(a)", 2),
            // Two unnest calls.
            ("SELECT * FROM unnest($1::int[]) AS a(x), unnest($2::int[]) AS b(y)", 2),
            ("SELECT * FROM unnest($1::int[]) AS a(x) WHERE x = ANY(SELECT unnest(ARRAY[1, 2]))", 1),
            // Literal or computed arguments.
            ("SELECT * FROM unnest($1::int[], ARRAY[1, 2])", 1),
            ("SELECT * FROM unnest($1::int[], '{a,b}'::text[])", 1),
            ("SELECT * FROM unnest($1::int[] || $2::int[])", 2),
            ("SELECT * FROM unnest(ARRAY[1, 2])", 0),
            // A parameter twice in the call.
            ("SELECT * FROM unnest($1::int[], $1::int[])", 1),
            // unnest outside FROM.
            ("SELECT unnest($1::int[]) AS x", 1),
            ("SELECT x FROM t WHERE x = ANY(SELECT unnest($1::int[]))", 1),
            // No unnest at all.
            ("INSERT INTO t (a, b) VALUES ($1, $2)", 2),
        ] {
            assert_eq!(call(sql, count), None, "{sql}");
        }
    }

    fn array(element: Builtin) -> RustType {
        RustType::Array {
            element: Box::new(RustType::Builtin(element)),
            nullable_elements: false,
        }
    }

    fn upsert_call() -> UnnestCall {
        UnnestCall {
            params: vec![1, 0],
            names: names(&["name", "id"]),
        }
    }

    #[test]
    fn plan_names_the_struct_the_function_and_the_fields() {
        let (ids, labels) = (array(Builtin::I64), array(Builtin::Text));
        let params = [("ids", &ids), ("labels", &labels)];
        let types = [Type::INT8_ARRAY, Type::TEXT_ARRAY];
        let planned = plan(
            QueryKind::Many,
            ("UpsertTags", "upsert_tags"),
            &upsert_call(),
            &params,
            &types,
        );
        assert_eq!(
            planned,
            Some(UnnestIr {
                item_struct: "UpsertTagsItem".to_string(),
                items_fn: "upsert_tags_items".to_string(),
                fields: vec![("name".to_string(), 1), ("id".to_string(), 0)],
            })
        );
        assert_eq!(
            plan(QueryKind::Exec, ("A", "a"), &upsert_call(), &params, &types).map(|p| p.items_fn),
            Some("a_items".to_string())
        );
    }

    #[test]
    fn plan_falls_back_to_parameter_names_on_a_collision_or_an_invalid_name() {
        let (ids, labels) = (array(Builtin::I64), array(Builtin::Text));
        let params = [("ids", &ids), ("labels", &labels)];
        let types = [Type::INT8_ARRAY, Type::TEXT_ARRAY];
        for sql_names in [
            ["id", "id"],
            ["Name", "id"],
            ["my col", "id"],
            ["1st", "id"],
        ] {
            let call = UnnestCall {
                params: vec![1, 0],
                names: names(&sql_names),
            };
            let fields =
                plan(QueryKind::Many, ("U", "u"), &call, &params, &types).map(|p| p.fields);
            assert_eq!(
                fields,
                Some(vec![("labels".to_string(), 1), ("ids".to_string(), 0)]),
                "{sql_names:?}"
            );
        }
    }

    #[test]
    fn plan_wants_exec_or_many_and_arrays_of_non_arrays() {
        let (ids, labels) = (array(Builtin::I64), array(Builtin::Text));
        let types = [Type::INT8_ARRAY, Type::TEXT_ARRAY];
        let params = [("ids", &ids), ("labels", &labels)];
        for kind in [
            QueryKind::One,
            QueryKind::Opt,
            QueryKind::BatchExec,
            QueryKind::CopyFrom,
        ] {
            assert_eq!(
                plan(kind, ("U", "u"), &upsert_call(), &params, &types),
                None
            );
        }
        // A parameter that is no array (e.g. bound to a Rust type by an override).
        let scalar = RustType::Builtin(Builtin::Text);
        let params = [("ids", &ids), ("labels", &scalar)];
        assert_eq!(
            plan(
                QueryKind::Many,
                ("U", "u"),
                &upsert_call(),
                &params,
                &[Type::INT8_ARRAY, Type::TEXT]
            ),
            None
        );
        // Elements that are arrays: in Rust, or a domain over an array in PostgreSQL.
        let nested = RustType::Array {
            element: Box::new(array(Builtin::I32)),
            nullable_elements: false,
        };
        let params = [("ids", &ids), ("labels", &nested)];
        assert_eq!(
            plan(QueryKind::Many, ("U", "u"), &upsert_call(), &params, &types),
            None
        );
        let domain = Type::new(
            "int_list".into(),
            90_001,
            Kind::Domain(Type::INT4_ARRAY),
            "public".into(),
        );
        let of_domain = Type::new(
            "_int_list".into(),
            90_002,
            Kind::Array(domain),
            "public".into(),
        );
        let params = [("ids", &ids), ("labels", &ids)];
        assert_eq!(
            plan(
                QueryKind::Many,
                ("U", "u"),
                &upsert_call(),
                &params,
                &[Type::INT8_ARRAY, of_domain]
            ),
            None
        );
        // One parameter more than the call has.
        let params = [("ids", &ids), ("labels", &labels), ("more", &ids)];
        assert_eq!(
            plan(QueryKind::Many, ("U", "u"), &upsert_call(), &params, &types),
            None
        );
    }
}
