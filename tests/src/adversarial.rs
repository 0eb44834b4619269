//! Adversarial data and parameters for the nullability soundness test.
//!
//! The rule under test: a column the generator inferred non-null
//! ([`codegen::ColumnReport::inferred_nullable`] `== false`) never yields NULL.
//! [`check_query_set`] generates a query set, then for each [`Dataset`] builds
//! a fresh database, fills it **generically from the catalog** (any schema:
//! tables in foreign-key order, values chosen by column type) and runs every
//! query ([`ROUNDS`] times, with parameter values chosen by parameter type)
//! inside a transaction that is rolled back, decoding every cell of every
//! returned row as NULL / not NULL.
//!
//! Values travel as text: parameters are bound in PostgreSQL's text format
//! ([`TextParam`]), so one wrapper binds any type — enums, domains, arrays,
//! ranges — and rows are inserted with quoted literals that the server casts
//! to the column's type. Results are decoded with [`Nullness`], which accepts
//! any type.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::path::PathBuf;

use codegen::QueryReport;
use tokio_postgres::types::private::BytesMut;
use tokio_postgres::types::{Format, FromSql, IsNull, Kind, ToSql, Type};
use tokio_postgres::Client;

use crate::TestDb;

/// Regular rows inserted per table (in every dataset but [`Dataset::Empty`]);
/// then one more, optional, "edge" row: zero, `''`, 1970-01-01, `{}`, …
/// which is left out when a constraint rejects it.
pub const ROWS_PER_TABLE: usize = 3;

/// Executions of each query per dataset, each with other parameter values;
/// the last one binds NULL to every nullable (`:name?`) parameter.
pub const ROUNDS: usize = 6;

type BoxError = Box<dyn StdError + Sync + Send>;

/// Rows inserted into a table: attnum → value as text (`None` = NULL).
type Rows = Vec<BTreeMap<i16, Option<String>>>;

// ------------------------------------------------------------ wire helpers

/// A parameter bound in PostgreSQL's *text* format: the server parses it with
/// the parameter type's input function, so any type (enum label, domain,
/// array literal, …) can be bound from its text. `None` binds NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextParam(pub Option<String>);

impl ToSql for TextParam {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match &self.0 {
            None => Ok(IsNull::Yes),
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.to_sql(ty, out)
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }
}

/// Whether a cell is NULL; decodes a value of any type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nullness {
    /// SQL NULL.
    Null,
    /// Anything else.
    NotNull,
}

