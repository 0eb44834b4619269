//! `codegen explain`: the project's queries' generic plans on a database with
//! real statistics, and what in them will hurt at scale.
//!
//! Owns preparing every query (`plan_cache_mode = force_generic_plan`,
//! `PREPARE`, `EXPLAIN (FORMAT JSON, VERBOSE) EXECUTE q(NULL, …)`: PostgreSQL
//! 15 has no `EXPLAIN (GENERIC_PLAN)`), walking the plan for sequential scans
//! on large tables, nested loops over many outer rows and sorts larger than
//! `work_mem`, and, with the `hypopg` extension, trying a hypothetical index
//! on each scanned table's filtered columns and reporting the cost with it.
//! Findings are rustc-style warnings at the query's name; nothing is written.

use serde_json::Value;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::diagnostic::{Diagnostic, Location};
use crate::inputs::Sources;
use crate::lex::{QueryDef, QueryKind};
use crate::query;

/// The prepared statement's name in the explaining session.
const STATEMENT: &str = "quarry_explain";

/// The most filtered columns a proposed index has.
const MAX_INDEX_COLUMNS: usize = 3;

/// What to explain and what counts as large.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainOptions {
    /// Only these queries (by name); empty: every query.
    pub only: Vec<String>,
    /// A table is large above this many rows (`pg_class.reltuples`); a nested
    /// loop is reported above this many outer rows.
    pub large_rows: f64,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        Self {
            only: Vec::new(),
            large_rows: 10_000.0,
        }
    }
}

/// Why explaining could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The query files could not be read or lexed.
    #[error(transparent)]
    Input(#[from] crate::Error),
    /// A query named on the command line does not exist.
    #[error("no query named `{0}` in the project")]
    UnknownQuery(String),
    /// PostgreSQL failed outside of a query's plan (settings, catalog, hypopg).
    #[error("PostgreSQL error while {context}: {}", postgres_message(source))]
    Postgres {
        /// What was being done.
        context: String,
        /// The cause.
        source: tokio_postgres::Error,
    },
}

/// What explaining the project found.
#[derive(Debug, Clone, Default)]
pub struct ExplainReport {
    /// One entry per explained query, in project order.
    pub queries: Vec<QueryPlan>,
    /// Whether `hypopg` was available (hypothetical indexes were tried).
    pub hypopg: bool,
    /// Queries that could not be explained (errors) and skipped ones (warnings).
    pub problems: Vec<Diagnostic>,
}

impl ExplainReport {
    /// Every finding and problem as a rustc-style diagnostic.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = self
            .queries
            .iter()
            .flat_map(|query| query.findings.iter().map(|f| f.diagnostic(query)))
            .collect();
        all.extend(self.problems.iter().cloned());
        all
    }

    /// Whether some query could not be explained.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Diagnostic::is_error)
    }

    /// Number of findings over all queries.
    pub fn finding_count(&self) -> usize {
        self.queries.iter().map(|q| q.findings.len()).sum()
    }
}

/// One query's generic plan and its findings.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// The query's name.
    pub name: String,
    /// Its name in its file.
    pub location: Location,
    /// The plan's estimated total cost.
    pub cost: f64,
    /// What in the plan will hurt at scale.
    pub findings: Vec<Finding>,
}

/// Something in a plan that will hurt on large tables.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A sequential scan of a table with more than [`ExplainOptions::large_rows`] rows.
    SeqScan {
        /// `schema.table`.
        table: String,
        /// The table's estimated rows (`reltuples`).
        table_rows: f64,
        /// The scan's filter, as PostgreSQL prints it.
        filter: Option<String>,
        /// The table's columns the filter uses, in order of appearance.
        filter_columns: Vec<String>,
        /// The index that would avoid the scan, when hypopg found one.
        suggestion: Option<IndexSuggestion>,
    },
    /// A nested loop whose outer side returns many rows.
    NestedLoop {
        /// Estimated outer rows (the inner side runs once per row).
        outer_rows: f64,
    },
    /// A sort whose estimated input exceeds `work_mem` (it would spill to disk).
    SortSpill {
        /// Estimated rows × width, in bytes.
        bytes: f64,
        /// `work_mem` in bytes.
        work_mem: f64,
    },
}

/// A hypothetical index and what it does to the query's cost.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSuggestion {
    /// `CREATE INDEX ON schema.table (col, …)`.
    pub create_index: String,
    /// The plan's total cost without it.
    pub cost_before: f64,
    /// The plan's total cost with it.
    pub cost_after: f64,
}

