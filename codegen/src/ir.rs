//! IR: the checked, fully typed description of what to generate.
//!
//! Owns turning each query's facts (lexed definition, describe result,
//! inferred nullability) into [`Project`]: modules, row structs, functions,
//! parameters and enums, with every Rust name already decided. Everything
//! that can be wrong about names and types is caught here with a diagnostic:
//! unnamed or duplicate columns, unsupported types, overrides naming unknown
//! columns, `@row` structs whose columns disagree. Emit reads only the IR.
//! No IO.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::bulk::CopyTarget;
use crate::describe::Described;
use crate::diagnostic::Diagnostic;
use crate::ident;
use crate::lex::{ParamStyle, QueryDef, QueryKind};
use crate::prefetch::QueryPrefetch;
use crate::schema::Catalog;
use crate::typemap::{RustType, TypeMapper, UserType};
use crate::unnest::{UnnestCall, UnnestIr};
use proc_macro2::TokenStream;

/// Everything to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// One module per query file, in file order.
    pub modules: Vec<ModuleIr>,
    /// Enums, composites and domain newtypes used by any query, by Rust name.
    pub user_types: BTreeMap<String, UserType>,
    /// Extra derives from the configuration.
    pub derives: crate::config::Derives,
    /// Path of the runtime crate when it is not `quarry`.
    pub runtime: Option<String>,
}

/// One generated module (one query file).
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleIr {
    /// Module name (snake_case file stem).
    pub name: String,
    /// The query file, as shown to users (`queries/blog.sql`).
    pub source: String,
    /// Row structs defined in this module.
    pub rows: Vec<RowIr>,
    /// Structs of embedded tables (`sqlc.embed`), each once.
    pub embedded: Vec<embed::EmbedStructIr>,
    /// Query functions in file order.
    pub queries: Vec<QueryIr>,
}

/// A row struct.
#[derive(Debug, Clone, PartialEq)]
pub struct RowIr {
    /// Struct name.
    pub name: String,
    /// Fields in column order.
    pub fields: Vec<FieldIr>,
    /// Fields holding an embedded table (`sqlc.embed`), among the columns'.
    pub embeds: Vec<embed::EmbedIr>,
    /// Relation fields (after the columns), loaded by prefetching.
    pub relations: Vec<RelationIr>,
    /// Functions returning it (for its rustdoc).
    pub used_by: Vec<String>,
}

/// A relation of a row: a field filled by a loader, in one statement for all rows.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationIr {
    /// Field name.
    pub field: String,
    /// The loader's query name (for errors).
    pub loader_query: String,
    /// Module of the loader function.
    pub loader_module: String,
    /// The loader function.
    pub loader_fn: String,
    /// The loader's row type.
    pub row: RowRef,
    /// The parent field holding the key.
    pub parent_field: String,
    /// Its type (without `Option`).
    pub key_type: RustType,
    /// The parent field is `Option`.
    pub parent_nullable: bool,
    /// `Vec<Row>`; otherwise to-one.
    pub to_many: bool,
    /// To-one typed `Option<Row>`.
    pub optional: bool,
    /// Index of the key array among the loader's parameters.
    pub key_param: usize,
    /// The loader's other parameters, bound from the parent call.
    pub bound: Vec<BoundParam>,
}

/// A loader parameter a relation binds from the parent call
/// (`Loader(id, since = :since)`).
#[derive(Debug, Clone, PartialEq)]
pub struct BoundParam {
    /// Its index among the loader's parameters.
    pub loader_param: usize,
    /// The parent function's parameter passed to it: one of the parent
    /// query's, or one of its [`QueryIr::relation_params`].
    pub parent: ParamIr,
}

/// The parameters `with_relations` of a row takes: every parent parameter
/// its relations bind, once, in order of first use.
pub fn relations_bound(relations: &[RelationIr]) -> Vec<&ParamIr> {
    let mut out: Vec<&ParamIr> = Vec::new();
    for bound in relations.iter().flat_map(|r| &r.bound) {
        if !out.iter().any(|p| p.name == bound.parent.name) {
            out.push(&bound.parent);
        }
    }
    out
}

/// What makes a query a loader.
#[derive(Debug, Clone, PartialEq)]
pub struct LoaderIr {
    /// Output column index of the key.
    pub key_index: usize,
    /// Its name.
    pub key_column: String,
    /// Its Rust type.
    pub key_type: RustType,
    /// Many rows per key (`:many`) or at most one.
    pub to_many: bool,
    /// The row field holding the key, when the row has one of the key's type
    /// (the key is then read from the decoded row rather than decoded twice);
    /// `None` for a hidden key (derived junction loaders).
    pub key_field: Option<KeyField>,
    /// Index of the key array among its parameters (the others are bound
    /// by each relation from its parent call).
    pub key_param: usize,
}

/// The row field a loader reads its key from.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyField {
    /// Field name.
    pub name: String,
    /// The field is `Option`.
    pub nullable: bool,
}

/// The function a loader `loader_fn` is run through for keys that are already
/// distinct (`with_relations` de-duplicates the parents' keys itself).
pub fn distinct_loader_fn(loader_fn: &str) -> String {
    format!("{loader_fn}_distinct")
}

/// A field of a row struct: one output column.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldIr {
    /// Index of the column in the SQL row.
    pub index: usize,
    /// Rust field name.
    pub name: String,
    /// SQL column name (for decode errors).
    pub column: String,
    /// PostgreSQL type name (for rustdoc).
    pub pg_type: String,
    /// Rust type (without `Option`).
    pub ty: RustType,
    /// `Option<…>`.
    pub nullable: bool,
    /// Decoded through `quarry::types::BaseType` (an array of a domain).
    pub through_base_type: bool,
}

/// A reference to a row struct, possibly defined in another module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRef {
    /// Module that defines it.
    pub module: String,
    /// Struct name.
    pub name: String,
}

