use super::*;

/// Parses `text` as `name` (JSON when it ends in `.json`) in `/app`; an
/// error as `path:line:col: message` lines.
fn read(name: &str, text: &str) -> Result<Loaded, String> {
    let file = SourceFile::new(name, text);
    parse(&file, Path::new("/app"), name.ends_with(".json")).map_err(|error| match error {
        Error::Diagnostics(d) => {
            d.0.iter()
                .map(|d| format!("{}: {}", d.position().unwrap_or_default(), d.message))
                .collect::<Vec<_>>()
                .join("\n")
        }
        other => other.to_string(),
    })
}

fn ok(name: &str, text: &str) -> Loaded {
    read(name, text).unwrap_or_else(|e| panic!("{e}"))
}

fn warnings(loaded: &Loaded) -> Vec<String> {
    loaded
        .warnings
        .iter()
        .map(|d| format!("{}: {}", d.position().unwrap_or_default(), d.message))
        .collect()
}

fn rust<'a>(map: &'a BTreeMap<String, TypeOverride>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(|o| o.rust_type.as_deref())
}

const V2: &str = r#"version: "2"
overrides:
  go:
    rename:
      url: URL
      spotify_url: SpotifyURL
    overrides:
      - db_type: "pg_catalog.inet"
        go_type: "net/netip.Addr"
sql:
  - engine: "postgresql"
    schema: "schema.sql"
    queries: ["query/authors.sql", "query/books"]
    gen:
      go:
        package: "db"
        out: "internal/db"
        emit_json_tags: true
        sql_package: "pgx/v5"
        rename:
          url: Url
        overrides:
          - column: "authors.bio"
            go_type: "database/sql.NullString"
          - db_type: "citext"
            go_type: "string"
          - db_type: "uuid"
            go_type: "github.com/google/uuid.UUID"
          - db_type: "uuid"
            nullable: true
            go_type: "github.com/google/uuid.NullUUID"
          - db_type: "money"
            go_type:
              import: "github.com/acme/money"
              type: "Money"
          - column: "public.authors.tags"
            go_type:
              type: "string"
              slice: true
          - column: "authors.meta"
            rust_type: "my_app::Meta"
            go_type: "github.com/acme/meta.Meta"
            go_struct_tag: 'json:"meta"'
"#;

#[test]
fn v2_yaml_paths_overrides_renames_and_notes() {
    let loaded = ok("sqlc.yaml", V2);
    assert_eq!(loaded.configs.len(), 1);
    let config = &loaded.configs[0];
    // Lists of paths: the first query path, then the others.
    assert_eq!(config.queries, PathBuf::from("/app/query/authors.sql"));
    assert_eq!(config.more_queries, vec![PathBuf::from("/app/query/books")]);
    assert_eq!(config.schema, vec![PathBuf::from("/app/schema.sql")]);
    // Quarry's default output directory, not the Go `out`.
    assert_eq!(config.out, PathBuf::from("/app/src/db"));
    let types = &config.types;
    assert_eq!(types.dialect, Dialect::Sqlc);
    // Renames merged, the entry's winning.
    assert_eq!(
        types.renames,
        BTreeMap::from([
            ("spotify_url".to_string(), "SpotifyURL".to_string()),
            ("url".to_string(), "Url".to_string()),
        ])
    );
    // Mapped Go types; `pg_catalog.` stripped; uuid is Quarry's own type
    // already, money's Go type has no Rust equivalent.
    assert_eq!(rust(&types.by_type, "inet"), Some("std::net::IpAddr"));
    assert_eq!(rust(&types.by_type, "citext"), Some("String"));
    assert_eq!(types.by_type.len(), 2);
    assert_eq!(rust(&types.by_column, "authors.bio"), Some("String"));
    assert_eq!(
        rust(&types.by_column, "public.authors.tags"),
        Some("Vec<String>")
    );
    assert_eq!(rust(&types.by_column, "authors.meta"), Some("my_app::Meta"));
    assert_eq!(
        warnings(&loaded),
        ["sqlc.yaml:32:13: override of db_type `money`: Go type `github.com/acme/money.Money` has no Rust equivalent, ignored"]
    );
    assert_eq!(
        loaded.notes,
        [
            "sqlc.yaml: `sql[0]` (db) generates into `src/db` (the Go `out: internal/db` is for sqlc's Go code); add `codegen: [{plugin: quarry, out: …}]` to the entry to choose",
            "sqlc.yaml: Go-only options ignored: emit_json_tags, go_struct_tag, package, sql_package",
            "sqlc.yaml: overrides that name Quarry's own type change nothing: db_type `uuid` (nullable) → github.com/google/uuid.NullUUID, db_type `uuid` → github.com/google/uuid.UUID",
        ]
    );
}

