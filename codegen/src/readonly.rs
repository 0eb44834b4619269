//! Read-only inference: whether a query provably writes nothing.
//!
//! Owns the one decision behind `quarry::Query::read_only()` in generated
//! code, which lets the runtime run a query again on a fresh connection after
//! the connection failed under it. A query is read-only when its statement
//! (after its CTEs) is a `SELECT`, `VALUES` or `TABLE`; no CTE or subquery
//! modifies data (`INSERT`/`UPDATE`/`DELETE`/`MERGE`); no query level takes
//! row locks (`FOR UPDATE`/`SHARE`…); nothing selects `INTO` a table; and no
//! function it calls — directly or through the views it reads — has a
//! `VOLATILE` overload in the catalog, except the few in
//! [`VOLATILE_BUT_WRITE_NOTHING`]. Anything it cannot see through (a view
//! definition that does not parse, nesting too deep) makes the answer "not
//! read-only": a query wrongly marked read-only could be run twice.
//!
//! Pure: reads the syntax tree and the [`Catalog`] (whose volatile function
//! names the describe stage fetched once per run). Known blind spots, all
//! conservative only in the sense that they are rare: user-defined operators
//! backed by volatile functions and row-level security policies calling them.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, ObjectName, Statement, TableFactor, Visit, Visitor};

use crate::parse::{object_base_name, object_schema};
use crate::schema::{Catalog, RelationKind};

/// Built-in volatile functions that change nothing but their result: random
/// values, the wall clock, sleeping. Running them twice is harmless. Not
/// listed on purpose: `nextval`/`setval` (sequences), `pg_advisory_*` (locks),
/// `set_config`, `setseed`, `txid_current`, `pg_notify`, large objects.
/// Only trusted when every volatile overload of the name is in `pg_catalog`.
pub const VOLATILE_BUT_WRITE_NOTHING: &[&str] = &[
    "random",
    "random_normal",
    "clock_timestamp",
    "timeofday",
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
];

/// How deep views are followed into views before giving up.
const MAX_VIEW_DEPTH: usize = 16;

/// Whether `statement` provably writes nothing (see the module doc).
pub fn writes_nothing(statement: &Statement, catalog: &Catalog) -> bool {
    writes_nothing_at(statement, catalog, 0)
}

fn writes_nothing_at(statement: &Statement, catalog: &Catalog, depth: usize) -> bool {
    if depth > MAX_VIEW_DEPTH || !matches!(statement, Statement::Query(_)) {
        return false;
    }
    let mut visitor = ReadOnlyVisitor {
        catalog,
        depth,
        statements: 0,
    };
    statement.visit(&mut visitor).is_continue()
}

/// Breaks at the first thing that may write.
struct ReadOnlyVisitor<'c> {
    catalog: &'c Catalog,
    depth: usize,
    /// Statements met so far: the root, then any data-modifying one inside.
    statements: usize,
}

