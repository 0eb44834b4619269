//! Emit without PostgreSQL: small hand-built [`Project`]s, their files
//! compared with snapshots (`cargo insta review` after an intended change).

use super::*;
use crate::ir::{KeyField, LoaderIr, ParamIr, PgParam};
use crate::typemap::Builtin;

fn header() -> Header {
    Header {
        version: "0.0.0".to_string(),
        input_hash: "sha256:0123".to_string(),
        inputs: vec![
            ("queries/blog.sql".to_string(), "aaaa".to_string()),
            ("schema/blog.sql".to_string(), "bbbb".to_string()),
        ],
        regenerate: Regenerate::Cli,
    }
}

fn field(index: usize, name: &str, ty: Builtin, nullable: bool) -> FieldIr {
    FieldIr {
        index,
        name: name.to_string(),
        column: name.to_string(),
        pg_type: match ty {
            Builtin::I64 => "int8",
            _ => "text",
        }
        .to_string(),
        ty: RustType::Builtin(ty),
        nullable,
        through_base_type: false,
    }
}

fn param(name: &str, ty: RustType, nullable: bool) -> ParamIr {
    ParamIr {
        name: name.to_string(),
        pg: PgParam::of(&pg_type(&ty)),
        ty,
        nullable,
    }
}

/// A PostgreSQL type the Rust types of these tests map from.
fn pg_type(ty: &RustType) -> postgres_types::Type {
    use postgres_types::{Kind, Type};
    match ty {
        RustType::Builtin(Builtin::I64) => Type::INT8,
        RustType::Builtin(Builtin::Numeric) => Type::NUMERIC,
        RustType::Builtin(Builtin::Bytea) => Type::BYTEA,
        RustType::Builtin(Builtin::Json) | RustType::Json(_) => Type::JSONB,
        RustType::Array { element, .. } => {
            let element = pg_type(element);
            (0..10_000)
                .filter_map(Type::from_oid)
                .find(|array| matches!(array.kind(), Kind::Array(e) if *e == element))
                .unwrap_or_else(|| Type::new("_x".into(), 0, Kind::Array(element), "public".into()))
        }
        RustType::Enum(name) => Type::new(
            ident::snake(name),
            90_000,
            Kind::Enum(Vec::new()),
            "public".into(),
        ),
        _ => Type::TEXT,
    }
}

fn row_ref(name: &str) -> Option<RowRef> {
    Some(RowRef {
        module: "blog".to_string(),
        name: name.to_string(),
    })
}

fn query(name: &str, kind: QueryKind, sql: &str, params: Vec<ParamIr>) -> QueryIr {
    QueryIr {
        name: name.to_string(),
        fn_name: ident::snake(name),
        params_struct: (!params.is_empty()).then(|| crate::ir::params_struct_name(name)),
        kind,
        takes_row_locks: false,
        docs: Vec::new(),
        sql: sql.to_string(),
        attribution: true,
        params,
        relation_params: Vec::new(),
        row: None,
        loader: None,
        has_relations: false,
        read_only: false,
        chunk: None,
        copy: None,
        unnest: None,
        custom_types: false,
        pooler_safe: false,
        dynamic: None,
        command: None,
    }
}

fn row(name: &str, fields: Vec<FieldIr>, used_by: &str) -> RowIr {
    RowIr {
        name: name.to_string(),
        fields,
        embeds: Vec::new(),
        relations: Vec::new(),
        used_by: vec![format!("blog::{used_by}")],
    }
}

fn project(rows: Vec<RowIr>, queries: Vec<QueryIr>) -> Project {
    Project {
        modules: vec![ModuleIr {
            name: "blog".to_string(),
            source: "queries/blog.sql".to_string(),
            rows,
            embedded: Vec::new(),
            queries,
        }],
        user_types: BTreeMap::new(),
        derives: Derives::default(),
        runtime: None,
    }
}

