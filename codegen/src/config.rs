//! Configuration: the `quarry.toml` file and what it can change.
//!
//! Owns reading and validating the configuration file — where queries, schema
//! and output live, which time crate to use, type overrides (by PostgreSQL
//! type name, by `schema.table.column`, by `Query.column`, by
//! `Query.parameter`), serde-typed json columns, element nullability of
//! arrays, extra derives, domain newtypes, whether generated SQL names its
//! query in a leading comment (`attribution`), and whether generated queries
//! run pooler-safe on every executor (`pooler`). Unknown keys and bad values
//! are diagnostics pointing at their line. No IO beyond reading the one file.
//!
//! ```toml
//! queries = "queries"
//! schema = ["queries/schema"]
//! out = "src/db"                 # or "$OUT_DIR/db" from a build script
//! time_crate = "chrono"          # or "time", "jiff"
//! database_url_env = "DATABASE_URL"  # a live server instead of an ephemeral one
//! runtime = "quarry"             # path of the runtime crate in generated code
//! runtime_features = ["with-cidr"]   # quarry features the crate enables
//! runtime_default_features = true    # `false` with `default-features = false`
//! attribution = true             # `/* quarry:ListPosts */ SELECT …` at the server
//! pooler = "session"             # or "transaction": behind PgBouncer in transaction mode
//!
//! [naming]
//! row_suffix = "Row"
//!
//! [types]                        # by PostgreSQL type name
//! tsvector = "my_app::Search"
//!
//! [columns]                      # by schema.table.column, table.column or Query.column
//! "posts.metadata" = { type = "my_app::PostMeta", json = true }
//! "ListPosts.tags" = { nullable_elements = true }
//!
//! [params]                       # by Query.parameter
//! "CreatePost.metadata" = { type = "my_app::PostMeta", json = true }
//!
//! [derives]
//! rows = ["serde::Serialize"]
//! enums = ["serde::Serialize", "serde::Deserialize"]
//! composites = ["serde::Serialize"]
//!
//! [domains]
//! newtypes = true
//!
//! [lints]                        # lint levels (docs/lints.md)
//! select_star = "deny"           # or "allow", "warn"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use proc_macro2::TokenStream;
use quote::quote;
use serde::Deserialize;

use crate::diagnostic::{display_path, Diagnostic, Diagnostics, SourceFile};
pub use crate::lint_level::{Level, LintLevels};
use crate::Error;

/// Which crate date and time types come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeCrate {
    /// `chrono` 0.4 (the default).
    #[default]
    Chrono,
    /// `time` 0.3 (runtime feature `with-time`).
    Time,
    /// `jiff` 0.2 (runtime feature `with-jiff`).
    Jiff,
}

/// Which kind of connection pooler the generated code runs behind (`pooler`
/// in `quarry.toml`, [`Builder::pooler`](crate::Builder::pooler)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooler {
    /// A direct connection or a pooler in session mode (the default): each
    /// statement is prepared once per connection and cached, unless the
    /// executor is set to run pooler-safe at run time.
    #[default]
    Session,
    /// A pooler in transaction mode (PgBouncer `pool_mode = transaction`):
    /// every generated query is marked `.pooler_safe()` and runs as an
    /// unnamed statement with its declared parameter types on every executor.
    Transaction,
}

/// Whose conventions the query files follow: Quarry's own (`quarry.toml`),
/// or sqlc's (the configuration came from `sqlc.yaml`/`sqlc.json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    /// Quarry's: every statement in a query file belongs to a named query;
    /// SQL without a header is an error.
    #[default]
    Quarry,
    /// sqlc's: a query is the one statement after its header, and statements
    /// without a header (a file that is also a schema file) are skipped.
    Sqlc,
}

/// An override of one type, column or parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TypeOverride {
    /// A Rust type path implementing `ToSql`/`FromSql` (or, with `json`,
    /// `Serialize`/`Deserialize`).
    pub rust_type: Option<String>,
    /// Store `rust_type` as json/jsonb through serde.
    pub json: bool,
    /// Array elements are `Option<T>`.
    pub nullable_elements: bool,
}

