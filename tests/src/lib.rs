//! Test harness for Quarry's end-to-end tests.
//!
//! One PostgreSQL server per test process — `DATABASE_URL` when set, else an
//! ephemeral cluster started on first use and stopped when the process exits
//! — and a fresh database per test, so tests never see each other's data.
//! For scaling out, [`pgbouncer`] and [`replica`] start a PgBouncer and a
//! streaming replica next to a test's own cluster.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use codegen::pg::Server;

pub mod adversarial;
mod child;
pub mod memory;
pub mod pgbouncer;
pub mod replica;
mod support;
pub mod type_support;

pub use support::{
    cargo, codegen_bin, copy_dir, files_in, path_without_postgres, standalone_manifest,
    standalone_target_dir, target_root, text, write_standalone_crate,
};

/// Code generated from `tests/types/` (one module per configuration); kept
/// up to date by `tests/tests/types_generated.rs`.
#[rustfmt::skip]
#[deny(warnings)]
pub mod generated {
    pub mod catalog;
    pub mod chrono;
    pub mod derives;
    pub mod jiff;
    pub mod resilience;
    pub mod time;
}

/// The workspace root (where `Cargo.toml`, `queries/` and `examples/` live).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The process-wide server. Panics (failing the test) when none can be had.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| match Server::from_env() {
        Ok(server) => server,
        Err(error) => panic!("cannot start PostgreSQL for the tests: {error}"),
    })
}

/// A fresh, empty database on [`server`], with a connected client.
pub struct TestDb {
    /// Database name.
    pub name: String,
    /// Connection URL.
    pub url: String,
    /// A connected client.
    pub client: tokio_postgres::Client,
}

impl TestDb {
    /// Creates a new database named after `prefix`.
    pub async fn new(prefix: &str) -> TestDb {
        let server = server();
        let name = server
            .create_database(prefix)
            .await
            .unwrap_or_else(|e| panic!("create database: {e}"));
        let client = server
            .connect(Some(&name))
            .await
            .unwrap_or_else(|e| panic!("connect to {name}: {e}"));
        TestDb {
            url: server.url(Some(&name)),
            name,
            client,
        }
    }

    /// A new database with the example application's schema applied.
    pub async fn with_example_schema(prefix: &str) -> TestDb {
        let db = TestDb::new(prefix).await;
        let dir = workspace_root().join("queries/schema");
        let files = codegen::schema_files(&dir).unwrap_or_else(|e| panic!("{e}"));
        for file in files {
            db.execute_file(&file).await;
        }
        db
    }

    /// A new database with the example schema and `examples/app/seed.sql`.
    pub async fn with_example_data(prefix: &str) -> TestDb {
        let db = TestDb::with_example_schema(prefix).await;
        db.execute_file(&workspace_root().join("examples/app/seed.sql"))
            .await;
        db
    }

    /// Runs every statement of a SQL file.
    pub async fn execute_file(&self, path: &Path) {
        let sql = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        self.client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("apply {}: {e:?}", path.display()));
    }

    /// A connection pool on this database.
    pub fn pool(&self) -> quarry::Pool {
        quarry::Pool::connect(&self.url).unwrap_or_else(|e| panic!("pool: {e}"))
    }
}

/// Applies the example application's schema (`queries/schema/`) and
/// `examples/app/seed.sql` through `client`: [`TestDb::with_example_data`]
/// for a database that is not on [`server`] (a test's own cluster, behind
/// PgBouncer or with a replica).
pub async fn load_example_data(client: &tokio_postgres::Client) {
    let mut files = codegen::schema_files(&workspace_root().join("queries/schema"))
        .unwrap_or_else(|e| panic!("{e}"));
    files.push(workspace_root().join("examples/app/seed.sql"));
    for file in files {
        let sql = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("apply {}: {e:?}", file.display()));
    }
}

/// Runs the generator on one query file (`queries/<file_name>`) and one
/// schema text (`schema.sql`), in memory, against the shared server.
pub async fn generate_fixture(
    file_name: &str,
    queries: &[u8],
    schema: &str,
) -> Result<codegen::Output, codegen::Error> {
    generate_fixture_with(
        file_name,
        queries,
        schema,
        codegen::config::TypeConfig::default(),
    )
    .await
}