const V1: &str = r#"{
  "version": "1",
  "rename": {"id": "ID"},
  "overrides": [{"db_type": "bigint", "go_type": "int64"}],
  "packages": [
    {
      "name": "authors",
      "path": "internal/authors",
      "engine": "postgresql",
      "schema": ["schema/a.sql", "schema/b.sql"],
      "queries": "queries/authors.sql",
      "emit_interface": true
    },
    {
      "name": "books",
      "path": "internal/books",
      "engine": "postgresql",
      "schema": "schema",
      "queries": "queries/books",
      "rules": ["no-delete"],
      "overrides": [
        {
          "column": "books.isbn",
          "go_type": {"import": "github.com/acme/isbn", "type": "ISBN", "pointer": true},
          "rust_type": "my_app::Isbn"
        }
      ]
    }
  ]
}
"#;

#[test]
fn v1_json_one_config_per_package() {
    let loaded = ok("sqlc.json", V1);
    let [authors, books] = loaded.configs.as_slice() else {
        panic!("expected two configs: {loaded:?}");
    };
    assert_eq!(
        authors.schema,
        vec![
            PathBuf::from("/app/schema/a.sql"),
            PathBuf::from("/app/schema/b.sql")
        ]
    );
    assert_eq!(authors.queries, PathBuf::from("/app/queries/authors.sql"));
    assert!(authors.more_queries.is_empty());
    assert_eq!(books.schema, vec![PathBuf::from("/app/schema")]);
    assert_eq!(books.queries, PathBuf::from("/app/queries/books"));
    // Several entries: one directory each, by package name.
    assert_eq!(authors.out, PathBuf::from("/app/src/db/authors"));
    assert_eq!(books.out, PathBuf::from("/app/src/db/books"));
    for config in [authors, books] {
        assert_eq!(config.types.dialect, Dialect::Sqlc);
        assert_eq!(config.types.renames["id"], "ID");
        assert!(config.types.by_type.is_empty());
    }
    // `rust_type` wins over a Go type with no Rust equivalent.
    assert_eq!(
        rust(&books.types.by_column, "books.isbn"),
        Some("my_app::Isbn")
    );
    assert!(authors.types.by_column.is_empty());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(loaded
        .notes
        .contains(&"sqlc.json: Go-only options ignored: emit_interface".to_string()));
    assert!(loaded
        .notes
        .contains(&"sqlc.json: sqlc options without effect in Quarry ignored: rules".to_string()));
    // `bigint` is `int8`, whose own type is i64.
    assert!(loaded
        .notes
        .iter()
        .any(|n| n.ends_with("change nothing: db_type `bigint` → int64")));
}