/// The file `name` of the emitted project.
fn emitted(project: &Project, name: &str) -> String {
    let files = emit_project(project, &header()).unwrap_or_else(|e| panic!("{e}"));
    files
        .get(&PathBuf::from(name))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {:?}", files.keys()))
}

fn plain_queries() -> Project {
    let mut get = query(
        "GetAuthor",
        QueryKind::One,
        "SELECT id, bio FROM authors WHERE id = $1",
        vec![param("id", RustType::Builtin(Builtin::I64), false)],
    );
    get.docs = vec!["An author by id.".to_string()];
    get.row = row_ref("GetAuthorRow");
    let mut list = query(
        "ListNames",
        QueryKind::Many,
        "SELECT name FROM authors WHERE name LIKE $1",
        vec![param("pattern", RustType::Builtin(Builtin::Text), true)],
    );
    list.row = row_ref("ListNamesRow");
    let delete = query(
        "DeleteAuthor",
        QueryKind::Exec,
        "DELETE FROM authors WHERE id = $1",
        vec![param("id", RustType::Builtin(Builtin::I64), false)],
    );
    project(
        vec![
            row(
                "GetAuthorRow",
                vec![
                    field(0, "id", Builtin::I64, false),
                    field(1, "bio", Builtin::Text, true),
                ],
                "get_author",
            ),
            row(
                "ListNamesRow",
                vec![field(0, "name", Builtin::Text, false)],
                "list_names",
            ),
        ],
        vec![get, list, delete],
    )
}

#[test]
fn one_many_and_exec_queries() {
    insta::assert_snapshot!(emitted(&plain_queries(), "blog.rs"));
}