/// Generates the fixture `tests/tests/<fixture>/` (`queries/<fixture>.sql`
/// over `schema.sql`, with `types`) and checks that the code committed in
/// its `db/` directory, which a test binary includes, is exactly that; with
/// `QUARRY_BLESS` set, writes it there instead.
pub async fn check_committed_fixture(fixture: &str, types: codegen::config::TypeConfig) {
    let dir = workspace_root().join("tests/tests").join(fixture);
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let file_name = format!("{fixture}.sql");
    let queries = read(dir.join("queries").join(&file_name));
    let schema = read(dir.join("schema.sql"));
    let output = generate_fixture_with(&file_name, queries.as_bytes(), &schema, types)
        .await
        .unwrap_or_else(|e| panic!("generation failed:\n{e}"));
    let bless = std::env::var_os("QUARRY_BLESS").is_some();
    for (path, content) in &output.files {
        let committed = dir.join("db").join(path);
        if bless {
            std::fs::write(&committed, content).unwrap_or_else(|e| panic!("{e}"));
        } else {
            assert!(
                read(committed) == *content,
                "tests/tests/{fixture}/db/{} is stale: run `QUARRY_BLESS=1 cargo test -p quarry-tests --test {fixture} committed_fixture_code_is_current`",
                path.display()
            );
        }
    }
}

/// Writes `queries/<file_name>`, `schema.sql` and a `quarry.toml` (its
/// paths plus `toml`) to a temporary directory, then reads the configuration
/// and generates from disk as the CLI does: for tests of `quarry.toml` keys.
/// The directory lives as long as the returned guard.
pub async fn generate_from_disk(
    file_name: &str,
    queries: &str,
    schema: &str,
    toml: &str,
) -> (Result<codegen::Output, codegen::Error>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = dir.path();
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()))
    };
    std::fs::create_dir_all(root.join("queries")).unwrap_or_else(|e| panic!("{e}"));
    write(&root.join("queries").join(file_name), queries);
    write(&root.join("schema.sql"), schema);
    let config_path = root.join("quarry.toml");
    write(
        &config_path,
        &format!("queries = \"queries\"\nschema = [\"schema.sql\"]\nout = \"out\"\n{toml}"),
    );
    let file = codegen::config::read_config_file(&config_path).unwrap_or_else(|e| panic!("{e}"));
    let config = codegen::Config {
        queries: file.queries.unwrap_or_else(|| panic!("queries")),
        more_queries: Vec::new(),
        schema: file.schema.unwrap_or_else(|| panic!("schema")),
        out: file.out.unwrap_or_else(|| panic!("out")),
        types: file.types,
    };
    (codegen::generate(&config, server()).await, dir)
}

/// [`generate_fixture`] with type options (time crate, overrides, naming).
pub async fn generate_fixture_with(
    file_name: &str,
    queries: &[u8],
    schema: &str,
    types: codegen::config::TypeConfig,
) -> Result<codegen::Output, codegen::Error> {
    let sources = fixture_sources(file_name, queries, schema, types);
    codegen::generate_sources(&sources, server()).await
}

/// The sources of a one-file fixture: `queries/<file_name>` and `schema.sql`.
/// Panics when `queries` is not UTF-8: the UTF-8 check belongs to reading
/// files, so test it with files on disk.
pub fn fixture_sources(
    file_name: &str,
    queries: &[u8],
    schema: &str,
    types: codegen::config::TypeConfig,
) -> codegen::Sources {
    let queries = std::str::from_utf8(queries)
        .unwrap_or_else(|e| panic!("fixture `{file_name}` is not UTF-8 ({e}); write it to disk"));
    let mut sources = codegen::Sources::new(types);
    sources
        .query_file(Path::new("queries").join(file_name), queries)
        .schema_file("schema.sql", schema);
    sources
}

/// Holds the N+1 policy of a test binary (tests run in parallel, the policy
/// is process-wide) and restores the default policy on drop.
pub struct PolicyGuard {
    _lock: tokio::sync::MutexGuard<'static, ()>,
}

impl Drop for PolicyGuard {
    fn drop(&mut self) {
        quarry::set_n_plus_one_policy(quarry::NPlusOnePolicy::DEFAULT);
    }
}

/// Sets the N+1 policy until the returned guard is dropped; other tests of
/// the binary that set it wait for that.
pub async fn n_plus_one_policy(action: quarry::NPlusOneAction, threshold: u32) -> PolicyGuard {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let lock = LOCK.lock().await;
    quarry::set_n_plus_one_policy(quarry::NPlusOnePolicy { action, threshold });
    PolicyGuard { _lock: lock }
}
