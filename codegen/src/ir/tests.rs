//! The IR without PostgreSQL: query files lexed for real, describe results
//! and prefetch facts written by hand.

use postgres_types::Type;

use super::*;
use crate::config::TypeConfig;
use crate::describe::DescribedColumn;
use crate::diagnostic::SourceFile;
use crate::prefetch::{LoaderSpec, RelationSpec};
use crate::typemap::Builtin;

/// What PostgreSQL would say about one query: parameter types, and
/// `(name, type, nullable)` per column.
struct Facts {
    params: Vec<Type>,
    columns: Vec<(&'static str, Type, bool)>,
    prefetch: QueryPrefetch,
}

fn facts(params: Vec<Type>, columns: Vec<(&'static str, Type, bool)>) -> Facts {
    Facts {
        params,
        columns,
        prefetch: QueryPrefetch::default(),
    }
}

/// Builds the project of one module `blog` whose file is `text`, the queries
/// described by `facts` in order.
fn build(text: &str, facts: Vec<Facts>) -> Result<Project, Vec<Diagnostic>> {
    let file = SourceFile::new("queries/blog.sql", text);
    let (defs, diagnostics) = crate::lex::lex_file(&file);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(defs.len(), facts.len(), "one `Facts` per query");
    let described: Vec<Described> = facts
        .iter()
        .map(|facts| Described {
            params: facts.params.clone(),
            columns: facts
                .columns
                .iter()
                .map(|(name, ty, _)| DescribedColumn {
                    name: name.to_string(),
                    ty: ty.clone(),
                    table_oid: None,
                    column_id: None,
                })
                .collect(),
        })
        .collect();
    let queries: Vec<CheckedQuery<'_>> = defs
        .iter()
        .zip(&described)
        .zip(facts)
        .map(|((def, described), facts)| CheckedQuery {
            module: "blog",
            def,
            positional_names: Vec::new(),
            param_targets: Vec::new(),
            takes_row_locks: crate::locks::query_takes_row_locks(
                crate::parse::parse_statement(&def.sql).ok().as_ref(),
                &def.sql,
            ),
            described,
            nullable: facts.columns.iter().map(|(_, _, null)| *null).collect(),
            prefetch: facts.prefetch,
            read_only: false,
            copy: None,
            unnest: crate::parse::parse_statement(&def.sql)
                .ok()
                .and_then(|statement| crate::unnest::find_unnest(&statement, def.params.len())),
            embeds: Vec::new(),
            command: None,
        })
        .collect();
    let config = TypeConfig::default();
    let mapper = TypeMapper::new(&config);
    let modules = [("blog".to_string(), "queries/blog.sql".to_string())];
    build_project(
        &modules,
        &queries,
        &Catalog::default(),
        &mapper,
        &mut Vec::new(),
    )
}

fn messages(result: Result<Project, Vec<Diagnostic>>) -> Vec<String> {
    match result {
        Ok(project) => panic!("expected errors, got {project:#?}"),
        Err(errors) => errors.into_iter().map(|e| e.message).collect(),
    }
}

fn int8() -> RustType {
    RustType::Builtin(Builtin::I64)
}

fn text() -> RustType {
    RustType::Builtin(Builtin::Text)
}

const PLAIN: &str = "\
-- name: GetAuthor :one
-- An author.
SELECT id, bio FROM authors WHERE id = :id;

-- name: ListNames :many
SELECT name FROM authors WHERE name LIKE :pattern?;

-- name: DeleteAuthor :exec
DELETE FROM authors WHERE id = :id;
";

#[test]
fn one_many_and_exec_queries_become_functions_rows_and_parameters() {
    let project = build(
        PLAIN,
        vec![
            facts(
                vec![Type::INT8],
                vec![("id", Type::INT8, false), ("bio", Type::TEXT, true)],
            ),
            facts(vec![Type::TEXT], vec![("name", Type::TEXT, false)]),
            facts(vec![Type::INT8], Vec::new()),
        ],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let [module] = project.modules.as_slice() else {
        panic!("{project:#?}");
    };
    let summary: Vec<(&str, QueryKind, Option<&str>)> = module
        .queries
        .iter()
        .map(|q| {
            (
                q.fn_name.as_str(),
                q.kind,
                q.row.as_ref().map(|r| r.name.as_str()),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("get_author", QueryKind::One, Some("GetAuthorRow")),
            ("list_names", QueryKind::Many, Some("ListNamesRow")),
            ("delete_author", QueryKind::Exec, None),
        ]
    );
    let get = &module.queries[0];
    assert_eq!(get.docs, ["An author."]);
    assert_eq!(get.sql, "SELECT id, bio FROM authors WHERE id = $1");
    assert_eq!(
        get.params,
        [ParamIr {
            name: "id".to_string(),
            ty: int8(),
            nullable: false,
            pg: PgParam::Oid(20),
        }]
    );
    assert!(module.queries[1].params[0].nullable, "`:pattern?`");
    let fields: Vec<(usize, &str, &RustType, bool)> = module.rows[0]
        .fields
        .iter()
        .map(|f| (f.index, f.name.as_str(), &f.ty, f.nullable))
        .collect();
    assert_eq!(
        fields,
        [(0, "id", &int8(), false), (1, "bio", &text(), true)]
    );
    assert_eq!(module.rows[0].used_by, ["blog::get_author"]);
    assert_eq!(project.runtime, None);
}

#[test]
fn queries_sharing_a_row_type_share_one_struct_and_must_agree_on_its_columns() {
    let text = "\
-- name: GetAuthor :one
-- @row Author
SELECT id, name FROM authors WHERE id = :id;

-- name: FindAuthor :opt
-- @row Author
SELECT id, name FROM authors WHERE name = :name;
";
    let author = || vec![("id", Type::INT8, false), ("name", Type::TEXT, false)];
    let project = build(
        text,
        vec![
            facts(vec![Type::INT8], author()),
            facts(vec![Type::TEXT], author()),
        ],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let rows = &project.modules[0].rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].used_by, ["blog::get_author", "blog::find_author"]);

    let mut nullable_name = author();
    nullable_name[1].2 = true;
    let errors = messages(build(
        text,
        vec![
            facts(vec![Type::INT8], author()),
            facts(vec![Type::TEXT], nullable_name),
        ],
    ));
    assert_eq!(
        errors,
        ["row type `Author` is used by queries with different columns"]
    );
}

#[test]
fn two_queries_may_not_become_one_function() {
    let text = "\
-- name: GetAuthor :exec
SELECT 1;

-- name: Get_Author :exec
SELECT 1;
";
    let errors = messages(build(
        text,
        vec![facts(Vec::new(), Vec::new()), facts(Vec::new(), Vec::new())],
    ));
    assert_eq!(
        errors,
        ["query `GetAuthor` and `Get_Author` both become the function `get_author`"]
    );
}

#[test]
fn unnamed_and_duplicate_columns_are_named_as_sqlc_names_them() {
    let text = "\
-- name: Count :one
SELECT 1 + 1, 1 AS a, 2 AS a, 3 AS \"A\";
";
    let project = build(
        text,
        vec![facts(
            Vec::new(),
            vec![
                ("?column?", Type::INT4, false),
                ("a", Type::INT4, false),
                ("a", Type::INT4, false),
                ("A", Type::INT4, false),
            ],
        )],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let row = project.modules[0].rows[0].clone();
    let names: Vec<(&str, &str)> = row
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.column.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("column_1", "?column?"),
            ("a", "a"),
            ("a_2", "a"),
            ("a_3", "A")
        ]
    );
}

const RELATIONS: &str = "\
-- name: ListPosts :many
SELECT id, author_id FROM posts;

-- name: CommentsByPost :many
SELECT post_id, body FROM comments WHERE post_id = ANY(:keys);

-- name: AuthorsById :opt
SELECT name, id AS quarry_key FROM authors WHERE id = ANY(:keys);
";

/// Posts with their comments (keyed by a field) and author (a hidden key).
fn relation_facts() -> Vec<Facts> {
    let keys = || vec![Type::INT8_ARRAY];
    let mut posts = facts(
        Vec::new(),
        vec![("id", Type::INT8, false), ("author_id", Type::INT8, false)],
    );
    let relation = |field: &str, loader, parent_index, parent: &str, to_many| RelationSpec {
        field: field.to_string(),
        loader,
        parent_index,
        parent_column: parent.to_string(),
        parent_nullable: false,
        to_many,
        optional: false,
        bindings: Vec::new(),
    };
    posts.prefetch.relations = vec![
        relation("comments", 1, 0, "id", true),
        relation("author", 2, 1, "author_id", false),
    ];
    let mut comments = facts(
        keys(),
        vec![("post_id", Type::INT8, false), ("body", Type::TEXT, false)],
    );
    comments.prefetch.loader = Some(LoaderSpec {
        key_index: 0,
        key_column: "post_id".to_string(),
        key_type: int8(),
        hidden: false,
        to_many: true,
        key_param: 0,
    });
    let mut authors = facts(
        keys(),
        vec![
            ("name", Type::TEXT, false),
            ("quarry_key", Type::INT8, false),
        ],
    );
    authors.prefetch.loader = Some(LoaderSpec {
        key_index: 1,
        key_column: "quarry_key".to_string(),
        key_type: int8(),
        hidden: true,
        to_many: false,
        key_param: 0,
    });
    vec![posts, comments, authors]
}

#[test]
fn relations_point_at_their_loaders_and_hidden_keys_are_no_fields() {
    let project = build(RELATIONS, relation_facts()).unwrap_or_else(|e| panic!("{e:?}"));
    let module = &project.modules[0];
    let posts = &module.rows[0];
    let relations: Vec<(&str, &str, &str, &str, bool)> = posts
        .relations
        .iter()
        .map(|r| {
            (
                r.field.as_str(),
                r.loader_fn.as_str(),
                r.row.name.as_str(),
                r.parent_field.as_str(),
                r.to_many,
            )
        })
        .collect();
    assert_eq!(
        relations,
        [
            (
                "comments",
                "comments_by_post",
                "CommentsByPostRow",
                "id",
                true
            ),
            (
                "author",
                "authors_by_id",
                "AuthorsByIdRow",
                "author_id",
                false
            ),
        ]
    );
    assert_eq!(posts.relations[1].key_type, int8());
    assert!(module.queries[0].has_relations);
    let comments = module.queries[1].loader.as_ref().map(|l| &l.key_field);
    assert_eq!(
        comments,
        Some(&Some(KeyField {
            name: "post_id".to_string(),
            nullable: false
        }))
    );
    let authors = module.queries[2].loader.as_ref();
    assert_eq!(
        authors.map(|l| (l.key_index, &l.key_field)),
        Some((1, &None))
    );
    let author_fields: Vec<&str> = module.rows[2]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(author_fields, ["name"], "the hidden key is not a field");
}

#[test]
fn generated_names_of_relations_and_loaders_are_reserved() {
    let text = format!(
        "{RELATIONS}
-- name: Other :many
-- @row ListPostsRowColumns
SELECT 1 AS x;

-- name: CommentsByPostDistinct :exec
SELECT 1;
"
    );
    let mut facts = relation_facts();
    facts.push(self::facts(Vec::new(), vec![("x", Type::INT4, false)]));
    facts.push(self::facts(Vec::new(), Vec::new()));
    // The `<Row>Columns` struct of ListPostsRow is a row type of its own here.
    let errors = messages(build(&text, facts));
    assert_eq!(
        errors,
        [
            "row type `ListPostsRowColumns` collides with the struct the generator makes for the columns of `ListPostsRow`",
            "query `CommentsByPostDistinct` becomes the function `comments_by_post_distinct`, which loader `CommentsByPost` needs for itself",
        ]
    );
}

#[test]
fn queries_with_parameters_get_a_params_struct_and_its_names_are_reserved() {
    let project = build(
        PLAIN,
        vec![
            facts(vec![Type::INT8], vec![("id", Type::INT8, false)]),
            facts(vec![Type::TEXT], vec![("name", Type::TEXT, false)]),
            facts(vec![Type::INT8], Vec::new()),
        ],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let structs: Vec<Option<&str>> = project.modules[0]
        .queries
        .iter()
        .map(|q| q.params_struct.as_deref())
        .collect();
    assert_eq!(
        structs,
        [
            Some("GetAuthorParams"),
            Some("ListNamesParams"),
            Some("DeleteAuthorParams")
        ]
    );

    let text = "\
-- name: GetAuthor :one
SELECT id FROM authors WHERE id = :id;

-- name: ListAuthors :many
-- @row GetAuthorParams
SELECT id FROM authors;

-- name: GetAuthorWith :exec
SELECT 1;
";
    let id = || vec![("id", Type::INT8, false)];
    let errors = messages(build(
        text,
        vec![
            facts(vec![Type::INT8], id()),
            facts(Vec::new(), id()),
            facts(Vec::new(), Vec::new()),
        ],
    ));
    assert_eq!(
        errors,
        [
            "query `GetAuthorWith` becomes the function `get_author_with`, which query `GetAuthor` needs for calls with a `GetAuthorParams`",
            "the parameters struct `GetAuthorParams` of query `GetAuthor` has the name of the row type of `list_authors` in module `blog`",
        ]
    );
}

#[test]
fn a_parameter_named_like_a_local_of_the_generated_function_is_renamed() {
    let text = "\
-- name: ByDb :exec
SELECT 1 WHERE :db::int8 = :conn::int8;
";
    let project = build(text, vec![facts(vec![Type::INT8, Type::INT8], Vec::new())])
        .unwrap_or_else(|e| panic!("{e:?}"));
    let names: Vec<&str> = project.modules[0].queries[0]
        .params
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["db_1", "conn"],
        "`conn` is only a local with relations"
    );
}

#[test]
fn an_unmapped_type_is_an_error_with_a_help() {
    let text = "\
-- name: Weird :one
SELECT w FROM things;
";
    let weird = Type::new(
        "weird".to_string(),
        424_242,
        postgres_types::Kind::Pseudo,
        "public".to_string(),
    );
    let errors = build(text, vec![facts(Vec::new(), vec![("w", weird, false)])]);
    let errors = errors.err().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].message,
        "unsupported type `weird` for column `w` of query `Weird`"
    );
    assert!(format!("{errors:?}").contains("[types]"), "{errors:?}");
}