/// Parses a user-written Rust type path; the configuration accepts only the
/// paths this parses, and the type mapping spells them with it.
pub fn parse_rust_type(path: &str) -> Option<TokenStream> {
    syn::parse_str::<syn::Type>(path).ok().map(|ty| quote!(#ty))
}

/// Extra derives for generated types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Derives {
    /// On row structs.
    pub rows: Vec<String>,
    /// On enums.
    pub enums: Vec<String>,
    /// On composite structs and domain newtypes.
    pub composites: Vec<String>,
}

/// Everything besides the inputs that changes the code the generator
/// writes: the Rust types, the SQL's attribution comment, and whether the
/// queries are pooler-safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeConfig {
    /// Date/time crate.
    pub time_crate: TimeCrate,
    /// By PostgreSQL type name (`tsvector`, or `schema.name`).
    pub by_type: BTreeMap<String, TypeOverride>,
    /// By `schema.table.column`, `table.column` or `Query.column`.
    pub by_column: BTreeMap<String, TypeOverride>,
    /// By `Query.parameter`.
    pub by_param: BTreeMap<String, TypeOverride>,
    /// Extra derives.
    pub derives: Derives,
    /// Domains become newtypes instead of their base type.
    pub domain_newtypes: bool,
    /// Path of the runtime crate in generated code (default `quarry`).
    pub runtime: Option<String>,
    /// Suffix of row struct names (default `Row`: `ListPostsRow`).
    pub row_suffix: Option<String>,
    /// The cargo features of the runtime crate the user's crate enables.
    pub runtime_features: RuntimeFeatures,
    /// Every statement's SQL starts with a comment naming its query
    /// (`/* quarry:ListPosts */ SELECT …`), so the server's views
    /// (`pg_stat_activity`, `pg_stat_statements`, the statement log) tell
    /// which generated function sent it. On by default (`attribution`).
    pub attribution: bool,
    /// The pooler the code runs behind: with [`Pooler::Transaction`], every
    /// generated query is pooler-safe on every executor (`pooler`).
    pub pooler: Pooler,
    /// Lint levels from `[lints]`. They change whether generation succeeds,
    /// never the generated code, so the input hash leaves them out.
    pub lints: LintLevels,
    /// Whose conventions the query files follow (sqlc's when the
    /// configuration came from an sqlc config).
    pub dialect: Dialect,
    /// Field and struct names by column or table name (sqlc's `rename`):
    /// `spotify_url = "SpotifyURL"` names the field `spotify_url` after the
    /// value's snake case, a table's embedded struct after its camel case.
    pub renames: BTreeMap<String, String>,
}

impl Default for TypeConfig {
    fn default() -> Self {
        TypeConfig {
            time_crate: TimeCrate::default(),
            by_type: BTreeMap::new(),
            by_column: BTreeMap::new(),
            by_param: BTreeMap::new(),
            derives: Derives::default(),
            domain_newtypes: false,
            runtime: None,
            row_suffix: None,
            runtime_features: RuntimeFeatures::default(),
            attribution: true,
            pooler: Pooler::default(),
            lints: LintLevels::default(),
            dialect: Dialect::default(),
            renames: BTreeMap::new(),
        }
    }
}

/// Cargo features of the `quarry` crate: name and whether it is a default
/// feature. Each maps the PostgreSQL types listed in runtime/Cargo.toml.
pub const RUNTIME_FEATURES: [(&str, bool); 10] = [
    ("with-chrono", true),
    ("with-uuid", true),
    ("with-serde_json", true),
    ("with-rust_decimal", true),
    ("with-time", false),
    ("with-jiff", false),
    ("with-cidr", false),
    ("with-eui48", false),
    ("with-bit-vec", false),
    ("text-search", false),
];

/// The features of `quarry` the user's crate enables, as in its Cargo.toml
/// (`quarry = { version = "…", default-features = …, features = […] }`):
/// generation warns when a query needs one that is not enabled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuntimeFeatures {
    /// The default features are on (`runtime_default_features`, default `true`).
    pub default_features: bool,
    /// Features enabled on top (`runtime_features`).
    pub features: Vec<String>,
}