#[test]
fn mod_rs_lists_the_modules_and_the_inputs() {
    insta::assert_snapshot!(emitted(&plain_queries(), "mod.rs"), @r"
    // @generated by quarry-codegen 0.0.0 from the query files. Do not edit by hand;
    // regenerate with `cargo run -p codegen`.
    // quarry-input-hash: sha256:0123
    // quarry-input: queries/blog.sql aaaa
    // quarry-input: schema/blog.sql bbbb

    /// Queries from `queries/blog.sql`.
    pub mod blog;
    ");
}

#[test]
fn another_runtime_path_is_aliased_after_the_module_doc() {
    let mut project = plain_queries();
    project.runtime = Some("crate::db_runtime".to_string());
    let file = emitted(&project, "blog.rs");
    assert!(
        file.contains(
            "//! Queries from `queries/blog.sql`.\n\nuse crate::db_runtime as quarry;\n\n/// A row"
        ),
        "{file}"
    );
}

/// Posts with a to-many relation (comments, by a loader keyed by a field)
/// and two to-one relations: a required one (author) and one through a
/// nullable column (editor), both by a loader with a hidden key.
fn relations() -> Project {
    let relation = |field: &str, loader: &str, row: &str, parent: &str| RelationIr {
        field: field.to_string(),
        loader_query: loader.to_string(),
        loader_module: "blog".to_string(),
        loader_fn: ident::snake(loader),
        row: RowRef {
            module: "blog".to_string(),
            name: row.to_string(),
        },
        parent_field: parent.to_string(),
        key_type: RustType::Builtin(Builtin::I64),
        parent_nullable: false,
        to_many: false,
        optional: false,
        key_param: 0,
        bound: Vec::new(),
    };
    let mut posts = row(
        "PostRow",
        vec![
            field(0, "id", Builtin::I64, false),
            field(1, "author_id", Builtin::I64, false),
            field(2, "editor_id", Builtin::I64, true),
        ],
        "list_posts",
    );
    posts.relations = vec![
        RelationIr {
            to_many: true,
            ..relation("comments", "CommentsByPost", "Comment", "id")
        },
        relation("author", "AuthorsById", "Author", "author_id"),
        RelationIr {
            parent_nullable: true,
            optional: true,
            ..relation("editor", "AuthorsById", "Author", "editor_id")
        },
    ];
    let mut list = query(
        "ListPosts",
        QueryKind::Many,
        "SELECT id, author_id, editor_id FROM posts",
        Vec::new(),
    );
    list.row = row_ref("PostRow");
    list.has_relations = true;
    let keys = || {
        vec![param(
            "keys",
            RustType::Array {
                element: Box::new(RustType::Builtin(Builtin::I64)),
                nullable_elements: false,
            },
            false,
        )]
    };
    let mut comments = query(
        "CommentsByPost",
        QueryKind::Many,
        "SELECT post_id, body FROM comments WHERE post_id = ANY($1)",
        keys(),
    );
    comments.row = row_ref("Comment");
    comments.loader = Some(LoaderIr {
        key_index: 0,
        key_column: "post_id".to_string(),
        key_type: RustType::Builtin(Builtin::I64),
        to_many: true,
        key_field: Some(KeyField {
            name: "post_id".to_string(),
            nullable: false,
        }),
        key_param: 0,
    });
    let mut authors = query(
        "AuthorsById",
        QueryKind::Opt,
        "SELECT name, id AS quarry_key FROM authors WHERE id = ANY($1)",
        keys(),
    );
    authors.row = row_ref("Author");
    authors.loader = Some(LoaderIr {
        key_index: 1,
        key_column: "quarry_key".to_string(),
        key_type: RustType::Builtin(Builtin::I64),
        to_many: false,
        key_field: None,
        key_param: 0,
    });
    project(
        vec![
            posts,
            row(
                "Comment",
                vec![
                    field(0, "post_id", Builtin::I64, false),
                    field(1, "body", Builtin::Text, false),
                ],
                "comments_by_post",
            ),
            row(
                "Author",
                vec![field(0, "name", Builtin::Text, false)],
                "authors_by_id",
            ),
        ],
        vec![list, comments, authors],
    )
}

#[test]
fn a_row_with_to_many_and_to_one_relations_and_its_loaders() {
    insta::assert_snapshot!(emitted(&relations(), "blog.rs"));
}

#[test]
fn relation_locals_shadow_neither_each_other_nor_the_function_locals() {
    let mut project = relations();
    let relations = &mut project.modules[0].rows[0].relations;
    relations[0].field = "columns".to_string();
    relations[1].field = "parent".to_string();
    let file = emitted(&project, "blog.rs");
    assert!(
        file.contains("let columns_ = quarry::Relation::new(&columns,"),
        "{file}"
    );
    assert!(file.contains("columns: columns_.take(&parent),"), "{file}");
    assert!(
        file.contains("parent: parent_.take_required(&parent, \"AuthorsById\")?,"),
        "{file}"
    );
}

#[test]
fn an_enum_in_the_types_module() {
    let mut project = plain_queries();
    project.user_types.insert(
        "PostStatus".to_string(),
        UserType::Enum {
            pg_name: "post_status".to_string(),
            variants: vec![
                ("Draft".to_string(), "draft".to_string()),
                ("Published".to_string(), "published".to_string()),
            ],
        },
    );
    project.user_types.insert(
        "Email".to_string(),
        UserType::Domain {
            pg_name: "email".to_string(),
            base: RustType::Builtin(Builtin::Text),
        },
    );
    project.derives.enums = vec!["serde::Serialize".to_string()];
    insta::assert_snapshot!(emitted(&project, "types.rs"));
    assert!(emitted(&project, "mod.rs")
        .ends_with("/// PostgreSQL types used by the queries.\npub mod types;\n"));
}

#[test]
fn tokens_that_do_not_parse_are_an_error_naming_the_file() {
    let error = format_items(quote!(fn broken {}), "blog.rs");
    assert!(
        matches!(&error, Err(EmitError { file, .. }) if file == "blog.rs"),
        "{error:?}"
    );
}

#[test]
fn build_script_headers_say_the_build_script_regenerates_them() {
    let project = plain_queries();
    let cli = emit_project(&project, &header()).unwrap_or_else(|e| panic!("{e}"));
    let by_build_script = Header {
        regenerate: Regenerate::BuildScript,
        ..header()
    };
    let built = emit_project(&project, &by_build_script).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cli.keys().collect::<Vec<_>>(),
        built.keys().collect::<Vec<_>>()
    );
    for (path, text) in &built {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            Regenerate::BuildScript.line(),
            "{}",
            path.display()
        );
        // Only that line differs: the hash (the up-to-date check) is the same.
        let cli_text =
            cli[path].replacen(Regenerate::Cli.line(), Regenerate::BuildScript.line(), 1);
        assert_eq!(&cli_text, text, "{}", path.display());
    }
}

