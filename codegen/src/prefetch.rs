//! Prefetch: batched relation loading, resolved at generation time.
//!
//! Owns the `@key` and `@prefetch` directives and everything they imply:
//!
//! * **loaders** — queries with `-- @key <column>` and exactly one array
//!   parameter used as `<expr> = ANY(:keys)`; checked that the key column is
//!   in the output, its type equals the array's element type, and is hashable;
//! * **relations** — `-- @prefetch field = Loader(parent_column)` on a
//!   row-returning query; checked that the loader exists and is one, the parent
//!   column exists with the key's type, the field name is free, and the
//!   relation graph has no cycle. A to-one relation is non-optional only when
//!   the parent column is non-null and a foreign key backs it;
//! * **derived loaders** — `-- @prefetch comments` with no loader named,
//!   resolved from the foreign keys of the parent's source table (reverse FK →
//!   to-many, forward FK → to-one, junction table → many-to-many). The SQL is
//!   written here and then described and checked like any query.
//!
//! Every mistake is a diagnostic at the directive's line. No IO: the caller
//! describes derived loaders.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::{ControlFlow, Range};
use std::sync::Arc;

use sqlparser::ast::{visit_expressions, BinaryOperator, Expr, Statement, Value};

use crate::describe::Described;
use crate::diagnostic::Diagnostic;
use crate::ident;
use crate::lex::{Directive, OffsetMap, ParamDef, ParamStyle, QueryDef, QueryKind};
use crate::schema::{Catalog, ForeignKey, Table};
use crate::typemap::{RustType, TypeMapper};

/// Where a relation's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationSource {
    /// `= Loader(parent_column)`.
    Named {
        /// Loader query name.
        loader: String,
        /// Where the loader name is written.
        loader_span: Range<usize>,
        /// Parent output column holding the key.
        parent_column: String,
        /// Where the column is written.
        column_span: Range<usize>,
    },
    /// No loader named: derive one from foreign keys.
    Derived,
}

/// One `-- @prefetch` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefetchDirective {
    /// Field name in the parent row.
    pub field: String,
    /// Where the field name is written.
    pub field_span: Range<usize>,
    /// The loader.
    pub source: RelationSource,
    /// The whole directive.
    pub span: Range<usize>,
}

/// A query's prefetch-related directives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// `-- @key column`.
    pub key: Option<(String, Range<usize>)>,
    /// `-- @prefetch …` lines in order.
    pub prefetch: Vec<PrefetchDirective>,
}

/// Reads `@key` and `@prefetch` from a lexed query.
pub fn parse_directives(def: &QueryDef) -> (Directives, Vec<Diagnostic>) {
    let mut out = Directives::default();
    let mut errors = Vec::new();
    for directive in &def.directives {
        match directive.name.as_str() {
            "key" => {
                let column = directive.args.trim();
                if column.is_empty() || column.contains(char::is_whitespace) || column.contains(',')
                {
                    errors.push(
                        Diagnostic::error_at(
                            "`@key` needs exactly one column name",
                            &def.file,
                            directive.span.clone(),
                        )
                        .with_help(
                            "write `-- @key post_id` (the output column the rows are grouped by)",
                        ),
                    );
                } else if out.key.is_some() {
                    errors.push(Diagnostic::error_at(
                        "duplicate `@key` directive",
                        &def.file,
                        directive.span.clone(),
                    ));
                } else {
                    out.key = Some((column.to_string(), directive.args_span.clone()));
                }
            }
            "prefetch" => match parse_prefetch(def, directive) {
                Ok(prefetch) => out.prefetch.push(prefetch),
                Err(error) => errors.push(*error),
            },
            _ => {}
        }
    }
    (out, errors)
}

