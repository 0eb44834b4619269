//! The IR of `sqlc.embed(t)`: a row field holding the struct of table `t`'s
//! columns ([`EmbedIr`]), and that struct, generated once per module and
//! shared by every row embedding the table ([`EmbedStructIr`]).
//!
//! Naming: the struct is the table's name in singular `PascalCase`
//! (`authors` → `Author`), or the `PascalCase` of its `rename` entry; the
//! field is the struct's name in `snake_case` (`author`) when the embed names
//! the table itself, the alias otherwise (`sqlc.embed(a)` → `a`), so a
//! self-join's two embeds are two fields. Each field of the struct is typed
//! from the table's column (`Option` unless `NOT NULL`); the row field is
//! `Option<Author>` when the query can null-extend the table (a column the
//! table declares `NOT NULL` may be NULL in the query): `None` when that
//! column is NULL.

use std::collections::HashSet;

use super::{
    apply_elements, build_fields, declared_domain, is_domain_array, unsupported_type, CheckedQuery,
    FieldIr, ProjectBuilder, RowRef,
};
use crate::describe::{Described, DescribedColumn};
use crate::diagnostic::Diagnostic;
use crate::embed::EmbedRun;
use crate::ident;
use crate::schema::{Catalog, Table};
use crate::typemap::{RustType, TypeMapper};

/// A row field holding an embedded table's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedIr {
    /// Field name.
    pub name: String,
    /// How many of the row's column fields come before it.
    pub position: usize,
    /// The struct it holds ([`EmbedStructIr`], in the row's module).
    pub struct_name: String,
    /// The table, as rustdoc names it.
    pub table: String,
    /// Index of its first column in the SQL row.
    pub first: usize,
    /// `Option<Struct>`, `None` when this column (index, name) is NULL: one
    /// the table declares `NOT NULL` but the query may null-extend.
    pub present: Option<(usize, String)>,
}

/// The struct of a table's columns, generated once in a module.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedStructIr {
    /// Struct name.
    pub name: String,
    /// The table, as rustdoc names it.
    pub table: String,
    /// One per column of the table, in its order; [`FieldIr::index`] counts
    /// from the embed's first column.
    pub fields: Vec<FieldIr>,
    /// The rows embedding it (for its rustdoc).
    pub used_by: Vec<String>,
}

