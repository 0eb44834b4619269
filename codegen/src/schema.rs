//! Schema: loading DDL into PostgreSQL and reading the catalog back.
//!
//! Owns two things: applying the user's schema (a file, a directory of `.sql`
//! files in lexical order, or a migration directory whose `*.up.sql` files
//! alone are applied) to a database, statement by statement in one
//! transaction (statements PostgreSQL refuses in a transaction block, like
//! `CREATE INDEX CONCURRENTLY`, on their own; each file read as a `psql`
//! script, so `pg_dump` output loads: see [`script`]), and introspecting
//! `pg_catalog` into a [`Catalog`] — tables and views with their columns
//! (`attnotnull`), primary, unique and foreign keys, indexes, and enums. Everything after this stage
//! reads the [`Catalog`], never the database's catalog tables directly.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

use tokio_postgres::{Client, Row};

use crate::config::Dialect;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::Error;

mod script;

/// One schema file, read.
pub type SchemaFile = Arc<SourceFile>;

/// Applies schema files in order, statement by statement, so that a failure
/// is reported at the statement that failed (at PostgreSQL's position in it,
/// or at its start when the error has none).
///
/// Statements run in one transaction, except those PostgreSQL refuses inside
/// a transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …; see
/// [`runs_outside_transaction`]): each of those runs on its own between
/// commits, as migration tools do.
///
/// Files are read as `psql` scripts ([`script`]): meta-commands, `COPY`
/// data, ownership and privileges are left out, so `pg_dump --schema-only`
/// output loads as it is. A file that empties `search_path` (pg_dump's
/// `set_config('search_path', '', false)`) gets the default back after it,
/// for the files after it and for the queries described on this session.
pub async fn apply_schema(
    client: &Client,
    files: &[SchemaFile],
    dialect: Dialect,
) -> Result<(), Error> {
    let mut applier = Applier {
        client,
        in_transaction: false,
        last: None,
    };
    for file in files {
        let sql = script::psql_sql(&file.text);
        let mut previous = 0;
        for span in crate::lex::split_statements(&sql) {
            let before = &sql[previous..span.start];
            previous = span.end;
            let step = script::step(&sql[span.clone()], before, dialect);
            applier.apply(file, span, &sql, step).await?;
        }
        applier.restore_search_path().await?;
    }
    if applier.in_transaction {
        if let Err(error) = client.batch_execute("COMMIT").await {
            return Err(commit_error(applier.last, error));
        }
    }
    Ok(())
}

/// The schema's session while statements are applied: whether a
/// transaction is open, and the last statement applied (for a failed commit).
struct Applier<'a> {
    client: &'a Client,
    in_transaction: bool,
    last: Option<(&'a SchemaFile, Range<usize>)>,
}

impl<'a> Applier<'a> {
    /// Applies the statement at `span` of `sql` (the text of `file` as
    /// [`script::psql_sql`] leaves it) as `step` says.
    async fn apply(
        &mut self,
        file: &'a SchemaFile,
        span: Range<usize>,
        sql: &str,
        step: script::Step,
    ) -> Result<(), Error> {
        let statement = match step {
            script::Step::Skip => return Ok(()),
            script::Step::Instead(instead) => instead,
            script::Step::Run | script::Step::RunUnlessUnknown => &sql[span.clone()],
        };
        self.enter(runs_outside_transaction(statement)).await?;
        // A setting this server does not know is skipped: the savepoint
        // keeps the transaction usable after the error.
        let tolerant = step == script::Step::RunUnlessUnknown && self.in_transaction;
        if tolerant {
            self.session("SAVEPOINT quarry_setting").await?;
        }
        match self.client.batch_execute(statement).await {
            Ok(()) => {
                if tolerant {
                    self.session("RELEASE SAVEPOINT quarry_setting").await?;
                }
                self.last = Some((file, span));
                Ok(())
            }
            Err(error)
                if tolerant
                    && error.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_OBJECT) =>
            {
                self.session(
                    "ROLLBACK TO SAVEPOINT quarry_setting; RELEASE SAVEPOINT quarry_setting",
                )
                .await
            }
            Err(error) => {
                if self.in_transaction {
                    // The scratch database is dropped anyway; this only ends the transaction.
                    let _ = self.client.batch_execute("ROLLBACK").await;
                }
                Err(statement_error(file, span, error))
            }
        }
    }

    /// Commits before a statement that runs `alone`, or begins the
    /// transaction before one that does not, when needed.
    async fn enter(&mut self, alone: bool) -> Result<(), Error> {
        if alone && self.in_transaction {
            if let Err(error) = self.client.batch_execute("COMMIT").await {
                return Err(commit_error(self.last.clone(), error));
            }
            self.in_transaction = false;
        }
        if !alone && !self.in_transaction {
            self.session("BEGIN").await?;
            self.in_transaction = true;
        }
        Ok(())
    }

    /// Resets `search_path` when a file left it empty.
    async fn restore_search_path(&mut self) -> Result<(), Error> {
        let row = self
            .client
            .query_one("SELECT current_setting('search_path')", &[])
            .await
            .map_err(|source| Error::Postgres {
                context: "reading search_path after the schema".to_string(),
                source,
            })?;
        let path: String = row.try_get(0).map_err(|source| Error::Postgres {
            context: "reading search_path after the schema".to_string(),
            source,
        })?;
        if matches!(path.trim(), "" | "\"\"") {
            self.session("RESET search_path").await?;
        }
        Ok(())
    }

    /// Runs one of the generator's own statements.
    async fn session(&self, sql: &str) -> Result<(), Error> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|source| Error::Postgres {
                context: format!("applying the schema (`{sql}`)"),
                source,
            })
    }
}

