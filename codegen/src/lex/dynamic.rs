//! The shape of a dynamic query as the lexer finds it: its `/*? … */`
//! blocks and `/*sort: … */` list ([`DynamicDef`]), which variants they make
//! and which are checked at generation time. Pure data, no SQL rewriting:
//! `crate::dynamic` (which re-exports these types) builds each variant's
//! query; [`syntax`] holds the lexer's rules and their diagnostics.

use std::ops::Range;

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
