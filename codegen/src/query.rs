//! The query value every stage enriches.
//!
//! One query (written by the user, or a loader derived from foreign keys)
//! travels the pipeline as one value, one type per stage:
//!
//! ```text
//! QueryDef (lex) → Query (directives, parsed) → DescribedQuery (describe)
//!   → AnalysedQuery (lint, nullability, report) → ir::CheckedQuery (prefetch resolved)
//! ```
//!
//! Owns the stage functions that map a whole project from one type to the
//! next, and the checks that look across queries or files (duplicate query
//! names, files that become the same module). Every stage collects its
//! diagnostics; the caller decides where a run stops. Only
//! [`describe_all`] talks to PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sqlparser::ast::Statement;
use tokio_postgres::Client;

use crate::describe::{self, Described};
use crate::diagnostic::{Diagnostic, Location, SourceFile};
use crate::inputs::{Inputs, QueryFile};
use crate::ir::CheckedQuery;
use crate::lex::{self, QueryDef, QueryKind};
use crate::nullability::{self, ColumnNullability};
use crate::parse::{self, SyntaxError};
use crate::prefetch::{self, Directives};
use crate::schema::{self, Catalog};
use crate::typemap::TypeMapper;
use crate::{bulk, dynamic, lint, pg, Error};

/// A query as lexed, with its module.
#[derive(Debug, Clone)]
pub(crate) struct Lexed {
    /// Module (query file) it belongs to.
    pub module: String,
    /// The lexed query.
    pub def: QueryDef,
}

/// A query with everything known without a database: its directives and
/// its statement.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    /// Module (query file) it belongs to.
    pub module: String,
    /// The lexed query.
    pub def: QueryDef,
    /// Its `@key`/`@prefetch` directives (derived relations name their
    /// loader once it is derived).
    pub directives: Directives,
    /// The parsed statement, or why sqlparser could not parse it.
    pub statement: Result<Statement, SyntaxError>,
    /// Whether the key is hidden from the row struct (derived junction loaders).
    pub hidden_key: bool,
    /// What a `:copyfrom` query copies into ([`bulk::check_bulk`]).
    pub copy: Option<bulk::CopyTarget>,
}

/// A query and what PostgreSQL says it takes and returns.
#[derive(Debug, Clone)]
pub(crate) struct DescribedQuery {
    /// The query.
    pub query: Query,
    /// Parameter and column types.
    pub described: Described,
    /// A dynamic query's checked variants other than the full one
    /// (`dynamic::check`); empty for other queries.
    pub variants: Vec<dynamic::check::CheckedVariant>,
}

/// A query whose columns' nullability is decided.
#[derive(Debug, Clone)]
pub(crate) struct AnalysedQuery {
    /// The query.
    pub query: Query,
    /// Parameter and column types.
    pub described: Described,
    /// What inference concluded per column, before overrides.
    pub inferred: Vec<ColumnNullability>,
    /// Final nullability per column (inference, then overrides).
    pub nullable: Vec<bool>,
    /// The statement provably writes nothing ([`crate::readonly`]).
    pub read_only: bool,
    /// The result columns of each `sqlc.embed(t)` ([`crate::embed`]).
    pub embeds: Vec<crate::embed::EmbedRun>,
}

/// Lexes every query file: queries with their modules, in file order. A
/// query whose name was used before is reported and dropped (checking it
/// further would only repeat the news); files that become the same module
/// are reported.
pub(crate) fn lex_all(inputs: &Inputs, diagnostics: &mut Vec<Diagnostic>) -> Vec<Lexed> {
    let mut queries = Vec::new();
    for QueryFile { module, file, .. } in &inputs.query_files {
        let (defs, mut errors) = lex::lex_file_as(file, inputs.dialect);
        diagnostics.append(&mut errors);
        queries.extend(defs.into_iter().map(|def| Lexed {
            module: module.clone(),
            def,
        }));
    }
    let duplicates = check_duplicate_names(&queries, diagnostics);
    check_module_names(&inputs.query_files, diagnostics);
    queries
        .into_iter()
        .enumerate()
        .filter(|(index, _)| !duplicates.contains(index))
        .map(|(_, query)| query)
        .collect()
}

