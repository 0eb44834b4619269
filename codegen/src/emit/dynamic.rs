//! Emit of a dynamic query: its `<Name>Filter` struct (one `Option` field
//! per block parameter), its `<Name>Sort` enum, the module-level `static`
//! `quarry::Dynamic` holding its SQL pieces, and its functions (and
//! `_stream`), which pick the variant from the filter and the sort and bind
//! only the parameters of the blocks present.
//!
//! Owns the calling convention of dynamic queries: `(db, filter, sort,
//! other parameters…)`; a block is present exactly when all its fields are
//! `Some`. Never builds SQL in generated code: the runtime assembles each
//! variant once from the pieces.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{
    attribution, code, columns_path, declared_params, doc_lines, doc_text, executor_bound,
    fetch_with_relations_of, relation_args, row_path, sql_block, stream_docs, user_docs,
    with_lifetime,
};
use crate::ident;
use crate::ir::dynamic::{DynamicIr, PieceIr};
use crate::ir::{ModuleIr, ParamIr, QueryIr};
use crate::lex::QueryKind;

/// Everything a dynamic query generates; nothing for a static one.
pub(super) fn dynamic_tokens(
    module: &ModuleIr,
    query: &QueryIr,
    types_module: &TokenStream,
) -> TokenStream {
    let Some(dynamic) = &query.dynamic else {
        return quote!();
    };
    let filter = filter_tokens(query, dynamic, types_module);
    let sort = sort_tokens(query, dynamic);
    let statics = static_tokens(query, dynamic);
    let function = function_tokens(module, query, dynamic, types_module);
    let stream = stream_tokens(module, query, dynamic, types_module);
    quote!(#filter #sort #statics #function #stream)
}

/// The index of the block holding parameter `index`, if any.
fn block_of(dynamic: &DynamicIr, index: usize) -> Option<usize> {
    dynamic
        .blocks
        .iter()
        .position(|block| block.params.contains(&index))
}

fn static_name(query: &QueryIr) -> proc_macro2::Ident {
    ident::ident(&format!("{}_QUERY", query.fn_name.to_uppercase()))
}

fn filter_tokens(query: &QueryIr, dynamic: &DynamicIr, types_module: &TokenStream) -> TokenStream {
    let name = ident::ident(&dynamic.filter_struct);
    let fields = query
        .params
        .iter()
        .enumerate()
        .filter_map(|(index, param)| {
            let block = dynamic.blocks.get(block_of(dynamic, index)?)?;
            let field = ident::ident(&param.name);
            let ty = param.ty.owned(types_module);
            let doc = doc_text(&format!(
                " Filter {}: included when {} {}.",
                code(&block.written),
                if block.params.len() > 1 {
                    "this field and the block's others are"
                } else {
                    "this field is"
                },
                "`Some`"
            ));
            Some(quote! {
                #[doc = #doc]
                pub #field: Option<#ty>,
            })
        });
    let doc = doc_lines([
        format!("The optional filters of [`{}`]: each `/*? … */` block of the query is included exactly when all its fields are `Some`, and absent from the SQL sent otherwise.", query.fn_name),
    ]);
    quote! {
        #doc
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct #name {
            #(#fields)*
        }
    }
}