#[test]
fn a_query_that_takes_row_locks_accepts_only_a_transaction() {
    let mut lock = query(
        "LockAuthor",
        QueryKind::One,
        "SELECT id, bio FROM authors WHERE id = $1 FOR UPDATE",
        vec![param("id", RustType::Builtin(Builtin::I64), false)],
    );
    lock.row = row_ref("LockAuthorRow");
    lock.takes_row_locks = true;
    let mut advisory = query(
        "LockAccount",
        QueryKind::Exec,
        "SELECT pg_advisory_xact_lock($1)",
        vec![param("key", RustType::Builtin(Builtin::I64), false)],
    );
    advisory.takes_row_locks = true;
    let plain = query(
        "DeleteAuthors",
        QueryKind::Exec,
        "DELETE FROM authors",
        Vec::new(),
    );
    let project = project(
        vec![row(
            "LockAuthorRow",
            vec![
                field(0, "id", Builtin::I64, false),
                field(1, "bio", Builtin::Text, true),
            ],
            "lock_author",
        )],
        vec![lock, advisory, plain],
    );
    let code = emitted(&project, "blog.rs");
    // Each function and its `_with` (calls with a params struct).
    assert_eq!(
        code.matches("<E: quarry::InTransaction + ?Sized>").count(),
        4,
        "{code}"
    );
    assert_eq!(
        code.matches("<E: quarry::Executor + ?Sized>").count(),
        1,
        "{code}"
    );
    assert_eq!(code.matches("Takes row locks").count(), 2, "{code}");
    insta::assert_snapshot!(code);
}

#[test]
fn many_queries_get_a_stream_borrowing_their_references_for_its_lifetime() {
    let code = emitted(&plain_queries(), "blog.rs");
    assert!(
        code.contains("pub fn list_names_stream<'a, E: quarry::Executor + ?Sized>(\n    db: &'a E,\n    pattern: Option<&'a str>,\n)"),
        "{code}"
    );
    assert!(
        code.contains("The rows of [`list_names`] as a stream"),
        "{code}"
    );
    // Only `:many` queries stream; loaders (grouped rows) do not.
    assert_eq!(code.matches("_stream<").count(), 1, "{code}");
    let code = emitted(&relations(), "blog.rs");
    assert_eq!(code.matches("_stream<").count(), 1, "{code}");
    assert!(
        code.contains("E: quarry::PortalExecutor + ?Sized"),
        "{code}"
    );
    assert!(code.contains("(db, &QUERY, 1000, vec![])"), "{code}");
    assert!(
        code.contains("impl quarry::PrefetchRows for PostRow {"),
        "{code}"
    );
}

#[test]
fn chunk_size_and_row_locks_shape_the_chunked_stream() {
    let mut project = relations();
    let list = &mut project.modules[0].queries[0];
    list.chunk = Some(25);
    list.takes_row_locks = true;
    let code = emitted(&project, "blog.rs");
    assert!(code.contains("(db, &QUERY, 25, vec![])"), "{code}");
    assert!(code.contains("Reads the rows 25 at a time"), "{code}");
    assert!(
        code.contains("E: quarry::PortalExecutor + quarry::InTransaction + ?Sized"),
        "{code}"
    );
}

