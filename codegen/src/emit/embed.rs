//! `sqlc.embed(t)` in generated code: the struct of an embedded table's
//! columns with its `decode_at` (the columns read by index from where the
//! embed starts), and the row field holding it, decoded through it —
//! `Option` when the query may null-extend the table, `None` when the
//! column [`EmbedIr::present`] names is NULL.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{code, column_field, decode_at_tokens, doc_lines, doc_text, extra_derives};
use crate::config::Derives;
use crate::ident;
use crate::ir::embed::{EmbedIr, EmbedStructIr};
use crate::ir::RowIr;

/// The struct of an embedded table and its `decode_at`.
pub(super) fn struct_tokens(
    embedded: &EmbedStructIr,
    types_module: &TokenStream,
    derives: &Derives,
) -> TokenStream {
    let extra = extra_derives(&derives.rows);
    let name = ident::ident(&embedded.name);
    let users: Vec<String> = embedded
        .used_by
        .iter()
        .map(|row| format!("[`{row}`]"))
        .collect();
    let doc = doc_lines([format!(
        "A row of table {}, embedded (`sqlc.embed`) in {}.",
        embedded.table,
        users.join(", ")
    )]);
    let fields = embedded
        .fields
        .iter()
        .map(|field| column_field(field, types_module));
    let decodes = embedded.fields.iter().map(|field| {
        let index = match field.index {
            0 => quote!(at),
            offset => {
                let offset = Literal::usize_unsuffixed(offset);
                quote!(at + #offset)
            }
        };
        decode_at_tokens(field, &index, types_module)
    });
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq #(, #extra)*)]
        pub struct #name {
            #(#fields)*
        }

        impl #name {
            /// Reads the table's columns from `row`, the first at index `at`.
            fn decode_at(row: &quarry::Row, at: usize) -> Result<Self, quarry::DecodeError> {
                Ok(Self {
                    #(#decodes)*
                })
            }
        }
    }
}

/// Inserts a row's embed fields and their decoding among its column fields.
pub(super) fn embed_fields(
    row: &RowIr,
    fields: &mut Vec<TokenStream>,
    decodes: &mut Vec<TokenStream>,
) {
    // Last first, so earlier positions stay right.
    for embed in row.embeds.iter().rev() {
        let at = embed.position.min(fields.len()).min(decodes.len());
        fields.insert(at, field_tokens(embed));
        decodes.insert(at, decode_tokens(embed));
    }
}

fn field_tokens(embed: &EmbedIr) -> TokenStream {
    let name = ident::ident(&embed.name);
    let ty = ident::ident(&embed.struct_name);
    let (ty, absent) = match &embed.present {
        Some((_, column)) => (
            quote!(Option<#ty>),
            format!(
                "; `None` when the query found no row of it ({} is NULL)",
                code(column)
            ),
        ),
        None => (quote!(#ty), String::new()),
    };
    let doc = doc_text(&format!(
        " The row of table {} (`sqlc.embed`), read from result column {} on{absent}.",
        embed.table, embed.first
    ));
    quote! {
        #[doc = #doc]
        pub #name: #ty,
    }
}

fn decode_tokens(embed: &EmbedIr) -> TokenStream {
    let name = ident::ident(&embed.name);
    let ty = ident::ident(&embed.struct_name);
    let first = Literal::usize_unsuffixed(embed.first);
    match &embed.present {
        Some((index, column)) => {
            let index = Literal::usize_unsuffixed(*index);
            quote! {
                #name: if quarry::is_null(row, #index, #column)? {
                    None
                } else {
                    Some(#ty::decode_at(row, #first)?)
                },
            }
        }
        None => quote!(#name: #ty::decode_at(row, #first)?,),
    }
}