/// The error of the schema statement at `span` of `file`, at PostgreSQL's
/// position in it, or at the statement's first word.
fn statement_error(file: &SchemaFile, span: Range<usize>, error: tokio_postgres::Error) -> Error {
    let Some(db) = error.as_db_error() else {
        return Error::Postgres {
            context: format!("applying {}", file.display_path.display()),
            source: error,
        };
    };
    let sql = &file.text[span.clone()];
    let (offset, positioned) = match db.position() {
        Some(tokio_postgres::error::ErrorPosition::Original(chars)) => (
            span.start + char_position_to_byte(sql, *chars as usize),
            true,
        ),
        _ => (span.start, false),
    };
    let end = file.text[offset..span.end]
        .find(|c: char| c.is_whitespace() || c == ';' || c == ',' || c == ')')
        .map_or(span.end, |i| offset + i);
    let mut diagnostic = Diagnostic::error_at(
        format!("schema error: {}", db.message()),
        file,
        offset..end.max(offset),
    );
    if !positioned {
        diagnostic = diagnostic.with_label("in this statement");
    }
    if let Some(hint) = db.hint() {
        diagnostic = diagnostic.with_help(hint.to_string());
    }
    if let Some(detail) = db.detail() {
        diagnostic = diagnostic.with_note(detail.to_string());
    }
    Error::Diagnostics(crate::diagnostic::Diagnostics(vec![diagnostic]))
}

/// A failed `COMMIT` (a deferred constraint, say): reported at the last
/// statement applied, the closest place there is.
fn commit_error(last: Option<(&SchemaFile, Range<usize>)>, error: tokio_postgres::Error) -> Error {
    match last {
        Some((file, span)) if error.as_db_error().is_some() => {
            match statement_error(file, span, error) {
                Error::Diagnostics(mut diagnostics) => {
                    for diagnostic in &mut diagnostics.0 {
                        diagnostic.label =
                            Some("when the schema was committed after this statement".to_string());
                    }
                    Error::Diagnostics(diagnostics)
                }
                other => other,
            }
        }
        _ => Error::Postgres {
            context: "committing the schema".to_string(),
            source: error,
        },
    }
}

/// Whether PostgreSQL refuses to run `statement` inside a transaction block
/// (or, for `ALTER TYPE … ADD VALUE`, lets nothing in the same transaction
/// use the new value): such statements are applied on their own.
pub fn runs_outside_transaction(statement: &str) -> bool {
    let words: Vec<String> = crate::lex::tokens(statement)
        .filter(|token| token.kind == crate::lex::TokenKind::Word)
        .take(12)
        .map(|token| statement[token.span].to_ascii_uppercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let has = |word: &str| words.contains(&word);
    match words.as_slice() {
        ["VACUUM", ..] | ["ALTER", "SYSTEM", ..] => true,
        ["CLUSTER"] | ["CLUSTER", "VERBOSE"] => true,
        ["CREATE" | "DROP", "DATABASE" | "TABLESPACE" | "SUBSCRIPTION", ..] => true,
        ["ALTER", "SUBSCRIPTION", ..] => true,
        ["CREATE", "INDEX", "CONCURRENTLY", ..]
        | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..]
        | ["DROP", "INDEX", "CONCURRENTLY", ..] => true,
        ["REINDEX", ..] => has("CONCURRENTLY") || has("SYSTEM") || has("DATABASE"),
        ["ALTER", "TABLE", ..] => has("DETACH") && has("CONCURRENTLY"),
        ["ALTER", "TYPE", ..] => words.windows(2).any(|pair| pair == ["ADD", "VALUE"]),
        _ => false,
    }
}

