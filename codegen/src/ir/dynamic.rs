//! The IR of a dynamic query (`/*? … */` blocks, a `/*sort: … */`
//! whitelist): the names of its `<Name>Filter` struct and `<Name>Sort`
//! enum, what each block and sort choice is, and its SQL cut into the
//! runtime's `quarry::Piece`s.
//!
//! Owns the mapping from the lexer's [`DynamicDef`] to those pieces: the
//! text each variant sends is exactly what [`crate::dynamic::variant_def`]
//! checked (same sort text, same renumbering, domain casts as in
//! [`super::final_sql`]). Nothing here talks to a database.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::dynamic::DynamicDef;
use crate::ident;
use crate::lex::QueryDef;

/// A dynamic query's generated API and SQL pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicIr {
    /// `<Name>Filter`: one `Option` field per block parameter.
    pub filter_struct: String,
    /// `<Name>Sort`, when the query has a sort whitelist.
    pub sort_enum: Option<String>,
    /// The blocks, bit `i` of the mask being block `i`.
    pub blocks: Vec<BlockIr>,
    /// The sort choices in the runtime's order (index = sort argument of
    /// `quarry::Dynamic::variant`); the first is the default. Empty without
    /// a sort whitelist.
    pub sorts: Vec<SortChoiceIr>,
    /// The full variant's SQL as pieces.
    pub pieces: Vec<PieceIr>,
}

/// One `/*? … */` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockIr {
    /// Its SQL as written in the file (between `/*?` and `*/`, trimmed).
    pub written: String,
    /// Its parameters (indices into the query's parameters), ascending.
    pub params: Vec<usize>,
}

/// One choice of the sort whitelist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortChoiceIr {
    /// The `<Name>Sort` variant (`PriceAsc`).
    pub variant: String,
    /// The ORDER BY text it puts in the statement (`p.price ASC`).
    pub sql: String,
}

/// One piece of the SQL, as `quarry::Piece`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceIr {
    /// Text copied as is.
    Text(String),
    /// Parameter by full index.
    Param(usize),
    /// Block `i` and its pieces.
    Block(usize, Vec<PieceIr>),
    /// The chosen sort text.
    Sort,
}

/// `SearchProductsFilter`.
pub fn filter_struct_name(query_name: &str) -> String {
    ident::type_name_str(format!("{}Filter", ident::pascal(query_name)))
}

/// `SearchProductsSort`.
pub fn sort_enum_name(query_name: &str) -> String {
    ident::type_name_str(format!("{}Sort", ident::pascal(query_name)))
}

/// The IR of `def`'s dynamic parts; `None` for a static query. `casts`:
/// parameter index → base type, for parameters typed as a domain.
pub fn build(def: &QueryDef, casts: &BTreeMap<usize, String>) -> Option<DynamicIr> {
    let dynamic = def.dynamic.as_ref()?;
    let blocks = dynamic
        .blocks
        .iter()
        .map(|block| {
            let mut params = block.params.clone();
            params.sort_unstable();
            params.dedup();
            BlockIr {
                written: written_block(def, block.span.clone()),
                params,
            }
        })
        .collect();
    Some(DynamicIr {
        filter_struct: filter_struct_name(&def.name),
        sort_enum: dynamic.sort.as_ref().map(|_| sort_enum_name(&def.name)),
        blocks,
        sorts: sort_choices(dynamic),
        pieces: pieces(def, dynamic, casts),
    })
}

/// The text between `/*?` and `*/`, trimmed.
fn written_block(def: &QueryDef, span: Range<usize>) -> String {
    let text = def.file.text.get(span).unwrap_or("");
    let inner = text.strip_prefix("/*?").unwrap_or(text);
    let inner = inner.strip_suffix("*/").unwrap_or(inner);
    inner.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn sort_choices(dynamic: &DynamicDef) -> Vec<SortChoiceIr> {
    let Some(sort) = &dynamic.sort else {
        return Vec::new();
    };
    dynamic
        .sorts()
        .into_iter()
        .flatten()
        .filter_map(|(entry, descending)| {
            let entry = sort.entries.get(entry)?;
            let direction = if descending { "DESC" } else { "ASC" };
            let suffix = if descending { "Desc" } else { "Asc" };
            Some(SortChoiceIr {
                variant: ident::type_name_str(format!("{}{suffix}", ident::pascal(&entry.name))),
                sql: format!("{} {direction}", entry.expr),
            })
        })
        .collect()
}

/// The full variant's SQL cut at its blocks, its sort and its parameters.
fn pieces(def: &QueryDef, dynamic: &DynamicDef, casts: &BTreeMap<usize, String>) -> Vec<PieceIr> {
    let mut sites: Vec<(usize, Range<usize>)> = def.param_sites.clone();
    sites.sort_by_key(|(_, range)| range.start);
    let mut cuts: Vec<(Range<usize>, Option<usize>)> = dynamic
        .blocks
        .iter()
        .enumerate()
        .map(|(i, block)| (block.range.clone(), Some(i)))
        .collect();
    if let Some(sort) = &dynamic.sort {
        cuts.push((sort.range.clone(), None));
    }
    cuts.sort_by_key(|(range, _)| range.start);
    let mut out = Vec::new();
    let mut copied = 0;
    for (range, block) in cuts {
        if range.start < copied {
            continue;
        }
        text_pieces(def, copied..range.start, &sites, casts, &mut out);
        match block {
            Some(i) => {
                let mut inner = Vec::new();
                text_pieces(def, range.clone(), &sites, casts, &mut inner);
                out.push(PieceIr::Block(i, inner));
            }
            None => out.push(PieceIr::Sort),
        }
        copied = range.end;
    }
    text_pieces(def, copied..def.sql.len(), &sites, casts, &mut out);
    out
}

/// `range` of the SQL as text and parameter pieces (adjacent text merged).
fn text_pieces(
    def: &QueryDef,
    range: Range<usize>,
    sites: &[(usize, Range<usize>)],
    casts: &BTreeMap<usize, String>,
    out: &mut Vec<PieceIr>,
) {
    let push_text = |out: &mut Vec<PieceIr>, text: &str| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(PieceIr::Text(last)) => last.push_str(text),
            _ => out.push(PieceIr::Text(text.to_string())),
        }
    };
    let mut copied = range.start;
    for (index, site) in sites {
        if site.start < range.start || site.end > range.end {
            continue;
        }
        push_text(out, def.sql.get(copied..site.start).unwrap_or(""));
        out.push(PieceIr::Param(*index));
        if let Some(cast) = casts.get(index) {
            push_text(out, &format!("::{cast}"));
        }
        copied = site.end;
    }
    push_text(out, def.sql.get(copied..range.end).unwrap_or(""));
}