impl Finding {
    /// The finding as a warning at the query's name.
    pub fn diagnostic(&self, query: &QueryPlan) -> Diagnostic {
        let at = Some(query.location.clone());
        match self {
            Finding::SeqScan {
                table,
                table_rows,
                filter,
                suggestion,
                ..
            } => {
                let mut d = Diagnostic::warning(
                    format!(
                        "`{}` scans `{table}` sequentially (~{table_rows:.0} rows)",
                        query.name
                    ),
                    at,
                )
                .with_label("sequential scan in the generic plan");
                if let Some(filter) = filter {
                    d = d.with_note(format!("filter: {filter}"));
                }
                match suggestion {
                    Some(s) => d.with_help(format!(
                        "{}; cost {:.2} -> {:.2} with it (hypopg)",
                        s.create_index, s.cost_before, s.cost_after
                    )),
                    None => d,
                }
            }
            Finding::NestedLoop { outer_rows } => Diagnostic::warning(
                format!(
                    "`{}` runs a nested loop over ~{outer_rows:.0} outer rows",
                    query.name
                ),
                at,
            )
            .with_help("index the inner side's join column, or check the row estimates"),
            Finding::SortSpill { bytes, work_mem } => Diagnostic::warning(
                format!(
                    "`{}` sorts ~{:.0} kB, more than work_mem ({:.0} kB): it may spill to disk",
                    query.name,
                    bytes / 1024.0,
                    work_mem / 1024.0
                ),
                at,
            )
            .with_help("an index on the ORDER BY columns, or a LIMIT, avoids the sort"),
        }
    }
}

/// Explains the project's queries in `sources` (or [`ExplainOptions::only`])
/// on `client`'s database, which should have real statistics (`ANALYZE`d).
///
/// Creates the `hypopg` extension when it is installed on the server and
/// absent from the database; hypothetical indexes are reset after each try.
/// A query PostgreSQL cannot prepare is an error in
/// [`ExplainReport::problems`]; the others are still explained.
pub async fn explain(
    client: &Client,
    sources: &Sources,
    options: &ExplainOptions,
) -> Result<ExplainReport, ExplainError> {
    let defs = selected_queries(sources, &options.only)?;
    let session = Session::start(client).await?;
    let mut report = ExplainReport {
        hypopg: session.hypopg,
        ..ExplainReport::default()
    };
    if !session.hypopg {
        report.problems.push(no_hypopg());
    }
    for def in defs {
        let location = Location::new(&def.file, def.name_span.clone());
        if def.kind == QueryKind::CopyFrom {
            continue;
        }
        match session.explain_query(&def, options).await {
            Ok((cost, findings)) => report.queries.push(QueryPlan {
                name: def.name.clone(),
                location,
                cost,
                findings,
            }),
            Err(error) => report
                .problems
                .push(cannot_explain(&def.name, &error, location)),
        }
    }
    Ok(report)
}

/// The warning that no index suggestions can be made.
fn no_hypopg() -> Diagnostic {
    Diagnostic::warning(
        "the hypopg extension is not installed on this server: no index suggestions",
        None,
    )
    .with_help(
        "install it (Debian: apt-get install postgresql-15-hypopg) \
         to see the index that would fix each scan",
    )
}

/// The error for a query PostgreSQL could not prepare or explain.
fn cannot_explain(name: &str, error: &tokio_postgres::Error, at: Location) -> Diagnostic {
    Diagnostic::error(
        format!("cannot explain `{name}`: {}", postgres_message(error)),
        Some(at),
    )
    .with_help("the database must have the project's schema (a staging copy with real statistics)")
}

/// The lexed queries of the project, or the named ones.
fn selected_queries(sources: &Sources, only: &[String]) -> Result<Vec<QueryDef>, ExplainError> {
    let inputs = sources.load()?;
    let mut diagnostics = Vec::new();
    let lexed = query::lex_all(&inputs, &mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(crate::Error::Diagnostics(crate::Diagnostics(diagnostics)).into());
    }
    for name in only {
        if !lexed.iter().any(|q| &q.def.name == name) {
            return Err(ExplainError::UnknownQuery(name.clone()));
        }
    }
    Ok(lexed
        .into_iter()
        .map(|q| q.def)
        .filter(|def| only.is_empty() || only.contains(&def.name))
        .collect())
}

/// The explaining session: its client and what it learned about the server.
struct Session<'a> {
    client: &'a Client,
    hypopg: bool,
    work_mem: f64,
}