/// Byte offset of PostgreSQL's 1-based character position in `text`.
pub fn char_position_to_byte(text: &str, position: usize) -> usize {
    text.char_indices()
        .nth(position.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

/// What kind of relation a catalog entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// An ordinary or partitioned table.
    Table,
    /// A view.
    View,
    /// A materialized view.
    MaterializedView,
    /// Anything else (foreign table, …).
    Other,
}

/// A column of a table or view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// `attnum`.
    pub attnum: i16,
    /// Column name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
    /// `attnotnull`.
    pub not_null: bool,
    /// Has a default (or is an identity/generated column).
    pub has_default: bool,
}

/// A foreign key constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// Constraint name.
    pub name: String,
    /// Referencing columns (attnums of the owning table).
    pub columns: Vec<i16>,
    /// Referenced table OID.
    pub referenced_table: u32,
    /// Referenced columns.
    pub referenced_columns: Vec<i16>,
}

/// An index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Index name.
    pub name: String,
    /// Indexed columns (0 for expressions).
    pub columns: Vec<i16>,
    /// Unique index.
    pub unique: bool,
    /// Backs the primary key.
    pub primary: bool,
}

/// A table, view or materialized view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// `pg_class.oid`.
    pub oid: u32,
    /// Schema name.
    pub schema: String,
    /// Relation name.
    pub name: String,
    /// Relation kind.
    pub kind: RelationKind,
    /// Live columns in `attnum` order.
    pub columns: Vec<Column>,
    /// Primary key columns.
    pub primary_key: Vec<i16>,
    /// Unique constraints' columns (including the primary key).
    pub unique_keys: Vec<Vec<i16>>,
    /// Foreign keys from this table.
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes on this table.
    pub indexes: Vec<Index>,
    /// For views and materialized views: the defining query (`pg_get_viewdef`).
    pub definition: Option<String>,
}

impl Table {
    /// The column with `attnum`.
    pub fn column(&self, attnum: i16) -> Option<&Column> {
        self.columns.iter().find(|c| c.attnum == attnum)
    }

    /// The column named `name`.
    pub fn column_named(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// An enum type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumType {
    /// Type OID.
    pub oid: u32,
    /// Schema name.
    pub schema: String,
    /// Type name.
    pub name: String,
    /// Labels in sort order.
    pub labels: Vec<String>,
}

/// A domain type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Type OID.
    pub oid: u32,
    /// Type name.
    pub name: String,
    /// `NOT NULL` domain: its values are never NULL.
    pub not_null: bool,
    /// The base type OID.
    pub base_type: u32,
}

/// What nullability needs to know about the functions of one name (all overloads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionInfo {
    /// Every overload is `STRICT` (returns NULL on NULL input, and is not
    /// called then).
    pub strict: bool,
    /// Some overload is an aggregate.
    pub aggregate: bool,
}

/// What the generator knows about the database schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Tables and views by OID.
    pub tables: BTreeMap<u32, Table>,
    /// Enums by OID.
    pub enums: BTreeMap<u32, EnumType>,
    /// Domains by OID.
    pub domains: BTreeMap<u32, Domain>,
    /// Functions by name (lower case), all schemas.
    pub functions: HashMap<String, FunctionInfo>,
    /// Names of functions with some `VOLATILE` overload (`pg_proc.provolatile`),
    /// all schemas, for read-only inference ([`crate::readonly`]): `true` when
    /// some volatile overload is outside `pg_catalog` (a user's function).
    pub volatile_functions: BTreeMap<String, bool>,
    by_name: HashMap<String, Vec<u32>>,
}

impl Catalog {
    /// Looks up a relation by (optionally schema-qualified) name the way the
    /// default `search_path` would: `public` first, then a unique match elsewhere.
    pub fn resolve(&self, schema: Option<&str>, name: &str) -> Option<&Table> {
        let candidates = self.by_name.get(name)?;
        let tables = candidates.iter().filter_map(|oid| self.tables.get(oid));
        match schema {
            Some(schema) => tables.into_iter().find(|t| t.schema == schema),
            None => {
                let all: Vec<&Table> = tables.collect();
                all.iter()
                    .find(|t| t.schema == "public")
                    .or_else(|| all.iter().find(|t| t.schema == "pg_catalog"))
                    .or(if all.len() == 1 { all.first() } else { None })
                    .copied()
            }
        }
    }

    /// Adds a relation, findable by name.
    pub(crate) fn insert_table(&mut self, table: Table) {
        self.by_name
            .entry(table.name.clone())
            .or_default()
            .push(table.oid);
        self.tables.insert(table.oid, table);
    }