fn parse_prefetch(
    def: &QueryDef,
    directive: &Directive,
) -> Result<PrefetchDirective, Box<Diagnostic>> {
    let bad = |message: &str| {
        Box::new(
            Diagnostic::error_at(message.to_string(), &def.file, directive.span.clone()).with_help(
                "write `-- @prefetch comments = CommentsByPost(id)`, or `-- @prefetch comments` to derive the loader from foreign keys",
            ),
        )
    };
    let args = directive.args.as_str();
    let base = directive.args_span.start;
    let (field_part, rest) = match args.split_once('=') {
        Some((field, rest)) => (field, Some(rest)),
        None => (args, None),
    };
    let field = field_part.trim();
    if !is_identifier(field) {
        return Err(bad("`@prefetch` needs a field name"));
    }
    let field_start = base + (field_part.len() - field_part.trim_start().len());
    let field_span = field_start..field_start + field.len();
    let Some(rest) = rest else {
        return Ok(PrefetchDirective {
            field: field.to_string(),
            field_span,
            source: RelationSource::Derived,
            span: directive.span.clone(),
        });
    };
    let rest_start = base + field_part.len() + 1;
    let trimmed = rest.trim();
    let lead = rest.len() - rest.trim_start().len();
    let (Some(open), true) = (trimmed.find('('), trimmed.ends_with(')')) else {
        return Err(bad(
            "`@prefetch` loader must be written `Loader(parent_column)`",
        ));
    };
    let loader = trimmed[..open].trim();
    let column = trimmed[open + 1..trimmed.len() - 1].trim();
    if !is_identifier(loader) || !is_identifier(column) {
        return Err(bad(
            "`@prefetch` loader must be written `Loader(parent_column)`",
        ));
    }
    let loader_start = rest_start + lead;
    let column_offset = trimmed[open + 1..].find(column).unwrap_or(0);
    let column_start = loader_start + open + 1 + column_offset;
    Ok(PrefetchDirective {
        field: field.to_string(),
        field_span,
        source: RelationSource::Named {
            loader: loader.to_string(),
            loader_span: loader_start..loader_start + loader.len(),
            parent_column: column.to_string(),
            column_span: column_start..column_start + column.len(),
        },
        span: directive.span.clone(),
    })
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A loader the generator wrote from foreign keys.
#[derive(Debug, Clone)]
pub struct DerivedLoader {
    /// Module it is emitted in (the first parent's).
    pub module: String,
    /// The synthesized query (SQL, kind, row name, one array parameter).
    pub def: QueryDef,
    /// Its `@key` column.
    pub key_column: String,
    /// The key is read from the SQL row but is not a field of the row struct
    /// (many-to-many through a junction table).
    pub hidden_key: bool,
}

/// A relation path found in the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Path {
    /// `target.fk_column → source.referenced`: to-many.
    Reverse { target: u32, fk: ForeignKey },
    /// `source.fk_column → target.referenced`: to-one.
    Forward { target: u32, fk: ForeignKey },
    /// `junction.a → source`, `junction.b → target`: many-to-many.
    Junction {
        junction: u32,
        to_source: ForeignKey,
        to_target: ForeignKey,
        target: u32,
    },
}

impl Path {
    fn describe(&self, catalog: &Catalog, source: &Table) -> String {
        let name = |oid: &u32| {
            catalog
                .tables
                .get(oid)
                .map_or("?", |t| t.name.as_str())
                .to_string()
        };
        let column = |oid: &u32, attnums: &[i16]| {
            let table = catalog.tables.get(oid);
            attnums
                .iter()
                .map(|a| {
                    table
                        .and_then(|t| t.column(*a))
                        .map_or("?", |c| c.name.as_str())
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Path::Reverse { target, fk } => format!(
                "to-many: {}.{} → {}.{}",
                name(target),
                column(target, &fk.columns),
                source.name,
                column(&source.oid, &fk.referenced_columns)
            ),
            Path::Forward { target, fk } => format!(
                "to-one: {}.{} → {}.{}",
                source.name,
                column(&source.oid, &fk.columns),
                name(target),
                column(target, &fk.referenced_columns)
            ),
            Path::Junction {
                junction,
                to_source,
                to_target,
                target,
            } => format!(
                "many-to-many: {} through {} ({} → {}, {} → {})",
                name(target),
                name(junction),
                column(junction, &to_source.columns),
                source.name,
                column(junction, &to_target.columns),
                name(target)
            ),
        }
    }
}

/// Very small English singular for naming row types after tables.
pub fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes", "ches", "shes"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return format!("{stem}{}", &suffix[..suffix.len() - 2]);
        }
    }
    if name.ends_with("ss") || name.ends_with("us") || name.ends_with("is") {
        return name.to_string();
    }
    name.strip_suffix('s').unwrap_or(name).to_string()
}

fn names_match(field: &str, table: &str) -> bool {
    field == table || singular(field) == singular(table)
}

/// The table a parent query's rows come from: the table of its first output
/// column that PostgreSQL traces to a base table.
fn source_table<'c>(described: &Described, catalog: &'c Catalog) -> Option<&'c Table> {
    described
        .columns
        .iter()
        .find_map(|c| c.table_oid.and_then(|oid| catalog.tables.get(&oid)))
}

fn single(columns: &[i16]) -> Option<i16> {
    match columns {
        [one] => Some(*one),
        _ => None,
    }
}

