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

use std::ops::Range;

use crate::lex::{OffsetMap, QueryDef};

pub mod check;
pub mod syntax;

/// The most blocks a query may have (a variant's mask is a `u64`).
pub const MAX_BLOCKS: usize = 63;

/// Up to this many blocks every variant is checked at generation time;
/// above it, each block alone, all blocks and no block (× every sort).
pub const MAX_BLOCKS_CHECKED_EXHAUSTIVELY: usize = 8;

/// The optional blocks and the sort whitelist of one query.
///
/// [`QueryDef::sql`](crate::lex::QueryDef::sql) is the *full* variant: every
/// block present (its text, without the `/*?` and `*/`), and the sort's
/// default entry in place of the `/*sort: … */` comment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamicDef {
    /// The `/*? … */` blocks, in text order; block `i` is bit `i` of a
    /// variant's mask.
    pub blocks: Vec<BlockDef>,
    /// The `/*sort: … */` whitelist, at most one per query.
    pub sort: Option<SortDef>,
}

/// One `/*? … */` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDef {
    /// Its text in the full variant's SQL (what an absent block removes).
    pub range: Range<usize>,
    /// The parameters used in it (0-based indices into the query's
    /// parameters), in order of first appearance: the block is present
    /// exactly when all of them are given. Never empty; never used outside
    /// this block.
    pub params: Vec<usize>,
    /// The whole comment in the file, `/*?` to `*/`.
    pub span: Range<usize>,
}

/// The `/*sort: … */` whitelist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortDef {
    /// Where the chosen entry goes in the full variant's SQL (holding the
    /// default entry's text there).
    pub range: Range<usize>,
    /// The entries, as written.
    pub entries: Vec<SortEntry>,
    /// The whole comment in the file.
    pub span: Range<usize>,
}

/// One entry of a sort whitelist: `expr [ASC|DESC] [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortEntry {
    /// The SQL expression (no parameters).
    pub expr: String,
    /// Written `DESC`: the default direction of this entry.
    pub descending: bool,
    /// The name its `<Name>Sort` variants derive from (`AS newest`, or the
    /// expression's last identifier: `p.created_at` → `created_at`).
    pub name: String,
    /// The entry in the file.
    pub span: Range<usize>,
}

/// One variant: which blocks are present and which sort is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VariantKey {
    /// Bit `i` set: block `i` present.
    pub mask: u64,
    /// The chosen sort: entry index and descending; `None` without a sort.
    pub sort: Option<(usize, bool)>,
}

impl DynamicDef {
    /// Every sort choice: per entry, its written direction then the other;
    /// `[None]` without a sort.
    pub fn sorts(&self) -> Vec<Option<(usize, bool)>> {
        match &self.sort {
            None => vec![None],
            Some(sort) => sort
                .entries
                .iter()
                .enumerate()
                .flat_map(|(i, e)| [Some((i, e.descending)), Some((i, !e.descending))])
                .collect(),
        }
    }

    /// The mask with every block present.
    pub fn all_blocks(&self) -> u64 {
        match self.blocks.len() {
            0 => 0,
            n => u64::MAX >> (64 - n.min(64)),
        }
    }

    /// Every variant, masks in increasing order, each with every sort.
    pub fn variants(&self) -> impl Iterator<Item = VariantKey> {
        let sorts = self.sorts();
        let all = self.all_blocks();
        (0..=all).flat_map(move |mask| {
            sorts
                .clone()
                .into_iter()
                .map(move |sort| VariantKey { mask, sort })
        })
    }

    /// The variants checked against PostgreSQL at generation time: all of
    /// them up to [`MAX_BLOCKS_CHECKED_EXHAUSTIVELY`] blocks, else no block,
    /// each block alone and all blocks — each with every sort.
    pub fn checked_variants(&self) -> Vec<VariantKey> {
        if self.blocks.len() <= MAX_BLOCKS_CHECKED_EXHAUSTIVELY {
            return self.variants().collect();
        }
        let mut masks = vec![0];
        masks.extend((0..self.blocks.len()).map(|i| 1u64 << i));
        masks.push(self.all_blocks());
        let sorts = self.sorts();
        masks
            .into_iter()
            .flat_map(|mask| sorts.iter().map(move |&sort| VariantKey { mask, sort }))
            .collect()
    }

    /// The full variant: every block, the default sort.
    pub fn full_key(&self) -> VariantKey {
        VariantKey {
            mask: self.all_blocks(),
            sort: self
                .sort
                .as_ref()
                .and_then(|s| s.entries.first())
                .map(|e| (0, e.descending)),
        }
    }

    /// The query's parameters (0-based) a variant binds, in order: all of
    /// `0..param_count` except those of absent blocks. The variant's `$k`
    /// is the full query's parameter `variant_params(..)[k - 1]`.
    pub fn variant_params(&self, key: VariantKey, param_count: usize) -> Vec<usize> {
        (0..param_count)
            .filter(|p| {
                !self
                    .blocks
                    .iter()
                    .enumerate()
                    .any(|(i, block)| key.mask & (1 << i) == 0 && block.params.contains(p))
            })
            .collect()
    }
}

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