#[test]
fn references_get_the_lifetime_only_where_they_have_none() {
    let ty = quote::quote!(Option<&[&str]>);
    let with = super::with_lifetime(ty, &quote::quote!('a)).to_string();
    assert_eq!(with, "Option < & 'a [& 'a str] >");
    let named = super::with_lifetime(quote::quote!(&'b str), &quote::quote!('a)).to_string();
    assert_eq!(named, "& 'b str");
}

/// A `:copyfrom` query whose parameter `kind` fills two columns, with a
/// nullable serde-typed json column and a plain json one.
fn copy_query() -> QueryIr {
    let mut copy = query(
        "InsertEvents",
        QueryKind::CopyFrom,
        "INSERT INTO events (kind, \"Label\", payload, meta) VALUES ($1, $2, $3, $4)",
        vec![
            param("kind", RustType::Builtin(Builtin::Text), false),
            param("payload", RustType::Builtin(Builtin::Json), true),
            param("meta", RustType::Json("crate::Meta".to_string()), true),
            param("tags", RustType::Json("crate::Tags".to_string()), false),
        ],
    );
    copy.docs = vec!["Events, in bulk.".to_string()];
    copy.copy = Some(crate::ir::CopyIr {
        statement: "COPY events (kind, \"Label\", payload, meta, tags) FROM STDIN (FORMAT binary)"
            .to_string(),
        columns: vec![
            ("kind".to_string(), 0),
            ("\"Label\"".to_string(), 0),
            ("payload".to_string(), 1),
            ("meta".to_string(), 2),
            ("tags".to_string(), 3),
        ],
    });
    copy.sql =
        "INSERT INTO events (kind, \"Label\", payload, meta, tags) VALUES ($1, $2, $3, $4, $5)"
            .to_string();
    copy
}

#[test]
fn a_copyfrom_query_is_a_params_struct_that_writes_itself_and_a_copy_function() {
    let code = emitted(&project(Vec::new(), vec![copy_query()]), "blog.rs");
    // No per-call function, no `_with`, no stream.
    assert!(!code.contains("insert_events_with"), "{code}");
    assert!(!code.contains("_stream"), "{code}");
    // `kind` fills two columns; serde values go through `Json`.
    assert_eq!(code.matches("&self.kind,").count(), 2, "{code}");
    assert!(
        code.contains("&self.meta.as_ref().map(quarry::types::Json),"),
        "{code}"
    );
    assert!(code.contains("&quarry::types::Json(&self.tags),"), "{code}");
    insta::assert_snapshot!(code);
}

#[test]
fn batch_queries_bind_their_params_struct_and_return_per_element_results() {
    let id = || param("id", RustType::Builtin(Builtin::I64), false);
    let exec = query(
        "SetPrices",
        QueryKind::BatchExec,
        "UPDATE items SET price = $2 WHERE id = $1",
        vec![
            id(),
            param("price", RustType::Builtin(Builtin::Numeric), true),
        ],
    );
    let mut many = query(
        "ItemsInGroup",
        QueryKind::BatchMany,
        "SELECT id, name FROM items WHERE grp = $1",
        vec![param("grp", RustType::Builtin(Builtin::Text), false)],
    );
    many.row = row_ref("ItemRow");
    let mut one = query(
        "ItemById",
        QueryKind::BatchOne,
        "SELECT id, name FROM items WHERE id = $1",
        vec![id()],
    );
    one.row = row_ref("ItemRow");
    one.read_only = true;
    let mut locked = query(
        "LockItems",
        QueryKind::BatchExec,
        "SELECT pg_advisory_xact_lock($1)",
        vec![id()],
    );
    locked.takes_row_locks = true;
    let item = RowIr {
        used_by: vec![
            "blog::items_in_group".to_string(),
            "blog::item_by_id".to_string(),
        ],
        ..row(
            "ItemRow",
            vec![
                field(0, "id", Builtin::I64, false),
                field(1, "name", Builtin::Text, false),
            ],
            "items_in_group",
        )
    };
    let code = emitted(
        &project(vec![item], vec![exec, many, one, locked]),
        "blog.rs",
    );
    assert_eq!(
        code.matches("impl quarry::BatchParams for").count(),
        4,
        "{code}"
    );
    assert!(!code.contains("_with"), "{code}");
    assert!(!code.contains("_stream"), "{code}");
    assert_eq!(code.matches("pub struct ItemRow").count(), 1, "{code}");
    insta::assert_snapshot!(code);
}

fn array_of(element: RustType, nullable_elements: bool) -> RustType {
    RustType::Array {
        element: Box::new(element),
        nullable_elements,
    }
}

#[test]
fn an_unnest_query_gets_an_item_struct_and_a_row_wise_function() {
    let mut upsert = query(
        "UpsertTags",
        QueryKind::Many,
        "INSERT INTO tags (id, name) SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT (id) DO UPDATE SET name = excluded.name RETURNING id, name",
        vec![
            param("ids", array_of(RustType::Builtin(Builtin::I64), false), false),
            param("names", array_of(RustType::Builtin(Builtin::Text), false), false),
        ],
    );
    upsert.row = row_ref("UpsertTagsRow");
    upsert.unnest = Some(crate::unnest::UnnestIr {
        item_struct: "UpsertTagsItem".to_string(),
        items_fn: "upsert_tags_items".to_string(),
        fields: vec![("id".to_string(), 0), ("name".to_string(), 1)],
    });
    // Columns in another order than the parameters; nullable elements, a
    // nullable array, bytes and values the function takes owned.
    let mut import = query(
        "ImportDocs",
        QueryKind::Exec,
        "INSERT INTO docs (body, note, blob, id) SELECT * FROM unnest($2::jsonb[], $3::text[], $4::bytea[], $1::bigint[])",
        vec![
            param("ids", array_of(RustType::Builtin(Builtin::I64), false), true),
            param("bodies", array_of(RustType::Builtin(Builtin::Json), true), false),
            param("notes", array_of(RustType::Builtin(Builtin::Text), true), false),
            param("blobs", array_of(RustType::Builtin(Builtin::Bytea), false), false),
        ],
    );
    import.takes_row_locks = true;
    import.unnest = Some(crate::unnest::UnnestIr {
        item_struct: "ImportDocsItem".to_string(),
        items_fn: "import_docs_items".to_string(),
        fields: vec![
            ("body".to_string(), 1),
            ("note".to_string(), 2),
            ("blob".to_string(), 3),
            ("id".to_string(), 0),
        ],
    });
    let rows = vec![row(
        "UpsertTagsRow",
        vec![
            field(0, "id", Builtin::I64, false),
            field(1, "name", Builtin::Text, false),
        ],
        "upsert_tags",
    )];
    let code = emitted(&project(rows, vec![upsert, import]), "blog.rs");
    for expected in [
        "pub struct UpsertTagsItem {",
        "pub id: i64,",
        "pub name: String,",
        "items: &[UpsertTagsItem],\n) -> Result<Vec<UpsertTagsRow>, quarry::Error> {",
        "&items.iter().map(|item| item.name.as_str()).collect::<Vec<_>>(),",
        "pub body: Option<quarry::serde_json::Value>,",
        "pub blob: Vec<u8>,",
        "Some(items.iter().map(|item| item.id).collect::<Vec<_>>().as_slice()),",
        "&items.iter().map(|item| Clone::clone(&item.body)).collect::<Vec<_>>(),",
        "&items.iter().map(|item| item.note.as_deref()).collect::<Vec<_>>(),",
        "&items.iter().map(|item| item.blob.as_slice()).collect::<Vec<_>>(),",
        "pub async fn import_docs_items<E: quarry::InTransaction + ?Sized>(",
    ] {
        assert!(code.contains(expected), "{expected}\n{code}");
    }
    // `$1` first: the arrays follow the parameters, not the columns.
    let call = code
        .find("import_docs(\n")
        .map(|at| &code[at..])
        .unwrap_or_default();
    let id = call.find("item.id").unwrap_or(usize::MAX);
    assert!(id < call.find("item.body").unwrap_or(0), "{code}");
    insta::assert_snapshot!(code);
}

/// The first two string literals after each `quarry::Query::new(` in
/// `code` (the name and the SQL, as escaped in the source), and the one
/// after each `const COPY: &str =`.
fn sent_texts(code: &str) -> Vec<Vec<String>> {
    let literals = |text: &str, count: usize| {
        let mut found = Vec::new();
        let mut rest = text;
        while found.len() < count {
            let Some(start) = rest.find('"') else { break };
            let body = &rest[start + 1..];
            let mut end = None;
            let mut escaped = false;
            for (at, c) in body.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        end = Some(at);
                        break;
                    }
                    _ => {}
                }
            }
            let Some(end) = end else { break };
            found.push(body[..end].to_string());
            rest = &body[end + 1..];
        }
        found
    };
    let queries = code
        .split("quarry::Query::new(")
        .skip(1)
        .map(|after| literals(after, 2));
    let copies = code
        .split("const COPY: &str =")
        .skip(1)
        .map(|after| literals(after, 1));
    queries.chain(copies).collect()
}