/// A generated query function.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryIr {
    /// The query's name from its header (`ListPosts`).
    pub name: String,
    /// Function name (`list_posts`).
    pub fn_name: String,
    /// Result kind.
    pub kind: QueryKind,
    /// The statement takes row locks ([`crate::locks`]): the function
    /// accepts only a transaction (`quarry::InTransaction`).
    pub takes_row_locks: bool,
    /// Doc comment lines.
    pub docs: Vec<String>,
    /// SQL sent to PostgreSQL (`$n` placeholders), as prepared at generation
    /// time (without the attribution comment).
    pub sql: String,
    /// The SQL in generated code starts with a comment naming the query,
    /// `/* quarry:ListPosts */ ` (`attribution` in `quarry.toml`, on by
    /// default): the server's views then tell which function sent it.
    pub attribution: bool,
    /// Parameters in `$n` order.
    pub params: Vec<ParamIr>,
    /// The parameters its rows' relations bind (`since = :since`), passed
    /// to `with_relations`: its own, or, when it has none of that name, new
    /// parameters of its function, after [`params`](Self::params) (see
    /// [`QueryIr::new_params`]).
    pub relation_params: Vec<ParamIr>,
    /// Row type for kinds that return rows.
    pub row: Option<RowRef>,
    /// Set when the query is a loader (`@key`).
    pub loader: Option<LoaderIr>,
    /// Whether its row type has relations (the function pins one connection).
    pub has_relations: bool,
    /// Its `<Name>Params` struct (and, but for the bulk kinds, its
    /// `<name>_with` function), `None` without parameters (never for a bulk
    /// kind: they need parameters).
    pub params_struct: Option<String>,
    /// `-- @chunk N`: parents per chunk of its `_stream` (with relations
    /// only; [`DEFAULT_CHUNK`] when not given).
    pub chunk: Option<u32>,
    /// The statement provably writes nothing: its `Query` is marked
    /// `.read_only()`, so the runtime may retry it on a fresh connection.
    pub read_only: bool,
    /// A `:copyfrom` query's `COPY` ([`sql`](Self::sql) is then its
    /// canonical `INSERT … VALUES ($1, …, $n)`, one placeholder per column).
    pub copy: Option<CopyIr>,
    /// Its row-wise form (`<Name>Item`, `<name>_items`) when its parameters
    /// all feed one `unnest(…)` ([`crate::unnest`]) and those names are free.
    pub unnest: Option<UnnestIr>,
    /// It uses user-defined types (a parameter declared by name, or a
    /// column): its `Query` is marked `.custom_types()`.
    pub custom_types: bool,
    /// `pooler = "transaction"`: its `Query` is marked `.pooler_safe()`.
    pub pooler_safe: bool,
    /// A dynamic query's blocks and sorts (its function then takes a
    /// `<Name>Filter` and a `<Name>Sort`, and has no `<Name>Params`).
    pub dynamic: Option<dynamic::DynamicIr>,
    /// An `:execresult` query's command: its function returns a
    /// `quarry::ExecResult`.
    pub command: Option<crate::exec_result::Command>,
}

impl QueryIr {
    /// The parameters its function takes for its relations only (bound by
    /// name, not in its SQL), after its own.
    pub fn new_params(&self) -> impl Iterator<Item = &ParamIr> {
        self.relation_params
            .iter()
            .filter(|bound| !self.params.iter().any(|p| p.name == bound.name))
    }
}

/// The binary `COPY` of a `:copyfrom` query.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyIr {
    /// `COPY <table> (<columns>) FROM STDIN (FORMAT binary)`.
    pub statement: String,
    /// The columns in the `COPY`'s order: name as written, and the index
    /// in [`QueryIr::params`] of the parameter written to it.
    pub columns: Vec<(String, usize)>,
}

/// Whether the query also gets `<name>_stream`: a `:many` query returning
/// rows, not a loader (whose rows are grouped by key).
pub fn has_stream(query: &QueryIr) -> bool {
    query.kind == QueryKind::Many && query.row.is_some() && query.loader.is_none()
}

/// The name of a `:many` query's stream function (`list_posts_stream`).
pub fn stream_fn(fn_name: &str) -> String {
    format!("{fn_name}_stream")
}

/// Parents per chunk of a `:many` query's `_stream` when it has relations
/// and no `-- @chunk`.
pub const DEFAULT_CHUNK: u32 = 1000;

/// A parameter of a query function.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamIr {
    /// Rust argument name.
    pub name: String,
    /// Type (without `Option`).
    pub ty: RustType,
    /// `Option<…>`.
    pub nullable: bool,
    /// Its PostgreSQL type as a pooler-safe execution declares it.
    pub pg: PgParam,
}

/// A parameter's PostgreSQL type as generated code declares it
/// (`quarry::ParamType`), for a pooler-safe execution's unnamed statement:
/// a domain as its base type (the SQL casts domain parameters to it, see
/// [`final_sql`]), a built-in type by OID, a user-defined one by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgParam {
    /// A built-in type's OID (`postgres_types::Type::from_oid` knows it).
    Oid(u32),
    /// A user-defined type, `schema.name` as in the catalog (raw names, not
    /// quoted), or `schema.name[]` for an array of one: its OID is the
    /// database's, looked up by the runtime per connection.
    Named(String),
}

impl PgParam {
    /// The declaration of a parameter PostgreSQL described as `ty`.
    pub fn of(ty: &postgres_types::Type) -> Self {
        let ty = strip_domains(ty);
        if postgres_types::Type::from_oid(ty.oid()).is_some() {
            return PgParam::Oid(ty.oid());
        }
        match ty.kind() {
            postgres_types::Kind::Array(element) => {
                let element = strip_domains(element);
                match builtin_array_of(element) {
                    Some(array) => PgParam::Oid(array),
                    None => PgParam::Named(format!("{}.{}[]", element.schema(), element.name())),
                }
            }
            _ => PgParam::Named(format!("{}.{}", ty.schema(), ty.name())),
        }
    }

    /// Whether the runtime must know the database's user-defined types.
    pub fn is_named(&self) -> bool {
        matches!(self, PgParam::Named(_))
    }
}

/// The OID of the built-in array type of a built-in `element` type.
fn builtin_array_of(element: &postgres_types::Type) -> Option<u32> {
    static ARRAYS: std::sync::OnceLock<HashMap<u32, u32>> = std::sync::OnceLock::new();
    postgres_types::Type::from_oid(element.oid())?;
    let arrays = ARRAYS.get_or_init(|| {
        // Built-in types have OIDs below 10000 (FirstGenbkiObjectId).
        (0..10_000)
            .filter_map(postgres_types::Type::from_oid)
            .filter_map(|array| match array.kind() {
                postgres_types::Kind::Array(element) => Some((element.oid(), array.oid())),
                _ => None,
            })
            .collect()
    });
    arrays.get(&element.oid()).copied()
}

