//! `sqlc.embed` without PostgreSQL: query files lexed and parsed for real,
//! what describe would say written by hand (each column's table and
//! attribute) over a small catalog; the placement checks, the column runs,
//! the IR and the emitted code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use postgres_types::Type;

use super::{check, locate, EmbedRun};
use crate::config::TypeConfig;
use crate::describe::{Described, DescribedColumn};
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::emit::{emit_project, Header, Regenerate};
use crate::ir::{build_project, CheckedQuery, Project};
use crate::lex::QueryDef;
use crate::parse::parse_statement;
use crate::prefetch::QueryPrefetch;
use crate::schema::{Catalog, Column, RelationKind, Table};
use crate::typemap::TypeMapper;

const AUTHORS: u32 = 16_001;
const BOOKS: u32 = 16_002;

/// `authors (id NOT NULL, name NOT NULL, bio)`, `books (id NOT NULL, title NOT NULL, editor_id)`.
fn catalog() -> Catalog {
    let table = |oid: u32, name: &str, columns: &[(&str, bool)]| Table {
        oid,
        schema: "public".to_string(),
        name: name.to_string(),
        kind: RelationKind::Table,
        columns: columns
            .iter()
            .zip(1..)
            .map(|(&(name, not_null), attnum)| Column {
                attnum,
                name: name.to_string(),
                type_oid: if name == "id" || name.ends_with("_id") {
                    Type::INT8.oid()
                } else {
                    Type::TEXT.oid()
                },
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
    let mut catalog = Catalog::default();
    catalog.insert_table(table(
        AUTHORS,
        "authors",
        &[("id", true), ("name", true), ("bio", false)],
    ));
    catalog.insert_table(table(
        BOOKS,
        "books",
        &[("id", true), ("title", true), ("editor_id", false)],
    ));
    catalog
}

/// A result column: name, and the table and attribute it comes from.
type Source = (&'static str, Option<(u32, i16)>);

/// The columns of `authors.*`.
fn authors() -> Vec<Source> {
    vec![
        ("id", Some((AUTHORS, 1))),
        ("name", Some((AUTHORS, 2))),
        ("bio", Some((AUTHORS, 3))),
    ]
}

fn described(columns: &[Source]) -> Described {
    Described {
        params: vec![Type::INT8; 0],
        columns: columns
            .iter()
            .map(|&(name, source)| DescribedColumn {
                name: name.to_string(),
                ty: if name == "id" || name.ends_with("_id") {
                    Type::INT8
                } else {
                    Type::TEXT
                },
                table_oid: source.map(|(oid, _)| oid),
                column_id: source.map(|(_, attnum)| attnum),
            })
            .collect(),
    }
}

fn lex(text: &str) -> Vec<QueryDef> {
    let file = SourceFile::new("queries/blog.sql", text);
    let (defs, diagnostics) = crate::lex::lex_file(&file);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    defs
}

fn messages(diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics.iter().map(|d| d.message.clone()).collect()
}

/// What `check` says about the one query of `text`.
fn checked(text: &str) -> Vec<String> {
    let defs = lex(text);
    let statement = parse_statement(&defs[0].sql);
    messages(&check(&defs[0], statement.as_ref()))
}

/// The project of one module `blog` whose queries are `text`, each
/// described by `columns` with `nullable` per column.
fn build(
    text: &str,
    queries: &[(Vec<Source>, Vec<bool>)],
    types: &TypeConfig,
) -> Result<Project, Vec<Diagnostic>> {
    let defs = lex(text);
    let catalog = catalog();
    let described: Vec<Described> = queries.iter().map(|(c, _)| described(c)).collect();
    let mut runs: Vec<Vec<EmbedRun>> = Vec::new();
    for (def, described) in defs.iter().zip(&described) {
        let statement = parse_statement(&def.sql);
        assert!(check(def, statement.as_ref()).is_empty());
        runs.push(locate(def, statement.as_ref().ok(), described, &catalog).map_err(|e| vec![*e])?);
    }
    let checked: Vec<CheckedQuery<'_>> = defs
        .iter()
        .zip(&described)
        .zip(queries)
        .zip(runs)
        .map(|(((def, described), (_, nullable)), embeds)| CheckedQuery {
            module: "blog",
            def,
            positional_names: Vec::new(),
            param_targets: Vec::new(),
            takes_row_locks: false,
            described,
            nullable: nullable.clone(),
            prefetch: QueryPrefetch::default(),
            read_only: true,
            copy: None,
            unnest: None,
            embeds,
            command: None,
        })
        .collect();
    let mapper = TypeMapper::new(types);
    let modules = [("blog".to_string(), "queries/blog.sql".to_string())];
    build_project(&modules, &checked, &catalog, &mapper, &mut Vec::new())
}

/// A row's name, its embeds (field, struct, first column, position among
/// the column fields, present column) and its column fields (name, index).
type RowEmbeds<'a> = (
    &'a str,
    Vec<(&'a str, &'a str, usize, usize, Option<(usize, &'a str)>)>,
    Vec<(&'a str, usize)>,
);

const QUERIES: &str = "\
-- name: BookWithAuthor :one
SELECT sqlc.embed(authors), books.title FROM books JOIN authors ON authors.id = books.author_id;

-- name: BooksWithEditor :many
SELECT books.id, sqlc.embed(e), books.title FROM books LEFT JOIN authors e ON e.id = books.editor_id;

-- name: Pairs :many
SELECT sqlc.embed(a), sqlc.embed(b) FROM authors a CROSS JOIN authors b;
";

fn queries() -> Vec<(Vec<Source>, Vec<bool>)> {
    let book = |name| (name, Some((BOOKS, if name == "id" { 1 } else { 2 })));
    vec![
        (
            [authors(), vec![book("title")]].concat(),
            vec![false, false, true, false],
        ),
        (
            [vec![book("id")], authors(), vec![book("title")]].concat(),
            // A left join: every column of `e` may be NULL.
            vec![false, true, true, true, false],
        ),
        (
            [authors(), authors()].concat(),
            vec![false, false, true, false, false, true],
        ),
    ]
}

fn header() -> Header {
    Header {
        version: "0.0.0".to_string(),
        input_hash: "sha256:0123".to_string(),
        inputs: vec![("queries/blog.sql".to_string(), "aaaa".to_string())],
        regenerate: Regenerate::Cli,
    }
}

#[test]
fn embeds_become_fields_holding_one_shared_struct() -> Result<(), String> {
    let project =
        build(QUERIES, &queries(), &TypeConfig::default()).map_err(|e| format!("{e:?}"))?;
    let module = &project.modules[0];
    let structs: Vec<(&str, &str, Vec<&str>)> = module
        .embedded
        .iter()
        .map(|s| {
            let fields = s.fields.iter().map(|f| f.name.as_str()).collect();
            (s.name.as_str(), s.table.as_str(), fields)
        })
        .collect();
    assert_eq!(
        structs,
        [("Author", "`authors`", vec!["id", "name", "bio"])]
    );
    assert_eq!(
        module.embedded[0].used_by,
        ["BookWithAuthorRow", "BooksWithEditorRow", "PairsRow"]
    );
    // Each field typed from the table: `bio` may be NULL, the others not,
    // whatever the query's nullability.
    let nullable: Vec<bool> = module.embedded[0]
        .fields
        .iter()
        .map(|f| f.nullable)
        .collect();
    assert_eq!(nullable, [false, false, true]);
    let embeds: Vec<RowEmbeds<'_>> = module
        .rows
        .iter()
        .map(|row| {
            let embeds = row
                .embeds
                .iter()
                .map(|e| {
                    let present = e.present.as_ref().map(|(i, c)| (*i, c.as_str()));
                    (
                        e.name.as_str(),
                        e.struct_name.as_str(),
                        e.first,
                        e.position,
                        present,
                    )
                })
                .collect();
            let fields = row
                .fields
                .iter()
                .map(|f| (f.name.as_str(), f.index))
                .collect();
            (row.name.as_str(), embeds, fields)
        })
        .collect();
    assert_eq!(
        embeds,
        [
            (
                "BookWithAuthorRow",
                vec![("author", "Author", 0, 0, None)],
                vec![("title", 3)]
            ),
            (
                "BooksWithEditorRow",
                vec![("e", "Author", 1, 1, Some((1, "id")))],
                vec![("id", 0), ("title", 4)]
            ),
            (
                "PairsRow",
                vec![("a", "Author", 0, 0, None), ("b", "Author", 3, 0, None)],
                vec![]
            ),
        ]
    );
    let files = emit_project(&project, &header()).map_err(|e| e.to_string())?;
    let code = files
        .get(&PathBuf::from("blog.rs"))
        .ok_or("no blog.rs emitted")?;
    insta::assert_snapshot!(code);
    Ok(())
}

#[test]
fn a_rename_of_the_table_names_the_struct_and_the_field() -> Result<(), String> {
    let types = TypeConfig {
        renames: BTreeMap::from([("authors".to_string(), "Writer".to_string())]),
        ..TypeConfig::default()
    };
    let project = build(QUERIES, &queries(), &types).map_err(|e| format!("{e:?}"))?;
    let module = &project.modules[0];
    assert_eq!(module.embedded[0].name, "Writer");
    assert_eq!(module.rows[0].embeds[0].name, "writer");
    // An alias names the field whatever the struct is called.
    assert_eq!(module.rows[1].embeds[0].name, "e");
    Ok(())
}

#[test]
fn an_embed_field_named_like_a_column_is_an_error() {
    let text = "-- name: Q :many\nSELECT sqlc.embed(authors), books.title AS author FROM books JOIN authors ON true;\n";
    let query = (
        [authors(), vec![("author", Some((BOOKS, 2)))]].concat(),
        vec![false; 4],
    );
    let errors = build(text, &[query], &TypeConfig::default())
        .err()
        .unwrap_or_default();
    assert_eq!(
        messages(&errors),
        ["the embedded table's field `author` is already a field of the row of query `Q`"]
    );
}

#[test]
fn an_embedded_struct_named_like_a_row_is_an_error() {
    let text = "-- name: Q :many\nSELECT sqlc.embed(authors) FROM authors;\n\n-- name: Other :one\n-- @row Author\nSELECT authors.id FROM authors;\n";
    let queries = [
        (authors(), vec![false, false, true]),
        (vec![("id", Some((AUTHORS, 1)))], vec![false]),
    ];
    let errors = build(text, &queries, &TypeConfig::default())
        .err()
        .unwrap_or_default();
    assert_eq!(
        messages(&errors),
        ["the struct `Author` of embedded table `authors` has the name of another type of module `blog`"]
    );
}

#[test]
fn an_embed_whose_columns_are_not_a_tables_is_an_error() {
    let text = "-- name: Q :many\nSELECT sqlc.embed(s) FROM (SELECT 1 AS x) s;\n";
    let query = (vec![("x", None)], vec![false]);
    let errors = build(text, &[query], &TypeConfig::default())
        .err()
        .unwrap_or_default();
    assert_eq!(messages(&errors), ["`sqlc.embed(s)` does not name a table"]);
}

#[test]
fn embeds_stand_in_the_select_list_of_a_select_returning_rows() {
    let outside = "-- name: Q :many\nSELECT a.id FROM authors a WHERE sqlc.embed(a) IS NOT NULL;\n";
    assert_eq!(checked(outside), ["`sqlc.embed` outside the select list"]);
    let star = "-- name: Q :many\nSELECT *, sqlc.embed(a) FROM authors a;\n";
    assert_eq!(
        checked(star),
        ["`*` before `sqlc.embed` in the select list"]
    );
    let star_after = "-- name: Q :many\nSELECT sqlc.embed(a), * FROM authors a;\n";
    assert_eq!(checked(star_after), Vec::<String>::new());
    let union = "-- name: Q :many\nSELECT sqlc.embed(a) FROM authors a UNION ALL SELECT sqlc.embed(a) FROM authors a;\n";
    assert_eq!(
        checked(union),
        [
            "`sqlc.embed` outside the select list",
            "`sqlc.embed` outside the select list"
        ]
    );
    let exec = "-- name: Q :exec\nSELECT sqlc.embed(a) FROM authors a;\n";
    assert_eq!(
        checked(exec),
        ["`sqlc.embed` is not supported in a `:exec` query, which returns no rows"]
    );
    let row = "-- name: Q :many\n-- @row Shared\nSELECT sqlc.embed(a) FROM authors a;\n";
    assert_eq!(
        checked(row),
        ["`sqlc.embed` is not supported in a query with `-- @row`"]
    );
    let dynamic =
        "-- name: Q :many\nSELECT sqlc.embed(a) FROM authors a WHERE true /*? AND a.id = :id */;\n";
    assert_eq!(
        checked(dynamic),
        ["`sqlc.embed` is not supported in a dynamic query (`/*? … */`, `/*sort: … */`)"]
    );
}

#[test]
fn the_lexer_rewrites_the_macro_and_maps_it_back() {
    let text = "-- name: Q :many\nSELECT x, SQLC.EMBED( a ), y FROM authors a;\n";
    let defs = lex(text);
    let def = &defs[0];
    assert_eq!(def.sql, "SELECT x, a.*, y FROM authors a");
    let embed = &def.embeds[0];
    assert_eq!(embed.alias, "a");
    assert_eq!(&def.sql[embed.at.clone()], "a.*");
    assert_eq!(&text[embed.span.clone()], "SQLC.EMBED( a )");
    assert_eq!(def.file_span(embed.at.clone()).start, embed.span.start);
    // The `y` after it still maps to itself.
    let y = def.sql.find(", y").map_or(0, |at| at + 2);
    assert_eq!(&text[def.file_span(y..y + 1)], "y");
}

#[test]
fn a_malformed_macro_is_an_error_at_it() {
    for (sql, shown) in [
        ("SELECT sqlc.embed(a.b) FROM authors a", "sqlc.embed(a.b)"),
        ("SELECT sqlc.embed() FROM authors a", "sqlc.embed()"),
        ("SELECT sqlc.embed FROM authors a", "sqlc.embed"),
    ] {
        let text = format!("-- name: Q :many\n{sql};\n");
        let file = SourceFile::new("queries/blog.sql", &text);
        let (defs, diagnostics) = crate::lex::lex_file(&file);
        assert!(defs.is_empty());
        assert_eq!(messages(&diagnostics), ["malformed `sqlc.embed`"]);
        let span = diagnostics[0].location.as_ref().map(|l| l.span.clone());
        assert_eq!(span.map(|s| &text[s]), Some(shown), "{sql}");
    }
}

#[test]
fn the_select_star_lint_leaves_embeds_alone() {
    let text = "-- name: Q :many\nSELECT sqlc.embed(a), b.* FROM authors a CROSS JOIN authors b;\n";
    let defs = lex(text);
    let statement = parse_statement(&defs[0].sql).ok();
    let described = described(&[authors(), authors()].concat());
    let levels = crate::lint_level::LintLevels::default();
    let found = crate::lints::run(
        &defs[0],
        statement.as_ref(),
        &described,
        &catalog(),
        &levels,
    );
    let stars: Vec<&str> = found
        .iter()
        .filter(|d| d.message.contains("`*` in the select list"))
        .filter_map(|d| d.location.as_ref().map(|l| &text[l.span.clone()]))
        .collect();
    assert_eq!(stars, ["b.*"]);
}
