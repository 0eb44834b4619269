//! sqlc's configuration: `sqlc.yaml`, `sqlc.yml` or `sqlc.json` (versions
//! "1" and "2") read into Quarry [`Config`]s, so an sqlc project generates
//! without a `quarry.toml`.
//!
//! Owns parsing the file (YAML through `serde_yaml_ng`, JSON through
//! `serde_json`; syntax errors at their line and column) and the mapping:
//!
//! * Each `packages` (v1) or `sql` (v2) entry is one [`Config`], in order.
//!   `schema` and `queries` are a path or a list of paths (files or
//!   directories) relative to the file's directory: the first query path is
//!   [`Config::queries`], the others [`Config::more_queries`]; every schema
//!   path goes to [`Config::schema`].
//! * `engine` must be `postgresql`: `mysql`, `sqlite` or anything else is an
//!   error naming the entry.
//! * Output directory: the `out` of the entry's `codegen` item whose
//!   `plugin` is `quarry`; else Quarry's default `src/db` next to the file
//!   (with several entries, `src/db/<package>`, the Go package name or
//!   `sql_<n>`). The Go `out` is never used: it holds sqlc's Go code.
//! * `types.dialect` is [`Dialect::Sqlc`]; `types.renames` is `rename`, the
//!   top-level one merged with the entry's (the entry's wins).
//! * `overrides` (top level and per entry; the entry's win): `db_type` ones go
//!   to `types.by_type` (a `pg_catalog.` prefix and SQL spellings such as
//!   `integer` or `text[]` normalized), `column` ones (`table.column` or
//!   `schema.table.column`) to `types.by_column`. The Rust type is the
//!   override's `rust_type` (a Quarry extension, used as is), else the Go
//!   type's equivalent ([`go_to_rust`]; `pointer` changes nothing, since
//!   nullability stays inferred; `slice` gives `Vec<T>`). An override whose
//!   Go type has no Rust equivalent, or whose equivalent cannot decode a
//!   built-in `db_type`, is ignored with a warning; one whose equivalent is
//!   Quarry's own type for that `db_type` (or any date/time type for
//!   `time.Time`) changes nothing and is listed in a note. Overrides for
//!   another `engine` or with `unsigned` (MySQL) never apply.
//! * Go-only options (`package`, `emit_*`, `sql_package`, `go_struct_tag`,
//!   other languages' `gen` blocks…) are listed in one note; sqlc options
//!   without an effect here (`database`, `rules`, `plugins`…) in another;
//!   unknown keys are warnings.
//!
//! No IO beyond reading the one file and checking that its paths exist.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use crate::config::{parse_rust_type, Dialect, TypeConfig, TypeOverride};
use crate::diagnostic::{display_path, Diagnostic, Diagnostics, Location, SourceFile};
use crate::{Config, Error};

/// The sqlc configuration file names, in the order they are looked for.
pub const FILE_NAMES: [&str; 3] = ["sqlc.yaml", "sqlc.yml", "sqlc.json"];

/// An sqlc configuration, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// One configuration per `packages`/`sql` entry, in order.
    pub configs: Vec<Config>,
    /// Unknown keys and overrides that were ignored, at their line.
    pub warnings: Vec<Diagnostic>,
    /// What was read differently from sqlc (output directory, Go-only
    /// options, overrides that change nothing), one line each.
    pub notes: Vec<String>,
}

