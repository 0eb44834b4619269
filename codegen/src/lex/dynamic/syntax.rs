//! The lexer's rules for dynamic queries: reading a `/*sort: … */` list,
//! deciding whether it stands in an ORDER BY, and the rules on `/*? … */`
//! blocks' parameters — each broken rule a diagnostic at its place in the
//! file. The scanner in `lex.rs` finds the comments and calls these.

use std::ops::Range;
use std::sync::Arc;

use super::{BlockDef, SortEntry, MAX_BLOCKS};
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::lex::{tokens, OffsetMap, ParamDef, Token, TokenKind};

/// `/*?` inside a block that is still open at `outer`.
pub fn nested_block(file: &Arc<SourceFile>, at: usize, outer: usize) -> Box<Diagnostic> {
    let (line, col) = file.line_col(outer);
    Box::new(
        Diagnostic::error_at("optional blocks cannot nest", file, at..at + 3)
            .with_label("a block opened inside another block")
            .with_note(format!("the enclosing block opens at {line}:{col}"))
            .with_help("close the first block with `*/` before opening the next one"),
    )
}

/// A `/*?` never closed.
pub fn unterminated_block(file: &Arc<SourceFile>, at: usize) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error_at("unterminated optional block", file, at..at + 3)
            .with_label("block opened here and never closed")
            .with_help("end the block with `*/`"),
    )
}

/// A `/*sort:` where it may not stand (`why`: inside a block, a second one).
pub fn misplaced_sort(
    file: &Arc<SourceFile>,
    span: Range<usize>,
    message: &str,
    label: &str,
) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error_at(message, file, span.start..span.start + 7)
            .with_label(label)
            .with_help("write one sort list right after `ORDER BY` (or after a comma of its keys): `ORDER BY /*sort: p.price, p.name DESC */`"),
    )
}

/// Whether SQL ending here (the text before a `/*sort:`) stands right
/// after `ORDER BY` or after a comma of an ORDER BY list, at one
/// parenthesis depth.
pub fn after_order_by(sql: &str) -> bool {
    // Per depth: in an ORDER BY list since its `ORDER BY`.
    let mut in_order_by = vec![false];
    let mut previous: Option<String> = None;
    let mut last: Option<String> = None;
    for token in tokens(sql) {
        let text = &sql[token.span.clone()];
        match token.kind {
            TokenKind::LineComment | TokenKind::BlockComment => continue,
            TokenKind::Punct if text == "(" || text == "[" => in_order_by.push(false),
            TokenKind::Punct if (text == ")" || text == "]") && in_order_by.len() > 1 => {
                in_order_by.pop();
            }
            TokenKind::Word => {
                let word = text.to_ascii_uppercase();
                let depth = in_order_by.len() - 1;
                if word == "BY" && last.as_deref() == Some("ORDER") {
                    in_order_by[depth] = true;
                } else if ENDS_ORDER_BY.contains(&word.as_str()) {
                    in_order_by[depth] = false;
                }
            }
            _ => {}
        }
        previous = last;
        last = Some(text.to_ascii_uppercase());
    }
    let open = in_order_by.last().copied().unwrap_or(false);
    match last.as_deref() {
        Some("BY") => open && previous.as_deref() == Some("ORDER"),
        Some(",") => open,
        _ => false,
    }
}

/// Words after which an ORDER BY list is over (at its depth).
const ENDS_ORDER_BY: &[&str] = &[
    "LIMIT",
    "OFFSET",
    "FETCH",
    "FOR",
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "WINDOW",
    "UNION",
    "INTERSECT",
    "EXCEPT",
    "SELECT",
    "RETURNING",
    "ON",
    "SET",
    "VALUES",
    "PARTITION",
    "ROWS",
    "RANGE",
    "GROUPS",
];