impl<'a> FromSql<'a> for Nullness {
    fn from_sql(_ty: &Type, _raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Nullness::NotNull)
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, BoxError> {
        Ok(Nullness::Null)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// `'text'` as an SQL string literal.
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `"name"` as an SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An element of an array literal, double-quoted.
fn array_element(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

// --------------------------------------------------------------- query sets

/// Queries and the schema they run on.
pub struct QuerySet {
    /// Shown in messages.
    pub label: String,
    /// Query directory (top-level `.sql` files) or file.
    pub queries: PathBuf,
    /// Schema files or directories, applied in order.
    pub schema: Vec<PathBuf>,
    /// Keeps a copied query directory alive.
    _copy: Option<tempfile::TempDir>,
}

impl QuerySet {
    /// The example application: `queries/*.sql` on `queries/schema/`.
    pub fn example_app() -> QuerySet {
        let root = crate::workspace_root();
        QuerySet {
            label: "example app (queries/)".to_string(),
            queries: root.join("queries"),
            schema: vec![root.join("queries/schema")],
            _copy: None,
        }
    }

    /// The nullability corpus: `tests/nullability/*.sql` but `schema.sql`, on
    /// `tests/nullability/schema.sql`; `None` while the directory does not exist.
    pub fn nullability_corpus() -> Option<QuerySet> {
        let dir = crate::workspace_root().join("tests/nullability");
        let schema = dir.join("schema.sql");
        if !dir.is_dir() || !schema.is_file() {
            return None;
        }
        // The generator reads every top-level `.sql` file: copy the queries alone.
        let copy = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let files = codegen::discover_query_files(&dir).unwrap_or_else(|e| panic!("{e}"));
        for file in files.iter().filter(|f| f.file_name() != schema.file_name()) {
            let target = copy.path().join(file.file_name().unwrap_or_default());
            std::fs::copy(file, &target).unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
        }
        Some(QuerySet {
            label: "nullability corpus (tests/nullability/)".to_string(),
            queries: copy.path().to_path_buf(),
            schema: vec![schema],
            _copy: Some(copy),
        })
    }

    /// Runs the generator and returns what it inferred per query (including
    /// the loaders it derives).
    pub async fn reports(&self) -> Vec<QueryReport> {
        let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config = codegen::Config {
            queries: self.queries.clone(),
            more_queries: Vec::new(),
            schema: self.schema.clone(),
            out: out.path().to_path_buf(),
            types: codegen::config::TypeConfig::default(),
        };
        match codegen::generate(&config, crate::server()).await {
            Ok(output) => output.reports,
            Err(error) => panic!("generating {}: {error}", self.label),
        }
    }

    /// A fresh database with this set's schema applied.
    pub async fn database(&self, prefix: &str) -> TestDb {
        let db = TestDb::new(prefix).await;
        for path in &self.schema {
            let files = codegen::schema_files(path).unwrap_or_else(|e| panic!("{e}"));
            for file in files {
                db.execute_file(&file).await;
            }
        }
        db
    }
}

// ------------------------------------------------------------------ catalog

/// A type, as far as choosing values goes.
#[derive(Debug, Clone)]
struct TypeInfo {
    name: String,
    /// `pg_type.typtype`: `b`ase, `e`num, `d`omain, `r`ange, `c`omposite, …
    typtype: String,
    /// Element type of an array type (`typcategory = 'A'`), else 0.
    elem: u32,
    /// Base type of a domain, else 0.
    base: u32,
    /// Type modifier a domain puts on its base type.
    base_typmod: i32,
    /// A domain declared `NOT NULL`.
    not_null: bool,
    /// Subtype of a range type, else 0.
    range_subtype: u32,
}

#[derive(Debug, Clone)]
struct ColumnInfo {
    attnum: i16,
    name: String,
    type_oid: u32,
    typmod: i32,
    not_null: bool,
    has_default: bool,
    /// Identity, generated or serial (`nextval` default): left to PostgreSQL.
    automatic: bool,
}

#[derive(Debug, Clone)]
struct ForeignKey {
    name: String,
    columns: Vec<i16>,
    parent: u32,
    parent_columns: Vec<i16>,
}

#[derive(Debug, Clone)]
struct TableInfo {
    oid: u32,
    /// `schema.table`, quoted.
    qualified: String,
    /// `schema.table`, for messages.
    display: String,
    columns: Vec<ColumnInfo>,
    foreign_keys: Vec<ForeignKey>,
    /// Column sets of unique indexes (primary key included).
    unique_keys: Vec<Vec<i16>>,
}

#[derive(Debug, Default)]
struct Catalog {
    tables: BTreeMap<u32, TableInfo>,
    types: BTreeMap<u32, TypeInfo>,
    enum_labels: BTreeMap<u32, Vec<String>>,
    /// Values of domain types per row number, checked against the domain's
    /// constraints by the server (see [`check_domain_values`]).
    domain_values: BTreeMap<(u32, usize), String>,
}

const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
                            AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

async fn read_catalog(client: &Client) -> Result<Catalog, tokio_postgres::Error> {
    let mut catalog = Catalog::default();
    let tables = client
        .query(
            &format!(
                "SELECT c.oid, n.nspname::text, c.relname::text
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {USER_SCHEMAS}
                 ORDER BY c.oid"
            ),
            &[],
        )
        .await?;
    for row in tables {
        let (oid, schema, name): (u32, String, String) = (row.get(0), row.get(1), row.get(2));
        catalog.tables.insert(
            oid,
            TableInfo {
                oid,
                qualified: format!("{}.{}", quote_ident(&schema), quote_ident(&name)),
                display: format!("{schema}.{name}"),
                columns: Vec::new(),
                foreign_keys: Vec::new(),
                unique_keys: Vec::new(),
            },
        );
    }
    let columns = client
        .query(
            "SELECT a.attrelid, a.attnum, a.attname::text, a.atttypid, a.atttypmod,
                    a.attnotnull, a.atthasdef,
                    a.attidentity <> '' OR a.attgenerated <> ''
                      OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false)
             FROM pg_attribute a
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attrelid, a.attnum",
            &[],
        )
        .await?;
    for row in columns {
        let Some(table) = catalog.tables.get_mut(&row.get::<_, u32>(0)) else {
            continue;
        };
        table.columns.push(ColumnInfo {
            attnum: row.get(1),
            name: row.get(2),
            type_oid: row.get(3),
            typmod: row.get(4),
            not_null: row.get(5),
            has_default: row.get(6),
            automatic: row.get(7),
        });
    }
    let foreign_keys = client
        .query(
            "SELECT conrelid, conname::text, conkey, confrelid, confkey
             FROM pg_constraint WHERE contype = 'f' ORDER BY conrelid, conname",
            &[],
        )
        .await?;
    for row in foreign_keys {
        if let Some(table) = catalog.tables.get_mut(&row.get::<_, u32>(0)) {
            table.foreign_keys.push(ForeignKey {
                name: row.get(1),
                columns: row.get(2),
                parent: row.get(3),
                parent_columns: row.get(4),
            });
        }
    }
    let unique = client
        .query(
            "SELECT indrelid, indkey::int2[] FROM pg_index
             WHERE indisunique AND indpred IS NULL AND indexprs IS NULL",
            &[],
        )
        .await?;
    for row in unique {
        if let Some(table) = catalog.tables.get_mut(&row.get::<_, u32>(0)) {
            table.unique_keys.push(row.get(1));
        }
    }
    let types = client
        .query(
            "SELECT t.oid, t.typname::text, t.typtype::text,
                    CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE 0::oid END,
                    t.typbasetype, t.typtypmod, t.typnotnull, coalesce(r.rngsubtype, 0::oid)
             FROM pg_type t LEFT JOIN pg_range r ON r.rngtypid = t.oid",
            &[],
        )
        .await?;
    for row in types {
        catalog.types.insert(
            row.get(0),
            TypeInfo {
                name: row.get(1),
                typtype: row.get(2),
                elem: row.get(3),
                base: row.get(4),
                base_typmod: row.get(5),
                not_null: row.get(6),
                range_subtype: row.get(7),
            },
        );
    }
    let labels = client
        .query(
            "SELECT enumtypid, enumlabel::text FROM pg_enum ORDER BY enumtypid, enumsortorder",
            &[],
        )
        .await?;
    for row in labels {
        catalog
            .enum_labels
            .entry(row.get(0))
            .or_default()
            .push(row.get(1));
    }
    Ok(catalog)
}

impl Catalog {
    /// Whether NULL is allowed in a column (its domain may forbid it).
    fn column_not_null(&self, column: &ColumnInfo) -> bool {
        let mut oid = column.type_oid;
        if column.not_null {
            return true;
        }
        while let Some(ty) = self.types.get(&oid) {
            if ty.not_null {
                return true;
            }
            if ty.typtype != "d" {
                break;
            }
            oid = ty.base;
        }
        false
    }

    /// The text of a value of type `oid` for row `n` (1-based), distinct per
    /// row so that unique keys hold; numbers positive. `None` for types this
    /// generator does not know.
    fn value(&self, oid: u32, typmod: i32, n: usize, salt: &str) -> Option<String> {
        let ty = self.types.get(&oid)?;
        match ty.typtype.as_str() {
            "e" => {
                let labels = self.enum_labels.get(&oid)?;
                // Row 1 the first label, …; the edge row (0) the last one.
                labels.get((n + labels.len() - 1) % labels.len()).cloned()
            }
            "d" if self.domain_values.contains_key(&(oid, n)) => {
                self.domain_values.get(&(oid, n)).cloned()
            }
            "d" => {
                let typmod = if ty.base_typmod >= 0 {
                    ty.base_typmod
                } else {
                    typmod
                };
                self.value(ty.base, typmod, n, salt)
            }
            "r" => {
                let low = self.value(ty.range_subtype, -1, n, salt)?;
                let high = self.value(ty.range_subtype, -1, n + 1, salt)?;
                Some(format!(
                    "[{},{})",
                    array_element(&low),
                    array_element(&high)
                ))
            }
            // Odd rows get two elements, even rows an empty array.
            _ if ty.elem != 0 && n % 2 != 1 => Some("{}".to_string()),
            _ if ty.elem != 0 => {
                let first = self.value(ty.elem, typmod, n, salt)?;
                let second = self.value(ty.elem, typmod, n + 1, salt)?;
                Some(format!(
                    "{{{},{}}}",
                    array_element(&first),
                    array_element(&second)
                ))
            }
            "b" => scalar_value(&ty.name, typmod, n, salt),
            _ => None,
        }
    }
}

/// For every domain type of a column (or of an array column's elements),
/// finds values for each row number that pass the domain's `CHECK`s: the
/// base type's value first, then a few variants (an e-mail-like text, larger
/// numbers, …), each tried by the server with a cast. Rows without a passing
/// value fall back to the base value (and the insert is reported if rejected).
async fn check_domain_values(
    client: &Client,
    catalog: &mut Catalog,
) -> Result<(), tokio_postgres::Error> {
    let mut domains = BTreeSet::new();
    for column in catalog.tables.values().flat_map(|t| &t.columns) {
        let mut oid = column.type_oid;
        if let Some(ty) = catalog.types.get(&oid) {
            if ty.elem != 0 {
                oid = ty.elem;
            }
        }
        if catalog.types.get(&oid).is_some_and(|ty| ty.typtype == "d") {
            domains.insert((oid, column.typmod));
        }
    }
    for (oid, typmod) in domains {
        let name: String = client
            .query_one("SELECT format_type($1, NULL)", &[&oid])
            .await?
            .get(0);
        let check = format!("SELECT CAST(CAST($1 AS text) AS {name})");
        let mut taken = BTreeSet::new();
        for n in 0..=ROWS_PER_TABLE + 1 {
            let Some(base) = catalog.value(oid, typmod, n, "") else {
                continue;
            };
            let mut candidates = vec![base.clone(), format!("{base}@example.com")];
            for factor in [10, 100, 1000, 1_000_000] {
                candidates.extend(catalog.value(oid, typmod, n * factor, ""));
            }
            candidates.extend([format!("{n}"), format!("{n}@example.com"), format!("-{n}")]);
            for candidate in candidates {
                if taken.contains(&candidate) {
                    continue;
                }
                if client.query_one(&check, &[&candidate]).await.is_ok() {
                    taken.insert(candidate.clone());
                    catalog.domain_values.insert((oid, n), candidate);
                    break;
                }
            }
        }
    }
    Ok(())
}

/// A number per row, spread in magnitude so that range predicates of
/// queries (`age BETWEEN 18 AND 65`, `budget > 100`) hit some rows and miss others.
fn magnitude(n: usize) -> usize {
    match n {
        1 => 1,
        2 => 50,
        3 => 150,
        _ => 100 * n,
    }
}

/// [`Catalog::value`] for base types, by name. `salt` (the column name, or
/// empty) makes texts differ between columns; with an empty salt, the first
/// row's text is `x1`, which the text parameters' first candidate hits.
fn scalar_value(name: &str, typmod: i32, n: usize, salt: &str) -> Option<String> {
    let date = match n {
        0 => "1970-01-01".to_string(),
        1 => "2000-01-02".to_string(),
        2 => "2021-06-15".to_string(),
        3 => "2099-12-30".to_string(),
        // Increasing with n (ranges need low < high).
        _ => format!("{}-{:02}-{:02}", 2100 + n, 1 + n % 12, 1 + n % 28),
    };
    let number = magnitude(n);
    Some(match name {
        "int2" | "int4" | "int8" | "oid" | "numeric" | "money" => number.to_string(),
        "float4" | "float8" if n == 0 => "0".to_string(),
        "float4" | "float8" => format!("{number}.5"),
        "text" | "varchar" | "bpchar" | "name" | "citext" => {
            let text = match n {
                0 if salt.is_empty() => String::new(),
                0 => format!("_{salt}"),
                1 if salt.is_empty() => "x1".to_string(),
                1 => format!("x1_{salt}"),
                2 => format!("a2_{salt}"),
                3 => format!("A 3_{salt}"),
                _ => format!("x{n}_{salt}"),
            };
            // varchar(n) / char(n): keep within the length, distinct per row.
            match usize::try_from(typmod - 4) {
                Ok(max) if max > 0 && text.len() > max => {
                    let short = format!("x{n}");
                    short[short.len().saturating_sub(max)..].to_string()
                }
                _ => text,
            }
        }
        "char" => char::from(b'a' + (n % 26) as u8).to_string(),
        "bool" => (n % 2 == 1).to_string(),
        "date" => date,
        "timestamp" => format!("{date} 12:00:00"),
        "timestamptz" => format!("{date} 12:00:00+00"),
        "time" => format!("12:00:{:02}", n % 60),
        "timetz" => format!("12:00:{:02}+00", n % 60),
        "interval" => format!("{number} days"),
        "uuid" => format!("00000000-0000-4000-8000-{n:012}"),
        "json" | "jsonb" if n == 0 => "{}".to_string(),
        "json" | "jsonb" if n % 2 == 1 => {
            format!(r#"{{"lang": "en", "reading_minutes": {number}, "n": {n}}}"#)
        }
        "json" | "jsonb" => format!(r#"{{"n": {n}}}"#),
        "bytea" if n == 0 => "\\x".to_string(),
        "bytea" => format!("\\x{n:04x}"),
        "inet" => format!("10.0.{}.{}", n / 256 % 256, n % 256),
        "cidr" => format!("10.{}.0.0/16", n % 256),
        "macaddr" => format!("08:00:2b:00:{:02x}:{:02x}", n / 256 % 256, n % 256),
        "bit" => "1".repeat(usize::try_from(typmod).unwrap_or(1).max(1)),
        "varbit" => format!("{n:b}"),
        "xml" => format!("<x>{n}</x>"),
        "tsvector" | "tsquery" => format!("x{n}"),
        "point" => format!("({number},{number})"),
        _ => return None,
    })
}

// ------------------------------------------------------------------- data

/// A database state the queries run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// Every table empty.
    Empty,
    /// A few rows per table; every nullable column and every nullable foreign
    /// key NULL; every NOT NULL foreign key at the first parent row (so the
    /// other parents have no children).
    Nulls,
    /// Like [`Dataset::Nulls`], but nullable columns and foreign keys alternate
    /// NULL / a value (out of phase between columns), and NOT NULL foreign
    /// keys alternate between the first two parents (the third has no children).
    Mixed,
    /// Every column has a value; children spread over all parents; texts
    /// equal across columns, so that joins and set operations on text meet.
    Values,
    /// Like [`Dataset::Values`], but texts differ between columns, so that
    /// copying one table's texts into another's unique column does not collide.
    Distinct,
}

impl Dataset {
    /// All datasets.
    pub const ALL: [Dataset; 5] = [
        Dataset::Empty,
        Dataset::Nulls,
        Dataset::Mixed,
        Dataset::Values,
        Dataset::Distinct,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Empty => "empty",
            Dataset::Nulls => "nulls",
            Dataset::Mixed => "mixed",
            Dataset::Values => "values",
            Dataset::Distinct => "distinct",
        }
    }

    /// Whether nullable column number `column` of row `k` gets a value.
    fn nullable_has_value(self, k: usize, column: usize) -> bool {
        match self {
            Dataset::Empty | Dataset::Nulls => false,
            Dataset::Mixed => (k + column) % 2 == 1,
            Dataset::Values | Dataset::Distinct => true,
        }
    }

    /// The parent row (index) of row `k`, among `parents` rows; `spread`
    /// when the foreign key must differ between rows (it is part of a unique key).
    fn parent(self, k: usize, parents: usize, spread: bool) -> usize {
        match self {
            _ if spread => k % parents,
            Dataset::Empty | Dataset::Nulls => 0,
            Dataset::Mixed => k % parents.min(2),
            Dataset::Values | Dataset::Distinct => k % parents,
        }
    }
}

/// What populating a dataset did.
#[derive(Debug, Default, Clone)]
pub struct DataReport {
    /// Rows per table (`schema.table`).
    pub rows: BTreeMap<String, usize>,
    /// Tables (or rows) that could not be filled, with the reason.
    pub skips: Vec<String>,
    /// Tables whose optional edge row was rejected (by a `CHECK`, say).
    pub edge_rejected: Vec<String>,
}

/// Fills every table of the database `client` is connected to for `dataset`,
/// reading the schema from the catalog.
pub async fn populate(
    client: &Client,
    dataset: Dataset,
) -> Result<DataReport, tokio_postgres::Error> {
    let mut catalog = read_catalog(client).await?;
    check_domain_values(client, &mut catalog).await?;
    let mut report = DataReport::default();
    for table in catalog.tables.values() {
        report.rows.insert(table.display.clone(), 0);
    }
    if dataset == Dataset::Empty {
        return Ok(report);
    }
    // Inserted rows per table: attnum → text value.
    let mut inserted: BTreeMap<u32, Rows> = BTreeMap::new();
    for oid in fk_order(&catalog) {
        let table = &catalog.tables[&oid];
        let rows = match fill_table(client, &catalog, table, dataset, &inserted).await? {
            Ok((rows, None)) => rows,
            Ok((rows, Some(reason))) => {
                report.edge_rejected.push(format!(
                    "{} ({}): {reason}",
                    table.display,
                    dataset.name()
                ));
                rows
            }
            Err(reason) => {
                report
                    .skips
                    .push(format!("{} ({}): {reason}", table.display, dataset.name()));
                Vec::new()
            }
        };
        report.rows.insert(table.display.clone(), rows.len());
        inserted.insert(oid, rows);
    }
    Ok(report)
}

/// Tables, parents before children (self references ignored; tables on a
/// cycle come last, in OID order).
fn fk_order(catalog: &Catalog) -> Vec<u32> {
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    loop {
        let ready: Vec<u32> = catalog
            .tables
            .values()
            .filter(|t| !done.contains(&t.oid))
            .filter(|t| {
                t.foreign_keys.iter().all(|fk| {
                    fk.parent == t.oid
                        || done.contains(&fk.parent)
                        || !catalog.tables.contains_key(&fk.parent)
                })
            })
            .map(|t| t.oid)
            .collect();
        if ready.is_empty() {
            break;
        }
        done.extend(ready.iter().copied());
        order.extend(ready);
    }
    order.extend(catalog.tables.keys().filter(|oid| !done.contains(oid)));
    order
}

/// Foreign keys (indices) whose values must differ between rows, because
/// they complete a unique key: in a unique key made of foreign-key columns
/// only, every foreign key but the first (or the only one) varies.
fn spread_foreign_keys(table: &TableInfo) -> BTreeSet<usize> {
    let mut spread = BTreeSet::new();
    for key in &table.unique_keys {
        let inside: Vec<usize> = (0..table.foreign_keys.len())
            .filter(|&i| {
                table.foreign_keys[i]
                    .columns
                    .iter()
                    .all(|c| key.contains(c))
            })
            .collect();
        let covered = key.iter().all(|c| {
            inside
                .iter()
                .any(|&i| table.foreign_keys[i].columns.contains(c))
        });
        if inside.is_empty() || !covered {
            continue;
        }
        if inside.len() == 1 {
            spread.insert(inside[0]);
        } else {
            spread.extend(inside[1..].iter().copied());
        }
    }
    spread
}

/// Inserts the rows of one table in a transaction: `Ok(Err(reason))` (and
/// nothing inserted) when a row cannot be made or is rejected.
async fn fill_table(
    client: &Client,
    catalog: &Catalog,
    table: &TableInfo,
    dataset: Dataset,
    inserted: &BTreeMap<u32, Rows>,
) -> Result<Result<(Rows, Option<String>), String>, tokio_postgres::Error> {
    let spread = spread_foreign_keys(table);
    // The foreign key that sets each column (the first one that covers it).
    let mut fk_of: BTreeMap<i16, usize> = BTreeMap::new();
    for (i, fk) in table.foreign_keys.iter().enumerate() {
        for column in &fk.columns {
            fk_of.entry(*column).or_insert(i);
        }
    }
    let returning = table
        .columns
        .iter()
        .map(|c| format!("{}::text", quote_ident(&c.name)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows: Rows = Vec::new();
    client.batch_execute("BEGIN").await?;
    let mut edge_rejected = None;
    for k in 0..=ROWS_PER_TABLE {
        // Row numbers 1, 2, 3, …; the edge row is number 0.
        let edge = k == ROWS_PER_TABLE;
        let n = if edge { 0 } else { k + 1 };
        let values = match row_values(
            catalog, table, dataset, inserted, &rows, &fk_of, &spread, k, n,
        ) {
            Ok(values) => values,
            Err(reason) if edge => {
                edge_rejected = Some(reason);
                break;
            }
            Err(reason) => {
                client.batch_execute("ROLLBACK").await?;
                return Ok(Err(format!("row {n}: {reason}")));
            }
        };
        let sql = if values.is_empty() {
            format!(
                "INSERT INTO {} DEFAULT VALUES RETURNING {returning}",
                table.qualified
            )
        } else {
            let names: Vec<String> = values.iter().map(|(c, _)| quote_ident(&c.name)).collect();
            let literals: Vec<String> = values
                .iter()
                .map(|(_, v)| v.as_deref().map_or("NULL".to_string(), quote_literal))
                .collect();
            format!(
                "INSERT INTO {} ({}) VALUES ({}) RETURNING {returning}",
                table.qualified,
                names.join(", "),
                literals.join(", ")
            )
        };
        if edge {
            client.batch_execute("SAVEPOINT edge").await?;
        }
        match client.query_one(&sql, &[]).await {
            Ok(row) => rows.push(
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.attnum, row.get::<_, Option<String>>(i)))
                    .collect(),
            ),
            Err(error) if edge => {
                client.batch_execute("ROLLBACK TO SAVEPOINT edge").await?;
                edge_rejected = Some(match error.as_db_error() {
                    Some(db) => db.message().to_string(),
                    None => error.to_string(),
                });
            }
            Err(error) => {
                client.batch_execute("ROLLBACK").await?;
                let reason = match error.as_db_error() {
                    Some(db) => format!(
                        "row {n} rejected{}: {} [{sql}]",
                        db.constraint()
                            .map(|c| format!(" by constraint {c}"))
                            .unwrap_or_default(),
                        db.message()
                    ),
                    None => format!("row {n} rejected: {error} [{sql}]"),
                };
                return Ok(Err(reason));
            }
        }
    }
    client.batch_execute("COMMIT").await?;
    Ok(Ok((rows, edge_rejected)))
}

/// The columns given for row `k` of `table` (automatic ones are left out)
/// with their text values (`None` = NULL).
#[allow(clippy::too_many_arguments)]
fn row_values<'t>(
    catalog: &Catalog,
    table: &'t TableInfo,
    dataset: Dataset,
    inserted: &BTreeMap<u32, Rows>,
    own_rows: &[BTreeMap<i16, Option<String>>],
    fk_of: &BTreeMap<i16, usize>,
    spread: &BTreeSet<usize>,
    k: usize,
    n: usize,
) -> Result<Vec<(&'t ColumnInfo, Option<String>)>, String> {
    // Plain values first: a self-referencing NOT NULL key may point at them.
    let mut own: BTreeMap<i16, Option<String>> = BTreeMap::new();
    for (position, column) in table.columns.iter().enumerate() {
        if column.automatic {
            continue;
        }
        let not_null = catalog.column_not_null(column);
        let value = if not_null || dataset.nullable_has_value(k, position) {
            let salt = if dataset == Dataset::Distinct {
                column.name.as_str()
            } else {
                ""
            };
            catalog.value(column.type_oid, column.typmod, n, salt)
        } else {
            None
        };
        if value.is_none() && not_null && !fk_of.contains_key(&column.attnum) {
            if column.has_default {
                continue; // an unknown type with a default: let PostgreSQL fill it
            }
            return Err(format!(
                "no value for NOT NULL column {} of type oid {}",
                column.name, column.type_oid
            ));
        }
        own.insert(column.attnum, value);
    }
    // Then foreign keys.
    for (i, fk) in table.foreign_keys.iter().enumerate() {
        let columns: Vec<&ColumnInfo> = fk
            .columns
            .iter()
            .filter_map(|a| table.columns.iter().find(|c| c.attnum == *a))
            .collect();
        let required = columns.iter().any(|c| catalog.column_not_null(c));
        let position = table
            .columns
            .iter()
            .position(|c| Some(c.attnum) == fk.columns.first().copied())
            .unwrap_or(0);
        let wanted = required || dataset.nullable_has_value(k, position);
        let parents: &[BTreeMap<i16, Option<String>>] = if fk.parent == table.oid {
            own_rows
        } else {
            inserted.get(&fk.parent).map_or(&[], Vec::as_slice)
        };
        let parent_row: Option<BTreeMap<i16, Option<String>>> = if !wanted {
            None
        } else if !parents.is_empty() {
            Some(parents[dataset.parent(k, parents.len(), spread.contains(&i))].clone())
        } else if fk.parent == table.oid && required {
            // The first row of a table that must reference itself: self-consistent.
            Some(own.clone())
        } else if required {
            return Err(format!(
                "NOT NULL foreign key {} has no parent row to point at",
                fk.name
            ));
        } else {
            None
        };
        for (column, parent_column) in fk.columns.iter().zip(&fk.parent_columns) {
            if fk_of.get(column) != Some(&i) {
                continue;
            }
            let value = match &parent_row {
                Some(parent) => match parent.get(parent_column) {
                    Some(Some(value)) => Some(value.clone()),
                    _ => {
                        return Err(format!(
                            "foreign key {}: referenced value not known before insertion",
                            fk.name
                        ))
                    }
                },
                None => None,
            };
            own.insert(*column, value);
        }
    }
    Ok(table
        .columns
        .iter()
        .filter_map(|c| own.get(&c.attnum).map(|v| (c, v.clone())))
        .collect())
}

// --------------------------------------------------------------- parameters

/// Candidate values (text) for a parameter of type `ty`.
pub fn param_candidates(ty: &Type) -> Vec<String> {
    match ty.kind() {
        Kind::Enum(labels) => labels.clone(),
        Kind::Domain(base) => param_candidates(base),
        Kind::Array(element) => {
            let elements: Vec<String> = match element.name() {
                "int2" | "int4" | "int8" | "oid" | "numeric" => {
                    vec!["1".into(), "2".into(), "3".into()]
                }
                _ => param_candidates(element).into_iter().take(3).collect(),
            };
            let items: Vec<String> = elements.iter().map(|e| array_element(e)).collect();
            vec![format!("{{{}}}", items.join(",")), "{}".to_string()]
        }
        Kind::Range(subtype) => {
            let values = param_candidates(subtype);
            match values.as_slice() {
                [low, high, ..] => vec![
                    format!("[{},{}]", array_element(low), array_element(high)),
                    "empty".to_string(),
                ],
                _ => vec!["empty".to_string()],
            }
        }
        _ => scalar_candidates(ty.name())
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

/// Candidate values of base types, by name; the first ones hit the rows
/// [`populate`] inserts.
fn scalar_candidates(name: &str) -> &'static [&'static str] {
    match name {
        "int2" | "int4" | "int8" | "oid" => &["1", "2", "0", "-1"],
        "numeric" | "float4" | "float8" | "money" => &["1", "2.5", "0", "-1"],
        "text" | "varchar" | "bpchar" | "name" | "citext" | "unknown" => {
            &["x1", "", "Customer 1", "x1@example.com"]
        }
        "char" => &["b", "a"],
        "bool" => &["true", "false"],
        "timestamptz" => &[
            "2000-01-01 00:00:00+00",
            "1970-01-01 00:00:00+00",
            "2100-01-01 00:00:00+00",
            "2021-01-01 00:00:00+00",
        ],
        "timestamp" => &[
            "2000-01-01 00:00:00",
            "1970-01-01 00:00:00",
            "2100-01-01 00:00:00",
        ],
        "date" => &["2000-01-02", "1970-01-01", "2100-01-01", "2021-01-01"],
        "time" => &["12:00:01", "00:00:00"],
        "timetz" => &["12:00:01+00", "00:00:00+00"],
        "interval" => &["1 day", "0", "-1 day"],
        "uuid" => &[
            "00000000-0000-4000-8000-000000000001",
            "ffffffff-ffff-4fff-bfff-ffffffffffff",
        ],
        "json" | "jsonb" => &["{}", r#"{"lang": "en"}"#],
        "bytea" => &["\\x0001", "\\x"],
        "inet" => &["10.0.0.1", "::1"],
        "cidr" => &["10.1.0.0/16"],
        "macaddr" => &["08:00:2b:00:00:01"],
        "bit" | "varbit" => &["1", "0"],
        "xml" => &["<x>1</x>"],
        "tsvector" | "tsquery" => &["x1"],
        "jsonpath" => &["$.lang", "$"],
        "point" => &["(1,1)"],
        _ => &[],
    }
}

/// Parameter values of round `round` for parameters of `types`; `nullable`
/// tells which are declared `:name?`. Round 0 binds every parameter's first
/// candidate (chosen to hit the inserted rows); the middle rounds rotate
/// through the candidates, parameter `i` of round `r` taking candidate
/// `r + i`, so that parameters vary against each other; the last round binds
/// NULL to the nullable parameters and first candidates to the others.
pub fn round_params(types: &[Type], nullable: &[bool], round: usize) -> Vec<TextParam> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            let last = round == ROUNDS - 1;
            if last && nullable.get(i).copied().unwrap_or(false) {
                return TextParam(None);
            }
            let candidates = param_candidates(ty);
            let pick = if round == 0 || last { 0 } else { round + i };
            TextParam(candidates.get(pick % candidates.len().max(1)).cloned())
        })
        .collect()
}

