//! Inputs: the query and schema files of a run, as text.
//!
//! Owns reading them from disk ([`read_sources`]: discovery, UTF-8), the
//! in-memory form every run starts from ([`Sources`]), the checks a text
//! must pass before any stage sees it (no NUL byte; a byte order mark is
//! dropped), module names, and the input hash and manifest written into the
//! generated headers. Reading is the only IO here; the rest is pure, so the
//! same texts give the same hash however they were obtained.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::TypeConfig;
use crate::diagnostic::{display_path, Diagnostic, Diagnostics, SourceFile};
use crate::{emit, ident, schema, Config, Error, VERSION};

/// The inputs of a run as text: query files, schema files and type options.
///
/// Built from disk by [`read_sources`], or in memory:
///
/// ```
/// let mut sources = codegen::Sources::new(codegen::config::TypeConfig::default());
/// sources
///     .query_file("queries/users.sql", "-- name: CountUsers :one\nSELECT count(*) AS n FROM users;\n")
///     .schema_file("schema.sql", "CREATE TABLE users (id bigint PRIMARY KEY);\n");
/// assert_eq!(sources.input_hash().len(), "sha256:".len() + 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    query_files: Vec<Text>,
    schema_files: Vec<Text>,
    types: TypeConfig,
    regenerate: emit::Regenerate,
}

/// One input file's text and the names it goes by.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text {
    /// The path diagnostics show.
    shown: PathBuf,
    /// The path written into generated files (relative to the project).
    name: String,
    /// The name the input hash covers (relative to its query or schema root).
    hashed: String,
    /// The text, without a byte order mark.
    text: String,
}

impl Text {
    fn new(shown: PathBuf, name: String, hashed: String, mut text: String) -> Self {
        // A UTF-8 byte order mark is no part of the SQL; without it,
        // columns count the way editors show them.
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        Self {
            shown,
            name,
            hashed,
            text,
        }
    }

    /// The file stages point into.
    fn source_file(&self) -> Arc<SourceFile> {
        SourceFile::new(self.shown.clone(), self.text.clone())
    }

    /// PostgreSQL takes no NUL byte in any statement text: an error at the first.
    fn nul_byte(file: &Arc<SourceFile>) -> Option<Diagnostic> {
        let at = file.text.find('\0')?;
        Some(
            Diagnostic::error_at("file contains a NUL byte", file, at..at + 1)
                .with_label("NUL byte here")
                .with_help("remove it; PostgreSQL does not accept NUL bytes in SQL text"),
        )
    }
}

impl Sources {
    /// No files yet, with these type options.
    pub fn new(types: TypeConfig) -> Self {
        Self {
            query_files: Vec::new(),
            schema_files: Vec::new(),
            types,
            regenerate: emit::Regenerate::Cli,
        }
    }

    /// The generated headers say a build script regenerates the files
    /// (instead of the `codegen` CLI).
    pub(crate) fn regenerated_by_build_script(&mut self) -> &mut Self {
        self.regenerate = emit::Regenerate::BuildScript;
        self
    }