#[test]
fn every_statement_names_its_query_in_a_leading_comment_unless_switched_off() {
    let mut all = relations();
    all.modules[0].queries.push(copy_query());
    for (name, project) in [("plain", plain_queries()), ("relations", all)] {
        let on = emitted(&project, "blog.rs");
        let texts = sent_texts(&on);
        assert!(texts.len() >= 3, "{name}: {texts:?}");
        for text in &texts {
            let (query, sql) = match text.as_slice() {
                [query, sql] => (query.as_str(), sql),
                // A `COPY`: its query is the `QUERY` above it.
                [sql] => ("InsertEvents", sql),
                _ => panic!("{name}: {text:?}"),
            };
            let comment = format!("/* quarry:{query} */ ");
            assert!(sql.starts_with(&comment), "{name}: {sql}");
            assert!(
                !sql[comment.len()..].contains("/* quarry:"),
                "{name}: {sql}"
            );
        }
        // The rustdoc shows the SQL as written; a query with a stream or
        // `_with` sends one text.
        assert!(
            on.lines()
                .filter(|line| line.trim_start().starts_with("///"))
                .all(|line| !line.contains("/* quarry:")),
            "{name}: {on}"
        );
        let mut project = project;
        for query in &mut project.modules[0].queries {
            query.attribution = false;
        }
        let off = emitted(&project, "blog.rs");
        assert!(!off.contains("/* quarry:"), "{name}: {off}");
        assert_eq!(sent_texts(&off).len(), texts.len(), "{name}");
        // Nothing else differs.
        let without = project.modules[0].queries.iter().fold(on, |code, query| {
            code.replace(&format!("/* quarry:{} */ ", query.name), "")
        });
        assert_eq!(without, off, "{name}");
    }
}