// ------------------------------------------------------------------ checking

/// A column inferred non-null that returned NULL.
#[derive(Debug, Clone)]
pub struct Violation {
    /// `module::Query`.
    pub query: String,
    /// Column name.
    pub column: String,
    /// Dataset name.
    pub dataset: String,
    /// Parameter values (`$1` first; `None` = NULL).
    pub params: Vec<Option<String>>,
    /// Row number in the result (0-based).
    pub row: usize,
    /// The SQL.
    pub sql: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params: Vec<String> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| match p {
                Some(text) => format!("${} = {text:?}", i + 1),
                None => format!("${} = NULL", i + 1),
            })
            .collect();
        write!(
            f,
            "{}: column `{}` inferred non-null is NULL (dataset {}, row {}, params [{}])\n    {}",
            self.query,
            self.column,
            self.dataset,
            self.row,
            params.join(", "),
            self.sql.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    }
}

/// How one query fared over all datasets and rounds.
#[derive(Debug, Default, Clone)]
pub struct QueryOutcome {
    /// Executions.
    pub rounds: usize,
    /// Executions that failed (a constraint, a bad parameter combination, …).
    pub failed: usize,
    /// The first error.
    pub first_error: Option<String>,
    /// Rows returned, over all executions.
    pub rows: usize,
    /// Output columns of the query.
    pub columns: usize,
}