/// Reads every query's directives and parses its statement. A statement
/// sqlparser cannot parse is no error here: PostgreSQL may still accept it
/// (see [`analyse_all`]) — except for `:copyfrom`, whose table and columns
/// are read from it. Checks the shape of the bulk kinds ([`bulk`]).
pub(crate) fn parse_all(queries: Vec<Lexed>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Query> {
    queries
        .into_iter()
        .map(|Lexed { module, def }| {
            let (directives, mut errors) = prefetch::parse_directives(&def);
            diagnostics.append(&mut errors);
            let mut query = Query::new(module, def, directives, false);
            diagnostics.extend(crate::embed::check(&query.def, query.statement.as_ref()));
            match bulk::check_bulk(&query.def, query.statement.as_ref()) {
                Ok(copy) => query.copy = copy,
                Err(mut errors) => diagnostics.append(&mut errors),
            }
            query
        })
        .collect()
}

impl Query {
    fn new(module: String, def: QueryDef, directives: Directives, hidden_key: bool) -> Self {
        Self {
            statement: parse::parse_query(&def),
            module,
            def,
            directives,
            hidden_key,
            copy: None,
        }
    }

    /// A loader derived from foreign keys, as a query like any other.
    fn derived(loader: prefetch::DerivedLoader) -> Self {
        let (directives, _) = prefetch::parse_directives(&loader.def);
        Self::new(loader.module, loader.def, directives, loader.hidden_key)
    }
}

/// What the database stages found: the schema's catalog and every query
/// (the user's, then derived loaders) described or why it could not be.
pub(crate) struct DescribedProject {
    /// The applied schema, introspected.
    pub catalog: Catalog,
    /// One entry per query, user queries first.
    pub queries: Vec<Result<DescribedQuery, Diagnostic>>,
}

/// The database stages, on a scratch database dropped afterwards: applies
/// the schema, describes every query, derives the loaders `@prefetch` asks
/// for from the schema's foreign keys and describes them too, and prepares
/// the SQL generated functions will send where it differs from what was
/// described.
pub(crate) async fn describe_all(
    server: &pg::Server,
    schema_files: &[schema::SchemaFile],
    dialect: crate::config::Dialect,
    queries: Vec<Query>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<DescribedProject, Error> {
    let database = server.create_database("quarry_gen").await?;
    let schema = (schema_files, dialect);
    let result = describe_in(server, &database, schema, queries, diagnostics).await;
    let dropped = server.drop_database(&database).await;
    let project = result?;
    dropped?;
    Ok(project)
}

async fn describe_in(
    server: &pg::Server,
    database: &str,
    (schema_files, dialect): (&[schema::SchemaFile], crate::config::Dialect),
    queries: Vec<Query>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<DescribedProject, Error> {
    let client = server.connect(Some(database)).await?;
    schema::apply_schema(&client, schema_files, dialect).await?;
    let catalog = schema::introspect(&client).await?;
    let taken: BTreeSet<String> = queries.iter().map(|q| q.def.name.clone()).collect();
    let mut described = describe_queries(&client, queries).await;
    describe_variants(&client, &mut described, diagnostics).await;
    let parents = described
        .iter_mut()
        .filter_map(|query| query.as_mut().ok())
        .map(|query| prefetch::Parent {
            module: &query.query.module,
            def: &query.query.def,
            described: &query.described,
            directives: &mut query.query.directives,
        })
        .collect();
    let (loaders, mut errors) = prefetch::derive_loaders(parents, &catalog, &taken);
    diagnostics.append(&mut errors);
    let loaders = loaders.into_iter().map(Query::derived).collect();
    described.extend(describe_queries(&client, loaders).await);
    let sent = described
        .iter()
        .filter_map(|query| query.as_ref().ok())
        .map(|query| {
            (
                &query.query.def,
                &query.described,
                query.query.copy.as_ref(),
            )
        });
    diagnostics.extend(check_final_sql(&client, sent).await);
    Ok(DescribedProject {
        catalog,
        queries: described,
    })
}

/// Describes `queries` on one connection, pipelined, in order.
async fn describe_queries(
    client: &Client,
    queries: Vec<Query>,
) -> Vec<Result<DescribedQuery, Diagnostic>> {
    let defs: Vec<&QueryDef> = queries.iter().map(|query| &query.def).collect();
    let described = describe::describe_statements(client, &defs).await;
    let mut out = Vec::with_capacity(queries.len());
    for (query, described) in queries.into_iter().zip(described) {
        out.push(described.map(|described| DescribedQuery {
            query,
            described,
            variants: Vec::new(),
        }));
    }
    out
}

/// Prepares every checked variant of the dynamic queries among `described`
/// (pipelined, [`dynamic::check`]); a query with a variant that fails
/// becomes that error (the others are reported too).
async fn describe_variants(
    client: &Client,
    described: &mut [Result<DescribedQuery, Diagnostic>],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let dynamic: Vec<&mut Result<DescribedQuery, Diagnostic>> = described
        .iter_mut()
        .filter(|q| q.as_ref().is_ok_and(|q| q.query.def.dynamic.is_some()))
        .collect();
    let fulls: Vec<(&QueryDef, &Described)> = dynamic
        .iter()
        .filter_map(|q| q.as_ref().ok())
        .map(|q| (&q.query.def, &q.described))
        .collect();
    let results = dynamic::check::describe_variants(client, &fulls).await;
    for (query, result) in dynamic.into_iter().zip(results) {
        match (result, query.as_mut()) {
            (Ok(variants), Ok(described)) => described.variants = variants,
            (Err(errors), _) => {
                let mut errors = errors.into_iter();
                if let Some(first) = errors.next() {
                    *query = Err(first);
                }
                diagnostics.extend(errors);
            }
            (Ok(_), Err(_)) => {}
        }
    }
}

/// Prepares the SQL the generated functions send wherever it differs from
/// the text described (domain parameter casts, [`crate::ir::final_sql`];
/// the canonical INSERT of a `:copyfrom` query, [`crate::ir::copy_insert_sql`]),
/// so what is embedded in generated code has been checked by PostgreSQL too.
async fn check_final_sql<'q>(
    client: &Client,
    queries: impl Iterator<Item = (&'q QueryDef, &'q Described, Option<&'q bulk::CopyTarget>)>,
) -> Vec<Diagnostic> {
    type Sent<'q> = (
        &'q QueryDef,
        &'q Described,
        Option<&'q bulk::CopyTarget>,
        QueryDef,
    );
    let changed: Vec<Sent<'q>> = queries
        .filter_map(|(def, described, copy)| {
            let sql = match copy {
                Some(copy) => crate::ir::copy_insert_sql(copy, described),
                None => crate::ir::final_sql(def, described),
            };
            (sql != def.sql || copy.is_some())
                .then(|| (def, described, copy, QueryDef { sql, ..def.clone() }))
        })
        .collect();
    let finals: Vec<&QueryDef> = changed.iter().map(|(_, _, _, sent)| sent).collect();
    let results = describe::describe_statements(client, &finals).await;
    changed
        .iter()
        .zip(&results)
        .filter_map(|((def, described, copy, sent), result)| match copy {
            Some(copy) => {
                bulk::check_copy_insert(def, copy, &described.params, &sent.sql, result.as_ref())
            }
            None => crate::ir::check_final_sql(def, described, &sent.sql, result.as_ref()),
        })
        .collect()
}

/// Lints every described query and decides its columns' nullability; a
/// query that could not be described is reported here, in query order.
/// `None` when any could not: without every query's columns, prefetch and
/// IR checks would only pile consequences on top.
pub(crate) fn analyse_all(
    queries: Vec<Result<DescribedQuery, Diagnostic>>,
    catalog: &Catalog,
    levels: &crate::lints::LintLevels,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<AnalysedQuery>> {
    let mut analysed = Vec::new();
    let mut describe_failed = false;
    for query in queries {
        match query {
            Ok(query) => analysed.push(query.analyse(catalog, levels, diagnostics)),
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                describe_failed = true;
            }
        }
    }
    (!describe_failed).then_some(analysed)
}

impl DescribedQuery {
    fn analyse(
        self,
        catalog: &Catalog,
        levels: &crate::lints::LintLevels,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> AnalysedQuery {
        let Self {
            query,
            described,
            variants,
        } = self;
        let def = &query.def;
        let statement = match &query.statement {
            Ok(statement) => Some(statement),
            Err(error) => {
                // PostgreSQL accepted what sqlparser could not: keep going, conservatively.
                let at = def.file_span(error.offset..error.offset);
                diagnostics.push(
                    Diagnostic::warning(
                        format!("could not analyse query `{}`: {}", def.name, error.message),
                        Some(Location::new(&def.file, at)),
                    )
                    .with_help(
                        "PostgreSQL accepts it; every column is typed `Option` unless overridden",
                    ),
                );
                None
            }
        };
        diagnostics.extend(lint::lint_query(def, statement, &described));
        // Lints are about what the user wrote: a loader derived for
        // `@prefetch` (its SQL "span" is the directive) is Quarry's SQL.
        let derived = def
            .file
            .text
            .get(def.sql_span.clone())
            .is_some_and(|text| text.starts_with('@'));
        if !derived {
            let found = crate::lints::run(def, statement, &described, catalog, levels);
            diagnostics.extend(found);
        }
        let (columns, mut warnings) =
            nullability::decide_nullability(def, statement, &described, catalog);
        diagnostics.append(&mut warnings);
        let writes_nothing = |statement: Option<&Statement>| {
            statement.is_some_and(|s| crate::readonly::writes_nothing(s, catalog))
        };
        let mut read_only = writes_nothing(statement);
        let (mut inferred, mut nullable) = (columns.inferred, columns.nullable);
        read_only &= dynamic::check::union_variants(
            &variants,
            catalog,
            &mut inferred,
            &mut nullable,
            writes_nothing,
        );
        let embeds = crate::embed::locate(
            &query.def,
            query.statement.as_ref().ok(),
            &described,
            catalog,
        )
        .unwrap_or_else(|error| {
            diagnostics.push(*error);
            Vec::new()
        });
        AnalysedQuery {
            query,
            described,
            inferred,
            nullable,
            read_only,
            embeds,
        }
    }
}

impl AnalysedQuery {
    /// What prefetch resolution needs to know about this query.
    fn facts(&self) -> prefetch::QueryFacts<'_> {
        prefetch::QueryFacts {
            def: &self.query.def,
            statement: self.query.statement.as_ref().ok(),
            described: &self.described,
            nullable: &self.nullable,
            directives: &self.query.directives,
            hidden_key: self.query.hidden_key,
        }
    }

    /// This query with its loader and relations resolved: what the IR is built from.
    fn resolve(&self, prefetch: prefetch::QueryPrefetch) -> CheckedQuery<'_> {
        let def = &self.query.def;
        CheckedQuery {
            module: &self.query.module,
            def,
            takes_row_locks: crate::locks::query_takes_row_locks(
                self.query.statement.as_ref().ok(),
                &def.sql,
            ),
            positional_names: self
                .query
                .statement
                .as_ref()
                .map(|s| parse::positional_param_names(s, def.params.len()))
                .unwrap_or_default(),
            param_targets: self
                .query
                .statement
                .as_ref()
                .map(|s| parse::param_targets(s, def.params.len()))
                .unwrap_or_default(),
            described: &self.described,
            nullable: self.nullable.clone(),
            prefetch,
            read_only: self.read_only,
            copy: self.query.copy.as_ref(),
            unnest: self
                .query
                .statement
                .as_ref()
                .ok()
                .and_then(|statement| crate::unnest::find_unnest(statement, def.params.len())),
            embeds: self.embeds.clone(),
            command: (def.kind == QueryKind::ExecResult)
                .then(|| {
                    crate::exec_result::command_of(self.query.statement.as_ref().ok(), &def.sql)
                })
                .flatten(),
        }
    }

    /// What the generator found out about this query.
    pub(crate) fn report(&self) -> QueryReport {
        let def = &self.query.def;
        QueryReport {
            name: def.name.clone(),
            module: self.query.module.clone(),
            sql: def.sql.clone(),
            kind: def.kind,
            params: def
                .params
                .iter()
                .zip(&self.described.params)
                .map(|(param, ty)| ParamReport {
                    pg_type: ty.name().to_string(),
                    nullable: param.nullable,
                })
                .collect(),
            columns: self
                .described
                .columns
                .iter()
                .zip(&self.inferred)
                .zip(&self.nullable)
                .map(|((column, inferred), &nullable)| ColumnReport {
                    name: column.name.clone(),
                    pg_type: column.ty.name().to_string(),
                    inferred_nullable: inferred.nullable,
                    nullable,
                    computed: inferred.computed,
                })
                .collect(),
        }
    }
}

/// Checks every loader and relation: the analysed queries with their
/// prefetch resolved, in order.
pub(crate) fn resolve_all<'a>(
    queries: &'a [AnalysedQuery],
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
) -> Result<Vec<CheckedQuery<'a>>, Vec<Diagnostic>> {
    let facts: Vec<prefetch::QueryFacts<'_>> = queries.iter().map(AnalysedQuery::facts).collect();
    let resolved = prefetch::resolve_prefetch(&facts, catalog, mapper)?;
    Ok(queries
        .iter()
        .zip(resolved)
        .map(|(query, prefetch)| query.resolve(prefetch))
        .collect())
}

