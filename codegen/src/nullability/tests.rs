//! The nullability rules on synthetic input, without PostgreSQL: a parsed
//! statement, what describe would report for it (a hand-made [`Described`]:
//! the source table and attribute of plain column references, none for
//! computed columns) and a small [`Catalog`]. The corpus under
//! `tests/nullability/` checks the same rules against a real server.

use postgres_types::Type;

use super::{infer_nullability, ColumnNullability};
use crate::describe::{Described, DescribedColumn};
use crate::parse::parse_statement;
use crate::schema::{Catalog, Column, RelationKind, Table};

const TEAMS: u32 = 16_001;
const USERS: u32 = 16_002;

/// `teams (id NOT NULL, name NOT NULL, motto)` and
/// `users (id NOT NULL, team_id, name NOT NULL, bio, age, score NOT NULL)`.
fn catalog() -> Catalog {
    let table = |oid: u32, name: &str, columns: &[(&str, u32, bool)]| Table {
        oid,
        schema: "public".to_string(),
        name: name.to_string(),
        kind: RelationKind::Table,
        columns: columns
            .iter()
            .zip(1..)
            .map(|(&(name, type_oid, not_null), attnum)| Column {
                attnum,
                name: name.to_string(),
                type_oid,
                not_null,
                has_default: false,
            })
            .collect(),
        primary_key: vec![1],
        unique_keys: vec![vec![1]],
        foreign_keys: Vec::new(),
        indexes: Vec::new(),
        definition: None,
    };
    let (int8, text, int4) = (Type::INT8.oid(), Type::TEXT.oid(), Type::INT4.oid());
    let mut catalog = Catalog::default();
    catalog.insert_table(table(
        TEAMS,
        "teams",
        &[
            ("id", int8, true),
            ("name", text, true),
            ("motto", text, false),
        ],
    ));
    catalog.insert_table(table(
        USERS,
        "users",
        &[
            ("id", int8, true),
            ("team_id", int8, false),
            ("name", text, true),
            ("bio", text, false),
            ("age", int4, false),
            ("score", int4, true),
        ],
    ));
    catalog
}

/// An output column as describe reports it: `table.column` for a plain
/// reference to a table column (`users.bio`), anything else for a computed
/// one.
fn column(name: &str, source: &str) -> DescribedColumn {
    let traced = source.split_once('.').and_then(|(table, column)| {
        let catalog = catalog();
        let table = catalog.resolve(None, table)?;
        Some((table.oid, table.column_named(column)?.attnum))
    });
    DescribedColumn {
        name: name.to_string(),
        ty: Type::TEXT,
        table_oid: traced.map(|(oid, _)| oid),
        column_id: traced.map(|(_, attnum)| attnum),
    }
}