#[test]
fn v1_yaml_and_v2_json_with_a_quarry_plugin() {
    let v1 = ok(
        "sqlc.yml",
        "version: 1\npackages:\n  - name: db\n    engine: postgresql\n    schema: schema.sql\n    queries: [a.sql, b.sql, c]\n",
    );
    let config = &v1.configs[0];
    assert_eq!(config.queries, PathBuf::from("/app/a.sql"));
    assert_eq!(
        config.more_queries,
        vec![PathBuf::from("/app/b.sql"), PathBuf::from("/app/c")]
    );
    assert_eq!(config.out, PathBuf::from("/app/src/db"));
    let v2 = ok(
        "sqlc.json",
        r#"{"version": "2", "plugins": [{"name": "quarry"}], "sql": [{
            "engine": "postgresql", "schema": ["s1", "s2"], "queries": "q",
            "database": {"uri": "postgres://localhost/app"},
            "codegen": [{"plugin": "py", "out": "py"}, {"plugin": "quarry", "out": "src/gen"}],
            "gen": {"kotlin": {"package": "x"}}}]}"#,
    );
    let config = &v2.configs[0];
    assert_eq!(config.out, PathBuf::from("/app/src/gen"));
    assert_eq!(config.queries, PathBuf::from("/app/q"));
    assert_eq!(
        config.schema,
        vec![PathBuf::from("/app/s1"), PathBuf::from("/app/s2")]
    );
    // The plugin's `out` is chosen: no note about the output directory.
    assert_eq!(
        v2.notes,
        [
            "sqlc.json: Go-only options ignored: gen.kotlin",
            "sqlc.json: sqlc options without effect in Quarry ignored: codegen plugin `py`, database, plugins",
        ]
    );
}

#[test]
fn other_engines_are_errors_naming_the_entry() {
    let text = "version: \"2\"\nsql:\n  - engine: postgresql\n    schema: s\n    queries: q\n  - engine: mysql\n    schema: s\n    queries: q\n  - engine: sqlite\n    schema: s\n    queries: q\n";
    assert_eq!(
        read("sqlc.yaml", text).err().as_deref(),
        Some(
            "sqlc.yaml:6:5: `sql[1]`: engine `mysql` is not supported: Quarry generates for PostgreSQL only\n\
             sqlc.yaml:9:5: `sql[2]`: engine `sqlite` is not supported: Quarry generates for PostgreSQL only"
        )
    );
    let json = "{\n  \"version\": \"1\",\n  \"packages\": [\n    {\"name\": \"app\", \"engine\": \"mysql\", \"schema\": \"s\", \"queries\": \"q\"}\n  ]\n}\n";
    assert!(read("sqlc.json", json).err().is_some_and(|e| {
        e.contains(
        "`packages[0]` (app): engine `mysql` is not supported: Quarry generates for PostgreSQL only"
    )
    }));
    assert_eq!(
        read(
            "sqlc.yaml",
            "version: \"2\"\nsql:\n  - schema: s\n    queries: q\n"
        )
        .err()
        .as_deref(),
        Some("sqlc.yaml:1:1: `sql[0]` has no `engine`")
    );
}

#[test]
fn syntax_and_version_errors_point_at_their_line() {
    let bad = read(
        "sqlc.yaml",
        "version: \"2\"\nsql:\n  - engine: postgresql\n   schema: s\n",
    );
    assert!(
        bad.as_ref()
            .err()
            .is_some_and(|e| e.starts_with("sqlc.yaml:4:") && e.contains("invalid sqlc config")),
        "{bad:?}"
    );
    let wrong_type = read(
        "sqlc.yaml",
        "version: \"2\"\nsql:\n  - engine: postgresql\n    schema: s\n    queries: {a: 1}\n",
    );
    assert_eq!(
        wrong_type.err().as_deref(),
        Some("sqlc.yaml:5:14: invalid sqlc config: sql[0].queries: invalid type: map, expected a path or a list of paths")
    );
    let json = read("sqlc.json", "{\n  \"version\": \"2\",\n  \"sql\": [,]\n}\n");
    assert!(
        json.as_ref()
            .err()
            .is_some_and(|e| e.starts_with("sqlc.json:3:")),
        "{json:?}"
    );
    assert_eq!(
        read("sqlc.yaml", "sql: []\n").err().as_deref(),
        Some("sqlc.yaml:1:1: sqlc config has no `version`")
    );
    assert_eq!(
        read("sqlc.yaml", "# config\nversion: \"3\"\n")
            .err()
            .as_deref(),
        Some("sqlc.yaml:2:1: sqlc config version `3` is not supported")
    );
}