/// Finds every relation path named `field` from `source`. A plural field
/// (`comments`) names a to-many relation, a singular one (`author`) a to-one.
fn find_paths(field: &str, source: &Table, catalog: &Catalog) -> Vec<Path> {
    let mut paths = Vec::new();
    let plural = singular(field) != field;
    for table in catalog.tables.values() {
        for fk in &table.foreign_keys {
            if plural
                && fk.referenced_table == source.oid
                && single(&fk.columns).is_some()
                && names_match(field, &table.name)
            {
                paths.push(Path::Reverse {
                    target: table.oid,
                    fk: fk.clone(),
                });
            }
        }
    }
    for fk in &source.foreign_keys {
        let Some(column) = single(&fk.columns).and_then(|a| source.column(a)) else {
            continue;
        };
        let target = catalog.tables.get(&fk.referenced_table);
        let by_column = column.name == format!("{field}_id") || column.name == field;
        let by_table = target.is_some_and(|t| names_match(field, &t.name));
        if !plural && (by_column || by_table) {
            paths.push(Path::Forward {
                target: fk.referenced_table,
                fk: fk.clone(),
            });
        }
    }
    for junction in catalog.tables.values() {
        if junction.oid == source.oid {
            continue;
        }
        for to_source in junction
            .foreign_keys
            .iter()
            .filter(|fk| fk.referenced_table == source.oid)
        {
            for to_target in &junction.foreign_keys {
                let Some(target) = catalog.tables.get(&to_target.referenced_table) else {
                    continue;
                };
                if !plural
                    || to_target == to_source
                    || target.oid == junction.oid
                    || !names_match(field, &target.name)
                    || single(&to_source.columns).is_none()
                    || single(&to_target.columns).is_none()
                {
                    continue;
                }
                paths.push(Path::Junction {
                    junction: junction.oid,
                    to_source: to_source.clone(),
                    to_target: to_target.clone(),
                    target: target.oid,
                });
            }
        }
    }
    paths
}

/// PostgreSQL identifier quoting, only where needed (keywords included).
fn quote_ident(name: &str) -> String {
    ident::sql_ident(name)
}

/// The table's name as SQL: unqualified in `public`, unless the name could
/// resolve to a system catalog first (`pg_catalog` is searched before `public`).
fn qualified(table: &Table) -> String {
    if table.schema == "public" && !table.name.starts_with("pg_") {
        quote_ident(&table.name)
    } else {
        format!(
            "{}.{}",
            quote_ident(&table.schema),
            quote_ident(&table.name)
        )
    }
}

fn column_name(table: &Table, attnum: i16) -> String {
    table
        .column(attnum)
        .map_or_else(String::new, |c| c.name.clone())
}

