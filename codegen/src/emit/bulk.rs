//! Emit of the bulk kinds (`:copyfrom`, `:batchexec`, `:batchmany`,
//! `:batchone`): the `<Name>Params` struct every one of them takes, its
//! `quarry::CopyRow` or `quarry::BatchParams` impl (the struct writes or binds
//! itself), and the function running many of them — through
//! `quarry::copy_in` or `quarry::batch_*`. No `<name>_with`, no `_stream`.

use proc_macro2::TokenStream;
use quote::quote;

use super::{
    code, doc_lines, doc_text, executor_bound, query_const, row_path, sql_block, user_docs,
};
use crate::ident;
use crate::ir::{CopyIr, ModuleIr, ParamIr, QueryIr};
use crate::lex::QueryKind;

/// The items of a bulk query: its params struct, the struct's trait impl,
/// and its function.
pub(super) fn bulk_tokens(
    module: &ModuleIr,
    query: &QueryIr,
    types_module: &TokenStream,
) -> TokenStream {
    // A bulk query always has parameters (checked in `crate::bulk`).
    let Some(struct_name) = &query.params_struct else {
        return quote!();
    };
    let name = ident::ident(struct_name);
    let params_struct = params_struct(query, &name, types_module);
    let values = query.params.iter().map(value_tokens);
    let (trait_impl, function) = match &query.copy {
        Some(copy) => {
            // In the `COPY`'s column order; a parameter may fill several.
            let params: Vec<&ParamIr> = copy
                .columns
                .iter()
                .filter_map(|(_, index)| query.params.get(*index))
                .collect();
            let values = params.into_iter().map(value_tokens);
            (
                quote! {
                    impl quarry::CopyRow for #name {
                        async fn write(&self, writer: &mut quarry::CopyWriter<'_>) -> Result<(), quarry::Error> {
                            writer.write(&[#(#values),*]).await
                        }
                    }
                },
                copy_fn(query, copy, &name),
            )
        }
        None => (
            quote! {
                impl quarry::BatchParams for #name {
                    async fn bind(&self, statement: &quarry::BatchStatement<'_>) -> Result<quarry::Batched, quarry::Error> {
                        statement.run(&[#(#values),*]).await
                    }
                }
            },
            batch_fn(module, query, &name),
        ),
    };
    quote! {
        #params_struct
        #trait_impl
        #function
    }
}

/// `<Name>Params`: one row (`:copyfrom`) or one element of the batch, owned.
fn params_struct(
    query: &QueryIr,
    name: &proc_macro2::Ident,
    types_module: &TokenStream,
) -> TokenStream {
    let fn_name = &query.fn_name;
    let fields = query.params.iter().enumerate().map(|(index, param)| {
        let field = ident::ident(&param.name);
        let ty = param.owned_type(types_module);
        let place = match &query.copy {
            Some(copy) => {
                let columns: Vec<String> = copy
                    .columns
                    .iter()
                    .filter(|(_, source)| *source == index)
                    .map(|(column, _)| code(column))
                    .collect();
                let noun = if columns.len() == 1 {
                    "column"
                } else {
                    "columns"
                };
                format!("written to {noun} {}", columns.join(", "))
            }
            None => format!("`${}`", index + 1),
        };
        let doc = doc_text(&format!(" `{}` of [`{fn_name}`]: {place}.", param.name));
        quote! {
            #[doc = #doc]
            pub #field: #ty,
        }
    });
    let what = if query.copy.is_some() {
        "One row for [`{fn_name}`] to insert: its values, owned."
    } else {
        "One element of the batch [`{fn_name}`] runs: the statement's parameters, owned."
    };
    let doc = doc_lines([what.replace("{fn_name}", fn_name)]);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq)]
        pub struct #name {
            #(#fields)*
        }
    }
}

