//! Prefetch: batched relation loading, resolved at generation time.
//!
//! Owns the `@key`, `@prefetch` and `@chunk` directives and everything they
//! imply:
//!
//! * **loaders** — queries with `-- @key <column>` and exactly one array
//!   parameter used as `<expr> = ANY(:keys)`; checked that the key column is
//!   in the output, its type equals the array's element type, and is hashable;
//! * **relations** — `-- @prefetch field = Loader(parent_column)` on a
//!   row-returning query; checked that the loader exists and is one, the parent
//!   column exists with the key's type, the field name is free, and the
//!   relation graph has no cycle. A loader may take scalar parameters besides
//!   its keys, each bound from the parent call:
//!   `Loader(parent_column, since = :since)` (parameterized relations). A to-one relation is non-optional only when
//!   the parent column is non-null and a foreign key backs it;
//! * **chunks** — `-- @chunk N` on a `:many` query with relations: how many
//!   parents its `_stream` function reads (and loads relations for) at once;
//! * **derived loaders** — `-- @prefetch comments` with no loader named,
//!   resolved from the foreign keys of the parent's source table (reverse FK →
//!   to-many, forward FK → to-one, junction table → many-to-many). The SQL is
//!   written here and then described and checked like any query.
//!
//! Every mistake is a diagnostic at the directive's line. No IO: the caller
//! describes derived loaders.

mod derive;
mod directives;
mod resolve;

use std::ops::Range;

pub use derive::{derive_loaders, singular, DerivedLoader, Parent};
pub use directives::{chunk_size, parse_directives};
pub use resolve::BindingSpec;
pub use resolve::{resolve_prefetch, QueryFacts, QueryPrefetch};
#[cfg(test)]
pub(crate) use resolve::{LoaderSpec, RelationSpec};

/// Where a relation's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationSource {
    /// `= Loader(parent_column)`.
    Named {
        /// Loader query name.
        loader: String,
        /// Where the loader name is written.
        loader_span: Range<usize>,
        /// Parent output column holding the key.
        parent_column: String,
        /// Where the column is written.
        column_span: Range<usize>,
    },
    /// No loader named: derive one from foreign keys.
    Derived,
}

/// One `-- @prefetch` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefetchDirective {
    /// Field name in the parent row.
    pub field: String,
    /// Where the field name is written.
    pub field_span: Range<usize>,
    /// The loader.
    pub source: RelationSource,
    /// The whole directive.
    pub span: Range<usize>,
    /// `name = :param` after the parent column: loader parameters bound
    /// from the parent call (parameterized relations).
    pub bindings: Vec<Binding>,
}

/// `since = :since` in `-- @prefetch reviews = Loader(id, since = :since)`:
/// the loader's parameter `since` gets the parent's parameter `since` (a
/// parameter of the parent query, or a new one of its function).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The loader's parameter.
    pub name: String,
    /// Where it is written.
    pub name_span: Range<usize>,
    /// The parent's parameter (without the `:`).
    pub param: String,
    /// Where `:param` is written.
    pub param_span: Range<usize>,
}

/// A query's prefetch-related directives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// `-- @key column`.
    pub key: Option<(String, Range<usize>)>,
    /// `-- @prefetch …` lines in order.
    pub prefetch: Vec<PrefetchDirective>,
    /// `-- @chunk N`: rows per chunk of the query's stream (a `:many` query
    /// with `@prefetch` relations only).
    pub chunk: Option<(u32, Range<usize>)>,
}