#[test]
fn unknown_keys_are_warnings() {
    let loaded = ok(
        "sqlc.yaml",
        "version: \"2\"\nsqll: []\nsql:\n  - engine: postgresql\n    schema: s\n    queries: q\n    querys: r\n",
    );
    assert_eq!(
        warnings(&loaded),
        [
            "sqlc.yaml:2:1: unknown key `sqll` in sqlc config, ignored",
            "sqlc.yaml:7:5: unknown key `querys` in sqlc config, ignored",
        ]
    );
}

#[test]
fn overrides_of_builtin_types_must_decode_them() {
    let loaded = ok(
        "sqlc.yaml",
        r#"version: "2"
overrides:
  go:
    overrides:
      - db_type: citext
        go_type: "[]byte"
      - db_type: hstore
        go_type: "[]byte"
sql:
  - engine: postgresql
    schema: s
    queries: q
    gen:
      go:
        overrides:
          - db_type: "pg_catalog.uuid"
            go_type: string
          - db_type: integer
            go_type: int32
          - db_type: "text[]"
            go_type: "[]string"
          - db_type: "pg_catalog.timestamptz"
            go_type: time.Time
          - db_type: citext
            go_type: string
          - db_type: hstore
            go_type: string
          - column: "authors.*"
            go_type: string
          - db_type: tinyint
            unsigned: true
            go_type: uint8
          - db_type: json
            engine: mysql
            go_type: string
"#,
    );
    let types = &loaded.configs[0].types;
    // The entry's own override shadows the top-level one silently; two at
    // one level that disagree keep the first, with a warning.
    assert_eq!(rust(&types.by_type, "citext"), Some("String"));
    assert_eq!(rust(&types.by_type, "hstore"), Some("String"));
    assert_eq!(types.by_type.len(), 2);
    assert!(types.by_column.is_empty());
    assert_eq!(
        warnings(&loaded),
        [
            "sqlc.yaml:16:13: override of db_type `pg_catalog.uuid`: Go type `string` (`String` in Rust) cannot hold `uuid`, ignored; Quarry keeps `quarry::uuid::Uuid`",
            "sqlc.yaml:28:13: override of column `authors.*` ignored: patterns are not supported",
        ]
    );
    assert!(loaded.notes.iter().any(|n| n.ends_with(
        "change nothing: db_type `integer` → int32, db_type `pg_catalog.timestamptz` → time.Time, db_type `text[]` → []string"
    )));
}

#[test]
fn conflicting_overrides_at_one_level_keep_the_first() {
    let loaded = ok(
        "sqlc.yaml",
        "version: \"2\"\nsql:\n  - engine: postgresql\n    schema: s\n    queries: q\n    gen:\n      go:\n        overrides:\n          - db_type: ltree\n            go_type: string\n          - db_type: ltree\n            nullable: true\n            go_type: database/sql.NullString\n          - db_type: ltree\n            go_type: \"[]byte\"\n",
    );
    assert_eq!(
        rust(&loaded.configs[0].types.by_type, "ltree"),
        Some("String")
    );
    assert_eq!(
        warnings(&loaded),
        ["sqlc.yaml:9:13: override of `ltree` as `Vec<u8>` ignored: an earlier one maps it to `String`"]
    );
}

