//! `sqlc.embed(t)` as the lexer sees it: the macro read and rewritten to
//! `t.*` (an [`EmbedDef`] records where), or a diagnostic when it is
//! malformed. Which result columns it becomes, and whether it stands in the
//! select list, is decided later (`crate::embed`).

use std::ops::Range;
use std::sync::Arc;

use super::{is_ident_char, macro_argument, Scanner};
use crate::diagnostic::{Diagnostic, SourceFile};

/// One `sqlc.embed(t)` of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedDef {
    /// The table or alias as written (`authors`, `a`).
    pub alias: String,
    /// The macro in the file.
    pub span: Range<usize>,
    /// Its `t.*` in the rewritten SQL.
    pub at: Range<usize>,
}

const MACRO: &str = "sqlc.embed";

/// Whether `sqlc.embed` (any case, not followed by more of a name) starts at `i`.
pub(super) fn starts_embed(text: &str, i: usize, limit: usize) -> bool {
    i + MACRO.len() <= limit
        && text
            .get(i..i + MACRO.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(MACRO))
        && (i + MACRO.len() >= limit || !is_ident_char(text.as_bytes()[i + MACRO.len()]))
}

/// `sqlc.embed(name)` at `start`: the name and where the macro ends.
fn read_embed(text: &str, start: usize, limit: usize) -> Option<(String, usize)> {
    let (name, call) = macro_argument(&text[start + MACRO.len()..limit], false)?;
    Some((name, start + MACRO.len() + call))
}

fn malformed(file: &Arc<SourceFile>, start: usize, limit: usize) -> Box<Diagnostic> {
    let after = &file.text[start + MACRO.len()..limit];
    let call = after.trim_start().starts_with('(');
    let close = after.find(')').filter(|_| call);
    let end = start + MACRO.len() + close.map_or(0, |close| close + 1);
    Box::new(
        Diagnostic::error_at("malformed `sqlc.embed`", file, start..end)
            .with_label("expected `sqlc.embed(table)`")
            .with_help(
                "name one table or alias of the FROM clause, unquoted: `sqlc.embed(authors)`",
            ),
    )
}

impl Scanner<'_> {
    /// `sqlc.embed(t)` at `i` becomes `t.*`; where it stands is recorded.
    pub(super) fn embed(&mut self, i: usize) -> Result<usize, Box<Diagnostic>> {
        let limit = self.range.end;
        let Some((alias, end)) = read_embed(&self.file.text, i, limit) else {
            return Err(malformed(self.file, i, limit));
        };
        let star = format!("{alias}.*");
        self.replace(i, end, &star);
        let at = self.sql.len() - star.len()..self.sql.len();
        self.embeds.push(EmbedDef {
            alias,
            span: i..end,
            at,
        });
        self.meaningful(end)
    }
}