    /// Adds a query file. `path` is shown in diagnostics and written into
    /// the generated files (so best relative to the project); its file stem
    /// names the module. Hashed like a file of the query directory.
    pub fn query_file(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> &mut Self {
        let path = path.into();
        let hashed = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = slashed(&path);
        self.query_files
            .push(Text::new(path, name, hashed, text.into()));
        self
    }

    /// Adds a schema file; schema files are applied in the order added.
    /// Hashed like a file listed alone in [`Config::schema`].
    pub fn schema_file(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> &mut Self {
        let path = path.into();
        let name = slashed(&path);
        self.schema_files
            .push(Text::new(path, name, String::new(), text.into()));
        self
    }

    /// The type options.
    pub fn types(&self) -> &TypeConfig {
        &self.types
    }

    /// The hash of every input and the generator version, as written in the
    /// generated headers (`sha256:…`).
    pub fn input_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(format!("quarry-codegen {VERSION}\n"));
        for (kind, files) in [("query", &self.query_files), ("schema", &self.schema_files)] {
            for file in files {
                hasher.update(format!("{kind} {} {}\n", file.hashed, file.text.len()));
                hasher.update(file.text.as_bytes());
            }
        }
        // The options that change the output are inputs too; lint levels
        // do not change it, so they are left out (of the text too: hashes
        // from before `[lints]` existed stay valid).
        let types = TypeConfig {
            lints: crate::lints::LintLevels::default(),
            ..self.types.clone()
        };
        if types != TypeConfig::default() {
            let text = format!("types {types:?}\n");
            // Fields added later are left out at their defaults, so hashes
            // written before they existed stay valid.
            let text = [
                ", lints: LintLevels({})",
                ", dialect: Quarry",
                ", renames: {}",
            ]
            .iter()
            .fold(text, |text, default| text.replace(default, ""));
            hasher.update(text);
        }
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    }

    /// `(path, short hash)` of every input file, listed in the generated `mod.rs`.
    fn manifest(&self) -> Vec<(String, String)> {
        self.query_files
            .iter()
            .chain(&self.schema_files)
            .map(|file| (file.name.clone(), short_hash(&file.text)))
            .collect()
    }

    /// The files as the stages see them, with module names; every text
    /// that cannot be used is a diagnostic.
    pub(crate) fn load(&self) -> Result<Inputs, Error> {
        let mut diagnostics = Vec::new();
        let mut query_files = Vec::new();
        for text in &self.query_files {
            let file = text.source_file();
            diagnostics.extend(Text::nul_byte(&file));
            query_files.push(QueryFile {
                module: module_name(&text.shown),
                file,
                name: text.name.clone(),
            });
        }
        let mut schema_files = Vec::new();
        for text in &self.schema_files {
            let file = text.source_file();
            diagnostics.extend(Text::nul_byte(&file));
            schema_files.push(file);
        }
        if !diagnostics.is_empty() {
            return Err(Error::Diagnostics(Diagnostics(diagnostics)));
        }
        if query_files.is_empty() {
            return Err(Error::Config("no query files given".to_string()));
        }
        Ok(Inputs {
            dialect: self.types.dialect,
            query_files,
            schema_files,
            header: emit::Header {
                version: VERSION.to_string(),
                input_hash: self.input_hash(),
                inputs: self.manifest(),
                regenerate: self.regenerate,
            },
        })
    }
}

/// A query file as the stages see it.
#[derive(Debug, Clone)]
pub(crate) struct QueryFile {
    /// Its module name (the file stem in snake_case).
    pub module: String,
    /// Its text and the path diagnostics show.
    pub file: Arc<SourceFile>,
    /// Its path as written in generated files.
    pub name: String,
}

/// The inputs of a run, checked: what the stages take.
#[derive(Debug, Clone)]
pub(crate) struct Inputs {
    /// Query files in order.
    pub query_files: Vec<QueryFile>,
    /// Schema files in application order.
    pub schema_files: Vec<schema::SchemaFile>,
    /// What every generated file's header records.
    pub header: emit::Header,
    /// Whose conventions the query files follow (how they are lexed).
    pub dialect: crate::config::Dialect,
}

impl Inputs {
    /// `(module name, path as written in generated files)` per query file, in order.
    pub fn modules(&self) -> Vec<(String, String)> {
        self.query_files
            .iter()
            .map(|file| (file.module.clone(), file.name.clone()))
            .collect()
    }
}

/// Lists the query files of `path` (a file, or the `.sql` files at the top of a directory).
pub fn discover_query_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    sql_files(path)
}

/// Lists the schema files under `path` in the order they are applied.
pub fn schema_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = sql_files(path)?;
    // A migration directory (`0001_x.up.sql` / `0001_x.down.sql`) applies the `up` half only.
    let is_up = |f: &PathBuf| {
        f.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".up.sql"))
    };
    if files.iter().any(is_up) {
        files.retain(is_up);
    }
    Ok(files)
}

