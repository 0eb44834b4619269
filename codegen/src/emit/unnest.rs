//! Emit of the row-wise `unnest` form ([`crate::unnest`]): `<Name>Item`
//! (one element of each array parameter, owned) and `<name>_items(db,
//! &[<Name>Item])`, which transposes the items into one array per
//! parameter and calls `<name>` once.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{doc_lines, doc_text, executor_bound, return_type};
use crate::ident;
use crate::ir::{ModuleIr, ParamIr, QueryIr};
use crate::typemap::{Builtin, RustType};
use crate::unnest::UnnestIr;

/// How an item's field becomes an element of its parameter's array.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Borrowed: `&str`/`&[u8]` from a `String`/`Vec<u8>`.
    Borrowed,
    /// Copied: a `Copy` value.
    Copied,
    /// Cloned: the function's slice holds owned values of a type that is
    /// not `Copy`.
    Cloned,
}

/// One field of `<Name>Item`: its name, the array parameter it is an
/// element of, and the element's type.
struct Column<'q> {
    field: Ident,
    index: usize,
    param: &'q ParamIr,
    element: &'q RustType,
    nullable_element: bool,
}

/// `<Name>Item` and `<name>_items` of a query with an `unnest` form;
/// nothing for the others.
pub(super) fn unnest_tokens(
    module: &ModuleIr,
    query: &QueryIr,
    types_module: &TokenStream,
) -> TokenStream {
    let Some(unnest) = &query.unnest else {
        return quote!();
    };
    let Some(columns) = columns(query, unnest) else {
        return quote!();
    };
    let item = ident::ident(&unnest.item_struct);
    let item_struct = item_struct(query, unnest, &item, &columns, types_module);
    let items_fn = items_fn(module, query, unnest, &item, &columns, types_module);
    quote! {
        #item_struct
        #items_fn
    }
}

/// The fields, in the `unnest`'s column order (`None` if a parameter is
/// not an array: [`crate::unnest::plan`] let none through).
fn columns<'q>(query: &'q QueryIr, unnest: &UnnestIr) -> Option<Vec<Column<'q>>> {
    unnest
        .fields
        .iter()
        .map(|(field, index)| {
            let param = query.params.get(*index)?;
            let RustType::Array {
                element,
                nullable_elements,
            } = &param.ty
            else {
                return None;
            };
            Some(Column {
                field: ident::ident(field),
                index: *index,
                param,
                element,
                nullable_element: *nullable_elements,
            })
        })
        .collect()
}

fn item_struct(
    query: &QueryIr,
    unnest: &UnnestIr,
    item: &Ident,
    columns: &[Column<'_>],
    types_module: &TokenStream,
) -> TokenStream {
    let fn_name = &query.fn_name;
    let fields = columns.iter().map(|column| {
        let Column { field, index, .. } = column;
        let element = column.element.owned(types_module);
        let ty = if column.nullable_element {
            quote!(Option<#element>)
        } else {
            element
        };
        let doc = doc_text(&format!(
            " An element of `{}` (`${}`) of [`{fn_name}`].",
            column.param.name,
            index + 1
        ));
        quote! {
            #[doc = #doc]
            pub #field: #ty,
        }
    });
    let doc = doc_lines([format!(
        "One row for [`{}`]: an element of each array [`{fn_name}`] takes, owned.",
        unnest.items_fn
    )]);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq)]
        pub struct #item {
            #(#fields)*
        }
    }
}

/// How `column` goes into its array (see [`Pass`]).
fn pass(column: &Column<'_>) -> Pass {
    match column.element {
        RustType::Builtin(Builtin::Text | Builtin::Bytea) => Pass::Borrowed,
        element if element.is_copy() => Pass::Copied,
        _ => Pass::Cloned,
    }
}

/// `item.<field>` as an element of the function's slice.
fn element_tokens(column: &Column<'_>) -> TokenStream {
    let field = &column.field;
    let place = quote!(item.#field);
    match (pass(column), column.element, column.nullable_element) {
        (Pass::Borrowed, _, true) => quote!(#place.as_deref()),
        (Pass::Borrowed, RustType::Builtin(Builtin::Text), false) => quote!(#place.as_str()),
        (Pass::Borrowed, _, false) => quote!(#place.as_slice()),
        (Pass::Copied, _, _) => place,
        // `Clone::clone`, not `.clone()`: a configured derive may make the
        // type `Copy`, and clippy would flag `.clone()` on it.
        (Pass::Cloned, _, _) => quote!(Clone::clone(&#place)),
    }
}

/// The rustdoc of `<name>_items`.
fn items_docs(query: &QueryIr, unnest: &UnnestIr, columns: &[Column<'_>]) -> TokenStream {
    let fn_name = &query.fn_name;
    let passes: Vec<Pass> = columns.iter().map(pass).collect();
    let how: Vec<String> = [
        (Pass::Borrowed, "borrowing text and bytes".to_string()),
        (Pass::Copied, "copying `Copy` values".to_string()),
        (
            Pass::Cloned,
            format!("cloning the other values, which [`{fn_name}`] takes owned in its slices"),
        ),
    ]
    .into_iter()
    .filter(|(pass, _)| passes.contains(pass))
    .map(|(_, how)| how)
    .collect();
    doc_lines([
        format!(
            "The row-wise form of [`{fn_name}`]: one [`{}`] per row instead of one slice per `unnest` column.",
            unnest.item_struct
        ),
        String::new(),
        format!(
            "The items are transposed into one array per parameter ({}) and [`{fn_name}`] runs once: one statement whatever the number of items, and no bind-parameter limit, since each column is one parameter. An empty slice runs it with empty arrays.",
            how.join(", ")
        ),
        String::new(),
        "`unnest` flattens multi-dimensional arrays, so a column whose type is itself an array cannot go through it: a query with such a column has no `_items` form.".to_string(),
    ])
}

/// `<name>_items(db, items)`: one array per parameter, in `$n` order, then `<name>`.
fn items_fn(
    module: &ModuleIr,
    query: &QueryIr,
    unnest: &UnnestIr,
    item: &Ident,
    columns: &[Column<'_>],
    types_module: &TokenStream,
) -> TokenStream {
    let docs = items_docs(query, unnest, columns);
    let fn_name = ident::ident(&query.fn_name);
    let items_fn = ident::ident(&unnest.items_fn);
    let args = (0..query.params.len()).filter_map(|index| {
        let column = columns.iter().find(|column| column.index == index)?;
        let element = element_tokens(column);
        let array = quote!(items.iter().map(|item| #element).collect::<Vec<_>>());
        Some(if column.param.nullable {
            quote!(Some(#array.as_slice()))
        } else {
            quote!(&#array)
        })
    });
    let ret = return_type(module, query, types_module);
    let bound = executor_bound(query);
    quote! {
        #docs
        pub async fn #items_fn<E: #bound + ?Sized>(db: &E, items: &[#item]) -> Result<#ret, quarry::Error> {
            #fn_name(db, #(#args),*).await
        }
    }
}