/// Counts and findings of a soundness run.
#[derive(Debug, Default, Clone)]
pub struct Soundness {
    /// Queries checked.
    pub queries: usize,
    /// Datasets run.
    pub datasets: usize,
    /// Executions (queries × datasets × rounds).
    pub executions: usize,
    /// Executions that failed and were skipped.
    pub failed_executions: usize,
    /// Rows returned and checked.
    pub rows: usize,
    /// Cells of non-null columns checked.
    pub non_null_cells: usize,
    /// Columns inferred non-null (over all queries).
    pub non_null_columns: usize,
    /// Columns inferred nullable.
    pub nullable_columns: usize,
    /// Data that could not be inserted.
    pub data_skips: Vec<String>,
    /// Rows inserted per dataset (all tables together) and tables filled.
    pub data_rows: Vec<(String, usize, usize)>,
    /// Optional edge rows rejected, per table and dataset (information only).
    pub edge_rejected: Vec<String>,
    /// Columns inferred nullable that did return NULL somewhere:
    /// `(module::Query, column)`. How many of the nullable columns the data
    /// and parameters drive to NULL — the strength of the adversary (a
    /// nullable column never seen NULL may be a missed precision opportunity).
    pub nullable_seen_null: BTreeSet<(String, String)>,
    /// Columns inferred nullable never seen NULL (filled by [`check_query_set`]).
    pub nullable_never_null: Vec<(String, String)>,
    /// Per query (`module::Query`).
    pub outcomes: BTreeMap<String, QueryOutcome>,
    /// The findings.
    pub violations: Vec<Violation>,
}

