//! [`Dynamic`]: a dynamic query (optional `/*? … */` blocks and a
//! `/*sort: … */` whitelist) as precomputed SQL [`Piece`]s, and the
//! [`Query`] of each variant, assembled once on first use and cached in the
//! generated `static` for the life of the program.
//!
//! Owns the variant SQL at run time: which pieces a variant keeps, how its
//! parameters are renumbered (`$1…` by the parameters' order in the full
//! query, keeping only those present), and the cache. It never builds SQL
//! after a variant's first use and never sees user input: only a mask of
//! blocks and a sort index, both chosen by generated code.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{OnceLock, PoisonError, RwLock};

use postgres_types::ToSql;

use crate::{ParamType, Query};

/// Up to this many blocks the cache is a dense table (one slot per mask and
/// sort, allocated on first use); above, a map of the variants actually used.
const DENSE_BLOCKS: usize = 10;

/// One precomputed piece of a dynamic query's SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Piece {
    /// SQL text, copied as is.
    Text(&'static str),
    /// A parameter, by its index in the full query (0-based): written as
    /// `$n`, numbered among the parameters the variant keeps.
    Param(usize),
    /// Optional block `i` (bit `i` of the mask) and its pieces: kept exactly
    /// when the bit is set. Blocks do not nest.
    Block(usize, &'static [Piece]),
    /// The sort whitelist: one ORDER BY text per sort choice, the chosen one
    /// is kept.
    Sort(&'static [&'static str]),
}

/// A dynamic query: the [`Query`] of its full variant (name, flags and all
/// parameter types), its SQL pieces, and the cache of its variants.
///
/// Generated code holds one in a `static` and calls [`Dynamic::variant`]
/// with the blocks present and the sort chosen: the variant's SQL is
/// assembled on its first use only, and each variant is a [`Query`] of its
/// own (its own SQL text, so its own prepared statement per connection)
/// with the full query's name and flags.
#[derive(Debug)]
pub struct Dynamic {
    full: Query,
    blocks: usize,
    sorts: usize,
    pieces: &'static [Piece],
    dense: OnceLock<Box<[Slot]>>,
    sparse: RwLock<Option<HashMap<(u64, usize), &'static Query>>>,
}

/// One cached variant: its SQL and parameter types, then the [`Query`]
/// borrowing them (both live as long as the `static` [`Dynamic`]).
#[derive(Debug, Default)]
struct Slot {
    text: OnceLock<VariantText>,
    query: OnceLock<Query>,
}

#[derive(Debug)]
struct VariantText {
    sql: Box<str>,
    params: Box<[ParamType]>,
}

impl Dynamic {
    /// A dynamic query from its full variant `full` (every block present,
    /// the default sort: its name, [flags](Query::read_only) and the types of
    /// all its parameters, `$1` first, which every variant shares), its
    /// number of optional `blocks`, of sort choices `sorts` (1 without a
    /// sort whitelist) and its SQL pieces.
    pub const fn new(full: Query, blocks: usize, sorts: usize, pieces: &'static [Piece]) -> Self {
        Self {
            full,
            blocks,
            sorts: if sorts == 0 { 1 } else { sorts },
            pieces,
            dense: OnceLock::new(),
            sparse: RwLock::new(None),
        }
    }

    /// The full variant, as given to [`Dynamic::new`].
    pub const fn full(&self) -> &Query {
        &self.full
    }