/// The sort list outside an ORDER BY.
pub fn sort_outside_order_by(file: &Arc<SourceFile>, span: Range<usize>) -> Box<Diagnostic> {
    misplaced_sort(
        file,
        span,
        "`/*sort: … */` outside an ORDER BY",
        "a sort list must follow `ORDER BY` or a comma of its keys",
    )
}

/// The entries of the sort list whose text (between `/*sort:` and `*/`)
/// is `inner` of `file`: split at top-level commas, each read as
/// `expr [ASC|DESC] [AS name]`.
pub fn sort_entries(
    file: &Arc<SourceFile>,
    inner: Range<usize>,
    comment: Range<usize>,
) -> Result<Vec<SortEntry>, Box<Diagnostic>> {
    let text = &file.text[inner.clone()];
    let mut pieces: Vec<Vec<Token>> = vec![Vec::new()];
    let mut depth = 0usize;
    for token in tokens(text) {
        let t = &text[token.span.clone()];
        match (token.kind, t) {
            (TokenKind::LineComment | TokenKind::BlockComment, _) => continue,
            (TokenKind::Punct, "(" | "[") => depth += 1,
            (TokenKind::Punct, ")" | "]") => depth = depth.saturating_sub(1),
            (TokenKind::Punct, ",") if depth == 0 => {
                pieces.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(piece) = pieces.last_mut() {
            piece.push(token);
        }
    }
    if pieces.iter().all(Vec::is_empty) {
        return Err(Box::new(
            Diagnostic::error_at("empty sort list", file, comment)
                .with_label("no entry to sort by")
                .with_help(
                    "list the sort keys the caller may choose: `/*sort: p.price, p.name */`",
                ),
        ));
    }
    let mut entries: Vec<SortEntry> = Vec::new();
    for piece in pieces {
        let entry = sort_entry(file, inner.start, &piece, comment.clone())?;
        if let Some(first) = entries
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(&entry.name))
        {
            let (line, col) = file.line_col(first.span.start);
            return Err(Box::new(
                Diagnostic::error_at(
                    format!("two sort entries named `{}`", entry.name),
                    file,
                    entry.span,
                )
                .with_label("second entry with this name")
                .with_note(format!("the first is at {line}:{col}"))
                .with_help("name one of them with `AS name`"),
            ));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// One entry from its tokens (spans relative to `base`).
fn sort_entry(
    file: &Arc<SourceFile>,
    base: usize,
    piece: &[Token],
    comment: Range<usize>,
) -> Result<SortEntry, Box<Diagnostic>> {
    let text = &file.text;
    let word = |t: &Token| text[base + t.span.start..base + t.span.end].to_ascii_uppercase();
    let (Some(first), Some(last)) = (piece.first(), piece.last()) else {
        return Err(Box::new(
            Diagnostic::error_at("empty entry in a sort list", file, comment)
                .with_label("two commas with nothing between them")
                .with_help("remove the extra comma"),
        ));
    };
    let span = base + first.span.start..base + last.span.end;
    if let Some(param) = param_in(text, base, piece) {
        return Err(Box::new(
            Diagnostic::error_at("parameter in a sort entry", file, param)
                .with_label("sort entries cannot use parameters")
                .with_help("a sort entry is a fixed SQL expression the caller picks through the generated enum; filter with a `/*? … */` block instead"),
        ));
    }
    let mut rest = piece;
    let mut name = None;
    if let [before @ .., as_kw, alias] = rest {
        if as_kw.kind == TokenKind::Word && word(as_kw) == "AS" {
            let alias_text = &text[base + alias.span.start..base + alias.span.end];
            let alias_text = alias_text.trim_matches('"');
            if !is_name(alias_text) {
                return Err(Box::new(
                    Diagnostic::error_at(
                        format!("invalid sort entry name `{alias_text}`"),
                        file,
                        base + alias.span.start..base + alias.span.end,
                    )
                    .with_help(
                        "a sort entry's name is letters, digits and `_`, starting with a letter",
                    ),
                ));
            }
            name = Some(alias_text.to_string());
            rest = before;
        }
    }
    let mut descending = false;
    if let [before @ .., direction] = rest {
        let direction = word(direction);
        if direction == "ASC" || direction == "DESC" {
            descending = direction == "DESC";
            rest = before;
        }
    }
    let (Some(expr_first), Some(expr_last)) = (rest.first(), rest.last()) else {
        return Err(Box::new(
            Diagnostic::error_at("sort entry without an expression", file, span)
                .with_help("write the expression to sort by: `p.price DESC`"),
        ));
    };
    let expr = text[base + expr_first.span.start..base + expr_last.span.end].to_string();
    let name = match name.or_else(|| derived_name(text, base, rest)) {
        Some(name) => name,
        None => {
            return Err(Box::new(
                Diagnostic::error_at(format!("cannot name sort entry `{expr}`"), file, span)
                    .with_label("no identifier to name it after")
                    .with_help(format!("name it: `{expr} AS name`")),
            ))
        }
    };
    Ok(SortEntry {
        expr,
        descending,
        name,
        span,
    })
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The expression's last identifier (`p.created_at` → `created_at`).
fn derived_name(text: &str, base: usize, expr: &[Token]) -> Option<String> {
    expr.iter().rev().find_map(|t| {
        let s = &text[base + t.span.start..base + t.span.end];
        let s = match t.kind {
            TokenKind::Word => s,
            TokenKind::QuotedIdent => s.trim_matches('"'),
            _ => return None,
        };
        let upper = s.to_ascii_uppercase();
        (is_name(s) && !matches!(upper.as_str(), "NULLS" | "FIRST" | "LAST"))
            .then(|| s.to_ascii_lowercase())
    })
}

/// The file span of a placeholder among `piece`'s tokens, if any.
fn param_in(text: &str, base: usize, piece: &[Token]) -> Option<Range<usize>> {
    piece.iter().enumerate().find_map(|(i, t)| {
        let s = &text[base + t.span.start..base + t.span.end];
        let at = base + t.span.start..base + t.span.end;
        let next_adjacent = piece
            .get(i + 1)
            .filter(|n| n.kind == TokenKind::Word && n.span.start == t.span.end);
        match t.kind {
            TokenKind::Word if s.starts_with('$') => Some(at),
            TokenKind::Word if s.eq_ignore_ascii_case("sqlc") => {
                let rest = &text[base + t.span.end..];
                let lower = rest.get(..5).unwrap_or("").to_ascii_lowercase();
                (lower.starts_with(".arg") || lower.starts_with(".narg")).then_some(at)
            }
            TokenKind::Operator if (s.ends_with(':') && !s.ends_with("::") || s.ends_with('@')) => {
                next_adjacent.map(|n| base + t.span.end - 1..base + n.span.end)
            }
            _ => None,
        }
    })
}

/// Fills each block's parameters (from the `$n` sites in the SQL) and
/// checks the rules: a block has parameters, a parameter lives in one block
/// or outside all of them, at most [`MAX_BLOCKS`] blocks.
pub fn assign_block_params(
    file: &Arc<SourceFile>,
    blocks: &mut [BlockDef],
    sites: &[(usize, Range<usize>)],
    offsets: &OffsetMap,
    params: &[ParamDef],
) -> Result<(), Box<Diagnostic>> {
    if let Some(block) = blocks.get(MAX_BLOCKS) {
        return Err(Box::new(
            Diagnostic::error_at(
                format!("more than {MAX_BLOCKS} optional blocks in one query"),
                file,
                block.span.start..block.span.start + 3,
            )
            .with_help(
                "split the query, or combine filters that are always given together into one block",
            ),
        ));
    }
    // Per parameter: where it was first seen (block index or None) and its file span.
    let mut home: Vec<Option<(Option<usize>, Range<usize>)>> = vec![None; params.len()];
    let mut ordered: Vec<&(usize, Range<usize>)> = sites.iter().collect();
    ordered.sort_by_key(|(_, range)| range.start);
    for (index, range) in ordered {
        let block = blocks
            .iter()
            .position(|b| b.range.start <= range.start && range.end <= b.range.end);
        let span = offsets.range_to_file(range.clone());
        let Some(slot) = home.get_mut(*index) else {
            continue;
        };
        match slot {
            None => *slot = Some((block, span)),
            Some((first, first_span)) if *first != block => {
                return Err(param_in_two_places(
                    file,
                    params.get(*index),
                    *index,
                    (*first, first_span.clone()),
                    (block, span),
                ));
            }
            Some(_) => {}
        }
        if let Some(b) = block.and_then(|b| blocks.get_mut(b)) {
            if params.get(*index).is_some_and(|param| param.nullable) {
                return Err(nullable_in_block(
                    file,
                    params.get(*index),
                    *index,
                    offsets.range_to_file(range.clone()),
                ));
            }
            if !b.params.contains(index) {
                b.params.push(*index);
            }
        }
    }
    if let Some(block) = blocks.iter().find(|b| b.params.is_empty()) {
        return Err(Box::new(
            Diagnostic::error_at("optional block without parameters", file, block.span.clone())
                .with_label("nothing decides whether this block is included")
                .with_help("a block is included when all its parameters are given: use a parameter in it, or write its SQL outside a block"),
        ));
    }
    Ok(())
}

/// A nullable parameter (`:x?`) in a block: absent and NULL would be one.
fn nullable_in_block(
    file: &Arc<SourceFile>,
    param: Option<&ParamDef>,
    index: usize,
    span: Range<usize>,
) -> Box<Diagnostic> {
    let name = param
        .and_then(|p| p.name.clone())
        .unwrap_or_else(|| format!("${}", index + 1));
    Box::new(
        Diagnostic::error_at(
            format!("parameter `{name}` of an optional block is nullable"),
            file,
            span,
        )
        .with_label("`?` makes it nullable")
        .with_help("the block is left out when its parameter is absent (`None`), so it cannot also mean SQL NULL: drop the `?`, or write the NULL case in SQL outside the block"),
    )
}

fn param_in_two_places(
    file: &Arc<SourceFile>,
    param: Option<&ParamDef>,
    index: usize,
    first: (Option<usize>, Range<usize>),
    second: (Option<usize>, Range<usize>),
) -> Box<Diagnostic> {
    let name = param
        .and_then(|p| p.name.clone())
        .unwrap_or_else(|| format!("${}", index + 1));
    let (line, col) = file.line_col(first.1.start);
    let where_ = |block: Option<usize>| match block {
        Some(_) => "inside an optional block",
        None => "outside the optional blocks",
    };
    let message = if first.0.is_some() && second.0.is_some() {
        format!("parameter `{name}` is used in two optional blocks")
    } else {
        format!("parameter `{name}` is used both inside an optional block and outside it")
    };
    Box::new(
        Diagnostic::error_at(message, file, second.1)
            .with_label(format!("used here, {}", where_(second.0)))
            .with_note(format!("also used at {line}:{col}, {}", where_(first.0)))
            .with_help("a block is included exactly when its parameters are given, so they belong to that block alone: use another parameter here"),
    )
}

/// Blocks or a sort list in a bulk (`:copyfrom`, `:batch…`) query.
pub fn dynamic_in_bulk(file: &Arc<SourceFile>, span: Range<usize>, kind: &str) -> Diagnostic {
    Diagnostic::error_at(
        format!("optional blocks and sort lists are not supported in `{kind}` queries"),
        file,
        span,
    )
    .with_label("dynamic SQL in a bulk query")
    .with_help("write a separate `:one`/`:many`/`:exec` query for the dynamic statement")
}