impl Soundness {
    /// Queries that failed in every execution.
    pub fn always_failing(&self) -> Vec<(&String, &QueryOutcome)> {
        self.outcomes
            .iter()
            .filter(|(_, o)| o.rounds > 0 && o.failed == o.rounds)
            .collect()
    }

    /// A printable summary.
    pub fn summary(&self, label: &str) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "nullability soundness, {label}:\n  {} queries × {} datasets × {ROUNDS} rounds = {} executions \
             ({} failed and skipped); {} rows checked; {} non-null cells checked \
             ({} columns inferred non-null, {} nullable); {} data skips; {} violations",
            self.queries,
            self.datasets,
            self.executions,
            self.failed_executions,
            self.rows,
            self.non_null_cells,
            self.non_null_columns,
            self.nullable_columns,
            self.data_skips.len(),
            self.violations.len()
        );
        let _ = writeln!(
            text,
            "  columns inferred nullable that returned NULL at least once: {} of {}",
            self.nullable_seen_null.len(),
            self.nullable_columns
        );
        if !self.nullable_never_null.is_empty() {
            let columns: Vec<String> = self
                .nullable_never_null
                .iter()
                .map(|(query, column)| format!("{query}.{column}"))
                .collect();
            let _ = writeln!(
                text,
                "  inferred nullable, never NULL here (precision candidates): {}",
                columns.join(", ")
            );
        }
        for (dataset, rows, tables) in &self.data_rows {
            let _ = writeln!(text, "  dataset {dataset}: {rows} rows in {tables} tables");
        }
        let rowless: Vec<&str> = self
            .outcomes
            .iter()
            .filter(|(_, o)| o.columns > 0 && o.rows == 0 && o.failed < o.rounds)
            .map(|(query, _)| query.as_str())
            .collect();
        if !rowless.is_empty() {
            let _ = writeln!(
                text,
                "  never returned a row ({}): {}",
                rowless.len(),
                rowless.join(", ")
            );
        }
        for edge in &self.edge_rejected {
            let _ = writeln!(text, "  edge row left out: {edge}");
        }
        for skip in &self.data_skips {
            let _ = writeln!(text, "  data skip: {skip}");
        }
        for (query, outcome) in &self.outcomes {
            if outcome.failed > 0 && outcome.failed < outcome.rounds {
                let _ = writeln!(
                    text,
                    "  skipped: {query} failed in {} of {} executions; first error: {}",
                    outcome.failed,
                    outcome.rounds,
                    outcome.first_error.as_deref().unwrap_or("?")
                );
            }
        }
        for (query, outcome) in self.always_failing() {
            let _ = writeln!(
                text,
                "  SUSPICIOUS: {query} failed in all {} executions; first error: {}",
                outcome.rounds,
                outcome.first_error.as_deref().unwrap_or("?")
            );
        }
        for violation in &self.violations {
            let _ = writeln!(text, "  VIOLATION: {violation}");
        }
        text
    }
}