/// Whether a query uses user-defined types: a parameter declared by name, or
/// a result column of a type that is not built-in (the runtime then loads
/// the database's types before running it pooler-safe).
fn uses_custom_types(params: &[ParamIr], described: &Described) -> bool {
    params.iter().any(|param| param.pg.is_named())
        || described
            .columns
            .iter()
            .any(|column| postgres_types::Type::from_oid(column.ty.oid()).is_none())
}

impl ParamIr {
    /// The type the query function takes (`&str`, `i64`, `Option<&[u8]>`).
    pub fn borrowed_type(&self, types_module: &TokenStream) -> TokenStream {
        optional(self.ty.param(types_module), self.nullable)
    }

    /// The owned type a params struct holds for it (`String`, `i64`,
    /// `Option<Vec<u8>>`): the one place that mapping lives, for every kind
    /// of generated code that takes parameters by value.
    pub fn owned_type(&self, types_module: &TokenStream) -> TokenStream {
        optional(self.ty.owned(types_module), self.nullable)
    }

    /// `value` (a place of [`ParamIr::owned_type`]) as [`ParamIr::borrowed_type`].
    pub fn borrow_owned(&self, value: &TokenStream) -> TokenStream {
        self.ty.borrow_owned(value, self.nullable)
    }
}

fn optional(ty: TokenStream, nullable: bool) -> TokenStream {
    if nullable {
        quote::quote!(Option<#ty>)
    } else {
        ty
    }
}

/// The struct holding a query's parameters by value (`ListPostsParams`).
pub fn params_struct_name(query_name: &str) -> String {
    ident::type_name_str(format!("{}Params", ident::pascal(query_name)))
}

/// The function taking a query's parameters as that struct (`list_posts_with`).
pub fn with_params_fn(fn_name: &str) -> String {
    format!("{fn_name}_with")
}

/// One query with everything later stages found out about it.
#[derive(Debug, Clone)]
pub struct CheckedQuery<'a> {
    /// Module (file) name it belongs to.
    pub module: &'a str,
    /// The lexed query.
    pub def: &'a QueryDef,
    /// Positional parameter names found in the SQL.
    pub positional_names: Vec<Option<String>>,
    /// The columns each parameter's value is written into (INSERT, UPDATE SET).
    pub param_targets: Vec<Vec<crate::parse::ParamTarget>>,
    /// The statement takes row locks ([`crate::locks`]).
    pub takes_row_locks: bool,
    /// Describe result.
    pub described: &'a Described,
    /// Final nullability per column (inference, then overrides).
    pub nullable: Vec<bool>,
    /// Loader spec and relations (indices refer to the same query slice).
    pub prefetch: QueryPrefetch,
    /// The statement provably writes nothing ([`crate::readonly`]).
    pub read_only: bool,
    /// What a `:copyfrom` query copies into.
    pub copy: Option<&'a CopyTarget>,
    /// The `unnest(…)` its parameters all feed ([`crate::unnest`]).
    pub unnest: Option<UnnestCall>,
    /// The result columns of each `sqlc.embed(t)` ([`crate::embed`]).
    pub embeds: Vec<crate::embed::EmbedRun>,
    /// An `:execresult` query's command ([`crate::exec_result`]).
    pub command: Option<crate::exec_result::Command>,
}