#[test]
fn every_query_declares_its_parameter_types_and_pooler_safety() {
    let mut project = plain_queries();
    let queries = &mut project.modules[0].queries;
    queries[0].read_only = true;
    queries[1].params.push(param(
        "statuses",
        array_of(RustType::Enum("PostStatus".to_string()), false),
        false,
    ));
    queries[1].custom_types = true;
    for query in queries.iter_mut() {
        query.pooler_safe = true;
    }
    queries.push(query("Count", QueryKind::One, "SELECT 1", Vec::new()));
    let file = emitted(&project, "blog.rs");
    let consts: Vec<String> = file
        .split("const QUERY: quarry::Query = ")
        .skip(1)
        .map(|rest| {
            let end = rest.find(';').unwrap_or(rest.len());
            rest[..end].split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect();
    let list_names = "quarry::Query::new( \"ListNames\", \"/* quarry:ListNames */ SELECT name FROM authors WHERE name LIKE $1\", ) .params( &[ quarry::ParamType::Oid(25), quarry::ParamType::Named(\"public.post_status[]\"), ], ) .custom_types() .pooler_safe()";
    assert_eq!(
        consts,
        [
            "quarry::Query::new( \"GetAuthor\", \"/* quarry:GetAuthor */ SELECT id, bio FROM authors WHERE id = $1\", ) .read_only() .params(&[quarry::ParamType::Oid(20)]) .pooler_safe()",
            // The function and its stream.
            list_names,
            list_names,
            "quarry::Query::new( \"DeleteAuthor\", \"/* quarry:DeleteAuthor */ DELETE FROM authors WHERE id = $1\", ) .params(&[quarry::ParamType::Oid(20)]) .pooler_safe()",
            "quarry::Query::new( \"Count\", \"/* quarry:Count */ SELECT 1\", )",
        ]
    );
}

/// A dynamic query: two blocks (one of two parameters), a two-entry sort
/// and a parameter outside the blocks.
fn dynamic_query() -> Project {
    use crate::ir::dynamic::{BlockIr, DynamicIr, PieceIr, SortChoiceIr};
    let int = || RustType::Builtin(Builtin::I64);
    let mut search = query(
        "SearchPosts",
        QueryKind::Many,
        "SELECT id FROM posts WHERE true AND author_id = $1 AND views BETWEEN $2 AND $3 ORDER BY id DESC LIMIT $4",
        vec![
            param("author_id", int(), false),
            param("min_views", int(), false),
            param("max_views", int(), false),
            param("limit", int(), false),
        ],
    );
    search.row = row_ref("SearchPostsRow");
    search.params_struct = None;
    let text = |t: &str| PieceIr::Text(t.to_string());
    search.dynamic = Some(DynamicIr {
        filter_struct: "SearchPostsFilter".to_string(),
        sort_enum: Some("SearchPostsSort".to_string()),
        blocks: vec![
            BlockIr {
                written: "AND author_id = :author_id".to_string(),
                params: vec![0],
            },
            BlockIr {
                written: "AND views BETWEEN :min_views AND :max_views".to_string(),
                params: vec![1, 2],
            },
        ],
        sorts: [
            "IdDesc:id DESC",
            "IdAsc:id ASC",
            "ViewsAsc:views ASC",
            "ViewsDesc:views DESC",
        ]
        .iter()
        .filter_map(|s| s.split_once(':'))
        .map(|(variant, sql)| SortChoiceIr {
            variant: variant.to_string(),
            sql: sql.to_string(),
        })
        .collect(),
        pieces: vec![
            text("SELECT id FROM posts WHERE true"),
            PieceIr::Block(0, vec![text(" AND author_id = "), PieceIr::Param(0)]),
            PieceIr::Block(
                1,
                vec![
                    text(" AND views BETWEEN "),
                    PieceIr::Param(1),
                    text(" AND "),
                    PieceIr::Param(2),
                ],
            ),
            text(" ORDER BY "),
            PieceIr::Sort,
            text(" LIMIT "),
            PieceIr::Param(3),
        ],
    });
    project(
        vec![row(
            "SearchPostsRow",
            vec![field(0, "id", Builtin::I64, false)],
            "search_posts",
        )],
        vec![search],
    )
}

#[test]
fn a_dynamic_query_gets_a_filter_a_sort_and_picks_its_variant() {
    let code = emitted(&dynamic_query(), "blog.rs");
    assert!(code.contains("static SEARCH_POSTS_QUERY: quarry::Dynamic"));
    assert!(!code.contains("SearchPostsParams"));
    insta::assert_snapshot!(code);
}