/// Runs every query of `reports` [`ROUNDS`] times on the database of
/// `client`, each execution in a transaction rolled back afterwards, and
/// records every NULL in a column inferred non-null.
pub async fn check_reports(
    client: &Client,
    dataset: &str,
    reports: &[QueryReport],
    soundness: &mut Soundness,
) -> Result<(), tokio_postgres::Error> {
    for report in reports {
        let query = format!("{}::{}", report.module, report.name);
        let outcome = soundness.outcomes.entry(query.clone()).or_default();
        outcome.columns = report.columns.len();
        let statement = match client.prepare(&report.sql).await {
            Ok(statement) => statement,
            Err(error) => {
                outcome.rounds += ROUNDS;
                outcome.failed += ROUNDS;
                outcome
                    .first_error
                    .get_or_insert(format!("prepare: {error}"));
                soundness.executions += ROUNDS;
                soundness.failed_executions += ROUNDS;
                continue;
            }
        };
        assert_eq!(
            statement.columns().len(),
            report.columns.len(),
            "{query}: the report's columns do not match the statement's"
        );
        let nullable: Vec<bool> = report.params.iter().map(|p| p.nullable).collect();
        for round in 0..ROUNDS {
            let params = round_params(statement.params(), &nullable, round);
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            client.batch_execute("BEGIN").await?;
            let result = client.query(&statement, &refs).await;
            client.batch_execute("ROLLBACK").await?;
            soundness.executions += 1;
            outcome.rounds += 1;
            let rows = match result {
                Ok(rows) => rows,
                Err(error) => {
                    soundness.failed_executions += 1;
                    outcome.failed += 1;
                    outcome.first_error.get_or_insert_with(|| {
                        error
                            .as_db_error()
                            .map_or_else(|| error.to_string(), |db| db.message().to_string())
                    });
                    continue;
                }
            };
            outcome.rows += rows.len();
            for (row_number, row) in rows.iter().enumerate() {
                soundness.rows += 1;
                for (index, column) in report.columns.iter().enumerate() {
                    let cell: Nullness = row
                        .try_get(index)
                        .unwrap_or_else(|e| panic!("{query}: decode {}: {e}", column.name));
                    if column.inferred_nullable {
                        if cell == Nullness::Null {
                            soundness
                                .nullable_seen_null
                                .insert((query.clone(), column.name.clone()));
                        }
                        continue;
                    }
                    soundness.non_null_cells += 1;
                    if cell == Nullness::Null {
                        soundness.violations.push(Violation {
                            query: query.clone(),
                            column: column.name.clone(),
                            dataset: dataset.to_string(),
                            params: params.iter().map(|p| p.0.clone()).collect(),
                            row: row_number,
                            sql: report.sql.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// Builds a database per [`Dataset`] for `set` and runs [`check_reports`] on
/// each.
pub async fn check_query_set(set: &QuerySet, reports: &[QueryReport]) -> Soundness {
    let mut soundness = Soundness {
        queries: reports.len(),
        non_null_columns: reports
            .iter()
            .flat_map(|r| &r.columns)
            .filter(|c| !c.inferred_nullable)
            .count(),
        nullable_columns: reports
            .iter()
            .flat_map(|r| &r.columns)
            .filter(|c| c.inferred_nullable)
            .count(),
        ..Soundness::default()
    };
    for dataset in Dataset::ALL {
        let db = set.database(&format!("sound_{}", dataset.name())).await;
        db.client
            .batch_execute("SET statement_timeout = '10s'")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let data = populate(&db.client, dataset)
            .await
            .unwrap_or_else(|e| panic!("populate {}: {e}", dataset.name()));
        soundness.data_rows.push((
            dataset.name().to_string(),
            data.rows.values().sum(),
            data.rows.values().filter(|&&rows| rows > 0).count(),
        ));
        soundness.data_skips.extend(data.skips);
        soundness.edge_rejected.extend(data.edge_rejected);
        check_reports(&db.client, dataset.name(), reports, &mut soundness)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", dataset.name()));
        soundness.datasets += 1;
        drop(db);
    }
    soundness.nullable_never_null = reports
        .iter()
        .flat_map(|r| {
            r.columns
                .iter()
                .filter(|c| c.inferred_nullable)
                .map(move |c| (format!("{}::{}", r.module, r.name), c.name.clone()))
        })
        .filter(|column| !soundness.nullable_seen_null.contains(column))
        .collect();
    soundness
}