    /// The column `attnum` of table `oid`.
    pub fn column(&self, oid: u32, attnum: i16) -> Option<(&Table, &Column)> {
        let table = self.tables.get(&oid)?;
        Some((table, table.column(attnum)?))
    }
}

const TABLES_SQL: &str = "
SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY c.oid";

const COLUMNS_SQL: &str = "
SELECT a.attrelid, a.attnum, a.attname::text, a.atttypid, a.attnotnull,
       (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY a.attrelid, a.attnum";

const CONSTRAINTS_SQL: &str = "
SELECT con.conrelid, con.conname::text, con.contype::text, con.conkey, con.confrelid, con.confkey
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype IN ('p', 'u', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY con.conrelid, con.conname";

const INDEXES_SQL: &str = "
SELECT i.indrelid, ic.relname::text, i.indisunique, i.indisprimary, i.indkey::int2[]
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY i.indrelid, ic.relname";

const DOMAINS_SQL: &str = "
SELECT t.oid, t.typname::text, t.typnotnull, t.typbasetype
FROM pg_type t
WHERE t.typtype = 'd'
ORDER BY t.oid";

const FUNCTIONS_SQL: &str = "
SELECT p.proname::text, bool_and(p.proisstrict), bool_or(p.prokind = 'a')
FROM pg_proc p
WHERE p.prokind IN ('f', 'a')
GROUP BY p.proname";

/// Every function name with a `VOLATILE` overload, and whether one of those
/// is outside `pg_catalog`.
const VOLATILE_FUNCTIONS_SQL: &str = "
SELECT p.proname::text, bool_or(n.nspname <> 'pg_catalog')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.provolatile = 'v'
GROUP BY p.proname";

const ENUMS_SQL: &str = "
SELECT t.oid, n.nspname::text, t.typname::text,
       array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
GROUP BY t.oid, n.nspname, t.typname
ORDER BY t.oid";

/// Reads tables, columns, keys, indexes and enums from `pg_catalog`.
pub async fn introspect(client: &Client) -> Result<Catalog, Error> {
    let context = |what: &str| format!("introspecting {what}");
    let pg = |what: &'static str| {
        move |source| Error::Postgres {
            context: context(what),
            source,
        }
    };
    let (tables, columns, constraints, indexes, enums, domains, functions) = futures_util::try_join!(
        async { client.query(TABLES_SQL, &[]).await.map_err(pg("tables")) },
        async { client.query(COLUMNS_SQL, &[]).await.map_err(pg("columns")) },
        async {
            client
                .query(CONSTRAINTS_SQL, &[])
                .await
                .map_err(pg("constraints"))
        },
        async { client.query(INDEXES_SQL, &[]).await.map_err(pg("indexes")) },
        async { client.query(ENUMS_SQL, &[]).await.map_err(pg("enums")) },
        async { client.query(DOMAINS_SQL, &[]).await.map_err(pg("domains")) },
        async {
            client
                .query(FUNCTIONS_SQL, &[])
                .await
                .map_err(pg("functions"))
        },
    )?;
    let decode = |source| Error::Postgres {
        context: context("the catalog"),
        source,
    };
    let mut catalog = Catalog::default();
    add_tables(&mut catalog, &tables).map_err(decode)?;
    add_columns(&mut catalog, &columns).map_err(decode)?;
    add_constraints(&mut catalog, &constraints).map_err(decode)?;
    add_indexes(&mut catalog, &indexes).map_err(decode)?;
    add_domains(&mut catalog, &domains).map_err(decode)?;
    add_functions(&mut catalog, &functions).map_err(decode)?;
    add_enums(&mut catalog, &enums).map_err(decode)?;
    let volatile = client
        .query(VOLATILE_FUNCTIONS_SQL, &[])
        .await
        .map_err(pg("volatile functions"))?;
    for row in &volatile {
        catalog.volatile_functions.insert(
            row.try_get(0).map_err(decode)?,
            row.try_get(1).map_err(decode)?,
        );
    }
    Ok(catalog)
}

/// Rows of [`TABLES_SQL`]: the relations, without their columns and keys.
fn add_tables(catalog: &mut Catalog, rows: &[Row]) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let oid: u32 = row.try_get(0)?;
        let kind: String = row.try_get(3)?;
        let table = Table {
            oid,
            schema: row.try_get(1)?,
            name: row.try_get(2)?,
            kind: match kind.as_str() {
                "r" | "p" => RelationKind::Table,
                "v" => RelationKind::View,
                "m" => RelationKind::MaterializedView,
                _ => RelationKind::Other,
            },
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique_keys: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            definition: row.try_get(4)?,
        };
        catalog.insert_table(table);
    }
    Ok(())
}