impl<'a> Session<'a> {
    /// Sets the plan cache mode, reads `work_mem`, loads hypopg if available.
    async fn start(client: &'a Client) -> Result<Session<'a>, ExplainError> {
        let postgres = |context: &str| {
            let context = context.to_string();
            move |source| ExplainError::Postgres { context, source }
        };
        client
            .batch_execute("SET plan_cache_mode = force_generic_plan")
            .await
            .map_err(postgres("setting plan_cache_mode"))?;
        let row = client
            .query_one(
                "SELECT setting::float8 * 1024, \
                 EXISTS (SELECT FROM pg_available_extensions WHERE name = 'hypopg') \
                 FROM pg_settings WHERE name = 'work_mem'",
                &[],
            )
            .await
            .map_err(postgres("reading work_mem"))?;
        let work_mem: f64 = row.get(0);
        let available: bool = row.get(1);
        if available {
            client
                .batch_execute("CREATE EXTENSION IF NOT EXISTS hypopg")
                .await
                .map_err(postgres("creating the hypopg extension"))?;
        }
        Ok(Session {
            client,
            hypopg: available,
            work_mem,
        })
    }

    /// One query's plan cost and findings (with index suggestions).
    async fn explain_query(
        &self,
        def: &QueryDef,
        options: &ExplainOptions,
    ) -> Result<(f64, Vec<Finding>), tokio_postgres::Error> {
        let plan = self.generic_plan(&def.sql).await?;
        let cost = total_cost(&plan);
        let mut nodes = Vec::new();
        collect_nodes(&plan, &mut nodes);
        let mut findings = Vec::new();
        for node in nodes {
            if let Some(finding) = self.finding(node, options).await? {
                findings.push(finding);
            }
        }
        if self.hypopg {
            for finding in &mut findings {
                self.suggest_index(def, cost, finding).await?;
            }
        }
        Ok((cost, findings))
    }

    /// The generic plan's top node: prepares `sql` afresh (a cached plan
    /// would not see hypothetical indexes) and explains it with NULLs.
    async fn generic_plan(&self, sql: &str) -> Result<Value, tokio_postgres::Error> {
        self.client
            .batch_execute(&format!("DEALLOCATE ALL; PREPARE {STATEMENT} AS {sql}"))
            .await?;
        let row = self
            .client
            .query_one(
                "SELECT coalesce(cardinality(parameter_types), 0) \
                 FROM pg_prepared_statements WHERE name = $1",
                &[&STATEMENT],
            )
            .await?;
        let params: i32 = row.get(0);
        let nulls = vec!["NULL"; usize::try_from(params).unwrap_or(0)].join(", ");
        let args = if nulls.is_empty() {
            String::new()
        } else {
            format!("({nulls})")
        };
        let text = simple_text(
            self.client,
            &format!("EXPLAIN (FORMAT JSON, VERBOSE) EXECUTE {STATEMENT}{args}"),
        )
        .await?;
        self.client
            .batch_execute(&format!("DEALLOCATE {STATEMENT}"))
            .await?;
        let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(parsed
            .get(0)
            .and_then(|entry| entry.get("Plan"))
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// The finding for one plan node, if it is one.
    async fn finding(
        &self,
        node: &Value,
        options: &ExplainOptions,
    ) -> Result<Option<Finding>, tokio_postgres::Error> {
        let node_type = node.get("Node Type").and_then(Value::as_str);
        match node_type {
            Some("Seq Scan") => self.seq_scan(node, options).await,
            Some("Nested Loop") => {
                let outer_rows = node
                    .get("Plans")
                    .and_then(|plans| plans.get(0))
                    .map_or(0.0, |outer| number(outer, "Plan Rows"));
                Ok((outer_rows > options.large_rows).then_some(Finding::NestedLoop { outer_rows }))
            }
            Some("Sort") => {
                let bytes = number(node, "Plan Rows") * number(node, "Plan Width");
                let work_mem = self.work_mem;
                Ok((bytes > work_mem).then_some(Finding::SortSpill { bytes, work_mem }))
            }
            _ => Ok(None),
        }
    }

    /// A sequential scan of a large table, with the filter's columns.
    async fn seq_scan(
        &self,
        node: &Value,
        options: &ExplainOptions,
    ) -> Result<Option<Finding>, tokio_postgres::Error> {
        let text = |key: &str| node.get(key).and_then(Value::as_str).map(str::to_string);
        let (Some(schema), Some(relation)) = (text("Schema"), text("Relation Name")) else {
            return Ok(None);
        };
        let table = format!("{}.{}", quote_ident(&schema), quote_ident(&relation));
        let row = self
            .client
            .query_one(
                "SELECT c.reltuples::float8, \
                 array(SELECT attname::text FROM pg_attribute \
                       WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum) \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2",
                &[&schema, &relation],
            )
            .await?;
        let table_rows: f64 = row.get(0);
        if table_rows <= options.large_rows {
            return Ok(None);
        }
        let columns: Vec<String> = row.get(1);
        let filter = text("Filter");
        let filter_columns = filter
            .as_deref()
            .map(|filter| filter_columns(filter, &columns))
            .unwrap_or_default();
        Ok(Some(Finding::SeqScan {
            table,
            table_rows,
            filter,
            filter_columns,
            suggestion: None,
        }))
    }

    /// With a hypothetical index on a scan's filtered columns: the query's
    /// cost, recorded in the finding when it is lower.
    async fn suggest_index(
        &self,
        def: &QueryDef,
        cost_before: f64,
        finding: &mut Finding,
    ) -> Result<(), tokio_postgres::Error> {
        let Finding::SeqScan {
            table,
            filter_columns,
            suggestion,
            ..
        } = finding
        else {
            return Ok(());
        };
        if filter_columns.is_empty() {
            return Ok(());
        }
        let columns: Vec<String> = filter_columns
            .iter()
            .take(MAX_INDEX_COLUMNS)
            .map(|c| quote_ident(c))
            .collect();
        let create_index = format!("CREATE INDEX ON {table} ({})", columns.join(", "));
        self.client
            .query("SELECT * FROM hypopg_create_index($1)", &[&create_index])
            .await?;
        let plan = self.generic_plan(&def.sql).await;
        self.client.batch_execute("SELECT hypopg_reset()").await?;
        let cost_after = total_cost(&plan?);
        if cost_after < cost_before {
            *suggestion = Some(IndexSuggestion {
                create_index,
                cost_before,
                cost_after,
            });
        }
        Ok(())
    }
}

/// The first value of a simple-protocol query's first row.
async fn simple_text(client: &Client, sql: &str) -> Result<String, tokio_postgres::Error> {
    let messages = client.simple_query(sql).await?;
    Ok(messages
        .iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .unwrap_or_default())
}

/// PostgreSQL's own message for a server error, else the error's source chain.
fn postgres_message(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A node's numeric field (0 when absent).
fn number(node: &Value, key: &str) -> f64 {
    node.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// The plan's estimated total cost.
fn total_cost(plan: &Value) -> f64 {
    number(plan, "Total Cost")
}

/// Every node of the plan tree, depth first.
fn collect_nodes<'v>(node: &'v Value, out: &mut Vec<&'v Value>) {
    out.push(node);
    if let Some(children) = node.get("Plans").and_then(Value::as_array) {
        for child in children {
            collect_nodes(child, out);
        }
    }
}

/// The columns of `columns` that appear as identifiers in `filter`, in
/// order of first appearance (`(t.email = $1)` → `email`).
fn filter_columns(filter: &str, columns: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for token in identifiers(filter) {
        if columns.contains(&token) && !found.contains(&token) {
            found.push(token);
        }
    }
    found
}

/// The identifiers of an expression as PostgreSQL prints it: bare words
/// (not after `::`, a cast, nor `$`, a parameter) and `"quoted"` names.
fn identifiers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // A string literal: skip it (`''` is an escaped quote).
            i += 1;
            while i < chars.len() && !(chars[i] == '\'' && chars.get(i + 1) != Some(&'\'')) {
                i += if chars[i] == '\'' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '"' {
            let mut name = String::new();
            i += 1;
            while i < chars.len() && !(chars[i] == '"' && chars.get(i + 1) != Some(&'"')) {
                name.push(chars[i]);
                i += if chars[i] == '"' { 2 } else { 1 };
            }
            i += 1;
            out.push(name);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let is_cast = start >= 2 && chars[start - 1] == ':' && chars[start - 2] == ':';
            if !is_cast {
                out.push(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// `name`, double-quoted unless it is a plain lower-case identifier.
fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_columns_are_the_tables_identifiers_in_order() {
        let columns = vec!["email".to_string(), "id".to_string(), "text".to_string()];
        assert_eq!(
            filter_columns(
                "((t.id > 3) AND (t.email = ($1)::text) AND (t.x = 'email'))",
                &columns
            ),
            vec!["id".to_string(), "email".to_string()]
        );
        assert_eq!(
            filter_columns("(\"Weird\"\"Name\" = $1)", &["Weird\"Name".to_string()]),
            vec!["Weird\"Name".to_string()]
        );
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_ident("email"), "email");
        assert_eq!(quote_ident("Email"), "\"Email\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