/// What inference concludes for `sql`, whose output columns describe
/// reports as `columns` (`(name, source)`, see [`column`]).
fn infer(sql: &str, columns: &[(&str, &str)]) -> Vec<ColumnNullability> {
    let statement = parse_statement(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let described = Described {
        params: Vec::new(),
        columns: columns
            .iter()
            .map(|&(name, source)| column(name, source))
            .collect(),
    };
    infer_nullability(Some(&statement), &described, &[], &catalog())
}

/// The output columns of `sql` that may be NULL, by name.
fn nullable(sql: &str, columns: &[(&str, &str)]) -> Vec<String> {
    infer(sql, columns)
        .iter()
        .zip(columns)
        .filter(|(inferred, _)| inferred.nullable)
        .map(|(_, (name, _))| name.to_string())
        .collect()
}

#[test]
fn not_null_columns_through_an_inner_join_stay_non_null() {
    assert_eq!(
        nullable(
            "SELECT u.id, u.name, t.name AS team, t.motto FROM users u JOIN teams t ON t.id = u.team_id",
            &[
                ("id", "users.id"),
                ("name", "users.name"),
                ("team", "teams.name"),
                ("motto", "teams.motto"),
            ],
        ),
        ["motto"]
    );
}

#[test]
fn a_left_join_makes_the_right_side_nullable() {
    let sql = "SELECT u.name, t.id AS team_id, t.name AS team FROM users u LEFT JOIN teams t ON t.id = u.team_id";
    let columns = [
        ("name", "users.name"),
        ("team_id", "teams.id"),
        ("team", "teams.name"),
    ];
    assert_eq!(nullable(sql, &columns), ["team_id", "team"]);
    // NULL for a user without a team: proven, so a `!` override contradicts it.
    assert!(infer(sql, &columns)[2].can_be_null);
}

#[test]
fn a_right_join_makes_the_left_side_nullable() {
    assert_eq!(
        nullable(
            "SELECT u.name AS user_name, t.name AS team FROM users u RIGHT JOIN teams t ON t.id = u.team_id",
            &[("user_name", "users.name"), ("team", "teams.name")],
        ),
        ["user_name"]
    );
}

#[test]
fn where_is_not_null_refines_a_nullable_column() {
    let columns = [("id", "users.id"), ("bio", "users.bio")];
    assert_eq!(nullable("SELECT id, bio FROM users", &columns), ["bio"]);
    assert!(nullable("SELECT id, bio FROM users WHERE bio IS NOT NULL", &columns).is_empty());
    // Not under OR: either side may hold without the other.
    assert_eq!(
        nullable(
            "SELECT id, bio FROM users WHERE bio IS NOT NULL OR id > 0",
            &columns
        ),
        ["bio"]
    );
}

#[test]
fn count_is_never_null_and_sum_without_group_by_is() {
    let sql = "SELECT count(*) AS n, count(bio) AS bios, sum(score) AS total FROM users";
    let columns = [("n", ""), ("bios", ""), ("total", "")];
    assert_eq!(nullable(sql, &columns), ["total"]);
    let inferred = infer(sql, &columns);
    assert!(inferred.iter().all(|column| column.computed));
    // Over no rows the sum is NULL: proven.
    assert!(inferred[2].can_be_null);
}

#[test]
fn sum_of_a_not_null_column_per_group_is_non_null() {
    assert_eq!(
        nullable(
            "SELECT team_id, sum(score) AS total FROM users GROUP BY team_id",
            &[("team_id", "users.team_id"), ("total", "")],
        ),
        ["team_id"]
    );
}

#[test]
fn coalesce_with_a_literal_is_non_null() {
    assert_eq!(
        nullable(
            "SELECT coalesce(bio, '') AS bio, coalesce(bio, motto) AS either FROM users u JOIN teams t ON t.id = u.team_id",
            &[("bio", ""), ("either", "")],
        ),
        ["either"]
    );
}

#[test]
fn case_without_else_is_nullable() {
    let columns = [("label", "")];
    assert_eq!(
        nullable(
            "SELECT CASE WHEN score > 0 THEN 'plus' END AS label FROM users",
            &columns
        ),
        ["label"]
    );
    assert!(nullable(
        "SELECT CASE WHEN score > 0 THEN 'plus' ELSE 'other' END AS label FROM users",
        &columns
    )
    .is_empty());
}

#[test]
fn a_scalar_subquery_is_nullable_even_of_a_not_null_column() {
    assert_eq!(
        nullable(
            "SELECT u.id, (SELECT t.name FROM teams t WHERE t.id = u.team_id) AS team FROM users u",
            &[("id", "users.id"), ("team", "")],
        ),
        ["team"]
    );
}

#[test]
fn union_is_nullable_where_any_branch_is() {
    assert_eq!(
        nullable(
            "SELECT name, bio AS text FROM users UNION ALL SELECT name, motto FROM teams",
            &[("name", ""), ("text", "")],
        ),
        ["text"]
    );
    assert!(nullable(
        "SELECT name FROM users UNION SELECT name FROM teams",
        &[("name", "")],
    )
    .is_empty());
}

#[test]
fn a_null_literal_and_strict_operators_on_nullable_input_are_nullable() {
    assert_eq!(
        nullable(
            "SELECT NULL::text AS nothing, score + 1 AS next, age + 1 AS older FROM users",
            &[("nothing", ""), ("next", ""), ("older", "")],
        ),
        ["nothing", "older"]
    );
}

#[test]
fn without_a_statement_nothing_is_proven() {
    // No parsed statement (sqlparser could not parse it): even a NOT NULL
    // source column may sit on the nullable side of an outer join nobody
    // saw, so every column is nullable; only describe tells what is computed.
    let described = Described {
        params: Vec::new(),
        columns: vec![column("name", "users.name"), column("n", "")],
    };
    let inferred = infer_nullability(None, &described, &[], &catalog());
    assert!(inferred
        .iter()
        .all(|column| column.nullable && !column.can_be_null));
    assert_eq!(
        inferred.iter().map(|c| c.computed).collect::<Vec<_>>(),
        [false, true]
    );
}