    /// The query's name, shared by all its variants.
    pub const fn name(&self) -> &'static str {
        self.full.name()
    }

    /// The number of variants: 2^blocks × sort choices (saturating).
    pub const fn variant_count(&self) -> usize {
        if self.blocks >= usize::BITS as usize {
            usize::MAX
        } else {
            (1usize << self.blocks).saturating_mul(self.sorts)
        }
    }

    /// The variant with the blocks of `mask` present (bit `i`: block `i`)
    /// and sort choice `sort`. Bits past the last block are ignored, and a
    /// sort past the last choice is the last choice.
    ///
    /// The first call for a variant assembles its SQL and caches it; later
    /// calls return the same `Query` (same address) without building
    /// anything.
    pub fn variant(&'static self, mask: u64, sort: usize) -> &'static Query {
        let mask = mask & self.mask_limit();
        let sort = sort.min(self.sorts - 1);
        if self.blocks <= DENSE_BLOCKS {
            self.dense_variant(mask, sort)
        } else {
            self.sparse_variant(mask, sort)
        }
    }

    fn mask_limit(&self) -> u64 {
        if self.blocks >= 64 {
            u64::MAX
        } else {
            (1u64 << self.blocks) - 1
        }
    }

    fn dense_variant(&'static self, mask: u64, sort: usize) -> &'static Query {
        let slots = self
            .dense
            .get_or_init(|| (0..self.variant_count()).map(|_| Slot::default()).collect());
        // `mask < 2^blocks` and `sort < sorts`: the index is in range.
        let index = usize::try_from(mask).unwrap_or(0) * self.sorts + sort;
        let slot = &slots[index.min(slots.len() - 1)];
        let text = slot.text.get_or_init(|| self.assemble(mask, sort));
        slot.query.get_or_init(|| self.query(text))
    }

    fn sparse_variant(&'static self, mask: u64, sort: usize) -> &'static Query {
        let read = self.sparse.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(query) = read
            .as_ref()
            .and_then(|map| map.get(&(mask, sort)).copied())
        {
            return query;
        }
        drop(read);
        let mut write = self.sparse.write().unwrap_or_else(PoisonError::into_inner);
        let map = write.get_or_insert_with(HashMap::new);
        let query: &'static Query = map.entry((mask, sort)).or_insert_with(|| {
            // Once per variant used, for the life of the `static`: the
            // variants a program uses are bounded by its call sites' masks.
            let text: &'static VariantText = Box::leak(Box::new(self.assemble(mask, sort)));
            Box::leak(Box::new(self.query(text)))
        });
        query
    }

    fn query(&self, text: &'static VariantText) -> Query {
        self.full.variant(&text.sql, &text.params)
    }

    /// The SQL and parameter types of a variant.
    fn assemble(&self, mask: u64, sort: usize) -> VariantText {
        let all = self.full.param_types();
        let mut present = vec![false; all.len()];
        mark_params(self.pieces, mask, &mut present);
        // `$n` of a kept parameter: its rank among the kept ones.
        let mut numbers = vec![0usize; present.len()];
        let mut next = 0;
        for (number, kept) in numbers.iter_mut().zip(&present) {
            if *kept {
                next += 1;
                *number = next;
            }
        }
        let mut sql = String::new();
        write_pieces(&mut sql, self.pieces, mask, sort, &numbers);
        let params = all
            .iter()
            .zip(&present)
            .filter(|(_, kept)| **kept)
            .map(|(param, _)| *param)
            .collect();
        VariantText {
            sql: sql.into_boxed_str(),
            params,
        }
    }
}

/// The arguments of one execution of a [`Dynamic`] variant: at most `N`
/// (the full query's parameter count), pushed in the full query's order,
/// those of absent blocks left out — on the stack, no allocation.
pub struct DynamicArgs<'a, const N: usize> {
    items: [&'a (dyn ToSql + Sync); N],
    len: usize,
}

/// What fills the unused places of a [`DynamicArgs`] (never sent).
static UNUSED: Option<i32> = None;

impl<'a, const N: usize> DynamicArgs<'a, N> {
    /// No arguments yet.
    pub fn new() -> Self {
        Self {
            items: [&UNUSED; N],
            len: 0,
        }
    }

    /// Appends an argument (ignored past `N`, which generated code never
    /// reaches).
    pub fn push(&mut self, arg: &'a (dyn ToSql + Sync)) {
        if let Some(place) = self.items.get_mut(self.len) {
            *place = arg;
            self.len += 1;
        }
    }

    /// The arguments pushed, in order.
    pub fn as_slice(&self) -> &[&'a (dyn ToSql + Sync)] {
        &self.items[..self.len]
    }
}

impl<const N: usize> Default for DynamicArgs<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> std::fmt::Debug for DynamicArgs<'_, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicArgs")
            .field("len", &self.len)
            .finish()
    }
}

fn block_present(mask: u64, block: usize) -> bool {
    block < 64 && mask & (1u64 << block) != 0
}

fn mark_params(pieces: &[Piece], mask: u64, present: &mut [bool]) {
    for piece in pieces {
        match piece {
            Piece::Param(index) => {
                if let Some(kept) = present.get_mut(*index) {
                    *kept = true;
                }
            }
            Piece::Block(block, inner) if block_present(mask, *block) => {
                mark_params(inner, mask, present);
            }
            Piece::Block(..) | Piece::Text(_) | Piece::Sort(_) => {}
        }
    }
}