/// Builds the IR. `modules` lists `(module name, display path)` in order.
/// Warnings (columns named as sqlc names them) go to `warnings`.
pub fn build_project(
    modules: &[(String, String)],
    queries: &[CheckedQuery<'_>],
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Project, Vec<Diagnostic>> {
    let suffix = mapper.config().row_suffix();
    let mut builder = ProjectBuilder::new(modules);
    let targets = relation_targets(queries, suffix);
    // Every query's parameters, for the relations binding them (errors are
    // reported in the loop below).
    let all_params: Vec<Option<Vec<ParamIr>>> = queries
        .iter()
        .map(|query| build_params(query, catalog, mapper, &mut Vec::new()))
        .collect();
    for query in queries {
        let def = query.def;
        let fn_name = ident::snake(&def.name);
        builder.check_fn_name(query, &fn_name);
        let params = build_params(query, catalog, mapper, &mut builder.errors);
        let fields = if def.kind.returns_rows() {
            embed::plain_fields(query, catalog, mapper, &mut builder.errors)
        } else {
            Some(Vec::new())
        };
        let (Some(params), Some(fields)) = (params, fields) else {
            continue;
        };
        let relations = relations_of(query, queries, &targets, &fields, (&params, &all_params));
        let relation_params: Vec<ParamIr> =
            relations_bound(&relations).into_iter().cloned().collect();
        let key_field = loader_key_field(query, &fields);
        let has_relations = !relations.is_empty();
        let row = if def.kind.returns_rows() {
            let Some(row) = builder.place_row(query, &fn_name, (fields, relations), suffix) else {
                continue;
            };
            embed::attach(&mut builder, query, &row, catalog, mapper);
            Some(row)
        } else {
            None
        };
        let loader = query.prefetch.loader.as_ref().map(|spec| LoaderIr {
            key_index: spec.key_index,
            key_column: spec.key_column.clone(),
            key_type: spec.key_type.clone(),
            to_many: spec.to_many,
            key_field,
            key_param: spec.key_param,
        });
        let (sql, copy) = sql_and_copy(query);
        let unnest = query
            .unnest
            .as_ref()
            .filter(|_| loader.is_none())
            .and_then(|call| {
                let typed: Vec<(&str, &RustType)> =
                    params.iter().map(|p| (p.name.as_str(), &p.ty)).collect();
                let names = (def.name.as_str(), fn_name.as_str());
                crate::unnest::plan(def.kind, names, call, &typed, &query.described.params)
            });
        let Some(module) = builder.module(query.module) else {
            continue;
        };
        module.queries.push(QueryIr {
            name: def.name.clone(),
            fn_name,
            kind: def.kind,
            takes_row_locks: query.takes_row_locks,
            docs: def.docs.clone(),
            sql,
            attribution: mapper.config().attribution,
            custom_types: uses_custom_types(&params, query.described),
            pooler_safe: mapper.config().pooler == crate::config::Pooler::Transaction,
            params,
            relation_params,
            row,
            loader,
            has_relations,
            params_struct: (!def.params.is_empty() && def.dynamic.is_none())
                .then(|| params_struct_name(&def.name)),
            read_only: query.read_only,
            chunk: crate::prefetch::chunk_size(def),
            copy,
            unnest: unnest.filter(|_| def.dynamic.is_none()),
            dynamic: dynamic::build(def, &domain_param_casts(&query.described.params)),
            command: query.command,
        });
    }
    Ok(Project {
        modules: builder.finish(queries, warnings)?,
        user_types: mapper.user_types(),
        derives: mapper.config().derives.clone(),
        runtime: mapper
            .config()
            .runtime
            .clone()
            .filter(|r| r != "quarry" && r != "::quarry"),
    })
}

/// The SQL a query's function sends, and a `:copyfrom` query's `COPY`.
fn sql_and_copy(query: &CheckedQuery<'_>) -> (String, Option<CopyIr>) {
    match query.copy {
        Some(target) => (
            copy_insert_sql(target, query.described),
            Some(CopyIr {
                statement: target.copy_sql(),
                columns: target
                    .columns
                    .iter()
                    .cloned()
                    .zip(target.sources.iter().copied())
                    .collect(),
            }),
        ),
        None => (final_sql(query.def, query.described), None),
    }
}

/// A row's fields and relations: what queries sharing an `@row` type must agree on.
type RowShape = (Vec<FieldIr>, Vec<RelationIr>);

/// The modules being built, with what the checks across queries need.
struct ProjectBuilder<'q> {
    modules: Vec<ModuleIr>,
    /// Row name → (defining module, shape, first query) for `@row` reuse checks.
    rows: HashMap<String, (String, RowShape, &'q QueryDef)>,
    /// (module, function name) → the query that became it.
    fn_names: HashMap<(String, String), &'q QueryDef>,
    errors: Vec<Diagnostic>,
}

impl<'q> ProjectBuilder<'q> {
    /// The modules, after the checks across queries; the errors if any.
    /// Warnings go to `warnings`.
    fn finish(
        mut self,
        queries: &[CheckedQuery<'_>],
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<Vec<ModuleIr>, Vec<Diagnostic>> {
        self.check_columns_structs();
        self.check_distinct_loader_names(queries);
        self.check_params_names();
        self.check_stream_names();
        embed::check_struct_names(&mut self);
        self.drop_taken_unnest_names();
        let (errors, found): (Vec<Diagnostic>, Vec<Diagnostic>) =
            self.errors.into_iter().partition(Diagnostic::is_error);
        warnings.extend(found);
        if errors.is_empty() {
            Ok(self.modules)
        } else {
            Err(errors)
        }
    }

    fn new(modules: &[(String, String)]) -> Self {
        Self {
            modules: modules
                .iter()
                .map(|(name, source)| ModuleIr {
                    name: name.clone(),
                    source: source.clone(),
                    rows: Vec::new(),
                    embedded: Vec::new(),
                    queries: Vec::new(),
                })
                .collect(),
            rows: HashMap::new(),
            fn_names: HashMap::new(),
            errors: Vec::new(),
        }
    }

    /// The module named `name` (every query's module is one of those given to
    /// [`ProjectBuilder::new`]).
    fn module(&mut self, name: &str) -> Option<&mut ModuleIr> {
        self.modules.iter_mut().find(|m| m.name == name)
    }

    /// Two queries of a module may not become the same function.
    fn check_fn_name(&mut self, query: &CheckedQuery<'q>, fn_name: &str) {
        let def = query.def;
        let key = (query.module.to_string(), fn_name.to_string());
        let Some(first) = self.fn_names.insert(key, def) else {
            return;
        };
        let (line, col) = first.file.line_col(first.name_span.start);
        self.errors.push(
            Diagnostic::error_at(
                format!(
                    "query `{}` and `{}` both become the function `{fn_name}`",
                    first.name, def.name
                ),
                &def.file,
                def.name_span.clone(),
            )
            .with_note(format!("`{}` is defined at {line}:{col}", first.name)),
        );
    }

    /// The row type of a query returning rows: a new struct in its module, or
    /// an `@row` type another query defined, which must have the same shape
    /// (`None` after reporting an error otherwise).
    fn place_row(
        &mut self,
        query: &CheckedQuery<'q>,
        fn_name: &str,
        shape: RowShape,
        suffix: &str,
    ) -> Option<RowRef> {
        let def = query.def;
        let row_name = row_name_of(def, suffix);
        let user = format!("{}::{fn_name}", query.module);
        let Some((module, existing, first)) = self.rows.get(&row_name) else {
            self.rows.insert(
                row_name.clone(),
                (query.module.to_string(), shape.clone(), def),
            );
            if let Some(module) = self.module(query.module) {
                let (fields, relations) = shape;
                module.rows.push(RowIr {
                    name: row_name.clone(),
                    fields,
                    embeds: Vec::new(),
                    relations,
                    used_by: vec![user],
                });
            }
            return Some(RowRef {
                module: query.module.to_string(),
                name: row_name,
            });
        };
        if existing != &shape {
            let span = def
                .row_name
                .as_ref()
                .map_or_else(|| def.name_span.clone(), |(_, span)| span.clone());
            let (line, col) = first.file.line_col(first.name_span.start);
            self.errors.push(
                Diagnostic::error_at(
                    format!("row type `{row_name}` is used by queries with different columns"),
                    &def.file,
                    span,
                )
                .with_label(format!("`{}` returns {}", def.name, describe_shape(&shape)))
                .with_note(format!(
                    "`{}` at {}:{line}:{col} returns {}",
                    first.name,
                    first.file.display_path.display(),
                    describe_shape(existing)
                ))
                .with_help("queries sharing an `@row` type must return the same column names, types, nullability and relations"),
            );
            return None;
        }
        let module = module.clone();
        if let Some(row) = self
            .module(&module)
            .and_then(|m| m.rows.iter_mut().find(|r| r.name == row_name))
        {
            row.used_by.push(user);
        }
        Some(RowRef {
            module,
            name: row_name,
        })
    }

    /// A row with relations is decoded through a private `<Row>Columns` struct
    /// in the same module: no row type may have that name there.
    fn check_columns_structs(&mut self) {
        for module in &self.modules {
            for row in module.rows.iter().filter(|row| !row.relations.is_empty()) {
                let columns = format!("{}Columns", row.name);
                let Some((_, _, def)) = self
                    .rows
                    .get(&columns)
                    .filter(|(home, _, _)| *home == module.name)
                else {
                    continue;
                };
                let span = def
                    .row_name
                    .as_ref()
                    .map_or_else(|| def.name_span.clone(), |(_, span)| span.clone());
                self.errors.push(
                    Diagnostic::error_at(
                        format!(
                            "row type `{columns}` collides with the struct the generator makes for the columns of `{}`",
                            row.name
                        ),
                        &def.file,
                        span,
                    )
                    .with_note(format!(
                        "`{}` has relations; its columns are decoded into `{columns}` before they are loaded",
                        row.name
                    ))
                    .with_help("name the row type differently with `-- @row`"),
                );
            }
        }
    }

    /// A query with parameters also becomes `<Name>Params` and (but for the
    /// bulk kinds) `<name>_with` in its module: no row type (nor a row's `<Row>Columns`) nor another
    /// params struct may have that name, and no query may be that function.
    fn check_params_names(&mut self) {
        let mut errors = Vec::new();
        for module in &self.modules {
            // Struct name → what it is, for the message.
            let mut structs: HashMap<String, String> = HashMap::new();
            for row in &module.rows {
                let user = local_fn(&row.used_by);
                structs.insert(row.name.clone(), format!("the row type of `{user}`"));
                if !row.relations.is_empty() {
                    let columns = format!("{}Columns", row.name);
                    let what = format!("the struct of the columns of `{}`", row.name);
                    structs.insert(columns, what);
                }
            }
            for query in &module.queries {
                let Some(name) = &query.params_struct else {
                    continue;
                };
                let key = (module.name.clone(), query.fn_name.clone());
                let Some(def) = self.fn_names.get(&key) else {
                    continue;
                };
                let at = |message: String| {
                    Diagnostic::error_at(message, &def.file, def.name_span.clone())
                };
                let with = with_params_fn(&query.fn_name);
                let with_fn = (!query.kind.is_bulk())
                    .then(|| self.fn_names.get(&(module.name.clone(), with.clone())))
                    .flatten();
                if let Some(other) = with_fn {
                    let (line, col) = def.file.line_col(def.name_span.start);
                    errors.push(
                        Diagnostic::error_at(
                            format!(
                                "query `{}` becomes the function `{with}`, which query `{}` needs for calls with a `{name}`",
                                other.name, def.name
                            ),
                            &other.file,
                            other.name_span.clone(),
                        )
                        .with_note(format!("`{}` is defined at {line}:{col}", def.name))
                        .with_help("rename one of the two queries"),
                    );
                }
                let taken = format!("the parameters of `{}`", query.fn_name);
                if let Some(owner) = structs.insert(name.clone(), taken) {
                    errors.push(
                        at(format!(
                            "the parameters struct `{name}` of query `{}` has the name of {owner} in module `{}`",
                            def.name, module.name
                        ))
                        .with_help("rename the query, or name the row type differently with `-- @row`"),
                    );
                }
            }
            for query in &module.queries {
                let Some(dynamic) = &query.dynamic else {
                    continue;
                };
                let key = (module.name.clone(), query.fn_name.clone());
                let Some(def) = self.fn_names.get(&key) else {
                    continue;
                };
                let names = std::iter::once(&dynamic.filter_struct).chain(&dynamic.sort_enum);
                for name in names {
                    let taken = format!("a type of the dynamic query `{}`", def.name);
                    if let Some(owner) = structs.insert(name.clone(), taken) {
                        errors.push(
                            Diagnostic::error_at(
                                format!(
                                    "the type `{name}` of dynamic query `{}` has the name of {owner} in module `{}`",
                                    def.name, module.name
                                ),
                                &def.file,
                                def.name_span.clone(),
                            )
                            .with_help("rename the query, or name the row type differently with `-- @row`"),
                        );
                    }
                }
            }
        }
        self.errors.append(&mut errors);
    }

    /// A `:many` query that is not a loader also becomes `<name>_stream`:
    /// no query may be that function.
    fn check_stream_names(&mut self) {
        let mut errors = Vec::new();
        for module in &self.modules {
            for query in module.queries.iter().filter(|q| has_stream(q)) {
                let stream = stream_fn(&query.fn_name);
                let key = |name: &str| (module.name.clone(), name.to_string());
                let (Some(def), Some(other)) = (
                    self.fn_names.get(&key(&query.fn_name)),
                    self.fn_names.get(&key(&stream)),
                ) else {
                    continue;
                };
                let (line, col) = def.file.line_col(def.name_span.start);
                errors.push(
                    Diagnostic::error_at(
                        format!(
                            "query `{}` becomes the function `{stream}`, which query `{}` needs for its rows as a stream",
                            other.name, def.name
                        ),
                        &other.file,
                        other.name_span.clone(),
                    )
                    .with_note(format!("`{}` is defined at {line}:{col}", def.name))
                    .with_help("rename one of the two queries"),
                );
            }
        }
        self.errors.append(&mut errors);
    }

    /// A loader also becomes `<loader>_distinct`: no query may be that function.
    fn check_distinct_loader_names(&mut self, queries: &[CheckedQuery<'_>]) {
        for query in queries.iter().filter(|q| q.prefetch.loader.is_some()) {
            let inner = distinct_loader_fn(&ident::snake(&query.def.name));
            let Some(def) = self
                .fn_names
                .get(&(query.module.to_string(), inner.clone()))
            else {
                continue;
            };
            let loader = query.def;
            let (line, col) = loader.file.line_col(loader.name_span.start);
            self.errors.push(
                Diagnostic::error_at(
                    format!(
                        "query `{}` becomes the function `{inner}`, which loader `{}` needs for itself",
                        def.name, loader.name
                    ),
                    &def.file,
                    def.name_span.clone(),
                )
                .with_note(format!(
                    "`{}` is defined at {line}:{col}; relations load through `{inner}` once their keys are de-duplicated",
                    loader.name
                ))
                .with_help("rename one of the two queries"),
            );
        }
    }

    /// A query's `<Name>Item` and `<name>_items` ([`crate::unnest`]) are
    /// extras: when another item of its module has either name, the query
    /// goes without them (no error: the query itself is fine).
    fn drop_taken_unnest_names(&mut self) {
        for module in &mut self.modules {
            let (structs, fns) = generated_names(module);
            for query in &mut module.queries {
                let taken = query.unnest.as_ref().is_some_and(|unnest| {
                    structs.contains(&unnest.item_struct) || fns.contains(&unnest.items_fn)
                });
                if taken {
                    query.unnest = None;
                }
            }
        }
    }
}

/// The structs and functions a module's generated code defines, but for
/// the `unnest` extras.
fn generated_names(module: &ModuleIr) -> (HashSet<String>, HashSet<String>) {
    let mut structs: HashSet<String> = HashSet::new();
    for row in &module.rows {
        structs.insert(row.name.clone());
        if !row.relations.is_empty() {
            structs.insert(format!("{}Columns", row.name));
        }
    }
    let mut fns: HashSet<String> = HashSet::new();
    for query in &module.queries {
        structs.extend(query.params_struct.clone());
        fns.insert(query.fn_name.clone());
        if query.params_struct.is_some() && !query.kind.is_bulk() {
            fns.insert(with_params_fn(&query.fn_name));
        }
        if has_stream(query) {
            fns.insert(stream_fn(&query.fn_name));
        }
        if query.loader.is_some() {
            fns.insert(distinct_loader_fn(&query.fn_name));
        }
    }
    (structs, fns)
}

/// Where every query's function and row type live, so relations can point
/// at them: `(function name, row)` per query, in query order. An `@row`
/// type lives in the module of the first query using it.
fn relation_targets(queries: &[CheckedQuery<'_>], suffix: &str) -> Vec<(String, RowRef)> {
    let mut row_homes: HashMap<String, String> = HashMap::new();
    queries
        .iter()
        .map(|query| {
            let row_name = row_name_of(query.def, suffix);
            let module = row_homes
                .entry(row_name.clone())
                .or_insert_with(|| query.module.to_string())
                .clone();
            (
                ident::snake(&query.def.name),
                RowRef {
                    module,
                    name: row_name,
                },
            )
        })
        .collect()
}

/// The relations of a query's rows, each pointing at its loader's function
/// and row; `params` are the query's and every query's parameters.
fn relations_of(
    query: &CheckedQuery<'_>,
    queries: &[CheckedQuery<'_>],
    targets: &[(String, RowRef)],
    fields: &[FieldIr],
    params: (&[ParamIr], &[Option<Vec<ParamIr>>]),
) -> Vec<RelationIr> {
    query
        .prefetch
        .relations
        .iter()
        .filter_map(|relation| {
            let loader = queries.get(relation.loader)?;
            let (loader_fn, row) = targets.get(relation.loader)?.clone();
            // The parent column is a field (prefetch checked it exists with the key's type).
            let key_type = fields
                .iter()
                .find(|f| f.index == relation.parent_index)?
                .ty
                .clone();
            Some(RelationIr {
                field: relation.field.clone(),
                loader_query: loader.def.name.clone(),
                loader_module: loader.module.to_string(),
                loader_fn,
                row,
                parent_field: ident::snake(&relation.parent_column),
                key_type,
                parent_nullable: relation.parent_nullable,
                to_many: relation.to_many,
                optional: relation.optional,
                key_param: loader.prefetch.loader.as_ref()?.key_param,
                bound: bound_params(
                    &relation.bindings,
                    params.0,
                    params.1.get(relation.loader)?.as_ref()?,
                ),
            })
        })
        .collect()
}

/// A relation's bindings with the parent's parameter each passes: one of
/// `parent`'s, or a new one typed as the loader's parameter.
fn bound_params(
    bindings: &[crate::prefetch::BindingSpec],
    parent: &[ParamIr],
    loader: &[ParamIr],
) -> Vec<BoundParam> {
    bindings
        .iter()
        .filter_map(|binding| {
            let param = match binding.parent_param {
                Some(index) => parent.get(index)?.clone(),
                None => ParamIr {
                    name: ident::snake(&binding.name),
                    ..loader.get(binding.loader_param)?.clone()
                },
            };
            Some(BoundParam {
                loader_param: binding.loader_param,
                parent: param,
            })
        })
        .collect()
}

/// The row field a loader reads its key from, when the row has one of the
/// key's type (`None` for a hidden key or a plain query).
fn loader_key_field(query: &CheckedQuery<'_>, fields: &[FieldIr]) -> Option<KeyField> {
    let spec = query.prefetch.loader.as_ref()?;
    fields
        .iter()
        .find(|f| f.index == spec.key_index && f.ty == spec.key_type)
        .map(|f| KeyField {
            name: f.name.clone(),
            nullable: f.nullable,
        })
}

/// The function a row type is documented with (its first user, without module).
fn local_fn(used_by: &[String]) -> &str {
    used_by
        .first()
        .and_then(|path| path.rsplit("::").next())
        .unwrap_or_default()
}

fn row_name_of(def: &QueryDef, suffix: &str) -> String {
    match &def.row_name {
        Some((name, _)) => ident::type_name_str(ident::pascal(name)),
        None => ident::type_name_str(format!("{}{suffix}", ident::pascal(&def.name))),
    }
}

fn describe_shape((fields, relations): &RowShape) -> String {
    let list: Vec<String> = fields
        .iter()
        .map(|f| format!("{}{}", f.column, if f.nullable { "?" } else { "" }))
        .chain(relations.iter().map(|r| format!("{} (relation)", r.field)))
        .collect();
    format!("({})", list.join(", "))
}

fn unsupported_type(
    query: &CheckedQuery<'_>,
    what: String,
    ty: &postgres_types::Type,
    span: std::ops::Range<usize>,
) -> Diagnostic {
    Diagnostic::error_at(
        format!("unsupported type `{}` for {what} of query `{}`", ty.name(), query.def.name),
        &query.def.file,
        span,
    )
    .with_label(format!("`{}` has no Rust mapping", ty.name()))
    .with_help(if crate::typemap::has_no_binary_format(ty) {
        format!(
            "cast it in the SQL (e.g. `::text`): `{}` has no binary format, so no Rust type mapped with `[types]` `{} = \"path::to::RustType\"` could read it",
            ty.name(),
            ty.name()
        )
    } else {
        format!(
            "map it in quarry.toml: `[types]` `{} = \"path::to::RustType\"` (a type implementing ToSql and FromSql), or cast it in the SQL (e.g. `::text`)",
            ty.name()
        )
    })
}

/// Names a parameter cannot have: the executor argument, and the local
/// variables of the generated function (see emit) — a pinned connection when
/// rows have relations, and more in loaders. None for the bulk kinds, whose
/// parameters are only fields of `<Name>Params`.
fn reserved_params(query: &CheckedQuery<'_>) -> &'static [&'static str] {
    if query.def.kind.is_bulk() {
        &[]
    } else if query.prefetch.loader.is_some() {
        &[
            "db", "conn", "rows", "columns", "pairs", "keyed", "row_keys",
        ]
    } else if !query.prefetch.relations.is_empty() {
        &["db", "conn"]
    } else {
        &["db"]
    }
}

fn build_params(
    query: &CheckedQuery<'_>,
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Vec<ParamIr>> {
    let def = query.def;
    let mut ok = true;
    let mut params = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    let reserved = reserved_params(query);
    for (index, (param, ty)) in def.params.iter().zip(&query.described.params).enumerate() {
        let span = param
            .spans
            .first()
            .cloned()
            .unwrap_or_else(|| def.sql_span.clone());
        let configured = param.name.as_ref().and_then(|name| {
            mapper
                .config()
                .by_param
                .get(&format!("{}.{name}", def.name))
        });
        let mapped = match configured.and_then(RustType::from_override) {
            Some(custom) => Some(custom),
            None => mapper.map(ty).map(|t| apply_elements(t, configured)),
        };
        let Some(rust) = mapped else {
            let name = param
                .name
                .clone()
                .unwrap_or_else(|| format!("${}", index + 1));
            errors.push(unsupported_type(
                query,
                format!("parameter `{name}`"),
                ty,
                span,
            ));
            ok = false;
            continue;
        };
        let base = match (&param.name, param.style) {
            (Some(name), _) => ident::snake(name),
            (None, ParamStyle::Positional) => query
                .positional_names
                .get(index)
                .cloned()
                .flatten()
                .map_or_else(|| format!("p{}", index + 1), |n| ident::snake(&n)),
            (None, ParamStyle::Named) => format!("p{}", index + 1),
        };
        // `db` is the executor argument and the others are local variables
        // of generated functions; derived names may repeat.
        let mut name = base;
        if reserved.contains(&name.as_str()) || used.contains(&name) {
            name = format!("{name}_{}", index + 1);
        }
        while used.contains(&name) {
            name.push('_');
        }
        used.insert(name.clone());
        params.push(ParamIr {
            name,
            ty: rust,
            nullable: param.nullable || writes_nullable_column(query, index, catalog, mapper),
            pg: PgParam::of(ty),
        });
    }
    ok.then_some(params)
}

/// In sqlc's dialect, whether parameter `index` is written into a column
/// that may be NULL (`INSERT … VALUES`, `UPDATE … SET`): sqlc then makes it
/// nullable, so `INSERT INTO authors (name, bio) VALUES ($1, $2)` can
/// insert a NULL `bio`. Quarry's own dialect asks for `:bio?` instead.
fn writes_nullable_column(
    query: &CheckedQuery<'_>,
    index: usize,
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
) -> bool {
    mapper.config().dialect == crate::config::Dialect::Sqlc
        && query.param_targets.get(index).is_some_and(|targets| {
            targets.iter().any(|target| {
                catalog
                    .resolve(target.schema.as_deref(), &target.table)
                    .and_then(|table| table.column_named(&target.column))
                    .is_some_and(|column| !column.not_null)
            })
        })
}

/// The domain a column is declared with, when it comes straight from a table column.
fn declared_domain(column: &crate::describe::DescribedColumn, catalog: &Catalog) -> Option<String> {
    let (_, source) = catalog.column(column.table_oid?, column.column_id?)?;
    catalog
        .domains
        .get(&source.type_oid)
        .map(|domain| domain.name.clone())
}

/// Whether a type is an array of a domain (decoded through `BaseType`).
fn is_domain_array(ty: &postgres_types::Type) -> bool {
    matches!(ty.kind(), postgres_types::Kind::Array(element) if matches!(element.kind(), postgres_types::Kind::Domain(_)))
}

/// The base type of a domain (through domains over domains).
fn strip_domains(ty: &postgres_types::Type) -> &postgres_types::Type {
    match ty.kind() {
        postgres_types::Kind::Domain(base) => strip_domains(base),
        _ => ty,
    }
}

/// A type name as SQL, schema-qualified outside `pg_catalog`, quoted where
/// needed (`public."1st"`, `"bit"`: unquoted, `bit` would mean `bit(1)`).
fn sql_type_name(ty: &postgres_types::Type) -> String {
    if ty.schema() == "pg_catalog" || ty.schema().is_empty() {
        ident::sql_ident(ty.name())
    } else {
        format!(
            "{}.{}",
            ident::sql_ident(ty.schema()),
            ident::sql_ident(ty.name())
        )
    }
}

/// The SQL a query's function sends: its text with parameters that
/// PostgreSQL typed as a domain cast to the domain's base type. When it
/// differs from the described text, the pipeline prepares it too and checks
/// it with [`check_final_sql`].
pub fn final_sql(def: &QueryDef, described: &Described) -> String {
    def.sql_with_param_casts(&domain_param_casts(&described.params))
}

/// The canonical `INSERT INTO <table> (<columns>) VALUES ($1, …, $n)` of a
/// `:copyfrom` query, what its `COPY` is typed by: one placeholder per
/// column, cast to the base type where the column's parameter is a domain
/// (as in [`final_sql`]), so the values' Rust types are the ones accepted.
pub fn copy_insert_sql(target: &CopyTarget, described: &Described) -> String {
    let casts = domain_param_casts(&described.params);
    target.insert_sql(|column| {
        let source = target.sources.get(column)?;
        casts.get(source).cloned()
    })
}

/// Compares what PostgreSQL says about a query's [`final_sql`] with what it
/// said about the query as written: the final text must prepare and return
/// the same columns; an error at the query otherwise.
pub fn check_final_sql(
    def: &QueryDef,
    described: &Described,
    final_sql: &str,
    final_described: Result<&Described, &Diagnostic>,
) -> Option<Diagnostic> {
    let problem = match final_described {
        Err(error) => format!("PostgreSQL rejects it: {}", error.message),
        Ok(final_described) => {
            let shape = |d: &Described| -> Vec<(String, postgres_types::Type)> {
                d.columns
                    .iter()
                    .map(|c| (c.name.clone(), c.ty.clone()))
                    .collect()
            };
            if shape(final_described) == shape(described) {
                return None;
            }
            "it returns other columns than the query as written".to_string()
        }
    };
    Some(
        Diagnostic::error_at(
            format!(
                "query `{}` cannot be sent with its domain parameters cast to their base types: {problem}",
                def.name
            ),
            &def.file,
            def.name_span.clone(),
        )
        .with_note(format!("the SQL the generated function would send:\n{final_sql}"))
        .with_help("cast the parameter in the SQL yourself: `:value::base_type`"),
    )
}

/// Parameters PostgreSQL typed as a domain (or an array of one) are cast to
/// the base type in the generated SQL, so the Rust value of the base type is
/// accepted; the domain's constraints still apply where the value is stored.
fn domain_param_casts(params: &[postgres_types::Type]) -> BTreeMap<usize, String> {
    params
        .iter()
        .enumerate()
        .filter_map(|(index, ty)| match ty.kind() {
            postgres_types::Kind::Domain(_) => Some((index, sql_type_name(strip_domains(ty)))),
            postgres_types::Kind::Array(element)
                if matches!(element.kind(), postgres_types::Kind::Domain(_)) =>
            {
                Some((
                    index,
                    format!("{}[]", sql_type_name(strip_domains(element))),
                ))
            }
            _ => None,
        })
        .collect()
}

/// Marks array elements nullable when an override says so.
fn apply_elements(ty: RustType, configured: Option<&crate::config::TypeOverride>) -> RustType {
    match (ty, configured) {
        (RustType::Array { element, .. }, Some(o)) if o.nullable_elements => RustType::Array {
            element,
            nullable_elements: true,
        },
        (ty, _) => ty,
    }
}

/// The configured override of an output column: by `Query.column`, then by
/// the column it comes from (`schema.table.column`, `table.column`).
fn column_override<'c>(
    query: &CheckedQuery<'_>,
    column: &crate::describe::DescribedColumn,
    catalog: &Catalog,
    mapper: &'c TypeMapper<'_>,
) -> Option<&'c crate::config::TypeOverride> {
    let by_column = &mapper.config().by_column;
    if let Some(found) = by_column.get(&format!("{}.{}", query.def.name, column.name)) {
        return Some(found);
    }
    let (table, source) = catalog.column(column.table_oid?, column.column_id?)?;
    by_column
        .get(&format!("{}.{}.{}", table.schema, table.name, source.name))
        .or_else(|| by_column.get(&format!("{}.{}", table.name, source.name)))
}

fn build_fields(
    query: &CheckedQuery<'_>,
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Vec<FieldIr>> {
    let def = query.def;
    let header = def.name_span.clone();
    let mut ok = true;
    let mut fields: Vec<FieldIr> = Vec::new();
    let hidden = query
        .prefetch
        .loader
        .as_ref()
        .filter(|loader| loader.hidden)
        .map(|loader| loader.key_index);
    // Unnamed and duplicate columns are named as sqlc names them, with a
    // warning (pushed with the errors, told apart by `build_project`).
    let embeds: Vec<(usize, usize)> = query.embeds.iter().map(|r| (r.first, r.len)).collect();
    let names = crate::column_names::field_names(
        def,
        (&query.described.columns, &embeds),
        hidden,
        &mapper.config().renames,
        errors,
    );
    for (index, (column, &nullable)) in query
        .described
        .columns
        .iter()
        .zip(&query.nullable)
        .enumerate()
    {
        let Some(Some(name)) = names.get(index).cloned() else {
            continue;
        };
        let configured = column_override(query, column, catalog, mapper);
        let mapped = match configured.and_then(RustType::from_override) {
            Some(custom) => Some(custom),
            None => mapper
                .map(&column.ty)
                .map(|t| apply_elements(t, configured))
                // PostgreSQL describes a domain column with its base type;
                // the catalog still knows the domain.
                .map(|t| match declared_domain(column, catalog) {
                    Some(domain) => mapper.domain_newtype(&domain, t),
                    None => t,
                }),
        };
        let Some(ty) = mapped else {
            errors.push(unsupported_type(
                query,
                format!("column `{}`", column.name),
                &column.ty,
                header.clone(),
            ));
            ok = false;
            continue;
        };
        fields.push(FieldIr {
            through_base_type: is_domain_array(&column.ty)
                && !matches!(ty, RustType::Custom(_) | RustType::Json(_)),
            index,
            name,
            column: column.name.clone(),
            pg_type: match column.ty.kind() {
                // Not `oidvector`/`int2vector`, arrays to postgres-types.
                postgres_types::Kind::Array(element) if column.ty.name().starts_with('_') => {
                    format!("{}[]", element.name())
                }
                _ => column.ty.name().to_string(),
            },
            ty,
            nullable,
        });
    }
    for override_ in &def.overrides {
        if !query
            .described
            .columns
            .iter()
            .any(|c| c.name == override_.column)
        {
            errors.push(query.described.unknown_column(
                def,
                &override_.column,
                override_.span.clone(),
            ));
            ok = false;
        }
    }
    ok.then_some(fields)
}

pub mod dynamic;
pub mod embed;

#[cfg(test)]
mod tests;