/// Whether `path` names an sqlc configuration (`.yaml`, `.yml` or `.json`)
/// rather than a `quarry.toml`.
pub fn is_sqlc_config(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

/// The configuration file of the project around `start`: in `start` or the
/// nearest ancestor that has one, `quarry.toml`, else `sqlc.yaml`,
/// `sqlc.yml` or `sqlc.json` (a `quarry.toml` wins in the same directory).
pub fn find_config_file(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        std::iter::once("quarry.toml")
            .chain(FILE_NAMES)
            .map(|name| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Reads the sqlc configuration at `path`: parsed ([`parse`]) and its
/// schema and query paths checked to exist (errors at their line).
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let (file, base) = crate::config::read_source(path)?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let loaded = parse(&file, &base, json)?;
    let mut errors = Vec::new();
    for config in &loaded.configs {
        let paths = std::iter::once(&config.queries)
            .chain(&config.more_queries)
            .chain(&config.schema);
        for missing in paths.filter(|path| !path.exists()) {
            let written = missing.strip_prefix(&base).unwrap_or(missing);
            let span = find_text(&file.text, &written.to_string_lossy());
            errors.push(
                Diagnostic::error_at(
                    format!("`{}` does not exist", display_path(missing).display()),
                    &file,
                    span,
                )
                .with_help("paths in an sqlc config are relative to its directory"),
            );
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(Error::Diagnostics(Diagnostics(errors)))
    }
}

/// Parses sqlc configuration text (`json`: JSON, else YAML); `base` is the
/// directory relative paths are resolved against. No IO.
pub fn parse(file: &Arc<SourceFile>, base: &Path, json: bool) -> Result<Loaded, Error> {
    let fail = |diagnostic: Diagnostic| Error::Diagnostics(Diagnostics(vec![diagnostic]));
    let head: Head = deserialize(file, json)?;
    let mut report = Report::new(file);
    let (entries, global) = match head.version.as_ref().map(Version::text).as_deref() {
        Some("1") => read_v1(deserialize(file, json)?, &mut report),
        Some("2") => read_v2(deserialize(file, json)?, &mut report),
        Some(other) => {
            let span = find_key(&file.text, "version", None, 0);
            return Err(fail(
                Diagnostic::error_at(
                    format!("sqlc config version `{other}` is not supported"),
                    file,
                    span,
                )
                .with_help("Quarry reads sqlc configs of version \"1\" and \"2\""),
            ));
        }
        None => {
            return Err(fail(
                Diagnostic::error_at("sqlc config has no `version`", file, 0..0)
                    .with_help("an sqlc config starts with `version: \"2\"`"),
            ))
        }
    };
    let configs = build_configs(&entries, &global, base, &mut report);
    report.finish(configs)
}

/// The `version` key alone, read first to choose the format.
#[derive(Debug, Deserialize)]
struct Head {
    version: Option<Version>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Version {
    Text(String),
    Number(u64),
}

impl Version {
    fn text(&self) -> String {
        match self {
            Version::Text(text) => text.trim().to_string(),
            Version::Number(number) => number.to_string(),
        }
    }
}

/// Keys not named by a struct, kept to be reported.
type Other = BTreeMap<String, IgnoredAny>;

#[derive(Debug, Deserialize)]
struct V1File {
    #[serde(default)]
    packages: Vec<V1Package>,
    #[serde(default)]
    overrides: Vec<OverrideSpec>,
    #[serde(default)]
    rename: BTreeMap<String, String>,
    #[serde(flatten)]
    other: Other,
}

#[derive(Debug, Deserialize)]
struct V1Package {
    name: Option<String>,
    path: Option<String>,
    engine: Option<String>,
    schema: Option<Paths>,
    queries: Option<Paths>,
    #[serde(default)]
    overrides: Vec<OverrideSpec>,
    #[serde(flatten)]
    other: Other,
}

#[derive(Debug, Deserialize)]
struct V2File {
    #[serde(default)]
    sql: Vec<V2Sql>,
    #[serde(default)]
    overrides: V2Overrides,
    #[serde(flatten)]
    other: Other,
}

#[derive(Debug, Default, Deserialize)]
struct V2Overrides {
    go: Option<GoSettings>,
    #[serde(flatten)]
    other: Other,
}

/// `gen.go` of an entry, or the top-level `overrides.go`.
#[derive(Debug, Default, Deserialize)]
struct GoSettings {
    package: Option<String>,
    out: Option<String>,
    #[serde(default)]
    overrides: Vec<OverrideSpec>,
    #[serde(default)]
    rename: BTreeMap<String, String>,
    #[serde(flatten)]
    other: Other,
}

#[derive(Debug, Deserialize)]
struct V2Sql {
    name: Option<String>,
    engine: Option<String>,
    schema: Option<Paths>,
    queries: Option<Paths>,
    #[serde(default)]
    gen: Gen,
    #[serde(default)]
    codegen: Vec<CodegenSpec>,
    #[serde(flatten)]
    other: Other,
}

#[derive(Debug, Default, Deserialize)]
struct Gen {
    go: Option<GoSettings>,
    #[serde(flatten)]
    other: Other,
}

#[derive(Debug, Deserialize)]
struct CodegenSpec {
    plugin: Option<String>,
    out: Option<String>,
    options: Option<IgnoredAny>,
    #[serde(flatten)]
    other: Other,
}

/// `schema`/`queries`: one path or a list.
#[derive(Debug, Clone)]
enum Paths {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for Paths {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Paths;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a path or a list of paths")
            }
            fn visit_str<E: serde::de::Error>(self, path: &str) -> Result<Paths, E> {
                Ok(Paths::One(path.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Paths, A::Error> {
                let mut paths = Vec::new();
                while let Some(path) = seq.next_element::<String>()? {
                    paths.push(path);
                }
                Ok(Paths::Many(paths))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Paths {
    fn list(&self) -> Vec<String> {
        match self {
            Paths::One(path) => vec![path.clone()],
            Paths::Many(paths) => paths.clone(),
        }
    }
}

/// One `overrides` item.
#[derive(Debug, Clone, Deserialize)]
struct OverrideSpec {
    db_type: Option<String>,
    column: Option<String>,
    go_type: Option<GoType>,
    /// Quarry's extension: the Rust type, used as is.
    rust_type: Option<String>,
    #[serde(default)]
    nullable: bool,
    #[serde(default)]
    unsigned: bool,
    engine: Option<String>,
    #[serde(flatten)]
    other: Other,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum GoType {
    Name(String),
    Spec(GoTypeSpec),
}

#[derive(Debug, Clone, Deserialize)]
struct GoTypeSpec {
    import: Option<String>,
    #[serde(rename = "type")]
    name: Option<String>,
    #[serde(default)]
    pointer: bool,
    #[serde(default)]
    slice: bool,
}

/// Deserializes the whole file; a syntax or type error at its position.
fn deserialize<T: DeserializeOwned>(file: &Arc<SourceFile>, json: bool) -> Result<T, Error> {
    let (message, at) = if json {
        match serde_json::from_str(&file.text) {
            Ok(value) => return Ok(value),
            Err(error) => (
                error.to_string(),
                file.offset_of(error.line(), error.column()),
            ),
        }
    } else {
        match serde_yaml_ng::from_str(&file.text) {
            Ok(value) => return Ok(value),
            Err(error) => (
                error.to_string(),
                error.location().map_or(0, |location| location.index()),
            ),
        }
    };
    // Both crates append the position, which the diagnostic shows already.
    let message = match message.rfind(" at line ") {
        Some(cut) => &message[..cut],
        None => message.as_str(),
    };
    let diagnostic = Diagnostic::error_at(format!("invalid sqlc config: {message}"), file, at..at)
        .with_help("see docs/sqlc.md for the keys Quarry reads");
    Err(Error::Diagnostics(Diagnostics(vec![diagnostic])))
}

/// One `packages`/`sql` entry, in the terms both versions share.
#[derive(Debug, Default)]
struct Entry {
    /// `sql[0]`, `packages[1] (name)`: how messages name it.
    label: String,
    /// The Go package name (names the output directory with several entries).
    package: Option<String>,
    engine: Option<String>,
    schema: Vec<String>,
    queries: Vec<String>,
    overrides: Vec<OverrideSpec>,
    renames: BTreeMap<String, String>,
    /// The `out` of the `quarry` codegen plugin.
    out: Option<String>,
    /// The Go `out` (or v1 `path`), reported as not used.
    go_out: Option<String>,
}

/// The top-level `overrides` and `rename`.
#[derive(Debug, Default)]
struct Global {
    overrides: Vec<OverrideSpec>,
    renames: BTreeMap<String, String>,
}

/// Keys of a v1 package that configure Go code only (besides `emit_*` and `output_*`).
const GO_KEYS: [&str; 10] = [
    "sql_package",
    "sql_driver",
    "json_tags_case_style",
    "query_parameter_limit",
    "omit_unused_structs",
    "omit_sqlc_version",
    "build_tags",
    "initialisms",
    "inflection_exclude_table_names",
    "go_struct_tag",
];

/// sqlc options that configure sqlc itself (its database, vet rules,
/// plugins, cloud), not the code: no effect in Quarry.
const SQLC_KEYS: [&str; 9] = [
    "database",
    "rules",
    "analyzer",
    "strict_function_checks",
    "strict_order_by",
    "plugins",
    "cloud",
    "project",
    "options",
];

fn read_v1(file: V1File, report: &mut Report) -> (Vec<Entry>, Global) {
    report.keys(&file.other, "", &["version"], false);
    let entries = file
        .packages
        .into_iter()
        .enumerate()
        .map(|(i, package)| {
            report.keys(&package.other, "", &[], false);
            Entry {
                label: label("packages", i, package.name.as_deref()),
                package: package.name,
                engine: package.engine,
                schema: package.schema.map(|p| p.list()).unwrap_or_default(),
                queries: package.queries.map(|p| p.list()).unwrap_or_default(),
                overrides: package.overrides,
                renames: BTreeMap::new(),
                out: None,
                go_out: package.path,
            }
        })
        .collect();
    let global = Global {
        overrides: file.overrides,
        renames: file.rename,
    };
    (entries, global)
}

fn read_v2(file: V2File, report: &mut Report) -> (Vec<Entry>, Global) {
    report.keys(&file.other, "", &["version"], false);
    report.other_languages(&file.overrides.other, "overrides.");
    let global = match file.overrides.go {
        Some(go) => {
            report.go_only(&go.other, "");
            Global {
                overrides: go.overrides,
                renames: go.rename,
            }
        }
        None => Global::default(),
    };
    let entries = file
        .sql
        .into_iter()
        .enumerate()
        .map(|(i, sql)| read_v2_entry(i, sql, report))
        .collect();
    (entries, global)
}

fn read_v2_entry(i: usize, sql: V2Sql, report: &mut Report) -> Entry {
    report.keys(&sql.other, "", &[], false);
    report.other_languages(&sql.gen.other, "gen.");
    let go = sql.gen.go.unwrap_or_default();
    report.go_only(&go.other, "");
    if go.package.is_some() {
        report.go.insert("package".to_string());
    }
    let mut out = None;
    for codegen in &sql.codegen {
        report.keys(&codegen.other, "", &[], false);
        match codegen.plugin.as_deref() {
            Some("quarry") => {
                out = out.or(codegen.out.clone());
                if codegen.options.is_some() {
                    report.unused.insert("codegen.options".to_string());
                }
            }
            Some(plugin) => {
                report.unused.insert(format!("codegen plugin `{plugin}`"));
            }
            None => {}
        }
    }
    let package = go.package.or(sql.name);
    Entry {
        label: label("sql", i, package.as_deref()),
        package,
        engine: sql.engine,
        schema: sql.schema.map(|p| p.list()).unwrap_or_default(),
        queries: sql.queries.map(|p| p.list()).unwrap_or_default(),
        overrides: go.overrides,
        renames: go.rename,
        out,
        go_out: go.out,
    }
}

fn label(list: &str, i: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("`{list}[{i}]` ({name})"),
        None => format!("`{list}[{i}]`"),
    }
}

/// What reading found besides the configurations.
struct Report {
    file: Arc<SourceFile>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    notes: Vec<String>,
    /// Go-only options met.
    go: BTreeSet<String>,
    /// sqlc options without an effect here.
    unused: BTreeSet<String>,
    /// Overrides that name Quarry's own type: `db_type or column → go type`.
    matched: BTreeSet<String>,
    /// How many `engine` errors named each engine so far (to point at the next).
    engines: BTreeMap<String, usize>,
}

impl Report {
    fn new(file: &Arc<SourceFile>) -> Self {
        Report {
            file: Arc::clone(file),
            errors: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
            go: BTreeSet::new(),
            unused: BTreeSet::new(),
            matched: BTreeSet::new(),
            engines: BTreeMap::new(),
        }
    }

    /// Sorts keys no struct named: Go-only, sqlc-only, `known` (no effect,
    /// not worth a note), or unknown (a warning). `all_go`: every key is Go's.
    fn keys(&mut self, other: &Other, prefix: &str, known: &[&str], all_go: bool) {
        for key in other.keys() {
            let name = format!("{prefix}{key}");
            if known.contains(&key.as_str()) {
                continue;
            }
            if all_go
                || key.starts_with("emit_")
                || key.starts_with("output_")
                || GO_KEYS.contains(&key.as_str())
            {
                self.go.insert(name);
            } else if SQLC_KEYS.contains(&key.as_str()) {
                self.unused.insert(name);
            } else {
                let span = find_key(&self.file.text, key, None, 0);
                self.warnings.push(
                    Diagnostic::warning(
                        format!("unknown key `{key}` in sqlc config, ignored"),
                        Some(Location::new(&self.file, span)),
                    )
                    .with_help("see docs/sqlc.md for the keys Quarry reads"),
                );
            }
        }
    }

    /// Keys of a Go settings block: all Go's.
    fn go_only(&mut self, other: &Other, prefix: &str) {
        self.keys(other, prefix, &[], true);
    }

    /// Blocks for other languages (`gen.kotlin`, `overrides.python`).
    fn other_languages(&mut self, other: &Other, prefix: &str) {
        for key in other.keys() {
            self.go.insert(format!("{prefix}{key}"));
        }
    }

    fn warn(&mut self, message: String, span: Range<usize>, help: &str) {
        self.warnings.push(
            Diagnostic::warning(message, Some(Location::new(&self.file, span))).with_help(help),
        );
    }

    fn error(&mut self, message: String, span: Range<usize>, help: &str) {
        self.errors
            .push(Diagnostic::error_at(message, &self.file, span).with_help(help));
    }

    fn finish(mut self, configs: Vec<Config>) -> Result<Loaded, Error> {
        if !self.errors.is_empty() {
            return Err(Error::Diagnostics(Diagnostics(self.errors)));
        }
        let shown = self.file.display_path.display().to_string();
        let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
        if !self.go.is_empty() {
            self.notes.push(format!(
                "{shown}: Go-only options ignored: {}",
                list(&self.go)
            ));
        }
        if !self.unused.is_empty() {
            self.notes.push(format!(
                "{shown}: sqlc options without effect in Quarry ignored: {}",
                list(&self.unused)
            ));
        }
        if !self.matched.is_empty() {
            self.notes.push(format!(
                "{shown}: overrides that name Quarry's own type change nothing: {}",
                list(&self.matched)
            ));
        }
        // Top-level overrides are read once per entry: report them once.
        let mut seen = Vec::new();
        self.warnings.retain(|warning| {
            let fresh = !seen.contains(warning);
            if fresh {
                seen.push(warning.clone());
            }
            fresh
        });
        Ok(Loaded {
            configs,
            warnings: self.warnings,
            notes: self.notes,
        })
    }
}

fn build_configs(
    entries: &[Entry],
    global: &Global,
    base: &Path,
    report: &mut Report,
) -> Vec<Config> {
    if entries.is_empty() {
        report.error(
            "sqlc config has no `sql` (v2) or `packages` (v1) entry".to_string(),
            0..0,
            "each entry names its engine, schema and queries",
        );
    }
    let mut outs: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut configs = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if !check_entry(entry, report) {
            continue;
        }
        let out = output_dir(entry, i, entries.len(), base, report);
        if let Some(first) = outs.insert(out.clone(), entry.label.clone()) {
            let span = entry
                .out
                .as_deref()
                .map_or(0..0, |o| find_text(&report.file.text, o));
            report.error(
                format!(
                    "{} and {first} would both generate into `{}`",
                    entry.label,
                    display_path(&out).display()
                ),
                span,
                "give each entry its own `codegen: [{plugin: quarry, out: …}]`",
            );
        }
        let mut queries = entry.queries.iter().map(|path| base.join(path));
        let Some(first) = queries.next() else {
            continue;
        };
        configs.push(Config {
            queries: first,
            more_queries: queries.collect(),
            schema: entry.schema.iter().map(|path| base.join(path)).collect(),
            out,
            types: type_config(entry, global, report),
        });
    }
    configs
}

/// The engine is PostgreSQL and the entry has schema and queries.
fn check_entry(entry: &Entry, report: &mut Report) -> bool {
    let mut ok = true;
    match entry.engine.as_deref() {
        Some(engine) if engine.eq_ignore_ascii_case("postgresql") => {}
        Some(engine) => {
            let nth = report.engines.entry(engine.to_string()).or_insert(0);
            let span = find_key(&report.file.text, "engine", Some(engine), *nth);
            *nth += 1;
            report.error(
                format!(
                    "{}: engine `{engine}` is not supported: Quarry generates for PostgreSQL only",
                    entry.label
                ),
                span,
                "use `engine: postgresql` with a PostgreSQL schema, or remove the entry",
            );
            ok = false;
        }
        None => {
            report.error(
                format!("{} has no `engine`", entry.label),
                0..0,
                "Quarry generates for PostgreSQL only: set `engine: postgresql`",
            );
            ok = false;
        }
    }
    for (key, paths) in [("queries", &entry.queries), ("schema", &entry.schema)] {
        if paths.is_empty() {
            report.error(
                format!("{} has no `{key}`", entry.label),
                0..0,
                "a path or a list of paths (files or directories), relative to the config",
            );
            ok = false;
        }
    }
    ok
}

/// The entry's output directory (see the module doc), noted when defaulted.
fn output_dir(entry: &Entry, i: usize, count: usize, base: &Path, report: &mut Report) -> PathBuf {
    if let Some(out) = &entry.out {
        return base.join(out);
    }
    let mut relative = PathBuf::from(crate::config::DEFAULT_OUT);
    if count > 1 {
        let name = match &entry.package {
            Some(package) => crate::ident::module_name(package),
            None => format!("sql_{i}"),
        };
        relative.push(name);
    }
    let go = match &entry.go_out {
        Some(go_out) => format!(" (the Go `out: {go_out}` is for sqlc's Go code)"),
        None => String::new(),
    };
    report.notes.push(format!(
        "{}: {} generates into `{}`{go}; add `codegen: [{{plugin: quarry, out: …}}]` to the entry to choose",
        report.file.display_path.display(),
        entry.label,
        relative.display()
    ));
    base.join(relative)
}

/// The entry's type options: sqlc dialect, renames, overrides.
fn type_config(entry: &Entry, global: &Global, report: &mut Report) -> TypeConfig {
    let mut renames = global.renames.clone();
    renames.extend(entry.renames.clone());
    let mut overrides = Overrides::default();
    for spec in &entry.overrides {
        overrides.add(spec, true, report);
    }
    for spec in &global.overrides {
        overrides.add(spec, false, report);
    }
    TypeConfig {
        by_type: overrides.by_type,
        by_column: overrides.by_column,
        dialect: Dialect::Sqlc,
        renames,
        ..TypeConfig::default()
    }
}

/// The overrides of one entry, with where each came from.
#[derive(Default)]
struct Overrides {
    by_type: BTreeMap<String, TypeOverride>,
    by_column: BTreeMap<String, TypeOverride>,
    /// Key (`type:…`/`column:…`) → whether the entry (not the top level) set it.
    from_entry: BTreeMap<String, bool>,
}

impl Overrides {
    fn add(&mut self, spec: &OverrideSpec, entry_level: bool, report: &mut Report) {
        let Some((target, rust)) = translate(spec, report) else {
            return;
        };
        let (map, key, tag) = match target {
            Target::Type(key) => (&mut self.by_type, key.clone(), format!("type:{key}")),
            Target::Column(key) => (&mut self.by_column, key.clone(), format!("column:{key}")),
        };
        let value = TypeOverride {
            rust_type: Some(rust.clone()),
            ..TypeOverride::default()
        };
        match map.get(&key) {
            None => {
                map.insert(key, value);
                self.from_entry.insert(tag, entry_level);
            }
            Some(existing) if *existing == value => {}
            // The entry's own override shadows the top-level one.
            Some(_) if self.from_entry.get(&tag) == Some(&true) && !entry_level => {}
            Some(existing) => {
                let kept = existing.rust_type.clone().unwrap_or_default();
                let span = override_span(spec, &report.file.text);
                report.warn(
                    format!(
                        "override of `{key}` as `{rust}` ignored: an earlier one maps it to `{kept}`"
                    ),
                    span,
                    "Quarry keeps one Rust type per database type or column; nullability stays inferred (`Option<T>`)",
                );
            }
        }
    }
}

/// Where an override applies.
enum Target {
    /// `types.by_type`, by normalized type name.
    Type(String),
    /// `types.by_column`, by `table.column` or `schema.table.column`.
    Column(String),
}

/// An override's target and Rust type; `None` (with a warning or a note
/// when the user should know) when it does not apply or changes nothing.
fn translate(spec: &OverrideSpec, report: &mut Report) -> Option<(Target, String)> {
    report.keys(&spec.other, "", &[], false);
    let span = override_span(spec, &report.file.text);
    if spec.unsigned
        || spec
            .engine
            .as_deref()
            .is_some_and(|e| !e.eq_ignore_ascii_case("postgresql"))
    {
        return None;
    }
    let target = match (&spec.db_type, &spec.column) {
        (Some(db_type), None) => Target::Type(normalize_db_type(db_type)),
        (None, Some(column)) if column.contains('*') => {
            report.warn(
                format!("override of column `{column}` ignored: patterns are not supported"),
                span,
                "name each column: `table.column` or `schema.table.column`",
            );
            return None;
        }
        (None, Some(column)) => Target::Column(column.trim().to_string()),
        _ => {
            report.error(
                "an override needs exactly one of `db_type` and `column`".to_string(),
                span,
                "`db_type: uuid` overrides a type, `column: authors.id` one column",
            );
            return None;
        }
    };
    let (what, _) = describe(spec, &target);
    if let Some(rust) = &spec.rust_type {
        if parse_rust_type(rust).is_none() {
            let span = find_text(&report.file.text, rust);
            report.error(
                format!("`rust_type: {rust}` of the override of {what} is not a Rust type"),
                span,
                "write a type path such as `my_app::Money` or `Vec<u8>`",
            );
            return None;
        }
        return Some((target, rust.clone()));
    }
    let Some(go_type) = &spec.go_type else {
        report.warn(
            format!("override of {what} without `go_type` or `rust_type` ignored"),
            span,
            "add `rust_type: \"my_app::Type\"` to choose the Rust type",
        );
        return None;
    };
    let go = GoRef::of(go_type);
    resolve_go(go, target, spec, report)
}

/// How messages name an override's target, and the target's key.
fn describe(spec: &OverrideSpec, target: &Target) -> (String, String) {
    match target {
        Target::Type(key) => (
            format!("db_type `{}`", spec.db_type.as_deref().unwrap_or(key)),
            key.clone(),
        ),
        Target::Column(key) => (format!("column `{key}`"), key.clone()),
    }
}

/// The Rust type for a Go type at `target`, checked against the type
/// Quarry itself gives a built-in `db_type`.
fn resolve_go(
    go: GoRef,
    target: Target,
    spec: &OverrideSpec,
    report: &mut Report,
) -> Option<(Target, String)> {
    let (what, key) = describe(spec, &target);
    let span = override_span(spec, &report.file.text);
    let shown = go.shown.clone();
    let Some(mapped) = go_to_rust(&go.full, go.slice) else {
        report.warn(
            format!("override of {what}: Go type `{shown}` has no Rust equivalent, ignored"),
            span,
            "add `rust_type: \"my_app::Type\"` to the override to choose a Rust type",
        );
        return None;
    };
    let own = match &target {
        Target::Type(_) => quarry_type(&key),
        Target::Column(_) => None,
    };
    let nullable = if spec.nullable { " (nullable)" } else { "" };
    let matched = format!("{what}{nullable} → {shown}");
    match (mapped, own) {
        (Mapped::DateTime, None | Some(Own::DateTime)) => {
            report.matched.insert(matched);
            None
        }
        (Mapped::Rust(rust), None) => Some((target, rust)),
        (Mapped::Rust(rust), Some(Own::Rust(own))) if rust == own => {
            report.matched.insert(matched);
            None
        }
        (Mapped::Rust(rust), Some(_)) if decodes(&key, &rust) => Some((target, rust)),
        (mapped, Some(own)) => {
            let own = match own {
                Own::Rust(own) => format!("`{own}`"),
                Own::DateTime => "the time crate's type".to_string(),
                Own::Other => "its own type".to_string(),
            };
            let rust = match mapped {
                Mapped::Rust(rust) => format!("`{rust}`"),
                Mapped::DateTime => "a date/time type".to_string(),
            };
            report.warn(
                format!("override of {what}: Go type `{shown}` ({rust} in Rust) cannot hold `{key}`, ignored; Quarry keeps {own}"),
                span,
                "add `rust_type: \"my_app::Type\"` to the override to choose a Rust type",
            );
            None
        }
    }
}

/// A Go type as written, taken apart.
struct GoRef {
    /// `import/path.Name` or a builtin (`string`, `[]byte`).
    full: String,
    /// `[]T`.
    slice: bool,
    /// As written, for messages.
    shown: String,
}

impl GoRef {
    fn of(go: &GoType) -> GoRef {
        match go {
            GoType::Name(name) => {
                let mut rest = name.trim();
                // `pointer` changes nothing: nullability stays inferred.
                rest = rest.trim_start_matches('*');
                let slice = rest.starts_with("[]") && !matches!(rest, "[]byte" | "[]uint8");
                if slice {
                    rest = rest.trim_start_matches("[]").trim_start_matches('*');
                }
                GoRef {
                    full: rest.to_string(),
                    slice,
                    shown: name.trim().to_string(),
                }
            }
            GoType::Spec(spec) => {
                let name = spec.name.clone().unwrap_or_default();
                let full = match &spec.import {
                    Some(import) if !import.is_empty() => format!("{import}.{name}"),
                    _ => name,
                };
                let shown = format!(
                    "{}{}{full}",
                    if spec.pointer { "*" } else { "" },
                    if spec.slice { "[]" } else { "" }
                );
                GoRef {
                    full,
                    slice: spec.slice,
                    shown,
                }
            }
        }
    }
}

/// A Go type's Rust equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// This Rust type path.
    Rust(String),
    /// A date/time value: Quarry's own type for the column's date/time type
    /// (which depends on the type and the time crate) is kept.
    DateTime,
}

/// The Rust equivalent of the Go type `full` (`import/path.Name` or a
/// builtin such as `string`; `[]T` when `slice`), if it has one:
///
/// | Go | Rust |
/// | --- | --- |
/// | `string`, `sql.NullString`, `pgtype.Text` | `String` |
/// | `int8`/`int16`/`int32`/`int64` (`int`), `sql.NullInt16/32/64`, `pgtype.Int2/4/8` | `i8`/`i16`/`i32`/`i64` |
/// | `uint32` | `u32` |
/// | `float32`/`float64`, `sql.NullFloat64`, `pgtype.Float4/8` | `f32`/`f64` |
/// | `bool`, `sql.NullBool`, `pgtype.Bool` | `bool` |
/// | `[]byte` | `Vec<u8>` |
/// | `time.Time`, `sql.NullTime`, `pgtype.Date/Time/Timestamp/Timestamptz` | date/time: Quarry's own type |
/// | `github.com/google/uuid.UUID`, `github.com/gofrs/uuid.UUID` (and `NullUUID`), `pgtype.UUID` | `quarry::uuid::Uuid` |
/// | `encoding/json.RawMessage`, `pqtype.NullRawMessage`, `pgtype.JSON(B)` | `quarry::serde_json::Value` |
/// | `github.com/shopspring/decimal.Decimal` (and `NullDecimal`), `pgtype.Numeric` | `quarry::rust_decimal::Decimal` |
/// | `net/netip.Addr`, `net.IP` | `std::net::IpAddr` |
pub fn go_to_rust(full: &str, slice: bool) -> Option<Mapped> {
    let full = full.trim();
    let full = full
        .strip_prefix("database/")
        .unwrap_or(full)
        .trim_start_matches("github.com/jackc/pgx/v5/")
        .trim_start_matches("github.com/jackc/pgx/v4/")
        .trim_start_matches("github.com/jackc/");
    let rust = match full {
        "string" | "sql.NullString" | "pgtype.Text" | "pgtype.Varchar" | "pgtype.BPChar" => {
            "String"
        }
        "int8" => "i8",
        "int16" | "sql.NullInt16" | "pgtype.Int2" => "i16",
        "int32" | "sql.NullInt32" | "pgtype.Int4" => "i32",
        "int64" | "int" | "sql.NullInt64" | "pgtype.Int8" => "i64",
        "uint32" | "pgtype.OID" => "u32",
        "float32" | "pgtype.Float4" => "f32",
        "float64" | "sql.NullFloat64" | "pgtype.Float8" => "f64",
        "bool" | "sql.NullBool" | "pgtype.Bool" => "bool",
        "[]byte" | "[]uint8" | "pgtype.Bytea" => "Vec<u8>",
        "time.Time" | "sql.NullTime" | "pgtype.Date" | "pgtype.Time" | "pgtype.Timestamp"
        | "pgtype.Timestamptz" => {
            return (!slice).then_some(Mapped::DateTime);
        }
        "github.com/google/uuid.UUID"
        | "github.com/google/uuid.NullUUID"
        | "github.com/gofrs/uuid.UUID"
        | "github.com/gofrs/uuid.NullUUID"
        | "pgtype.UUID" => "quarry::uuid::Uuid",
        "encoding/json.RawMessage"
        | "json.RawMessage"
        | "github.com/sqlc-dev/pqtype.NullRawMessage"
        | "github.com/tabbed/pqtype.NullRawMessage"
        | "pgtype.JSON"
        | "pgtype.JSONB" => "quarry::serde_json::Value",
        "github.com/shopspring/decimal.Decimal"
        | "github.com/shopspring/decimal.NullDecimal"
        | "pgtype.Numeric" => "quarry::rust_decimal::Decimal",
        "net/netip.Addr" | "net.IP" => "std::net::IpAddr",
        _ => return None,
    };
    Some(Mapped::Rust(if slice {
        format!("Vec<{rust}>")
    } else {
        rust.to_string()
    }))
}

/// The type Quarry gives a PostgreSQL catalog type (normalized name).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Own {
    Rust(String),
    /// `date`, `time`, `timestamp`, `timestamptz`: the time crate's.
    DateTime,
    /// A catalog type no Go type above maps to (`money`, `interval`, `tid`…).
    Other,
}

/// Quarry's own type for a catalog type; `None` for other types (user
/// types, extension types such as `citext`), which any override may map.
fn quarry_type(db_type: &str) -> Option<Own> {
    if let Some(element) = db_type.strip_prefix('_') {
        return Some(match quarry_type(element)? {
            Own::Rust(rust) => Own::Rust(format!("Vec<{rust}>")),
            _ => Own::Other,
        });
    }
    let rust = match db_type {
        "bool" => "bool",
        "char" => "i8",
        "int2" => "i16",
        "int4" => "i32",
        "int8" => "i64",
        "float4" => "f32",
        "float8" => "f64",
        "oid" => "u32",
        "numeric" => "quarry::rust_decimal::Decimal",
        "text" | "varchar" | "bpchar" | "name" => "String",
        "bytea" => "Vec<u8>",
        "uuid" => "quarry::uuid::Uuid",
        "json" | "jsonb" => "quarry::serde_json::Value",
        "date" | "time" | "timestamp" | "timestamptz" => return Some(Own::DateTime),
        other if OTHER_CATALOG_TYPES.contains(&other) || other.starts_with("reg") => {
            return Some(Own::Other)
        }
        _ => return None,
    };
    Some(Own::Rust(rust.to_string()))
}

/// Catalog types with Quarry types of their own that no Go type maps to.
const OTHER_CATALOG_TYPES: [&str; 34] = [
    "money",
    "xml",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "bit",
    "varbit",
    "tsvector",
    "tsquery",
    "timetz",
    "interval",
    "cid",
    "tid",
    "xid",
    "xid8",
    "pg_lsn",
    "oidvector",
    "int2vector",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "txid_snapshot",
    "pg_snapshot",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
];

/// Whether a catalog type also decodes into `rust` (besides Quarry's own type).
fn decodes(db_type: &str, rust: &str) -> bool {
    matches!(
        (db_type, rust),
        ("inet", "std::net::IpAddr") | ("_inet", "Vec<std::net::IpAddr>")
    )
}

/// A `db_type` as sqlc users write it → PostgreSQL's type name: without
/// `pg_catalog.`, SQL spellings (`integer`, `character varying`,
/// `timestamp with time zone`, `serial`) to catalog names, `text[]` → `_text`.
pub fn normalize_db_type(db_type: &str) -> String {
    let trimmed = db_type.trim();
    let name = trimmed.strip_prefix("pg_catalog.").unwrap_or(trimmed);
    if let Some(element) = name.strip_suffix("[]") {
        return format!("_{}", normalize_db_type(element));
    }
    let lower = name.to_ascii_lowercase();
    let canonical = match lower.as_str() {
        "integer" | "int" | "serial" | "serial4" => "int4",
        "bigint" | "bigserial" | "serial8" => "int8",
        "smallint" | "smallserial" | "serial2" => "int2",
        "boolean" => "bool",
        "real" => "float4",
        "double precision" => "float8",
        "decimal" => "numeric",
        "character varying" => "varchar",
        "character" | "char" => "bpchar",
        "\"char\"" => "char",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        "time without time zone" => "time",
        "time with time zone" => "timetz",
        "bit varying" => "varbit",
        _ if quarry_type(&lower).is_some() => lower.as_str(),
        // User types keep their case (quoted names are case-sensitive).
        _ => name,
    };
    canonical.to_string()
}

/// Where an override is written: its `db_type` or `column` value.
fn override_span(spec: &OverrideSpec, text: &str) -> Range<usize> {
    match (&spec.db_type, &spec.column) {
        (Some(value), _) => find_key(text, "db_type", Some(value), 0),
        (None, Some(value)) => find_key(text, "column", Some(value), 0),
        (None, None) => 0..0,
    }
}

/// The byte range of the first occurrence of `needle` (empty at 0 if none).
fn find_text(text: &str, needle: &str) -> Range<usize> {
    match text.find(needle) {
        Some(at) if !needle.is_empty() => at..at + needle.len(),
        _ => 0..0,
    }
}

/// The byte range of the `nth` line holding key `key` (YAML `key: v`, `- key: v`
/// or JSON `"key": v`) whose value is `value` (any value when `None`).
fn find_key(text: &str, key: &str, value: Option<&str>, nth: usize) -> Range<usize> {
    let mut offset = 0;
    let mut found = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        let lead = line.len() - trimmed.len();
        let unquoted = trimmed.strip_prefix('"').unwrap_or(trimmed);
        let Some(rest) = unquoted.strip_prefix(key) else {
            continue;
        };
        let rest = rest.strip_prefix('"').unwrap_or(rest).trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let written = rest
            .trim()
            .trim_end_matches(',')
            .trim()
            .trim_matches(['"', '\'']);
        if value.is_some_and(|value| value.trim() != written) {
            continue;
        }
        if found == nth {
            let key_start = start + lead;
            return key_start..start + line.trim_end().len();
        }
        found += 1;
    }
    0..0
}

#[cfg(test)]
mod tests;