/// A field of `self` as a statement value (serde values wrapped in `Json`).
fn value_tokens(param: &ParamIr) -> TokenStream {
    let field = ident::ident(&param.name);
    match (param.ty.is_json_wrapper(), param.nullable) {
        (true, false) => quote!(&quarry::types::Json(&self.#field)),
        (true, true) => quote!(&self.#field.as_ref().map(quarry::types::Json)),
        (false, _) => quote!(&self.#field),
    }
}

/// The user's docs, or a default, then `what` the function does and `sql`.
fn bulk_docs(query: &QueryIr, what: &str, sql: &str) -> TokenStream {
    let mut docs: Vec<String> = user_docs(&query.docs);
    if docs.is_empty() {
        docs.push(format!("Runs query {}.", code(&query.name)));
    }
    docs.push(String::new());
    docs.push(what.to_string());
    if query.takes_row_locks {
        docs.push(String::new());
        docs.push("Takes row locks, held until the transaction ends: `db` must be a transaction (`quarry::InTransaction`), e.g. the one `quarry::transaction` gives its closure.".to_string());
    }
    docs.push(String::new());
    docs.extend(sql_block(sql));
    doc_lines(docs)
}

/// `<name>(db, rows)` of a `:copyfrom` query: one binary `COPY`.
fn copy_fn(query: &QueryIr, copy: &CopyIr, name: &proc_macro2::Ident) -> TokenStream {
    let fn_name = ident::ident(&query.fn_name);
    let docs = bulk_docs(
        query,
        &format!(
            "Inserts every row of `rows` with one binary `COPY … FROM STDIN` and returns the number of rows inserted: all rows or none (a row that fails, say on a constraint, fails the whole copy and nothing is inserted). The rows are read from the iterator as they are sent, never collected first; an empty iterator sends nothing and returns 0. The columns' types are read by preparing (never running) {}.",
            code(&query.sql)
        ),
        &copy.statement,
    );
    let query_const = query_const(query);
    let statement = super::attribution::sent_sql(query, &copy.statement);
    let bound = executor_bound(query);
    quote! {
        #docs
        pub async fn #fn_name<E: #bound + ?Sized>(
            db: &E,
            rows: impl IntoIterator<Item = #name, IntoIter: Send> + Send,
        ) -> Result<u64, quarry::Error> {
            #query_const
            const COPY: &str = #statement;
            quarry::copy_in(db, &QUERY, COPY, rows).await
        }
    }
}

/// `<name>(db, items)` of a `:batch…` query: the statement once per
/// element, pipelined.
fn batch_fn(module: &ModuleIr, query: &QueryIr, name: &proc_macro2::Ident) -> TokenStream {
    let fn_name = ident::ident(&query.fn_name);
    let row = query.row.as_ref().map(|row| row_path(module, row));
    let (ret, call, result) = match (query.kind, row) {
        (QueryKind::BatchMany, Some(row)) => (
            quote!(Vec<Vec<#row>>),
            quote!(quarry::batch_fetch_all::<#row, _, _>),
            "the rows of each element",
        ),
        (QueryKind::BatchOne, Some(row)) => (
            quote!(Vec<#row>),
            quote!(quarry::batch_fetch_one::<#row, _, _>),
            "the one row of each element (an element with no row or several is an error, `quarry::Error::BatchRowCount`, and the batch is undone)",
        ),
        _ => (
            quote!(Vec<u64>),
            quote!(quarry::batch_execute),
            "the number of rows each element affected",
        ),
    };
    let docs = bulk_docs(
        query,
        &format!(
            "Runs the statement once for each element of `items`, all pipelined on one connection (not a round trip per element), in one transaction unless `db` already is one: every element or none (the first failing element's error, `quarry::Error::Batch`, names its index). Returns {result}, in the order of `items`; an empty slice sends nothing."
        ),
        &query.sql,
    );
    let query_const = query_const(query);
    let bound = executor_bound(query);
    quote! {
        #docs
        pub async fn #fn_name<E: #bound + ?Sized>(db: &E, items: &[#name]) -> Result<#ret, quarry::Error> {
            #query_const
            #call(db, &QUERY, items).await
        }
    }
}