/// `path` itself if it is a file, else the `.sql` files directly in it, sorted.
pub(crate) fn sql_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::metadata(path).map_err(io)?.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let file = entry.map_err(io)?.path();
        if file.is_file() && file.extension().is_some_and(|e| e == "sql") {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every input of `config` from disk. Unreadable text (invalid UTF-8,
/// a NUL byte) is a diagnostic; no database needed.
pub fn read_sources(config: &Config) -> Result<Sources, Error> {
    let mut sources = Sources::new(config.types.clone());
    let mut diagnostics = Vec::new();
    let query_paths: Vec<&PathBuf> = std::iter::once(&config.queries)
        .chain(&config.more_queries)
        .collect();
    let query_roots: Vec<PathBuf> = query_paths.iter().map(|path| query_root(path)).collect();
    // Paths written into generated files are relative to the project (the
    // parent of the query directory; with several query paths, the nearest
    // directory holding all their parents), not to wherever the generator
    // ran, so a build script and the CLI write the same bytes.
    let project_root = query_roots
        .iter()
        .map(|root| root.parent().map(Path::to_path_buf).unwrap_or_default())
        .reduce(|a, b| common_ancestor(&a, &b))
        .unwrap_or_default();
    let mut read = |path: &Path, root: &Path, files: &mut Vec<Text>| -> Result<(), Error> {
        let name = slashed(path.strip_prefix(&project_root).unwrap_or(path));
        let hashed = slashed(path.strip_prefix(root).unwrap_or(path));
        match read_text(path)? {
            Ok(text) => {
                let text = Text::new(display_path(path), name, hashed, text);
                diagnostics.extend(Text::nul_byte(&text.source_file()));
                files.push(text);
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
        Ok(())
    };
    let mut seen = std::collections::BTreeSet::new();
    for (queries, root) in query_paths.iter().zip(&query_roots) {
        for path in discover_query_files(queries)? {
            // A file listed twice (alone and in its directory) is read once.
            if seen.insert(path.clone()) {
                read(&path, root, &mut sources.query_files)?;
            }
        }
    }
    for root in &config.schema {
        for path in schema_files(root)? {
            read(&path, root, &mut sources.schema_files)?;
        }
    }
    if !diagnostics.is_empty() {
        return Err(Error::Diagnostics(Diagnostics(diagnostics)));
    }
    if sources.query_files.is_empty() {
        return Err(Error::Config(format!(
            "no `.sql` query files found in `{}`",
            config.queries.display()
        )));
    }
    Ok(sources)
}

/// The directory a query path's files are named relative to: the path
/// itself if it is a directory, else its parent.
fn query_root(queries: &Path) -> PathBuf {
    if queries.is_dir() {
        queries.to_path_buf()
    } else {
        queries.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// The longest leading run of components `a` and `b` share.
fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// Reads a text file; invalid UTF-8 becomes a diagnostic at the first bad byte.
fn read_text(path: &Path) -> Result<Result<String, Diagnostic>, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
        // Offsets of the lossy text match the original up to the first bad byte.
        let file = SourceFile::new(display_path(path), text);
        Diagnostic::error_at("file is not valid UTF-8", &file, valid..valid + 1)
            .with_label("invalid byte here")
            .with_help("save query files as UTF-8")
    }))
}

/// The module a query file becomes: its file stem in snake_case.
fn module_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    ident::module_name(&stem)
}

/// A path with `/` separators, as written into generated files.
fn slashed(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// First 16 hex digits of a file's SHA-256: enough to tell which input changed.
fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Inputs whose content differs from the manifest recorded in a generated
/// `mod.rs` (added, changed or removed), by path.
pub fn changed_inputs(sources: &Sources, generated_mod_rs: &str) -> Vec<String> {
    let recorded: BTreeMap<&str, &str> = generated_mod_rs
        .lines()
        .filter_map(|line| line.strip_prefix(emit::INPUT_PREFIX))
        .filter_map(|rest| rest.rsplit_once(' '))
        .collect();
    let manifest = sources.manifest();
    let current: BTreeMap<&str, &str> = manifest
        .iter()
        .map(|(p, h)| (p.as_str(), h.as_str()))
        .collect();
    let mut changed: Vec<String> = current
        .iter()
        .filter(|(path, hash)| recorded.get(*path) != Some(*hash))
        .map(|(path, _)| path.to_string())
        .collect();
    changed.extend(
        recorded
            .keys()
            .filter(|path| !current.contains_key(*path))
            .map(|p| format!("{p} (removed)")),
    );
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) -> Result<(), std::io::Error> {
        std::fs::write(dir.join(name), "SELECT 1;")
    }

    #[test]
    fn schema_directories_apply_in_lexical_order_and_migrations_up_only(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let plain = tempfile::tempdir()?;
        for name in ["b.sql", "a.sql", "notes.txt", "10_c.sql"] {
            touch(plain.path(), name)?;
        }
        let names = |files: Vec<PathBuf>| -> Vec<String> {
            files
                .iter()
                .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect()
        };
        assert_eq!(
            names(schema_files(plain.path())?),
            vec!["10_c.sql", "a.sql", "b.sql"]
        );

        let migrations = tempfile::tempdir()?;
        for name in [
            "0002_tags.down.sql",
            "0001_init.up.sql",
            "0001_init.down.sql",
            "0002_tags.up.sql",
        ] {
            touch(migrations.path(), name)?;
        }
        assert_eq!(
            names(schema_files(migrations.path())?),
            vec!["0001_init.up.sql", "0002_tags.up.sql"]
        );

        let single = plain.path().join("b.sql");
        assert_eq!(schema_files(&single)?, vec![single.clone()]);
        assert!(matches!(
            schema_files(&plain.path().join("missing")),
            Err(Error::Io { .. })
        ));
        Ok(())
    }

    #[test]
    fn in_memory_sources_hash_like_the_files_they_stand_for(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("queries"))?;
        let query = "\u{feff}-- name: One :one\nSELECT 1 AS one;\n";
        let schema = "CREATE TABLE t (id int);\n";
        std::fs::write(dir.path().join("queries/one.sql"), query)?;
        std::fs::write(dir.path().join("schema.sql"), schema)?;
        let config = Config {
            queries: dir.path().join("queries"),
            more_queries: Vec::new(),
            schema: vec![dir.path().join("schema.sql")],
            out: dir.path().join("out"),
            types: TypeConfig::default(),
        };
        let read = read_sources(&config)?;
        let mut built = Sources::new(TypeConfig::default());
        built
            .query_file("queries/one.sql", query)
            .schema_file("schema.sql", schema);
        assert_eq!(read.input_hash(), built.input_hash());
        assert_eq!(read.manifest(), built.manifest());
        let inputs = built.load()?;
        assert_eq!(inputs.query_files[0].module, "one");
        assert!(inputs.query_files[0].file.text.starts_with("-- name:"));
        Ok(())
    }

    #[test]
    fn more_query_paths_are_read_after_the_first_once_each(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        for sub in ["app/queries", "app/more"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        let query = |name: &str| format!("-- name: {name} :one\nSELECT 1 AS one;\n");
        std::fs::write(dir.path().join("app/queries/a.sql"), query("A"))?;
        std::fs::write(dir.path().join("app/more/b.sql"), query("B"))?;
        std::fs::write(dir.path().join("app/more/c.sql"), query("C"))?;
        let config = Config {
            queries: dir.path().join("app/queries"),
            more_queries: vec![
                dir.path().join("app/more/c.sql"),
                dir.path().join("app/more"),
            ],
            schema: Vec::new(),
            out: dir.path().join("out"),
            types: TypeConfig::default(),
        };
        let read = read_sources(&config)?;
        let names: Vec<&str> = read.query_files.iter().map(|f| f.name.as_str()).collect();
        // Named relative to `app/`, the directory holding both query roots;
        // `c.sql` listed alone and in its directory is read once.
        assert_eq!(names, ["queries/a.sql", "more/c.sql", "more/b.sql"]);
        Ok(())
    }

    #[test]
    fn a_nul_byte_is_an_error_at_its_position() {
        let mut sources = Sources::new(TypeConfig::default());
        sources.query_file("q.sql", "-- name: Q :one\nSELECT 'a\0b' AS x;\n");
        let Err(Error::Diagnostics(diagnostics)) = sources.load() else {
            panic!("expected diagnostics");
        };
        assert_eq!(diagnostics.0.len(), 1);
        assert_eq!(diagnostics.0[0].position().as_deref(), Some("q.sql:2:10"));
    }
}