fn sort_tokens(query: &QueryIr, dynamic: &DynamicIr) -> TokenStream {
    let Some(name) = &dynamic.sort_enum else {
        return quote!();
    };
    let name = ident::ident(name);
    let variants = dynamic.sorts.iter().enumerate().map(|(index, choice)| {
        let variant = ident::ident(&choice.variant);
        let doc = doc_text(&format!(" `ORDER BY {}`", choice.sql));
        let default = (index == 0).then(|| quote!(#[default]));
        quote! {
            #[doc = #doc]
            #default
            #variant,
        }
    });
    let doc = doc_lines([format!(
        "The sort orders [`{}`] offers (the query's `/*sort: … */` whitelist, each entry ascending and descending); the default is the first entry as written.",
        query.fn_name
    )]);
    quote! {
        #doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum #name {
            #(#variants)*
        }
    }
}

/// `static <FN>_QUERY: quarry::Dynamic`: the full variant's `Query` (name,
/// flags, every parameter's type) and the pieces, shared by the function
/// and its stream so that both use the same cached variants.
fn static_tokens(query: &QueryIr, dynamic: &DynamicIr) -> TokenStream {
    let name = &query.name;
    let sql = attribution::sent_sql(query, &query.sql);
    let read_only = query.read_only.then(|| quote!(.read_only()));
    let types = declared_params(query);
    let params = (!types.is_empty()).then(|| quote!(.params(&[#(#types),*])));
    let custom_types = query.custom_types.then(|| quote!(.custom_types()));
    let pooler_safe = query.pooler_safe.then(|| quote!(.pooler_safe()));
    let static_name = static_name(query);
    let blocks = Literal::usize_unsuffixed(dynamic.blocks.len());
    let sorts = Literal::usize_unsuffixed(dynamic.sorts.len().max(1));
    let mut pieces = dynamic.pieces.clone();
    let prefix = attribution::sent_sql(query, "");
    if !prefix.is_empty() {
        match pieces.first_mut() {
            Some(PieceIr::Text(text)) => text.insert_str(0, &prefix),
            _ => pieces.insert(0, PieceIr::Text(prefix)),
        }
    }
    let pieces = pieces_tokens(&pieces, dynamic);
    let doc = format!(" The variants of [`{}`].", query.fn_name);
    quote! {
        #[doc = #doc]
        static #static_name: quarry::Dynamic = quarry::Dynamic::new(
            quarry::Query::new(#name, #sql) #read_only #params #custom_types #pooler_safe,
            #blocks,
            #sorts,
            &[#(#pieces),*],
        );
    }
}

fn pieces_tokens(pieces: &[PieceIr], dynamic: &DynamicIr) -> Vec<TokenStream> {
    pieces
        .iter()
        .map(|piece| match piece {
            PieceIr::Text(text) => quote!(quarry::Piece::Text(#text)),
            PieceIr::Param(index) => {
                let index = Literal::usize_unsuffixed(*index);
                quote!(quarry::Piece::Param(#index))
            }
            PieceIr::Block(block, inner) => {
                let block = Literal::usize_unsuffixed(*block);
                let inner = pieces_tokens(inner, dynamic);
                quote!(quarry::Piece::Block(#block, &[#(#inner),*]))
            }
            PieceIr::Sort => {
                let choices = dynamic.sorts.iter().map(|choice| &choice.sql);
                quote!(quarry::Piece::Sort(&[#(#choices),*]))
            }
        })
        .collect()
}

/// `filter: &Filter, sort: Sort, <other parameters>` (references given
/// `lifetime` when there is one).
fn params_tokens(
    query: &QueryIr,
    dynamic: &DynamicIr,
    types_module: &TokenStream,
    lifetime: Option<&TokenStream>,
) -> Vec<TokenStream> {
    let filter = ident::ident(&dynamic.filter_struct);
    let mut params = vec![match lifetime {
        Some(lifetime) => quote!(filter: &#lifetime #filter),
        None => quote!(filter: &#filter),
    }];
    if let Some(sort) = &dynamic.sort_enum {
        let sort = ident::ident(sort);
        params.push(quote!(sort: #sort));
    }
    // The parameters outside the blocks, then those only its relations
    // take (bound, not in its SQL).
    let outside = (query.params.iter().enumerate())
        .filter(|(index, _)| block_of(dynamic, *index).is_none())
        .map(|(_, param)| param);
    for param in outside.chain(query.new_params()) {
        let name = ident::ident(&param.name);
        let ty = param.borrowed_type(types_module);
        let ty = match lifetime {
            Some(lifetime) => with_lifetime(ty, lifetime),
            None => ty,
        };
        params.push(quote!(#name: #ty));
    }
    params
}

fn arg_local(index: usize) -> proc_macro2::Ident {
    ident::ident(&format!("arg_{index}"))
}

fn mask_bit(block: usize) -> Literal {
    Literal::u64_unsuffixed(1u64 << block.min(63))
}

/// Binds every parameter to a local (`arg_i`: `Option<…>` for a block's),
/// computes the mask of the blocks present and takes the variant:
/// `let query: &'static quarry::Query = …;`.
fn variant_tokens(query: &QueryIr, dynamic: &DynamicIr) -> TokenStream {
    let locals = query.params.iter().enumerate().map(|(index, param)| {
        let local = arg_local(index);
        let name = ident::ident(&param.name);
        let value = match (
            block_of(dynamic, index),
            param.ty.is_json_wrapper(),
            param.nullable,
        ) {
            (Some(_), true, _) => quote!(filter.#name.as_ref().map(quarry::types::Json)),
            (Some(_), false, _) => quote!(filter.#name.as_ref()),
            (None, true, false) => quote!(quarry::types::Json(#name)),
            (None, true, true) => quote!(#name.map(quarry::types::Json)),
            (None, false, _) => quote!(#name),
        };
        quote!(let #local = #value;)
    });
    let mask = if dynamic.blocks.is_empty() {
        quote!(let mask = 0u64;)
    } else {
        let bits = dynamic.blocks.iter().enumerate().map(|(block, ir)| {
            let present = ir.params.iter().map(|&index| {
                let local = arg_local(index);
                quote!(#local.is_some())
            });
            let bit = mask_bit(block);
            quote!(if #(#present)&&* { mask |= #bit; })
        });
        quote!(let mut mask = 0u64; #(#bits)*)
    };
    let sort = match &dynamic.sort_enum {
        Some(sort_enum) => {
            let sort_enum = ident::ident(sort_enum);
            let arms = dynamic.sorts.iter().enumerate().map(|(index, choice)| {
                let variant = ident::ident(&choice.variant);
                let index = Literal::usize_unsuffixed(index);
                quote!(#sort_enum::#variant => #index,)
            });
            quote!(match sort { #(#arms)* })
        }
        None => quote!(0),
    };
    let static_name = static_name(query);
    quote! {
        #(#locals)*
        #mask
        let query: &'static quarry::Query = #static_name.variant(mask, #sort);
    }
}

/// Pushes of the present parameters, in order, onto `target` with `push`:
/// `by_value` moves the locals (boxed stream parameters), else borrows them.
fn push_tokens(query: &QueryIr, dynamic: &DynamicIr, boxed: bool) -> Vec<TokenStream> {
    query
        .params
        .iter()
        .enumerate()
        .map(|(index, _)| {
            let local = arg_local(index);
            let (source, value) = if boxed {
                (quote!(#local), quote!(Box::new(value)))
            } else {
                (quote!(&#local), quote!(value))
            };
            let plain = if boxed {
                quote!(Box::new(#local))
            } else {
                quote!(&#local)
            };
            match block_of(dynamic, index) {
                Some(block) => {
                    let bit = mask_bit(block);
                    quote! {
                        if let (true, Some(value)) = ((mask & #bit) != 0, #source) {
                            args.push(#value);
                        }
                    }
                }
                None => quote!(args.push(#plain);),
            }
        })
        .collect()
}

/// `let args = quarry::DynamicArgs::<N>` with the present parameters.
fn args_tokens(query: &QueryIr, dynamic: &DynamicIr) -> TokenStream {
    let count = Literal::usize_unsuffixed(query.params.len());
    let pushes = push_tokens(query, dynamic, false);
    let mutable = (!pushes.is_empty()).then(|| quote!(mut));
    quote! {
        let #mutable args = quarry::DynamicArgs::<#count>::new();
        #(#pushes)*
    }
}

fn function_tokens(
    module: &ModuleIr,
    query: &QueryIr,
    dynamic: &DynamicIr,
    types_module: &TokenStream,
) -> TokenStream {
    let fn_name = ident::ident(&query.fn_name);
    let docs = docs_tokens(query, dynamic);
    let params = params_tokens(query, dynamic, types_module, None);
    let variant = variant_tokens(query, dynamic);
    let args = args_tokens(query, dynamic);
    let bound = executor_bound(query);
    let row_type = query
        .row
        .as_ref()
        .map(|row| (row_path(module, row), columns_path(module, row)));
    let (ret, body) = match row_type {
        Some((row, columns)) if query.has_relations => fetch_with_relations_of(
            query.kind,
            &row,
            &columns,
            &(quote!(query), &relation_args(query)),
            &quote!(args.as_slice()),
        ),
        Some((row, _)) => {
            let (ret, call) = match query.kind {
                QueryKind::One => (quote!(#row), quote!(quarry::fetch_one)),
                QueryKind::Opt => (quote!(Option<#row>), quote!(quarry::fetch_opt)),
                _ => (quote!(Vec<#row>), quote!(quarry::fetch_all)),
            };
            (ret, quote!(#call(db, query, args.as_slice()).await))
        }
        None => super::exec_call(query, &quote!(query), &quote!(args.as_slice())),
    };
    let allow = (params.len() > 6).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    quote! {
        #docs
        #allow
        pub async fn #fn_name<E: #bound + ?Sized>(db: &E, #(#params),*) -> Result<#ret, quarry::Error> {
            #variant
            #args
            #body
        }
    }
}

fn stream_tokens(
    module: &ModuleIr,
    query: &QueryIr,
    dynamic: &DynamicIr,
    types_module: &TokenStream,
) -> TokenStream {
    let (Some(row), true) = (&query.row, crate::ir::has_stream(query)) else {
        return quote!();
    };
    let row = row_path(module, row);
    let fn_name = ident::ident(&crate::ir::stream_fn(&query.fn_name));
    let params = params_tokens(query, dynamic, types_module, Some(&quote!('a)));
    let variant = variant_tokens(query, dynamic);
    let (executor, body) = if query.has_relations {
        let chunk = Literal::u32_unsuffixed(query.chunk.unwrap_or(crate::ir::DEFAULT_CHUNK));
        let count = Literal::usize_unsuffixed(query.params.len());
        let pushes = push_tokens(query, dynamic, true);
        let call = if query.relation_params.is_empty() {
            quote!(quarry::fetch_chunked::<#row, _>(db, query, #chunk, args))
        } else {
            // Every chunk's relations get the same bound values.
            let bound = query
                .relation_params
                .iter()
                .map(|param| ident::ident(&param.name));
            quote!(quarry::fetch_chunked_with::<#row, _, _>(db, query, #chunk, args, (#(#bound,)*)))
        };
        let executor = if query.takes_row_locks {
            quote!(quarry::PortalExecutor + quarry::InTransaction)
        } else {
            quote!(quarry::PortalExecutor)
        };
        (
            executor,
            quote! {
                #variant
                let mut args: Vec<quarry::StreamParam<'a>> = Vec::with_capacity(#count);
                #(#pushes)*
                #call
            },
        )
    } else {
        let args = args_tokens(query, dynamic);
        (
            executor_bound(query),
            quote! {
                quarry::fetch_stream(async move {
                    #variant
                    #args
                    quarry::Executor::query_stream(db, query, args.as_slice()).await
                })
            },
        )
    };
    let docs = doc_lines(stream_docs(query));
    let allow = (params.len() > 6).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    quote! {
        #docs
        #allow
        pub fn #fn_name<'a, E: #executor + ?Sized>(
            db: &'a E,
            #(#params),*
        ) -> impl quarry::futures_util::Stream<Item = Result<#row, quarry::Error>> + Send + 'a {
            #body
        }
    }
}

/// The function's rustdoc: the user's docs, the calling convention, the
/// filters, the sorts and the full variant's SQL.
fn docs_tokens(query: &QueryIr, dynamic: &DynamicIr) -> TokenStream {
    let mut docs: Vec<String> = user_docs(&query.docs);
    if docs.is_empty() {
        docs.push(format!("Runs query {}.", code(&query.name)));
    }
    docs.push(String::new());
    let sort = match &dynamic.sort_enum {
        Some(sort) => format!(", a sort order ([`{sort}`])"),
        None => String::new(),
    };
    docs.push(format!(
        "A dynamic query: takes its filters ([`{}`]){sort}, then its other parameters. Each combination of filters and sort is its own statement, checked at generation time and prepared once per connection; absent filters are not in the SQL sent.",
        dynamic.filter_struct
    ));
    docs.push(String::new());
    docs.push("Filters (a block is included when all its fields are `Some`):".to_string());
    for block in &dynamic.blocks {
        let fields: Vec<String> = block
            .params
            .iter()
            .filter_map(|&index| query.params.get(index))
            .map(|param: &ParamIr| code(&param.name))
            .collect();
        docs.push(format!("- {}: {}", fields.join(", "), code(&block.written)));
    }
    if let Some(sort) = &dynamic.sort_enum {
        docs.push(String::new());
        docs.push("Sorts:".to_string());
        for (index, choice) in dynamic.sorts.iter().enumerate() {
            let default = if index == 0 { " (default)" } else { "" };
            docs.push(format!(
                "- [`{sort}::{}`]: {}{default}",
                choice.variant,
                code(&format!("ORDER BY {}", choice.sql))
            ));
        }
    }
    if query.has_relations {
        docs.push(String::new());
        docs.push("Relations are loaded with one statement each, whatever the number of rows, on one connection.".to_string());
    }
    if query.takes_row_locks {
        docs.push(String::new());
        docs.push("Takes row locks, held until the transaction ends: `db` must be a transaction (`quarry::InTransaction`).".to_string());
    }
    docs.push(String::new());
    docs.push("With every filter and the default sort:".to_string());
    docs.push(String::new());
    docs.extend(sql_block(&query.sql));
    doc_lines(docs)
}