/// What the generator found out about one query: for tests, tools and statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryReport {
    /// Query name.
    pub name: String,
    /// Module (query file) it belongs to.
    pub module: String,
    /// SQL as sent to PostgreSQL (`$n` placeholders).
    pub sql: String,
    /// Kind from the header.
    pub kind: QueryKind,
    /// Parameters, `$1` first.
    pub params: Vec<ParamReport>,
    /// Output columns in order.
    pub columns: Vec<ColumnReport>,
}

/// One parameter of a [`QueryReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamReport {
    /// PostgreSQL type name (`int8`, `_text`, `order_status`, …).
    pub pg_type: String,
    /// Declared nullable (`:name?`).
    pub nullable: bool,
}

/// One output column of a [`QueryReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnReport {
    /// Column name.
    pub name: String,
    /// PostgreSQL type name.
    pub pg_type: String,
    /// What inference concluded (before overrides).
    pub inferred_nullable: bool,
    /// The final answer (after `"col!"`/`"col?"`/`@nullable`/`@not_null`).
    pub nullable: bool,
    /// An expression (aggregate, window function, `COALESCE`, `CASE`, …) rather
    /// than a plain column reference.
    pub computed: bool,
}

/// Reports queries whose name was used before; returns their indices.
fn check_duplicate_names(queries: &[Lexed], diagnostics: &mut Vec<Diagnostic>) -> Vec<usize> {
    let mut seen: BTreeMap<&str, &QueryDef> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for (index, Lexed { def, .. }) in queries.iter().enumerate() {
        if let Some(first) = seen.insert(def.name.as_str(), def) {
            duplicates.push(index);
            let (line, col) = first.file.line_col(first.name_span.start);
            diagnostics.push(
                Diagnostic::error_at(
                    format!("duplicate query name `{}`", def.name),
                    &def.file,
                    def.name_span.clone(),
                )
                .with_label("defined again here")
                .with_note(format!(
                    "first defined at {}:{line}:{col}",
                    first.file.display_path.display()
                ))
                .with_help("query names must be unique across all query files"),
            );
            seen.insert(first.name.as_str(), first);
        }
    }
    duplicates
}

/// Two query files whose names give the same module (`Blog.sql` and
/// `blog.sql`, `types.sql` and `types_.sql`): an error at the second one.
fn check_module_names(files: &[QueryFile], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, &Arc<SourceFile>> = BTreeMap::new();
    for QueryFile { module, file, .. } in files {
        if let Some(first) = seen.insert(module.as_str(), file) {
            diagnostics.push(
                Diagnostic::error_at(
                    format!("two query files become the module `{module}`"),
                    file,
                    0..0,
                )
                .with_note(format!(
                    "`{}` becomes `{module}` too (module names are the file names in snake_case; see docs/query-files.md)",
                    first.display_path.display()
                ))
                .with_help("rename one of the query files"),
            );
        }
    }
}