impl Default for RuntimeFeatures {
    fn default() -> Self {
        RuntimeFeatures {
            default_features: true,
            features: Vec::new(),
        }
    }
}

impl RuntimeFeatures {
    /// Whether `feature` is enabled (declared, or a default feature while those are on).
    pub fn enables(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
            || (self.default_features
                && RUNTIME_FEATURES
                    .iter()
                    .any(|&(name, default)| default && name == feature))
    }
}

impl TypeConfig {
    /// The row struct suffix in force.
    pub fn row_suffix(&self) -> &str {
        self.row_suffix.as_deref().unwrap_or("Row")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    queries: Option<String>,
    schema: Option<OneOrMany>,
    out: Option<String>,
    time_crate: Option<TimeCrate>,
    database_url_env: Option<String>,
    runtime: Option<String>,
    runtime_features: Option<Vec<String>>,
    runtime_default_features: Option<bool>,
    attribution: Option<bool>,
    pooler: Option<Pooler>,
    #[serde(default)]
    naming: NamingSpec,
    #[serde(default)]
    types: BTreeMap<String, OverrideSpec>,
    #[serde(default)]
    columns: BTreeMap<String, OverrideSpec>,
    #[serde(default)]
    params: BTreeMap<String, OverrideSpec>,
    #[serde(default)]
    derives: DerivesSpec,
    #[serde(default)]
    domains: DomainsSpec,
    #[serde(default)]
    lints: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OverrideSpec {
    Path(String),
    Detailed(DetailedOverride),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailedOverride {
    #[serde(rename = "type")]
    rust_type: Option<String>,
    #[serde(default)]
    json: bool,
    #[serde(default)]
    nullable_elements: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DerivesSpec {
    #[serde(default)]
    rows: Vec<String>,
    #[serde(default)]
    enums: Vec<String>,
    #[serde(default)]
    composites: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamingSpec {
    row_suffix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainsSpec {
    #[serde(default)]
    newtypes: bool,
}

/// A configuration file, read: paths resolved against its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// `queries`, if set.
    pub queries: Option<PathBuf>,
    /// `schema`, if set.
    pub schema: Option<Vec<PathBuf>>,
    /// `out`, if set (`$OUT_DIR` expanded).
    pub out: Option<PathBuf>,
    /// The environment variable holding a live server's URL, if set.
    pub database_url_env: Option<String>,
    /// Type configuration.
    pub types: TypeConfig,
}

impl FileConfig {
    /// The live server URL from `database_url_env`, when that variable is set and non-empty.
    pub fn database_url(&self) -> Option<String> {
        let name = self.database_url_env.as_deref()?;
        std::env::var(name)
            .ok()
            .filter(|url| !url.trim().is_empty())
    }
}

/// A configuration file's text, and the directory its relative paths are
/// relative to.
pub(crate) fn read_source(path: &Path) -> Result<(Arc<SourceFile>, PathBuf), Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = SourceFile::new(display_path(path), text);
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((file, base))
}

/// Reads and validates `quarry.toml` at `path`.
pub fn read_config_file(path: &Path) -> Result<FileConfig, Error> {
    let (file, base) = read_source(path)?;
    let config = parse_config(&file, &base)?;
    // Paths that must exist, reported at the key that names them.
    let mut errors = Vec::new();
    let mut check = |key: &str, path: &Path| {
        if !path.exists() {
            let span = key_value_span(&file.text, key);
            errors.push(
                Diagnostic::error_at(
                    format!("`{key}`: `{}` does not exist", display_path(path).display()),
                    &file,
                    span,
                )
                .with_help("paths in quarry.toml are relative to the file's directory"),
            );
        }
    };
    if let Some(queries) = &config.queries {
        check("queries", queries);
    }
    for schema in config.schema.iter().flatten() {
        check("schema", schema);
    }
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(Error::Diagnostics(Diagnostics(errors)))
    }
}

/// The byte range of the value of top-level `key = …` in TOML text.
fn key_value_span(text: &str, key: &str) -> std::ops::Range<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key) {
            if rest.trim_start().starts_with('=') {
                let value_at = line.find('=').map_or(0, |i| i + 1);
                let value = &line[value_at..];
                let lead = value.len() - value.trim_start().len();
                let start = offset + value_at + lead;
                return start..offset + line.trim_end().len();
            }
        }
        offset += line.len();
    }
    0..0
}