fn select_list(alias: &str, table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| format!("{alias}.{}", quote_ident(&c.name)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn order_by(alias: &str, table: &Table, lead: Option<String>) -> String {
    let mut keys: Vec<String> = lead.into_iter().collect();
    keys.extend(
        table
            .primary_key
            .iter()
            .map(|a| format!("{alias}.{}", quote_ident(&column_name(table, *a)))),
    );
    if keys.is_empty() {
        String::new()
    } else {
        format!("\nORDER BY {}", keys.join(", "))
    }
}

/// What deriving needs to know about a parent query.
pub struct Parent<'a> {
    /// Module of the parent.
    pub module: &'a str,
    /// The parent query.
    pub def: &'a QueryDef,
    /// Its describe result.
    pub described: &'a Described,
    /// Its directives; derived ones are rewritten to name their loader.
    pub directives: &'a mut Directives,
}

/// Resolves every `@prefetch field` without a loader into a generated loader,
/// rewriting the directive to name it. `taken` holds the user's query names.
pub fn derive_loaders(
    parents: Vec<Parent<'_>>,
    catalog: &Catalog,
    taken: &BTreeSet<String>,
) -> (Vec<DerivedLoader>, Vec<Diagnostic>) {
    let mut loaders: BTreeMap<String, DerivedLoader> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for parent in parents {
        for prefetch in parent.directives.prefetch.iter_mut() {
            if prefetch.source != RelationSource::Derived {
                continue;
            }
            let def = parent.def;
            let Some(source) = source_table(parent.described, catalog) else {
                errors.push(
                    Diagnostic::error_at(
                        format!(
                            "cannot derive `{}`: query `{}` returns no base-table column",
                            prefetch.field, def.name
                        ),
                        &def.file,
                        prefetch.field_span.clone(),
                    )
                    .with_help("name the loader: `-- @prefetch field = Loader(parent_column)`"),
                );
                continue;
            };
            let paths = find_paths(&prefetch.field, source, catalog);
            let path = match paths.as_slice() {
                [one] => one.clone(),
                [] => {
                    errors.push(
                        Diagnostic::error_at(
                            format!("no foreign-key path from `{}` to `{}`", source.name, prefetch.field),
                            &def.file,
                            prefetch.field_span.clone(),
                        )
                        .with_label("no relation of this name")
                        .with_note(format!(
                            "looked for: a table `{0}` with a foreign key to `{1}` (to-many), a foreign key `{2}_id` from `{1}` (to-one), a junction table between `{1}` and `{0}` (many-to-many)",
                            prefetch.field,
                            source.name,
                            singular(&prefetch.field)
                        ))
                        .with_help("name the loader: `-- @prefetch field = Loader(parent_column)`"),
                    );
                    continue;
                }
                many => {
                    let list: Vec<String> =
                        many.iter().map(|p| p.describe(catalog, source)).collect();
                    errors.push(
                        Diagnostic::error_at(
                            format!(
                                "ambiguous relation `{}` from `{}`",
                                prefetch.field, source.name
                            ),
                            &def.file,
                            prefetch.field_span.clone(),
                        )
                        .with_label(format!("{} candidates", many.len()))
                        .with_note(format!("candidates: {}", list.join("; ")))
                        .with_help("name the loader: `-- @prefetch field = Loader(parent_column)`"),
                    );
                    continue;
                }
            };
            match synthesize(&path, source, parent.described, catalog, def, prefetch) {
                Ok(LoaderShape {
                    name,
                    sql,
                    key_column,
                    parent_column,
                    kind,
                    row,
                    hidden_key,
                    param_at,
                }) => {
                    let name = unique_name(&name, taken, &loaders, &sql);
                    // The one `$1` (quoted names elsewhere may contain anything).
                    let param_sites = vec![(0, param_at..param_at + 2)];
                    if !loaders.contains_key(&name) {
                        let loader_def = QueryDef {
                            file: Arc::clone(&def.file),
                            name: name.clone(),
                            name_span: prefetch.field_span.clone(),
                            kind,
                            kind_span: prefetch.field_span.clone(),
                            docs: vec![format!(
                                "Loader derived from the foreign key of {} (for `{}.{}`).",
                                markdown_escape(&path.describe(catalog, source)),
                                def.name,
                                prefetch.field
                            )],
                            row_name: Some((row, prefetch.field_span.clone())),
                            overrides: Vec::new(),
                            directives: vec![Directive {
                                name: "key".to_string(),
                                args: key_column.clone(),
                                span: prefetch.span.clone(),
                                args_span: prefetch.field_span.clone(),
                            }],
                            sql_span: prefetch.span.clone(),
                            sql,
                            params: vec![ParamDef {
                                name: Some("keys".to_string()),
                                nullable: false,
                                spans: vec![prefetch.field_span.clone()],
                                style: ParamStyle::Named,
                            }],
                            offsets: OffsetMap::pointing_at(prefetch.span.clone()),
                            param_sites,
                        };
                        order.push(name.clone());
                        loaders.insert(
                            name.clone(),
                            DerivedLoader {
                                module: parent.module.to_string(),
                                def: loader_def,
                                key_column,
                                hidden_key,
                            },
                        );
                    }
                    prefetch.source = RelationSource::Named {
                        loader: name,
                        loader_span: prefetch.field_span.clone(),
                        parent_column,
                        column_span: prefetch.field_span.clone(),
                    };
                }
                Err(error) => errors.push(*error),
            }
        }
    }
    let mut out = Vec::new();
    for name in order {
        if let Some(loader) = loaders.remove(&name) {
            out.push(loader);
        }
    }
    (out, errors)
}

/// `text` (made of SQL names) as markdown text that renders as itself.
fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '&' | '#' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A name for a derived loader: the natural one, unless a user query has it.
fn unique_name(
    base: &str,
    taken: &BTreeSet<String>,
    derived: &BTreeMap<String, DerivedLoader>,
    sql: &str,
) -> String {
    let mut name = base.to_string();
    let mut n = 1;
    loop {
        let free = !taken.contains(&name) && derived.get(&name).is_none_or(|d| d.def.sql == sql);
        if free {
            return name;
        }
        n += 1;
        name = format!("{base}{n}");
    }
}

/// The name a junction loader selects its hidden key as: `quarry_key`, or
/// `quarry_key_1`, `quarry_key_2`, … when the target table has a column of
/// that name (the loader finds its key by name).
fn key_alias(target: &Table) -> String {
    let taken = |name: &str| target.columns.iter().any(|c| c.name == name);
    let mut alias = "quarry_key".to_string();
    let mut n = 0;
    while taken(&alias) {
        n += 1;
        alias = format!("quarry_key_{n}");
    }
    alias
}

/// What a derived loader looks like.
struct LoaderShape {
    name: String,
    sql: String,
    key_column: String,
    parent_column: String,
    kind: QueryKind,
    row: String,
    hidden_key: bool,
    /// Byte offset of `$1` in `sql`.
    param_at: usize,
}

/// SQL, names and shape of the loader for one path.
fn synthesize(
    path: &Path,
    source: &Table,
    described: &Described,
    catalog: &Catalog,
    def: &QueryDef,
    prefetch: &PrefetchDirective,
) -> Result<LoaderShape, Box<Diagnostic>> {
    // The parent must return the column the path starts from.
    let parent_column_for = |attnum: i16| -> Result<String, Box<Diagnostic>> {
        described
            .columns
            .iter()
            .find(|c| c.table_oid == Some(source.oid) && c.column_id == Some(attnum))
            .map(|c| c.name.clone())
            .ok_or_else(|| {
                Box::new(
                    Diagnostic::error_at(
                        format!(
                            "`{}` needs `{}.{}` in the output of query `{}`",
                            prefetch.field,
                            source.name,
                            column_name(source, attnum),
                            def.name
                        ),
                        &def.file,
                        prefetch.field_span.clone(),
                    )
                    .with_help(format!(
                        "select `{}` in the query",
                        column_name(source, attnum)
                    )),
                )
            })
    };
    let table = |oid: &u32| {
        catalog.tables.get(oid).ok_or_else(|| {
            Box::new(Diagnostic::error_at(
                "internal error: foreign key to an unknown table",
                &def.file,
                prefetch.span.clone(),
            ))
        })
    };
    // Reverse and forward paths read one table, keyed by one of its columns.
    let one_table = |target: &Table, key_attnum: i16, parent_attnum: i16, kind: QueryKind| {
        let key_column = column_name(target, key_attnum);
        let order = if kind == QueryKind::Many {
            order_by("t", target, None)
        } else {
            String::new()
        };
        let head = format!(
            "SELECT {}\nFROM {} t\nWHERE t.{} = ",
            select_list("t", target),
            qualified(target),
            quote_ident(&key_column),
        );
        Ok(LoaderShape {
            name: format!(
                "{}By{}",
                ident::pascal(&target.name),
                ident::pascal(&key_column)
            ),
            sql: format!("{head}ANY($1){order}"),
            param_at: head.len() + "ANY(".len(),
            parent_column: parent_column_for(parent_attnum)?,
            key_column,
            kind,
            row: ident::pascal(&singular(&target.name)),
            hidden_key: false,
        })
    };
    match path {
        Path::Reverse { target, fk } => one_table(
            table(target)?,
            fk.columns[0],
            fk.referenced_columns[0],
            QueryKind::Many,
        ),
        Path::Forward { target, fk } => one_table(
            table(target)?,
            fk.referenced_columns[0],
            fk.columns[0],
            QueryKind::Opt,
        ),
        Path::Junction {
            junction,
            to_source,
            to_target,
            target,
        } => {
            let junction = table(junction)?;
            let target = table(target)?;
            let source_key = column_name(junction, to_source.columns[0]);
            // The key is selected last under a name of its own, which no
            // column of the target has, and kept out of the row struct.
            let key_alias = key_alias(target);
            let head = format!(
                "SELECT {}, j.{} AS {}\nFROM {} j\nJOIN {} t ON t.{} = j.{}\nWHERE j.{} = ",
                select_list("t", target),
                quote_ident(&source_key),
                quote_ident(&key_alias),
                qualified(junction),
                qualified(target),
                quote_ident(&column_name(target, to_target.referenced_columns[0])),
                quote_ident(&column_name(junction, to_target.columns[0])),
                quote_ident(&source_key),
            );
            let order = order_by("t", target, Some(format!("j.{}", quote_ident(&source_key))));
            Ok(LoaderShape {
                name: format!(
                    "{}Via{}",
                    ident::pascal(&target.name),
                    ident::pascal(&junction.name)
                ),
                sql: format!("{head}ANY($1){order}"),
                param_at: head.len() + "ANY(".len(),
                key_column: key_alias,
                parent_column: parent_column_for(to_source.referenced_columns[0])?,
                kind: QueryKind::Many,
                row: ident::pascal(&singular(&target.name)),
                hidden_key: true,
            })
        }
    }
}

/// What prefetching needs to know about every query, loaders and parents alike.
pub struct QueryFacts<'a> {
    /// Module of the query.
    pub module: &'a str,
    /// The query.
    pub def: &'a QueryDef,
    /// Its parsed statement, if sqlparser could parse it.
    pub statement: Option<&'a Statement>,
    /// Its describe result.
    pub described: &'a Described,
    /// Final nullability per column (inference and overrides).
    pub nullable: &'a [bool],
    /// Its `@key`/`@prefetch` directives.
    pub directives: &'a Directives,
    /// Whether the key is hidden from the row struct (derived junction loaders).
    pub hidden_key: bool,
}