#[test]
fn malformed_overrides_are_errors() {
    let both = "version: \"2\"\nsql:\n  - engine: postgresql\n    schema: s\n    queries: q\n    gen:\n      go:\n        overrides:\n          - db_type: uuid\n            column: a.b\n            go_type: string\n";
    assert_eq!(
        read("sqlc.yaml", both).err().as_deref(),
        Some("sqlc.yaml:9:13: an override needs exactly one of `db_type` and `column`")
    );
    let bad_rust = "version: \"2\"\nsql:\n  - engine: postgresql\n    schema: s\n    queries: q\n    gen:\n      go:\n        overrides:\n          - column: a.b\n            rust_type: \"not a type!\"\n";
    assert_eq!(
        read("sqlc.yaml", bad_rust).err().as_deref(),
        Some("sqlc.yaml:10:25: `rust_type: not a type!` of the override of column `a.b` is not a Rust type")
    );
}

#[test]
fn go_types_and_db_type_spellings() {
    let rust = |go: &str, slice: bool| match go_to_rust(go, slice) {
        Some(Mapped::Rust(rust)) => rust,
        Some(Mapped::DateTime) => "date/time".to_string(),
        None => "none".to_string(),
    };
    assert_eq!(rust("database/sql.NullInt64", false), "i64");
    assert_eq!(rust("sql.NullBool", false), "bool");
    assert_eq!(rust("github.com/jackc/pgx/v5/pgtype.Int4", false), "i32");
    assert_eq!(
        rust("github.com/gofrs/uuid.UUID", true),
        "Vec<quarry::uuid::Uuid>"
    );
    assert_eq!(
        rust("encoding/json.RawMessage", false),
        "quarry::serde_json::Value"
    );
    assert_eq!(
        rust("github.com/shopspring/decimal.Decimal", false),
        "quarry::rust_decimal::Decimal"
    );
    assert_eq!(rust("[]byte", false), "Vec<u8>");
    assert_eq!(rust("time.Time", false), "date/time");
    assert_eq!(rust("github.com/acme/x.Y", false), "none");
    assert_eq!(rust("uint64", false), "none");
    let pointer = GoRef::of(&GoType::Name("*[]string".to_string()));
    assert_eq!((pointer.full.as_str(), pointer.slice), ("string", true));
    assert_eq!(normalize_db_type("pg_catalog.int4"), "int4");
    assert_eq!(normalize_db_type("Double Precision"), "float8");
    assert_eq!(normalize_db_type("character varying[]"), "_varchar");
    assert_eq!(normalize_db_type("timestamp with time zone"), "timestamptz");
    assert_eq!(normalize_db_type("public.Mood"), "public.Mood");
}

#[test]
fn load_checks_paths_and_finding_prefers_quarry_toml() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    std::fs::create_dir_all(root.join("app/sub"))?;
    std::fs::write(root.join("app/schema.sql"), "")?;
    let yaml = "version: \"2\"\nsql:\n  - engine: postgresql\n    schema: schema.sql\n    queries: [query.sql]\n";
    std::fs::write(root.join("app/sqlc.yaml"), yaml)?;
    // An ancestor's sqlc.yaml is found from below; a quarry.toml beside it wins.
    assert_eq!(
        find_config_file(&root.join("app/sub")),
        Some(root.join("app/sqlc.yaml"))
    );
    std::fs::write(root.join("app/quarry.toml"), "")?;
    assert_eq!(
        find_config_file(&root.join("app/sub")),
        Some(root.join("app/quarry.toml"))
    );
    assert!(is_sqlc_config(Path::new("x/sqlc.json")) && !is_sqlc_config(Path::new("quarry.toml")));
    let Err(Error::Diagnostics(errors)) = load(&root.join("app/sqlc.yaml")) else {
        panic!("a missing query file must be an error");
    };
    assert_eq!(errors.0.len(), 1);
    assert!(errors.0[0].message.ends_with("query.sql` does not exist"));
    assert!(errors.0[0]
        .position()
        .is_some_and(|p| p.ends_with("sqlc.yaml:5:15")));
    std::fs::write(root.join("app/query.sql"), "")?;
    let loaded = load(&root.join("app/sqlc.yaml"))?;
    assert_eq!(loaded.configs[0].queries, root.join("app/query.sql"));
    Ok(())
}