fn write_pieces(sql: &mut String, pieces: &[Piece], mask: u64, sort: usize, numbers: &[usize]) {
    for piece in pieces {
        match piece {
            Piece::Text(text) => sql.push_str(text),
            Piece::Param(index) => {
                let number = numbers.get(*index).copied().unwrap_or(0);
                // Writing to a String cannot fail.
                let _ = write!(sql, "${number}");
            }
            Piece::Block(block, inner) => {
                if block_present(mask, *block) {
                    write_pieces(sql, inner, mask, sort, numbers);
                }
            }
            Piece::Sort(choices) => {
                if let Some(choice) = choices.get(sort).or(choices.last()) {
                    sql.push_str(choice);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Dynamic, Piece};

    use crate::{ParamType, Query};

    const INT4: ParamType = ParamType::Oid(23);
    const TEXT: ParamType = ParamType::Oid(25);

    static SEARCH: Dynamic = Dynamic::new(
        Query::new("Search", "")
            .params(&[INT4, TEXT, ParamType::Oid(20)])
            .read_only(),
        2,
        2,
        &[
            Piece::Text("SELECT id FROM p WHERE true"),
            Piece::Block(0, &[Piece::Text(" AND c = "), Piece::Param(0)]),
            Piece::Block(
                1,
                &[
                    Piece::Text(" AND (n ILIKE "),
                    Piece::Param(1),
                    Piece::Text(" OR d ILIKE "),
                    Piece::Param(1),
                    Piece::Text(")"),
                ],
            ),
            Piece::Text(" ORDER BY "),
            Piece::Sort(&["id", "id DESC"]),
            Piece::Text(" LIMIT "),
            Piece::Param(2),
        ],
    );

    #[test]
    fn all_blocks_present_keeps_the_full_numbering() {
        let query = SEARCH.variant(0b11, 0);
        assert_eq!(
            query.sql(),
            "SELECT id FROM p WHERE true AND c = $1 AND (n ILIKE $2 OR d ILIKE $2) \
             ORDER BY id LIMIT $3"
        );
        assert_eq!(query.param_types(), &[INT4, TEXT, ParamType::Oid(20)][..]);
        assert_eq!(query.name(), "Search");
        assert!(query.is_read_only());
        assert!(!query.is_pooler_safe());
    }

    #[test]
    fn absent_blocks_vanish_and_the_rest_is_renumbered() {
        let query = SEARCH.variant(0b10, 1);
        assert_eq!(
            query.sql(),
            "SELECT id FROM p WHERE true AND (n ILIKE $1 OR d ILIKE $1) ORDER BY id DESC LIMIT $2"
        );
        assert_eq!(query.param_types(), &[TEXT, ParamType::Oid(20)][..]);
        let none = SEARCH.variant(0, 0);
        assert_eq!(
            none.sql(),
            "SELECT id FROM p WHERE true ORDER BY id LIMIT $1"
        );
        assert_eq!(none.param_types(), &[ParamType::Oid(20)][..]);
    }

    #[test]
    fn a_variant_is_assembled_once_and_cached() {
        let first = SEARCH.variant(0b01, 1);
        let second = SEARCH.variant(0b01, 1);
        assert!(std::ptr::eq(first, second));
        assert!(std::ptr::eq(first.sql(), second.sql()));
        assert!(!std::ptr::eq(first, SEARCH.variant(0b01, 0)));
        assert_eq!(SEARCH.variant_count(), 8);
    }

    #[test]
    fn args_keep_what_was_pushed_in_order() {
        let (a, b) = (1i32, "x");
        let mut args = super::DynamicArgs::<3>::new();
        assert!(args.as_slice().is_empty());
        args.push(&a);
        args.push(&b);
        assert_eq!(args.as_slice().len(), 2);
        args.push(&a);
        args.push(&a);
        assert_eq!(args.as_slice().len(), 3);
    }

    #[test]
    fn out_of_range_masks_and_sorts_are_clamped() {
        let clamped = SEARCH.variant(0b111, 9);
        assert!(std::ptr::eq(clamped, SEARCH.variant(0b11, 1)));
    }

    static WIDE: Dynamic = Dynamic::new(
        Query::new("Wide", "")
            .params(&[INT4, INT4])
            .pooler_safe()
            .custom_types(),
        12,
        1,
        &[
            Piece::Text("SELECT 1 WHERE true"),
            Piece::Block(0, &[Piece::Text(" AND a = "), Piece::Param(0)]),
            Piece::Block(11, &[Piece::Text(" AND b = "), Piece::Param(1)]),
        ],
    );

    #[test]
    fn many_blocks_cache_only_the_variants_used() {
        let query = WIDE.variant(1 << 11, 0);
        assert_eq!(query.sql(), "SELECT 1 WHERE true AND b = $1");
        assert_eq!(query.param_types(), &[INT4][..]);
        assert!(query.is_pooler_safe() && query.uses_custom_types());
        assert!(std::ptr::eq(query, WIDE.variant(1 << 11, 0)));
        assert!(WIDE.dense.get().is_none());
    }
}
