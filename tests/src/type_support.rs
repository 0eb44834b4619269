//! Types the configurations under `tests/types/` map columns to.

use serde::{Deserialize, Serialize};

/// A document's metadata: a `jsonb` column bound to a serde type by
/// `[columns] "documents.meta" = { type = "crate::type_support::Meta", json = true }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// A title.
    pub title: String,
    /// Tags, possibly none.
    pub tags: Vec<String>,
    /// An optional rating.
    pub rating: Option<f64>,
    /// A nested value.
    pub nested: Option<Box<Meta>>,
}