/// Parses configuration text; `base` is the directory relative paths are resolved against.
pub fn parse_config(file: &std::sync::Arc<SourceFile>, base: &Path) -> Result<FileConfig, Error> {
    let parsed: File = toml::from_str(&file.text).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        let message = error.message().to_string();
        Error::Diagnostics(Diagnostics(vec![Diagnostic::error_at(
            format!("invalid configuration: {message}"),
            file,
            span,
        )
        .with_help("see docs/config.md for every key")]))
    })?;
    let mut errors = Vec::new();
    let types = TypeConfig {
        time_crate: parsed.time_crate.unwrap_or_default(),
        by_type: read_overrides(parsed.types, "types", file, &mut errors),
        by_column: read_overrides(parsed.columns, "columns", file, &mut errors),
        by_param: read_overrides(parsed.params, "params", file, &mut errors),
        derives: Derives {
            rows: parsed.derives.rows,
            enums: parsed.derives.enums,
            composites: parsed.derives.composites,
        },
        domain_newtypes: parsed.domains.newtypes,
        runtime: parsed.runtime,
        row_suffix: parsed.naming.row_suffix,
        runtime_features: RuntimeFeatures {
            default_features: parsed.runtime_default_features.unwrap_or(true),
            features: parsed.runtime_features.unwrap_or_default(),
        },
        attribution: parsed.attribution.unwrap_or(true),
        pooler: parsed.pooler.unwrap_or_default(),
        lints: read_lint_levels(parsed.lints, file, &mut errors),
        dialect: Dialect::Quarry,
        renames: BTreeMap::new(),
    };
    check_type_config(&types, file, &mut errors);
    if !errors.is_empty() {
        return Err(Error::Diagnostics(Diagnostics(errors)));
    }
    Ok(FileConfig {
        queries: parsed.queries.map(|p| base.join(p)),
        schema: parsed.schema.map(|s| match s {
            OneOrMany::One(one) => vec![base.join(one)],
            OneOrMany::Many(many) => many.into_iter().map(|p| base.join(p)).collect(),
        }),
        out: parsed.out.map(|p| base.join(expand_out_dir(&p))),
        database_url_env: parsed.database_url_env,
        types,
    })
}