#[test]
fn queries_that_take_row_locks_are_marked() {
    let text = "\
-- name: LockAuthor :one
SELECT id FROM authors WHERE id = :id FOR UPDATE;

-- name: LockNoKey :many
SELECT id FROM authors FOR NO KEY UPDATE SKIP LOCKED;

-- name: LockAccount :exec
SELECT pg_advisory_xact_lock(:key);

-- name: GetAuthor :one
SELECT id FROM authors WHERE id = :id;
";
    let id = || facts(vec![Type::INT8], vec![("id", Type::INT8, false)]);
    let project = build(
        text,
        vec![
            id(),
            facts(Vec::new(), vec![("id", Type::INT8, false)]),
            facts(vec![Type::INT8], Vec::new()),
            id(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let locks: Vec<(&str, bool)> = project.modules[0]
        .queries
        .iter()
        .map(|q| (q.name.as_str(), q.takes_row_locks))
        .collect();
    assert_eq!(
        locks,
        [
            ("LockAuthor", true),
            ("LockNoKey", true),
            ("LockAccount", true),
            ("GetAuthor", false)
        ]
    );
}

const UNNEST: &str = "\
-- name: UpsertTags :many
INSERT INTO tags (id, name) SELECT * FROM unnest(:ids::bigint[], :names::text[]) RETURNING id, name;

-- name: SetPrices :exec
UPDATE items SET price = u.price FROM unnest(:ids::bigint[], :prices::int[]) AS u(id, price) WHERE items.id = u.id;

-- name: SetPricesItems :exec
DELETE FROM items WHERE id = :id;

-- name: FirstTag :one
SELECT id FROM unnest(:ids::bigint[]) AS u(id) LIMIT 1;
";

#[test]
fn unnest_forms_are_planned_for_exec_and_many_and_dropped_when_their_names_are_taken() {
    let project = build(
        UNNEST,
        vec![
            facts(
                vec![Type::INT8_ARRAY, Type::TEXT_ARRAY],
                vec![("id", Type::INT8, false), ("name", Type::TEXT, false)],
            ),
            facts(vec![Type::INT8_ARRAY, Type::INT4_ARRAY], Vec::new()),
            facts(vec![Type::INT8], Vec::new()),
            facts(vec![Type::INT8_ARRAY], vec![("id", Type::INT8, false)]),
        ],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let [module] = project.modules.as_slice() else {
        panic!("{project:#?}");
    };
    let unnest: Vec<(&str, Option<&crate::unnest::UnnestIr>)> = module
        .queries
        .iter()
        .map(|q| (q.fn_name.as_str(), q.unnest.as_ref()))
        .collect();
    let upsert = crate::unnest::UnnestIr {
        item_struct: "UpsertTagsItem".to_string(),
        items_fn: "upsert_tags_items".to_string(),
        fields: vec![("id".to_string(), 0), ("name".to_string(), 1)],
    };
    assert_eq!(
        unnest,
        [
            ("upsert_tags", Some(&upsert)),
            // `set_prices_items` is the next query's function.
            ("set_prices", None),
            ("set_prices_items", None),
            // `:one`.
            ("first_tag", None),
        ]
    );
}

#[test]
fn parameters_are_declared_by_oid_when_built_in_and_by_name_when_user_defined() {
    use postgres_types::Kind;
    let user = |name: &str, oid: u32, kind: Kind| Type::new(name.into(), oid, kind, "app".into());
    let mood = user("mood", 90_001, Kind::Enum(vec!["ok".into()]));
    let mood_array = user("_mood", 90_002, Kind::Array(mood.clone()));
    let posint = user("posint", 90_003, Kind::Domain(Type::INT4));
    let small = user("small", 90_004, Kind::Domain(posint.clone()));
    let small_array = user("_small", 90_005, Kind::Array(small.clone()));
    let happy = user("happy", 90_006, Kind::Domain(mood.clone()));
    let happy_array = user("_happy", 90_007, Kind::Array(happy.clone()));
    let point = user("Point 2D", 90_008, Kind::Composite(Vec::new()));
    let declared = |ty: &Type| PgParam::of(ty);
    let named = |name: &str| PgParam::Named(name.to_string());
    assert_eq!(declared(&Type::INT8), PgParam::Oid(20));
    assert_eq!(declared(&Type::TEXT_ARRAY), PgParam::Oid(1009));
    assert_eq!(declared(&mood), named("app.mood"));
    assert_eq!(declared(&mood_array), named("app.mood[]"));
    // Domains (over domains) are their base type, and so are arrays of them.
    assert_eq!(declared(&posint), PgParam::Oid(23));
    assert_eq!(declared(&small), PgParam::Oid(23));
    assert_eq!(declared(&small_array), PgParam::Oid(1007));
    assert_eq!(declared(&happy), named("app.mood"));
    assert_eq!(declared(&happy_array), named("app.mood[]"));
    // Names are the catalog's, unquoted.
    assert_eq!(declared(&point), named("app.Point 2D"));
    assert!(named("app.mood").is_named() && !PgParam::Oid(20).is_named());
}

#[test]
fn a_query_uses_custom_types_with_a_named_parameter_or_a_user_defined_column() {
    let mood = Type::new(
        "mood".into(),
        90_001,
        postgres_types::Kind::Enum(vec!["ok".into()]),
        "public".into(),
    );
    let project = build(
        PLAIN,
        vec![
            facts(
                vec![Type::INT8],
                vec![("id", Type::INT8, false), ("bio", mood.clone(), true)],
            ),
            facts(vec![mood], vec![("name", Type::TEXT, false)]),
            facts(vec![Type::INT8], Vec::new()),
        ],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let queries = &project.modules[0].queries;
    let custom: Vec<bool> = queries.iter().map(|q| q.custom_types).collect();
    assert_eq!(custom, [true, true, false]);
    assert_eq!(
        queries[1].params[0].pg,
        PgParam::Named("public.mood".into())
    );
    // Pooler-safe only with `pooler = "transaction"`.
    assert!(queries.iter().all(|q| !q.pooler_safe));
}
