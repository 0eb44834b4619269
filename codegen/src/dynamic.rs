//! Dynamic queries: `/*? … */` optional blocks and `/*sort: … */` sort
//! whitelists, as the lexer found them ([`DynamicDef`]), and the variants
//! they make — one statement per combination of blocks present and sort
//! chosen, each checked against PostgreSQL and each its own prepared
//! statement at run time.
//!
//! Owns the variant model: which variants exist, which are checked at
//! generation time ([`DynamicDef::checked_variants`]), and the SQL of each
//! ([`variant_def`]: a [`QueryDef`] of its own, parameters renumbered,
//! offsets mapped back to the file). The lexer fills [`DynamicDef`]; the
//! describe and analyse stages check every variant; `ir`/`emit` turn it into
//! a `<Name>Filter` struct, a `<Name>Sort` enum and the runtime's pieces.
//!
//! Checked at generation time: every variant up to
//! [`MAX_BLOCKS_CHECKED_EXHAUSTIVELY`] (8) blocks; above that, each block
//! alone, all blocks and no block, each with every sort choice (the other
//! combinations are not prepared; `docs/dynamic-queries.md` says so too).
//! The types live in `lex::dynamic` (the lexer fills them; re-exported
//! here), with the lexer's rules; `check` is the describe/analyse side.

use std::ops::Range;

pub use crate::lex::dynamic::{BlockDef, DynamicDef, VariantKey};
use crate::lex::{OffsetMap, QueryDef};

pub mod check;

/// `variant with blocks `a`, `b` and sort `price DESC`` — for diagnostics.
pub fn variant_label(def: &QueryDef, key: VariantKey) -> String {
    let Some(dynamic) = &def.dynamic else {
        return "the query".to_string();
    };
    let blocks: Vec<String> = dynamic
        .blocks
        .iter()
        .enumerate()
        .filter(|(i, _)| key.mask & (1 << i) != 0)
        .map(|(_, block)| format!("`{}`", block_name(def, block)))
        .collect();
    let mut label = match blocks.len() {
        0 if dynamic.blocks.is_empty() => "variant".to_string(),
        0 => "variant with no block".to_string(),
        _ => format!(
            "variant with {} {}",
            plural(blocks.len()),
            join_and(&blocks)
        ),
    };
    if let (Some(sort), Some((entry, descending))) = (&dynamic.sort, key.sort) {
        if let Some(entry) = sort.entries.get(entry) {
            let direction = if descending { "DESC" } else { "ASC" };
            label.push_str(&format!(" and sort `{} {direction}`", entry.expr));
        }
    }
    label
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "block"
    } else {
        "blocks"
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A block's name: its parameters' names joined with `+`.
pub fn block_name(def: &QueryDef, block: &BlockDef) -> String {
    let names: Vec<String> = block
        .params
        .iter()
        .map(|&p| match def.params.get(p).and_then(|d| d.name.clone()) {
            Some(name) => name,
            None => format!("${}", p + 1),
        })
        .collect();
    names.join("+")
}

/// One piece of a variant's SQL.
enum Piece {
    /// Text of the full variant, copied (offsets follow it).
    Copy(Range<usize>),
    /// A parameter site of the full variant, renumbered.
    Param(usize, Range<usize>),
    /// The chosen sort: expression and direction.
    Sort(usize, bool),
}

/// The variant `key` of a dynamic query as a query of its own: absent
/// blocks removed, the sort chosen, parameters renumbered (see
/// [`DynamicDef::variant_params`]), offsets composed back to the file, and
/// `dynamic: None`. A query without blocks or sort comes back unchanged.
pub fn variant_def(def: &QueryDef, key: VariantKey) -> QueryDef {
    let Some(dynamic) = &def.dynamic else {
        return def.clone();
    };
    let present = dynamic.variant_params(key, def.params.len());
    let mut renumber = vec![None; def.params.len()];
    for (k, &p) in present.iter().enumerate() {
        if let Some(slot) = renumber.get_mut(p) {
            *slot = Some(k);
        }
    }
    let pieces = pieces(def, dynamic, key);
    let mut sql = String::with_capacity(def.sql.len());
    let mut offsets = OffsetMap::default();
    let mut param_sites = Vec::new();
    for piece in pieces {
        let at = sql.len();
        match piece {
            Piece::Copy(range) => {
                offsets.push_slice(&def.offsets, range.clone(), at);
                sql.push_str(&def.sql[range]);
            }
            Piece::Param(index, range) => {
                let Some(Some(k)) = renumber.get(index).copied() else {
                    continue;
                };
                offsets.push_replace(at, def.file_span(range));
                sql.push_str(&format!("${}", k + 1));
                param_sites.push((k, at..sql.len()));
            }
            Piece::Sort(entry, descending) => {
                let Some(entry) = dynamic.sort.as_ref().and_then(|s| s.entries.get(entry)) else {
                    continue;
                };
                let written = def.file.text.get(entry.span.clone()).unwrap_or("");
                if written.starts_with(&entry.expr) {
                    offsets.push_copy(at, entry.span.start);
                } else {
                    offsets.push_replace(at, entry.span.clone());
                }
                sql.push_str(&entry.expr);
                let expr_end = (entry.span.start + entry.expr.len()).min(entry.span.end);
                offsets.push_replace(sql.len(), expr_end..entry.span.end);
                sql.push_str(if descending { " DESC" } else { " ASC" });
            }
        }
    }
    let params = present
        .iter()
        .filter_map(|&p| def.params.get(p).cloned())
        .collect();
    QueryDef {
        sql,
        params,
        offsets,
        param_sites,
        dynamic: None,
        ..def.clone()
    }
}

/// The full variant's SQL cut into pieces for the variant `key`.
fn pieces(def: &QueryDef, dynamic: &DynamicDef, key: VariantKey) -> Vec<Piece> {
    // Cuts: (range, replacement) sorted by start; absent blocks are removed.
    let mut cuts: Vec<(Range<usize>, Option<Piece>)> = Vec::new();
    for (i, block) in dynamic.blocks.iter().enumerate() {
        if key.mask & (1 << i) == 0 {
            cuts.push((block.range.clone(), None));
        }
    }
    if let (Some(sort), Some((entry, descending))) = (&dynamic.sort, key.sort) {
        cuts.push((sort.range.clone(), Some(Piece::Sort(entry, descending))));
    }
    for (index, range) in &def.param_sites {
        let removed = cuts
            .iter()
            .any(|(cut, _)| cut.start <= range.start && range.end <= cut.end);
        if !removed {
            cuts.push((range.clone(), Some(Piece::Param(*index, range.clone()))));
        }
    }
    cuts.sort_by_key(|(range, _)| range.start);
    let mut pieces = Vec::new();
    let mut copied = 0;
    for (range, replacement) in cuts {
        if range.start < copied {
            continue;
        }
        if range.start > copied {
            pieces.push(Piece::Copy(copied..range.start));
        }
        pieces.extend(replacement);
        copied = range.end;
    }
    if copied < def.sql.len() {
        pieces.push(Piece::Copy(copied..def.sql.len()));
    }
    pieces
}

#[cfg(test)]
mod tests;