/// One of `[types]`, `[columns]`, `[params]`: each type must parse as a
/// Rust type, and `json = true` needs one.
fn read_overrides(
    table: BTreeMap<String, OverrideSpec>,
    section: &str,
    file: &std::sync::Arc<SourceFile>,
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, TypeOverride> {
    table
        .into_iter()
        .map(|(key, spec)| {
            let value = match spec {
                OverrideSpec::Path(path) => TypeOverride {
                    rust_type: Some(path),
                    json: false,
                    nullable_elements: false,
                },
                OverrideSpec::Detailed(d) => TypeOverride {
                    rust_type: d.rust_type,
                    json: d.json,
                    nullable_elements: d.nullable_elements,
                },
            };
            if let Some(path) = &value.rust_type {
                if parse_rust_type(path).is_none() {
                    let at = file.text.find(path.as_str()).unwrap_or(0);
                    errors.push(
                        Diagnostic::error_at(
                            format!("`{path}` in [{section}] is not a Rust type"),
                            file,
                            at..at + path.len(),
                        )
                        .with_help("write a type path such as `my_app::Money` or `Vec<u8>`"),
                    );
                }
            }
            if value.json && value.rust_type.is_none() {
                let at = file.text.find(key.as_str()).unwrap_or(0);
                errors.push(Diagnostic::error_at(
                    format!("`json = true` for `{key}` needs a `type`"),
                    file,
                    at..at + key.len(),
                ));
            }
            (key, value)
        })
        .collect()
}

/// `[lints]`: every key a lint, every value `allow`, `warn` or `deny`;
/// errors at the key's line.
fn read_lint_levels(
    table: BTreeMap<String, String>,
    file: &std::sync::Arc<SourceFile>,
    errors: &mut Vec<Diagnostic>,
) -> LintLevels {
    let section = file.text.find("[lints]").unwrap_or(0);
    let mut levels = BTreeMap::new();
    for (name, level) in table {
        let span = lint_key_span(&file.text, section, &name);
        if !crate::lint_level::NAMES.contains(&name.as_str()) {
            errors.push(
                Diagnostic::error_at(format!("unknown lint `{name}` in [lints]"), file, span)
                    .with_help(format!(
                        "the lints are: {}",
                        crate::lint_level::NAMES.join(", ")
                    )),
            );
            continue;
        }
        match Level::parse(&level) {
            Some(level) => {
                levels.insert(name, level);
            }
            None => errors.push(
                Diagnostic::error_at(
                    format!(
                        "`{name} = \"{level}\"`: a lint level is \"allow\", \"warn\" or \"deny\""
                    ),
                    file,
                    span,
                )
                .with_help("see docs/lints.md"),
            ),
        }
    }
    LintLevels(levels)
}

/// The span of `name = …` at the start of a line after byte `from`.
fn lint_key_span(text: &str, from: usize, name: &str) -> std::ops::Range<usize> {
    let mut offset = from;
    for line in text[from.min(text.len())..].split_inclusive('\n') {
        let trimmed = line.trim_start();
        let key = trimmed.trim_start_matches('"');
        if key.starts_with(name)
            && key[name.len()..]
                .trim_start_matches('"')
                .trim_start()
                .starts_with('=')
        {
            let start = offset + (line.len() - trimmed.len());
            return start..offset + line.trim_end().len();
        }
        offset += line.len();
    }
    from..from
}

/// The runtime features exist, and the runtime path, row suffix and derives
/// are what generated Rust can use.
fn check_type_config(
    types: &TypeConfig,
    file: &std::sync::Arc<SourceFile>,
    errors: &mut Vec<Diagnostic>,
) {
    for feature in &types.runtime_features.features {
        if !RUNTIME_FEATURES.iter().any(|&(name, _)| name == feature) {
            let quoted = format!("\"{feature}\"");
            let at = file.text.find(quoted.as_str()).unwrap_or(0);
            let known: Vec<&str> = RUNTIME_FEATURES.iter().map(|&(name, _)| name).collect();
            errors.push(
                Diagnostic::error_at(
                    format!("`{feature}` in `runtime_features` is not a feature of quarry"),
                    file,
                    at..at + quoted.len(),
                )
                .with_help(format!("the features are: {}", known.join(", "))),
            );
        }
    }
    if let Some(runtime) = &types.runtime {
        if syn::parse_str::<syn::Path>(runtime).is_err() {
            let at = file.text.find(runtime.as_str()).unwrap_or(0);
            errors.push(Diagnostic::error_at(
                format!("`runtime = \"{runtime}\"` is not a Rust path"),
                file,
                at..at + runtime.len(),
            ));
        }
    }
    if let Some(suffix) = &types.row_suffix {
        if !suffix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            let at = file.text.find(suffix.as_str()).unwrap_or(0);
            errors.push(Diagnostic::error_at(
                format!("`row_suffix = \"{suffix}\"` must be letters and digits"),
                file,
                at..at + suffix.len(),
            ));
        }
    }
    for path in types
        .derives
        .rows
        .iter()
        .chain(&types.derives.enums)
        .chain(&types.derives.composites)
    {
        if syn::parse_str::<syn::Path>(path).is_err() {
            let at = file.text.find(path.as_str()).unwrap_or(0);
            errors.push(Diagnostic::error_at(
                format!("`{path}` in [derives] is not a derive path"),
                file,
                at..at + path.len(),
            ));
        }
    }
}

