//! `sqlc.slice(name)` as the lexer sees it: sqlc's macro for a list of
//! values (MySQL, SQLite). PostgreSQL has arrays, so `IN (sqlc.slice(ids))`
//! becomes `= ANY($n)` and `NOT IN (sqlc.slice(ids))` becomes `<> ALL($n)`,
//! `$n` an array parameter (a slice `&[T]` in Rust). Anywhere else the macro
//! is a diagnostic naming the supported form. Every piece of the rewrite is
//! recorded in the [`OffsetMap`](super::OffsetMap), so errors in or after it
//! point at the file.

use std::sync::Arc;

use super::{add_named, is_ident_char, macro_argument, Scanner};
use crate::diagnostic::{Diagnostic, SourceFile};

const MACRO: &str = "sqlc.slice";

/// Whether `sqlc.slice` (any case, not followed by more of a name) starts at `i`.
pub(super) fn starts_slice(text: &str, i: usize, limit: usize) -> bool {
    text.get(i..i + MACRO.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(MACRO))
        && (i + MACRO.len() >= limit || !is_ident_char(text.as_bytes()[i + MACRO.len()]))
}

/// `sqlc.slice(name)` (also `'name'`, `"name"`) at `start`: the name and
/// where the macro ends.
fn read_slice(text: &str, start: usize, limit: usize) -> Option<(String, usize)> {
    let (name, call) = macro_argument(&text[start + MACRO.len()..limit], true)?;
    Some((name, start + MACRO.len() + call))
}

/// Where `[NOT] IN (` before the macro at `at` starts (not before `from`),
/// and whether it is `NOT IN`.
fn in_list_before(text: &str, from: usize, at: usize) -> Option<(usize, bool)> {
    let before = text[from..at].trim_end();
    let before = before.strip_suffix('(')?.trim_end();
    let in_start = from + before.len().checked_sub(2)?;
    if !text
        .get(in_start..from + before.len())
        .is_some_and(|word| word.eq_ignore_ascii_case("in"))
        || (in_start > 0 && is_ident_char(text.as_bytes()[in_start - 1]))
    {
        return None;
    }
    let rest = text[from..in_start].trim_end();
    let negated = rest.len() >= 3
        && rest
            .get(rest.len() - 3..)
            .is_some_and(|word| word.eq_ignore_ascii_case("not"))
        && (rest.len() == 3 || !is_ident_char(rest.as_bytes()[rest.len() - 4]))
        && rest.len() < in_start - from;
    Some(match negated {
        true => (from + rest.len() - 3, true),
        false => (in_start, false),
    })
}

/// The `)` closing the `IN (` list right after the macro ending at `end`.
fn list_close_after(text: &str, end: usize, limit: usize) -> Option<usize> {
    let after = &text[end..limit];
    let close = end + (after.len() - after.trim_start().len());
    (text.as_bytes().get(close) == Some(&b')')).then_some(close)
}

fn malformed(file: &Arc<SourceFile>, start: usize, limit: usize) -> Box<Diagnostic> {
    let text = &file.text[start..limit];
    let end = start + text.find(')').map_or(MACRO.len(), |close| close + 1);
    Box::new(
        Diagnostic::error_at("malformed `sqlc.slice`", file, start..end)
            .with_label("expected `sqlc.slice(name)`")
            .with_help("name the parameter: `id IN (sqlc.slice(ids))`"),
    )
}

fn misplaced(file: &Arc<SourceFile>, span: std::ops::Range<usize>) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error_at("`sqlc.slice` outside of `IN (…)`", file, span)
            .with_label("supported only as the whole list of an `IN (…)`")
            .with_help(
                "write `col IN (sqlc.slice(ids))` or `col NOT IN (sqlc.slice(ids))` \
                 (they become `= ANY($n)` and `<> ALL($n)`), or use an array parameter: \
                 `col = ANY(:ids)`",
            ),
    )
}

impl Scanner<'_> {
    /// `[NOT] IN (sqlc.slice(name))` with the macro at `i` becomes
    /// `= ANY($n)` (`<> ALL($n)`).
    pub(super) fn slice(&mut self, i: usize) -> Result<usize, Box<Diagnostic>> {
        let text: &str = &self.file.text;
        let limit = self.range.end;
        let Some((name, end)) = read_slice(text, i, limit) else {
            return Err(malformed(self.file, i, limit));
        };
        let list =
            in_list_before(text, self.copied_from, i).zip(list_close_after(text, end, limit));
        let Some(((start, negated), close)) = list else {
            return Err(misplaced(self.file, i..end));
        };
        let index = add_named(self.file, &mut self.params, &name, false, i..end)?;
        self.replace(start, i, if negated { "<> ALL(" } else { "= ANY(" });
        let placeholder = format!("${index}");
        self.replace(i, end, &placeholder);
        let at = self.sql.len() - placeholder.len()..self.sql.len();
        self.sites.push((index - 1, at));
        self.replace(end, close + 1, ")");
        self.meaningful(close + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_in_list() {
        let text = "a IN (sqlc.slice(x)) b NOT IN ( sqlc.slice(x)) c not  in(sqlc.slice(x)) d = (sqlc.slice(x)) join(sqlc.slice(x))";
        let at: Vec<usize> = text.match_indices("sqlc.slice").map(|(i, _)| i).collect();
        let found: Vec<Option<(&str, bool)>> = at
            .iter()
            .map(|&i| in_list_before(text, 0, i).map(|(s, n)| (&text[s..i], n)))
            .collect();
        assert_eq!(
            found,
            [
                Some(("IN (", false)),
                Some(("NOT IN ( ", true)),
                Some(("not  in(", true)),
                None,
                None
            ]
        );
        assert_eq!(
            read_slice(text, at[0], text.len()),
            Some(("x".to_string(), 19))
        );
        assert_eq!(list_close_after(text, 19, text.len()), Some(19));
        assert_eq!(
            read_slice("sqlc.slice('ids')", 0, 17),
            Some(("ids".to_string(), 17))
        );
        assert_eq!(read_slice("sqlc.slice()", 0, 12), None);
    }
}