/// A checked loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaderSpec {
    /// Index of the key column in the output.
    pub key_index: usize,
    /// Its name.
    pub key_column: String,
    /// Its Rust type.
    pub key_type: RustType,
    /// Not a field of the row struct.
    pub hidden: bool,
    /// `:many` → to-many; `:one`/`:opt` → at most one row per key.
    pub to_many: bool,
}

/// A checked relation of a parent query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationSpec {
    /// Field name in the parent's row struct.
    pub field: String,
    /// Index (in the facts slice) of the loader query.
    pub loader: usize,
    /// Index of the parent column holding the key.
    pub parent_index: usize,
    /// Name of that column.
    pub parent_column: String,
    /// The parent column is `Option`.
    pub parent_nullable: bool,
    /// To-many (`Vec`) or to-one.
    pub to_many: bool,
    /// For to-one: typed `Option<Row>`.
    pub optional: bool,
}

/// Per query: its loader spec (if it is one) and its relations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryPrefetch {
    /// Set for loaders.
    pub loader: Option<LoaderSpec>,
    /// Relations in directive order.
    pub relations: Vec<RelationSpec>,
}

fn column_type(facts: &QueryFacts<'_>, index: usize, mapper: &TypeMapper<'_>) -> Option<RustType> {
    facts
        .described
        .columns
        .get(index)
        .and_then(|c| mapper.map(&c.ty))
}