impl ReadOnlyVisitor<'_> {
    fn check_function(&self, name: &ObjectName) -> ControlFlow<()> {
        if function_may_write(name, self.catalog) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

impl Visitor for ReadOnlyVisitor<'_> {
    type Break = ();

    fn pre_visit_statement(&mut self, _statement: &Statement) -> ControlFlow<()> {
        // The root is a query (checked before); any statement inside it is
        // an INSERT/UPDATE/DELETE/MERGE in a CTE or subquery.
        self.statements += 1;
        if self.statements > 1 {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &sqlparser::ast::Query) -> ControlFlow<()> {
        if query.locks.is_empty() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }

    fn pre_visit_select(&mut self, select: &sqlparser::ast::Select) -> ControlFlow<()> {
        if select.into.is_some() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Function(function) => self.check_function(&function.name),
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_table_factor(&mut self, table: &TableFactor) -> ControlFlow<()> {
        match table {
            // `FROM f(…)`: a set-returning function.
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => self.check_function(name),
            TableFactor::Table { name, .. } => {
                if view_may_write(name, self.catalog, self.depth) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

/// Whether a call of `name` may write: some overload of that name is
/// volatile and it is not a built-in known to write nothing. A name that
/// cannot be read is assumed to write.
fn function_may_write(name: &ObjectName, catalog: &Catalog) -> bool {
    let Some(function) = object_base_name(name) else {
        return true;
    };
    match catalog.volatile_functions.get(&function) {
        None => false,
        Some(&user_defined) => {
            user_defined || !VOLATILE_BUT_WRITE_NOTHING.contains(&function.as_str())
        }
    }
}

/// Whether reading relation `name` may write: it is a view whose definition
/// is not read-only (materialized views and tables are stored rows). Names
/// the catalog does not know (CTEs) are not relations of the schema.
fn view_may_write(name: &ObjectName, catalog: &Catalog, depth: usize) -> bool {
    if name.0.iter().any(|part| part.as_ident().is_none()) {
        return true;
    }
    let Some(relation) = object_base_name(name) else {
        return true;
    };
    let table = catalog.resolve(object_schema(name).as_deref(), &relation);
    let Some(table) = table.filter(|table| table.kind == RelationKind::View) else {
        return false;
    };
    let Some(definition) = &table.definition else {
        return true;
    };
    match crate::parse::parse_statement(definition) {
        Ok(statement) => !writes_nothing_at(&statement, catalog, depth + 1),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::writes_nothing;
    use crate::schema::{Catalog, RelationKind, Table};

    fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        for (name, user) in [
            ("nextval", false),
            ("setval", false),
            ("random", false),
            ("pg_sleep", false),
            ("gen_random_uuid", false),
            ("pg_advisory_lock", false),
            ("log_visit", true),
        ] {
            catalog.volatile_functions.insert(name.to_string(), user);
        }
        let view = |oid, name: &str, definition: &str| Table {
            oid,
            schema: "public".to_string(),
            name: name.to_string(),
            kind: RelationKind::View,
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique_keys: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            definition: Some(definition.to_string()),
        };
        catalog.insert_table(view(1, "plain_view", " SELECT posts.id FROM posts;"));
        catalog.insert_table(view(
            2,
            "ticket_view",
            " SELECT nextval('s'::regclass) AS n;",
        ));
        catalog.insert_table(view(3, "outer_view", " SELECT n FROM ticket_view;"));
        catalog
    }

    /// `(sql, read-only)` pairs, checked together so a failure names them all.
    /// SQL sqlparser cannot parse is not read-only, as in the pipeline
    /// (`FOR NO KEY UPDATE`, `FOR KEY SHARE`: PostgreSQL accepts them).
    fn check(cases: &[(&str, bool)]) {
        let catalog = catalog();
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|&(sql, expected)| {
                let found = crate::parse::parse_statement(sql)
                    .is_ok_and(|statement| writes_nothing(&statement, &catalog));
                (found != expected).then(|| format!("{sql}: expected {expected}, got {found}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn plain_reads_are_read_only() {
        check(&[
            ("SELECT id, title FROM posts WHERE author_id = $1", true),
            ("SELECT id FROM posts WHERE id = ANY($1)", true),
            ("VALUES (1), (2)", true),
            (
                "WITH recent AS (SELECT * FROM posts ORDER BY id DESC LIMIT 5) SELECT * FROM recent",
                true,
            ),
            ("SELECT 1 UNION SELECT 2", true),
            ("SELECT * FROM generate_series(1, $1) AS g", true),
            ("SELECT id FROM plain_view", true),
        ]);
    }

    #[test]
    fn writes_and_data_modifying_ctes_are_not() {
        check(&[
            ("INSERT INTO posts (title) VALUES ($1)", false),
            ("UPDATE posts SET title = $1", false),
            ("DELETE FROM posts WHERE id = $1", false),
            (
                "WITH gone AS (DELETE FROM posts WHERE id = $1 RETURNING id) SELECT id FROM gone",
                false,
            ),
            (
                "WITH added AS (INSERT INTO posts (title) VALUES ($1) RETURNING id) SELECT * FROM added",
                false,
            ),
            ("SELECT id INTO TEMP copy FROM posts", false),
        ]);
    }

    #[test]
    fn row_locks_are_not_read_only() {
        check(&[
            ("SELECT id FROM posts WHERE id = $1 FOR UPDATE", false),
            ("SELECT id FROM posts FOR SHARE SKIP LOCKED", false),
            (
                "SELECT * FROM (SELECT id FROM posts FOR NO KEY UPDATE) AS p",
                false,
            ),
            (
                "WITH locked AS (SELECT id FROM posts FOR KEY SHARE) SELECT 1",
                false,
            ),
        ]);
    }

    #[test]
    fn volatile_functions_are_not_read_only_unless_allowed() {
        check(&[
            ("SELECT nextval('posts_id_seq')", false),
            ("SELECT setval('posts_id_seq', 1)", false),
            ("SELECT pg_catalog.nextval('posts_id_seq')", false),
            ("SELECT NEXTVAL('posts_id_seq')", false),
            ("SELECT pg_advisory_lock(1)", false),
            ("SELECT id FROM posts WHERE log_visit(id)", false),
            ("SELECT * FROM log_visit(1)", false),
            (
                "SELECT id FROM posts WHERE id IN (SELECT nextval('s'))",
                false,
            ),
            // Stable and immutable functions, and volatile ones that write nothing.
            (
                "SELECT now(), lower(title), count(*) FROM posts GROUP BY title",
                true,
            ),
            ("SELECT random(), gen_random_uuid(), pg_sleep(0)", true),
        ]);
    }

    #[test]
    fn an_allowed_name_shadowed_by_a_user_function_is_not_trusted() {
        let mut catalog = catalog();
        catalog
            .volatile_functions
            .insert("random".to_string(), true);
        let statement = crate::parse::parse_statement("SELECT random()");
        assert!(matches!(statement, Ok(s) if !writes_nothing(&s, &catalog)));
    }

    #[test]
    fn views_are_followed_into_their_definitions() {
        check(&[
            ("SELECT n FROM ticket_view", false),
            ("SELECT n FROM outer_view", false),
            ("SELECT * FROM public.ticket_view", false),
        ]);
    }
}
