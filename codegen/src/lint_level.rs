//! Lint levels: what `[lints]` in quarry.toml can say, and every lint's name.
//!
//! A leaf module (it imports nothing of the crate) so that the configuration
//! can check lint names and levels without depending on the lints
//! themselves ([`crate::lints`], which reach into most of the pipeline).
//! [`NAMES`] must list the registry's lints ([`crate::lints::LINTS`]) in
//! order; a test checks.

use std::collections::BTreeMap;

/// Every lint's name, in registry order.
pub const NAMES: &[&str] = &[
    "update_without_where",
    "delete_without_where",
    "limit_without_order_by",
    "offset_pagination",
    "select_star",
    "not_in_subquery_nullable",
    "count_for_existence",
    "unindexed_foreign_key",
    "unindexed_filter",
];

/// How a lint's findings are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Not reported.
    Allow,
    /// A warning; generation continues.
    Warn,
    /// An error; nothing is written.
    Deny,
}

impl Level {
    /// The level named `name` (`allow`, `warn`, `deny`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "allow" => Some(Level::Allow),
            "warn" => Some(Level::Warn),
            "deny" => Some(Level::Deny),
            _ => None,
        }
    }

    /// The level's name as written in quarry.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

/// Levels set by `[lints]` in quarry.toml, by lint name (every name is a
/// lint of [`NAMES`]; the config parser checks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LintLevels(pub BTreeMap<String, Level>);