/// Whether `$1` is used as `<expr> = ANY($1)` in the statement.
fn uses_any(statement: &Statement) -> bool {
    let found = visit_expressions(statement, |expr| {
        if let Expr::AnyOp {
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } = expr
        {
            let mut inner = right.as_ref();
            while let Expr::Nested(e) | Expr::Cast { expr: e, .. } = inner {
                inner = e;
            }
            if let Expr::Value(value) = inner {
                if matches!(&value.value, Value::Placeholder(p) if p == "$1") {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    });
    found.is_break()
}

fn check_loader(
    facts: &QueryFacts<'_>,
    mapper: &TypeMapper<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Option<LoaderSpec> {
    let (key, key_span) = facts.directives.key.as_ref()?;
    let def = facts.def;
    let error =
        |message: String, span: Range<usize>| Diagnostic::error_at(message, &def.file, span);
    if !def.kind.returns_rows() {
        errors.push(error(
            format!("loader `{}` must return rows", def.name),
            def.kind_span.clone(),
        ));
        return None;
    }
    let Some(key_index) = facts.described.columns.iter().position(|c| &c.name == key) else {
        errors.push(
            facts
                .described
                .unknown_column(def, &format!("@key {key}"), key_span.clone()),
        );
        return None;
    };
    let arrays: Vec<usize> = facts
        .described
        .params
        .iter()
        .enumerate()
        .filter(|(_, ty)| matches!(ty.kind(), postgres_types::Kind::Array(_)))
        .map(|(i, _)| i)
        .collect();
    if facts.described.params.len() != 1 || arrays.len() != 1 {
        let what = if arrays.len() > 1 {
            format!("{} array parameters", arrays.len())
        } else if arrays.is_empty() {
            "no array parameter".to_string()
        } else {
            format!("{} parameters", facts.described.params.len())
        };
        let span = def
            .params
            .get(arrays.get(1).copied().unwrap_or(0))
            .and_then(|p| p.spans.first().cloned())
            .unwrap_or_else(|| key_span.clone());
        errors.push(
            error(
                format!(
                    "loader `{}` must take exactly one array parameter, found {what}",
                    def.name
                ),
                span,
            )
            .with_help(
                "a loader selects rows for a set of keys: `WHERE t.post_id = ANY(:post_ids)`",
            ),
        );
        return None;
    }
    let param_span = def.params[0]
        .spans
        .first()
        .cloned()
        .unwrap_or_else(|| key_span.clone());
    if facts.statement.is_some_and(|s| !uses_any(s)) {
        errors.push(
            error(
                format!(
                    "loader `{}` must use its key array as `<expr> = ANY(…)`",
                    def.name
                ),
                param_span.clone(),
            )
            .with_help("write `WHERE t.post_id = ANY(:post_ids)`"),
        );
        return None;
    }
    let key_type = column_type(facts, key_index, mapper)?;
    let element = facts.described.params[0].kind();
    let element_type = match element {
        postgres_types::Kind::Array(element) => mapper.map(element),
        _ => None,
    };
    if element_type.as_ref() != Some(&key_type) {
        let element_name = match element {
            postgres_types::Kind::Array(element) => element.name().to_string(),
            _ => facts.described.params[0].name().to_string(),
        };
        errors.push(
            error(
                format!(
                    "loader `{}`: key array elements are `{element_name}` but `@key {key}` is `{}`",
                    def.name,
                    facts.described.columns[key_index].ty.name()
                ),
                param_span,
            )
            .with_help(format!(
                "cast one side, e.g. `= ANY(:keys::{}[])`",
                facts.described.columns[key_index].ty.name()
            )),
        );
        return None;
    }
    if !key_type.is_hashable() {
        errors.push(error(
            format!(
                "`@key {key}` has type `{}`, which cannot key a map",
                facts.described.columns[key_index].ty.name()
            ),
            key_span.clone(),
        ));
        return None;
    }
    Some(LoaderSpec {
        key_index,
        key_column: key.clone(),
        key_type,
        hidden: facts.hidden_key,
        to_many: def.kind == QueryKind::Many,
    })
}

/// Whether a foreign key makes `parent.column → loader.key` total.
fn backed_by_foreign_key(
    parent: &QueryFacts<'_>,
    parent_index: usize,
    loader: &QueryFacts<'_>,
    key_index: usize,
    catalog: &Catalog,
) -> bool {
    let (Some(from), Some(to)) = (
        parent.described.columns.get(parent_index),
        loader.described.columns.get(key_index),
    ) else {
        return false;
    };
    let (Some(from_table), Some(from_column), Some(to_table), Some(to_column)) =
        (from.table_oid, from.column_id, to.table_oid, to.column_id)
    else {
        return false;
    };
    catalog.tables.get(&from_table).is_some_and(|table| {
        table.foreign_keys.iter().any(|fk| {
            fk.columns == [from_column]
                && fk.referenced_table == to_table
                && fk.referenced_columns == [to_column]
        })
    })
}

/// Checks every loader and relation; returns one entry per query, in order.
pub fn resolve_prefetch(
    queries: &[QueryFacts<'_>],
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
) -> Result<Vec<QueryPrefetch>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let loaders: Vec<Option<LoaderSpec>> = queries
        .iter()
        .map(|q| check_loader(q, mapper, &mut errors))
        .collect();
    let by_name: HashMap<&str, usize> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| (q.def.name.as_str(), i))
        .collect();
    let mut out: Vec<QueryPrefetch> = loaders
        .iter()
        .map(|loader| QueryPrefetch {
            loader: loader.clone(),
            relations: Vec::new(),
        })
        .collect();
    for (index, parent) in queries.iter().enumerate() {
        let def = parent.def;
        let mut fields: BTreeSet<String> = parent
            .described
            .columns
            .iter()
            .map(|c| ident::snake(&c.name))
            .collect();
        for prefetch in &parent.directives.prefetch {
            let RelationSource::Named {
                loader,
                loader_span,
                parent_column,
                column_span,
            } = &prefetch.source
            else {
                continue; // derivation failed and was reported
            };
            let error = |message: String, span: &Range<usize>| {
                Diagnostic::error_at(message, &def.file, span.clone())
            };
            if !def.kind.returns_rows() {
                errors.push(error(
                    format!("`@prefetch` on `{}`, which returns no rows", def.name),
                    &prefetch.span,
                ));
                continue;
            }
            let field = ident::snake(&prefetch.field);
            if !fields.insert(field.clone()) {
                errors.push(
                    error(
                        format!(
                            "relation field `{field}` collides with a column or relation of `{}`",
                            def.name
                        ),
                        &prefetch.field_span,
                    )
                    .with_help("choose another field name"),
                );
                continue;
            }
            let Some(&loader_index) = by_name.get(loader.as_str()) else {
                let known: Vec<&str> = queries
                    .iter()
                    .zip(&loaders)
                    .filter(|(_, l)| l.is_some())
                    .map(|(q, _)| q.def.name.as_str())
                    .collect();
                errors.push(
                    error(format!("unknown loader `{loader}`"), loader_span)
                        .with_label("no query of this name")
                        .with_help(if known.is_empty() {
                            "declare a loader with `-- @key <column>` and `= ANY(:keys)`"
                                .to_string()
                        } else {
                            format!("loaders: {}", known.join(", "))
                        }),
                );
                continue;
            };
            let Some(spec) = &loaders[loader_index] else {
                errors.push(
                    error(format!("query `{loader}` is not a loader: it has no `@key`"), loader_span)
                        .with_help(format!("add `-- @key <column>` to `{loader}` and select its rows with `= ANY(:keys)`")),
                );
                continue;
            };
            let Some(parent_index) = parent
                .described
                .columns
                .iter()
                .position(|c| &c.name == parent_column)
            else {
                errors.push(parent.described.unknown_column(
                    def,
                    parent_column,
                    column_span.clone(),
                ));
                continue;
            };
            let parent_type = column_type(parent, parent_index, mapper);
            if parent_type.as_ref() != Some(&spec.key_type) {
                errors.push(
                    error(
                        format!(
                            "type mismatch: `{}.{parent_column}` is `{}` but the key of `{loader}` is `{}`",
                            def.name,
                            parent.described.columns[parent_index].ty.name(),
                            queries[loader_index].described.columns[spec.key_index].ty.name()
                        ),
                        column_span,
                    )
                    .with_help("cast the parent column to the key's type in the parent query"),
                );
                continue;
            }
            let parent_nullable = parent.nullable.get(parent_index).copied().unwrap_or(true);
            let optional = !spec.to_many
                && (parent_nullable
                    || !backed_by_foreign_key(
                        parent,
                        parent_index,
                        &queries[loader_index],
                        spec.key_index,
                        catalog,
                    ));
            out[index].relations.push(RelationSpec {
                field,
                loader: loader_index,
                parent_index,
                parent_column: parent_column.clone(),
                parent_nullable,
                to_many: spec.to_many,
                optional,
            });
        }
    }
    // Cycles: a loader reachable from itself would recurse forever.
    for (start, query) in queries.iter().enumerate() {
        if let Some(cycle) = find_cycle(start, &out) {
            let closing = query.directives.prefetch.iter().find(|p| match &p.source {
                RelationSource::Named { loader, .. } => {
                    by_name.get(loader.as_str()) == cycle.get(1)
                }
                RelationSource::Derived => false,
            });
            if let (Some(closing), true) = (closing, cycle.iter().min() == Some(&start)) {
                let names: Vec<&str> = cycle
                    .iter()
                    .map(|&i| queries[i].def.name.as_str())
                    .collect();
                errors.push(
                    Diagnostic::error_at(format!("prefetch cycle: {}", names.join(" → ")), &query.def.file, closing.span.clone())
                        .with_help("relations are loaded level by level; a cycle would never end — remove one `@prefetch`"),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A path `start → … → start` in the relation graph, if any.
fn find_cycle(start: usize, graph: &[QueryPrefetch]) -> Option<Vec<usize>> {
    let mut stack = vec![(start, vec![start])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for relation in &graph[node].relations {
            if relation.loader == start {
                let mut cycle = path.clone();
                cycle.push(start);
                return Some(cycle);
            }
            if seen.insert(relation.loader) {
                let mut next = path.clone();
                next.push(relation.loader);
                stack.push((relation.loader, next));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singulars() {
        for (plural, one) in [
            ("comments", "comment"),
            ("categories", "category"),
            ("boxes", "box"),
            ("status", "status"),
            ("address", "address"),
            ("tags", "tag"),
        ] {
            assert_eq!(singular(plural), one);
        }
    }

    #[test]
    fn parses_directives() {
        let file = crate::diagnostic::SourceFile::new(
            "q.sql",
            "-- name: Q :many\n-- @key post_id\n-- @prefetch comments = CommentsByPost( id )\n-- @prefetch tags\nSELECT 1 AS post_id",
        );
        let (queries, errors) = crate::lex::lex_file(&file);
        assert!(errors.is_empty(), "{errors:?}");
        let (directives, errors) = parse_directives(&queries[0]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            directives.key.as_ref().map(|k| k.0.as_str()),
            Some("post_id")
        );
        assert_eq!(directives.prefetch.len(), 2);
        match &directives.prefetch[0].source {
            RelationSource::Named {
                loader,
                parent_column,
                column_span,
                ..
            } => {
                assert_eq!(
                    (loader.as_str(), parent_column.as_str()),
                    ("CommentsByPost", "id")
                );
                assert_eq!(&file.text[column_span.clone()], "id");
            }
            RelationSource::Derived => panic!("expected a named loader"),
        }
        assert_eq!(directives.prefetch[1].source, RelationSource::Derived);
        assert_eq!(
            &file.text[directives.prefetch[1].field_span.clone()],
            "tags"
        );
    }
}