/// `$OUT_DIR/…` → the build script's `OUT_DIR` (left as is outside build scripts).
fn expand_out_dir(path: &str) -> PathBuf {
    match (path.strip_prefix("$OUT_DIR"), std::env::var_os("OUT_DIR")) {
        (Some(rest), Some(out_dir)) => {
            PathBuf::from(out_dir).join(rest.trim_start_matches(['/', '\\']))
        }
        _ => PathBuf::from(path),
    }
}

/// The query directory when none is configured, relative to the project root.
pub const DEFAULT_QUERIES: &str = "queries";

/// The schema directories tried when none is configured, relative to the
/// project root: the first that exists is used (`schema/` when neither does).
pub const DEFAULT_SCHEMA: [&str; 2] = ["schema", "migrations"];

/// The output directory when none is configured, relative to the project root.
pub const DEFAULT_OUT: &str = "src/db";

/// The default schema directory of the project at `root`: `schema/`, else
/// `migrations/` if only that exists.
pub fn default_schema(root: &Path) -> PathBuf {
    DEFAULT_SCHEMA
        .iter()
        .map(|dir| root.join(dir))
        .find(|dir| dir.exists())
        .unwrap_or_else(|| root.join(DEFAULT_SCHEMA[0]))
}

/// Finds `quarry.toml` in `start` or its ancestors.
pub fn find_config_file(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join("quarry.toml"))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, String> {
        let file = SourceFile::new("quarry.toml", text);
        parse_config(&file, Path::new("/app")).map_err(|error| match error {
            Error::Diagnostics(d) => {
                d.0.iter()
                    .map(|d| format!("{}: {}", d.position().unwrap_or_default(), d.message))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            other => other.to_string(),
        })
    }

    #[test]
    fn reads_every_section() {
        let config = parse(
            "queries = \"q\"\nschema = [\"s1\", \"s2\"]\ntime_crate = \"jiff\"\n[types]\ntsvector = \"my::Tsv\"\n[columns]\n\"posts.metadata\" = { type = \"my::Meta\", json = true }\n\"Q.tags\" = { nullable_elements = true }\n[derives]\nrows = [\"serde::Serialize\"]\n[domains]\nnewtypes = true\n",
        );
        let config = config.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.queries, Some(PathBuf::from("/app/q")));
        assert_eq!(
            config.schema,
            Some(vec![PathBuf::from("/app/s1"), PathBuf::from("/app/s2")])
        );
        assert_eq!(config.types.time_crate, TimeCrate::Jiff);
        assert_eq!(
            config.types.by_type["tsvector"].rust_type.as_deref(),
            Some("my::Tsv")
        );
        assert!(config.types.by_column["posts.metadata"].json);
        assert!(config.types.by_column["Q.tags"].nullable_elements);
        assert_eq!(config.types.derives.rows, vec!["serde::Serialize"]);
        assert!(config.types.domain_newtypes);
    }

    #[test]
    fn runtime_features() {
        let config = parse("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.types.runtime_features, RuntimeFeatures::default());
        assert!(config.types.runtime_features.enables("with-uuid"));
        let config =
            parse("runtime_features = [\"with-cidr\"]\nruntime_default_features = false\n")
                .unwrap_or_else(|e| panic!("{e}"));
        let features = &config.types.runtime_features;
        assert!(features.enables("with-cidr") && !features.enables("with-uuid"));
        assert_eq!(
            parse("runtime_features = [\"with-cidr\", \"with-inet\"]\n")
                .err()
                .as_deref(),
            Some("quarry.toml:1:34: `with-inet` in `runtime_features` is not a feature of quarry")
        );
    }

    #[test]
    fn attribution_is_on_unless_switched_off() {
        let config = parse("").unwrap_or_else(|e| panic!("{e}"));
        assert!(config.types.attribution);
        assert_eq!(config.types, TypeConfig::default());
        let config = parse("attribution = true\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(config.types.attribution);
        let config = parse("attribution = false\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(!config.types.attribution);
        // A value of another type is an error at the value.
        assert_eq!(
            parse("queries = \"q\"\nattribution = \"off\"\n")
                .err()
                .as_deref()
                .map(|e| e.split(", expected").next().unwrap_or(e)),
            Some("quarry.toml:2:15: invalid configuration: invalid type: string \"off\"")
        );
        // In a section it is an unknown key.
        assert!(parse("[naming]\nattribution = false\n")
            .err()
            .is_some_and(|e| e.starts_with("quarry.toml:2:1:")));
    }

    #[test]
    fn pooler_is_session_unless_set_to_transaction() {
        let config = parse("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.types.pooler, Pooler::Session);
        let config = parse("pooler = \"session\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.types.pooler, Pooler::Session);
        let config = parse("pooler = \"transaction\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.types.pooler, Pooler::Transaction);
        assert_ne!(config.types, TypeConfig::default());
        // Another value is an error at the value.
        assert_eq!(
            parse("queries = \"q\"\npooler = \"statement\"\n")
                .err()
                .as_deref()
                .map(|e| e.split(", expected").next().unwrap_or(e)),
            Some("quarry.toml:2:10: invalid configuration: unknown variant `statement`")
        );
        // In a section it is an unknown key.
        assert!(parse("[naming]\npooler = \"transaction\"\n")
            .err()
            .is_some_and(|e| e.starts_with("quarry.toml:2:1:")));
    }

    #[test]
    fn errors_point_at_their_line() {
        assert_eq!(
            parse("queries = \"q\"\nqueris = \"x\"\n")
                .err()
                .as_deref()
                .map(|e| e.split(", expected").next().unwrap_or(e)),
            Some("quarry.toml:2:1: invalid configuration: unknown field `queris`")
        );
        assert_eq!(
            parse("time_crate = \"chrono\"\n\ntime_crate2 = 1\n")
                .err()
                .map(|e| e.starts_with("quarry.toml:3:1:")),
            Some(true)
        );
        assert_eq!(
            parse("[types]\ntsvector = \"not a type!\"\n")
                .err()
                .as_deref(),
            Some("quarry.toml:2:13: `not a type!` in [types] is not a Rust type")
        );
        assert!(parse("time_crate = \"moment\"\n")
            .err()
            .is_some_and(|e| e.starts_with("quarry.toml:1:14:")));
    }
}

#[cfg(test)]
mod docs {
    /// Every key the parser accepts is documented in docs/config.md.
    #[test]
    fn every_key_is_documented() {
        let docs = include_str!("../../docs/config.md");
        let keys = [
            "queries",
            "schema",
            "out",
            "time_crate",
            "[types]",
            "[columns]",
            "[params]",
            "[derives]",
            "[domains]",
            "[naming]",
            "[lints]",
            "row_suffix",
            "runtime",
            "runtime_features",
            "runtime_default_features",
            "attribution",
            "pooler",
            "database_url_env",
            "type",
            "json",
            "nullable_elements",
            "rows",
            "enums",
            "composites",
            "newtypes",
        ];
        for key in keys {
            let documented =
                docs.contains(&format!("`{key}`")) || docs.contains(&format!("## `{key}`"));
            assert!(documented, "docs/config.md does not document `{key}`");
        }
        // The documented example (which uses every key) is accepted as written.
        let example = docs
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap_or_default();
        for key in keys.iter().filter(|k| !k.starts_with('[')) {
            assert!(
                example.contains(key),
                "the example in docs/config.md does not use `{key}`"
            );
        }
        let file = crate::diagnostic::SourceFile::new("config.md", example);
        if let Err(error) = super::parse_config(&file, std::path::Path::new(".")) {
            panic!("the example in docs/config.md does not parse: {error}");
        }
        // And the parser rejects what the docs do not list.
        let file = crate::diagnostic::SourceFile::new("quarry.toml", "[derives]\nrowz = []\n");
        assert!(super::parse_config(&file, std::path::Path::new(".")).is_err());
    }
}