/// The column fields of a query's row (every column but the embedded ones),
/// built by [`build_fields`] on a view of the query without those; indices
/// are the whole row's.
pub(super) fn plain_fields(
    query: &CheckedQuery<'_>,
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Vec<FieldIr>> {
    if query.embeds.is_empty() {
        return build_fields(query, catalog, mapper, errors);
    }
    let embedded = |index: &usize| {
        query
            .embeds
            .iter()
            .any(|run| (run.first..run.first + run.len).contains(index))
    };
    let kept: Vec<usize> = (0..query.described.columns.len())
        .filter(|index| !embedded(index))
        .collect();
    let described = Described {
        params: query.described.params.clone(),
        columns: kept
            .iter()
            .filter_map(|&index| query.described.columns.get(index).cloned())
            .collect(),
    };
    let view = CheckedQuery {
        described: &described,
        nullable: kept
            .iter()
            .filter_map(|&index| query.nullable.get(index).copied())
            .collect(),
        ..query.clone()
    };
    let mut fields = build_fields(&view, catalog, mapper, errors)?;
    for field in &mut fields {
        field.index = kept.get(field.index).copied().unwrap_or(field.index);
    }
    Some(fields)
}

/// The embeds of the row `row` that `query` just placed: its fields, and
/// the structs they hold added to its module (errors to the builder).
pub(super) fn attach(
    builder: &mut ProjectBuilder<'_>,
    query: &CheckedQuery<'_>,
    row: &RowRef,
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
) {
    let mut embeds = Vec::new();
    let mut structs = Vec::new();
    for run in &query.embeds {
        let (Some(table), Some(def)) = (
            catalog.tables.get(&run.table_oid),
            query.def.embeds.get(run.embed),
        ) else {
            continue;
        };
        match embedded_struct(query, run, table, catalog, mapper) {
            Ok(fields) => structs.push(EmbedStructIr {
                name: struct_name(table, mapper),
                table: table_doc(table),
                fields,
                used_by: vec![row.name.clone()],
            }),
            Err(mut errors) => {
                builder.errors.append(&mut errors);
                continue;
            }
        }
        let struct_name = struct_name(table, mapper);
        let name = if def.alias.eq_ignore_ascii_case(&table.name) {
            ident::snake(&struct_name)
        } else {
            ident::snake(&def.alias)
        };
        let present = (run.first..run.first + run.len)
            .zip(&table.columns)
            .find(|(index, column)| {
                column.not_null && query.nullable.get(*index).copied().unwrap_or(true)
            })
            .map(|(index, column)| (index, column.name.clone()));
        embeds.push(EmbedIr {
            name,
            position: 0,
            struct_name,
            table: table_doc(table),
            first: run.first,
            present,
        });
    }
    let Some(module) = builder.modules.iter_mut().find(|m| m.name == row.module) else {
        return;
    };
    let mut errors = Vec::new();
    if let Some(placed) = module.rows.iter_mut().find(|r| r.name == row.name) {
        let mut taken: HashSet<String> = placed.fields.iter().map(|f| f.name.clone()).collect();
        for (embed, run) in embeds.iter_mut().zip(&query.embeds) {
            embed.position = placed.fields.iter().filter(|f| f.index < run.first).count();
            if !taken.insert(embed.name.clone()) {
                errors.push(field_taken(query, run, &embed.name));
            }
        }
        placed.embeds = embeds;
    }
    for embedded in structs {
        match module.embedded.iter_mut().find(|s| s.name == embedded.name) {
            None => module.embedded.push(embedded),
            Some(existing) if existing.table == embedded.table => {
                if !existing.used_by.contains(&row.name) {
                    existing.used_by.push(row.name.clone());
                }
            }
            Some(existing) => errors.push(
                Diagnostic::error_at(
                    format!(
                        "tables {} and {} both become the embedded struct `{}` in module `{}`",
                        existing.table, embedded.table, embedded.name, module.name
                    ),
                    &query.def.file,
                    query.def.name_span.clone(),
                )
                .with_help("name one of them differently with a `rename` entry for the table"),
            ),
        }
    }
    builder.errors.append(&mut errors);
}

fn field_taken(query: &CheckedQuery<'_>, run: &EmbedRun, name: &str) -> Diagnostic {
    let span = query
        .def
        .embeds
        .get(run.embed)
        .map_or_else(|| query.def.name_span.clone(), |e| e.span.clone());
    Diagnostic::error_at(
        format!(
            "the embedded table's field `{}` is already a field of the row of query `{}`",
            ident::ident(name),
            query.def.name
        ),
        &query.def.file,
        span,
    )
    .with_help("alias the table (`sqlc.embed(a)` with `FROM authors a`) or the other column")
}

/// The struct of a table's columns: the name its `rename` entry gives, or
/// its singular in `PascalCase`.
fn struct_name(table: &Table, mapper: &TypeMapper<'_>) -> String {
    let base = match mapper.config().renames.get(&table.name) {
        Some(renamed) => renamed.clone(),
        None => crate::prefetch::singular(&table.name),
    };
    ident::type_name_str(ident::pascal(&base))
}

/// `authors`, or `schema.authors` outside `public`, in backticks.
fn table_doc(table: &Table) -> String {
    if table.schema == "public" {
        format!("`{}`", table.name)
    } else {
        format!("`{}.{}`", table.schema, table.name)
    }
}

/// The fields of the struct of `table`, one per column of `run`.
fn embedded_struct(
    query: &CheckedQuery<'_>,
    run: &EmbedRun,
    table: &Table,
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
) -> Result<Vec<FieldIr>, Vec<Diagnostic>> {
    let span = query
        .def
        .embeds
        .get(run.embed)
        .map_or_else(|| query.def.name_span.clone(), |e| e.span.clone());
    let renames = &mapper.config().renames;
    let mut fields: Vec<FieldIr> = Vec::new();
    let mut errors = Vec::new();
    let columns = query.described.columns.iter().skip(run.first);
    for (offset, (described, column)) in columns.zip(&table.columns).enumerate() {
        let name = match renames.get(&column.name) {
            Some(renamed) => ident::snake(renamed),
            None => ident::snake(&column.name),
        };
        if fields.iter().any(|f| f.name == name) {
            errors.push(
                Diagnostic::error_at(
                    format!(
                        "two columns of table {} become the field `{}`",
                        table_doc(table),
                        ident::ident(&name)
                    ),
                    &query.def.file,
                    span.clone(),
                )
                .with_help("list the columns instead of embedding the table, aliasing one"),
            );
            continue;
        }
        let Some(ty) = column_type(table, described, catalog, mapper) else {
            let what = format!("column `{}` of table {}", column.name, table_doc(table));
            errors.push(unsupported_type(query, what, &described.ty, span.clone()));
            continue;
        };
        fields.push(FieldIr {
            through_base_type: is_domain_array(&described.ty)
                && !matches!(ty, RustType::Custom(_) | RustType::Json(_)),
            index: offset,
            name,
            column: column.name.clone(),
            pg_type: match described.ty.kind() {
                // Not `oidvector`/`int2vector`, arrays to postgres-types.
                postgres_types::Kind::Array(element) if described.ty.name().starts_with('_') => {
                    format!("{}[]", element.name())
                }
                _ => described.ty.name().to_string(),
            },
            ty,
            nullable: !column.not_null,
        });
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(errors)
    }
}

/// A table column's Rust type: its override by `schema.table.column` or
/// `table.column`, else its type's mapping (a domain's newtype).
fn column_type(
    table: &Table,
    described: &DescribedColumn,
    catalog: &Catalog,
    mapper: &TypeMapper<'_>,
) -> Option<RustType> {
    let by_column = &mapper.config().by_column;
    let name = table
        .columns
        .iter()
        .find(|c| Some(c.attnum) == described.column_id)
        .map(|c| c.name.as_str())?;
    let configured = by_column
        .get(&format!("{}.{}.{name}", table.schema, table.name))
        .or_else(|| by_column.get(&format!("{}.{name}", table.name)));
    if let Some(custom) = configured.and_then(RustType::from_override) {
        return Some(custom);
    }
    let mapped = apply_elements(mapper.map(&described.ty)?, configured);
    Some(match declared_domain(described, catalog) {
        Some(domain) => mapper.domain_newtype(&domain, mapped),
        None => mapped,
    })
}

/// An embedded struct may not have the name of another type of its module
/// (a row, a row's columns, a params struct, a dynamic query's types, an
/// `unnest` item): an error at an embed of it.
pub(super) fn check_struct_names(builder: &mut ProjectBuilder<'_>) {
    let mut errors = Vec::new();
    for module in &builder.modules {
        let mut taken: HashSet<&str> = HashSet::new();
        let columns: Vec<String> = module
            .rows
            .iter()
            .filter(|row| !row.relations.is_empty())
            .map(|row| format!("{}Columns", row.name))
            .collect();
        taken.extend(module.rows.iter().map(|row| row.name.as_str()));
        taken.extend(columns.iter().map(String::as_str));
        for query in &module.queries {
            taken.extend(query.params_struct.as_deref());
            taken.extend(query.unnest.as_ref().map(|u| u.item_struct.as_str()));
            if let Some(dynamic) = &query.dynamic {
                taken.insert(&dynamic.filter_struct);
                taken.extend(dynamic.sort_enum.as_deref());
            }
        }
        for embedded in module
            .embedded
            .iter()
            .filter(|s| taken.contains(s.name.as_str()))
        {
            let user = module
                .queries
                .iter()
                .find(|query| query.row.as_ref().map(|row| &row.name) == embedded.used_by.first());
            let def = user.and_then(|query| {
                builder
                    .fn_names
                    .get(&(module.name.clone(), query.fn_name.clone()))
            });
            let Some(def) = def else {
                continue;
            };
            let span = def
                .embeds
                .first()
                .map_or_else(|| def.name_span.clone(), |e| e.span.clone());
            errors.push(
                Diagnostic::error_at(
                    format!(
                        "the struct `{}` of embedded table {} has the name of another type of module `{}`",
                        embedded.name, embedded.table, module.name
                    ),
                    &def.file,
                    span,
                )
                .with_help("name the table's struct with a `rename` entry for the table, or rename the other type (the query, or its `-- @row`)"),
            );
        }
    }
    builder.errors.append(&mut errors);
}
