//! What a lint sees and what it reports: [`LintContext`] (one user query,
//! parsed and described, with the catalog) and [`Finding`].
//!
//! Separate from [`crate::lints`] (the registry, which names every lint's
//! module) so that lint modules can use these types without an import
//! cycle.

use std::ops::Range;

use sqlparser::ast::Statement;

use crate::describe::Described;
use crate::lex::QueryDef;
use crate::schema::Catalog;

/// What a lint looks at: one user query, parsed and described.
pub(crate) struct LintContext<'a> {
    /// The lexed query.
    pub def: &'a QueryDef,
    /// Its parsed statement.
    pub statement: &'a Statement,
    /// What PostgreSQL said it takes and returns.
    pub described: &'a Described,
    /// The schema.
    pub catalog: &'a Catalog,
}

impl LintContext<'_> {
    /// The file span of a syntax node; the start of the statement when
    /// sqlparser has no span for it.
    pub fn span_of(&self, node: &dyn sqlparser::ast::Spanned) -> Range<usize> {
        match crate::parse::span_range(&self.def.sql, node.span()) {
            Some(range) => self.def.file_span(range),
            None => self.def.sql_span.start..self.def.sql_span.start,
        }
    }
}

/// One thing a lint found, before its level makes it a warning or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// Where, in the query's file.
    pub span: Range<usize>,
    /// One-line summary (without the lint name).
    pub message: String,
    /// Text next to the caret.
    pub label: Option<String>,
    /// The fix.
    pub help: String,
}