/// Rows of [`COLUMNS_SQL`], added to their tables.
fn add_columns(catalog: &mut Catalog, rows: &[Row]) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let oid: u32 = row.try_get(0)?;
        if let Some(table) = catalog.tables.get_mut(&oid) {
            table.columns.push(Column {
                attnum: row.try_get(1)?,
                name: row.try_get(2)?,
                type_oid: row.try_get(3)?,
                not_null: row.try_get(4)?,
                has_default: row.try_get(5)?,
            });
        }
    }
    Ok(())
}

/// Rows of [`CONSTRAINTS_SQL`]: primary, unique and foreign keys.
fn add_constraints(catalog: &mut Catalog, rows: &[Row]) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let oid: u32 = row.try_get(0)?;
        let Some(table) = catalog.tables.get_mut(&oid) else {
            continue;
        };
        let name: String = row.try_get(1)?;
        let kind: String = row.try_get(2)?;
        let columns: Vec<i16> = row.try_get::<_, Option<Vec<i16>>>(3)?.unwrap_or_default();
        match kind.as_str() {
            "p" => {
                table.primary_key.clone_from(&columns);
                table.unique_keys.push(columns);
            }
            "u" => table.unique_keys.push(columns),
            _ => table.foreign_keys.push(ForeignKey {
                name,
                columns,
                referenced_table: row.try_get(4)?,
                referenced_columns: row.try_get::<_, Option<Vec<i16>>>(5)?.unwrap_or_default(),
            }),
        }
    }
    Ok(())
}

/// Rows of [`INDEXES_SQL`], added to their tables.
fn add_indexes(catalog: &mut Catalog, rows: &[Row]) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let oid: u32 = row.try_get(0)?;
        if let Some(table) = catalog.tables.get_mut(&oid) {
            table.indexes.push(Index {
                name: row.try_get(1)?,
                unique: row.try_get(2)?,
                primary: row.try_get(3)?,
                columns: row.try_get(4)?,
            });
        }
    }
    Ok(())
}

/// Rows of [`DOMAINS_SQL`].
fn add_domains(catalog: &mut Catalog, rows: &[Row]) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let oid: u32 = row.try_get(0)?;
        catalog.domains.insert(
            oid,
            Domain {
                oid,
                name: row.try_get(1)?,
                not_null: row.try_get(2)?,
                base_type: row.try_get(3)?,
            },
        );
    }
    Ok(())
}

/// Rows of [`FUNCTIONS_SQL`]: strictness and aggregates by name.
fn add_functions(catalog: &mut Catalog, rows: &[Row]) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let name: String = row.try_get(0)?;
        catalog.functions.insert(
            name,
            FunctionInfo {
                strict: row.try_get(1)?,
                aggregate: row.try_get(2)?,
            },
        );
    }
    Ok(())
}

/// Rows of [`ENUMS_SQL`].
fn add_enums(catalog: &mut Catalog, rows: &[Row]) -> Result<(), tokio_postgres::Error> {
    for row in rows {
        let oid: u32 = row.try_get(0)?;
        catalog.enums.insert(
            oid,
            EnumType {
                oid,
                schema: row.try_get(1)?,
                name: row.try_get(2)?,
                labels: row.try_get(3)?,
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_cannot_run_in_a_transaction_block() {
        for statement in [
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "create unique index concurrently if not exists i on t (a)",
            "DROP INDEX CONCURRENTLY i",
            "REINDEX (VERBOSE) TABLE CONCURRENTLY t",
            "REINDEX DATABASE app",
            "VACUUM ANALYZE t",
            "CREATE DATABASE other",
            "ALTER TYPE mood ADD VALUE 'meh'",
            "ALTER TYPE public.mood ADD VALUE IF NOT EXISTS 'meh' AFTER 'sad'",
            "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY",
            "ALTER SYSTEM SET work_mem = '8MB'",
        ] {
            assert!(runs_outside_transaction(statement), "{statement}");
        }
        for statement in [
            "CREATE INDEX i ON t (concurrently)",
            "CREATE TABLE \"concurrently\" (a int)",
            "-- CREATE INDEX CONCURRENTLY\nCREATE INDEX i ON t (a)",
            "REINDEX TABLE t",
            "ALTER TYPE mood RENAME VALUE 'a' TO 'b'",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY v",
            "INSERT INTO t VALUES ('VACUUM')",
        ] {
            assert!(!runs_outside_transaction(statement), "{statement}");
        }
    }
}
