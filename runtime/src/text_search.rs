//! Full-text search values: [`TsVector`] (`tsvector`) and [`TsQuery`]
//! (`tsquery`), in PostgreSQL's binary format.

use std::fmt;
use std::ops;

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{self, BoxError, Reader};

/// The largest lexeme position PostgreSQL stores (positions use 14 bits).
pub const TS_MAX_POSITION: u16 = 0x3fff;

/// The weight (label) of a lexeme position: `A` is the highest, `D` the
/// default (printed as nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TsWeight {
    /// `D`, the default weight (not printed).
    #[default]
    D,
    /// `C`.
    C,
    /// `B`.
    B,
    /// `A`, the highest weight.
    A,
}

impl TsWeight {
    /// The two weight bits of a binary position (`A` = 3 … `D` = 0).
    fn bits(self) -> u16 {
        match self {
            TsWeight::A => 3,
            TsWeight::B => 2,
            TsWeight::C => 1,
            TsWeight::D => 0,
        }
    }

    fn from_bits(bits: u16) -> TsWeight {
        match bits & 3 {
            3 => TsWeight::A,
            2 => TsWeight::B,
            1 => TsWeight::C,
            _ => TsWeight::D,
        }
    }

    /// The letter PostgreSQL prints after a position, `""` for `D`.
    fn suffix(self) -> &'static str {
        match self {
            TsWeight::A => "A",
            TsWeight::B => "B",
            TsWeight::C => "C",
            TsWeight::D => "",
        }
    }
}

/// Where a lexeme occurs in a document (1 to [`TS_MAX_POSITION`]), with a
/// weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TsPosition {
    /// The position, 1-based.
    pub position: u16,
    /// The weight.
    pub weight: TsWeight,
}

impl TsPosition {
    /// A position with a weight.
    pub fn new(position: u16, weight: TsWeight) -> Self {
        TsPosition { position, weight }
    }
}

/// One lexeme of a [`TsVector`], with its positions (possibly none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TsLexeme {
    /// The normalised word.
    pub word: String,
    /// Its positions, ascending.
    pub positions: Vec<TsPosition>,
}

impl TsLexeme {
    /// A lexeme without positions.
    pub fn new(word: impl Into<String>) -> Self {
        TsLexeme {
            word: word.into(),
            positions: Vec::new(),
        }
    }

    /// Adds a position.
    pub fn with_position(mut self, position: u16, weight: TsWeight) -> Self {
        self.positions.push(TsPosition::new(position, weight));
        self
    }
}

/// A PostgreSQL `tsvector`: a sorted list of distinct lexemes, each with
/// positions and weights.
///
/// The server stores lexemes sorted (by bytes) and without duplicates, and
/// each lexeme's positions ascending: build values in that form to compare
/// them with what comes back (the encoder sends each lexeme's positions
/// sorted; the server sorts and merges lexemes). [`Display`](fmt::Display)
/// prints PostgreSQL's text form.
///
/// ```
/// use quarry::{TsLexeme, TsVector, TsWeight};
///
/// let v = TsVector::new([
///     TsLexeme::new("cat").with_position(1, TsWeight::A),
///     TsLexeme::new("fat").with_position(2, TsWeight::D).with_position(4, TsWeight::B),
///     TsLexeme::new("it's"),
/// ]);
/// assert_eq!(v.to_string(), "'cat':1A 'fat':2,4B 'it''s'");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TsVector(pub Vec<TsLexeme>);

impl TsVector {
    /// A vector of lexemes.
    pub fn new(lexemes: impl IntoIterator<Item = TsLexeme>) -> Self {
        TsVector(lexemes.into_iter().collect())
    }

    /// The lexemes.
    pub fn lexemes(&self) -> &[TsLexeme] {
        &self.0
    }
}

/// Writes `word` quoted as PostgreSQL prints lexemes: `'` and `\` doubled.
fn write_quoted(f: &mut fmt::Formatter<'_>, word: &str) -> fmt::Result {
    f.write_str("'")?;
    for part in word.split_inclusive(['\'', '\\']) {
        f.write_str(part)?;
        if let Some(last @ ('\'' | '\\')) = part.chars().last() {
            write!(f, "{last}")?;
        }
    }
    f.write_str("'")
}

impl fmt::Display for TsVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, lexeme) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write_quoted(f, &lexeme.word)?;
            for (j, pos) in lexeme.positions.iter().enumerate() {
                let sep = if j == 0 { ":" } else { "," };
                write!(f, "{sep}{}{}", pos.position, pos.weight.suffix())?;
            }
        }
        Ok(())
    }
}

fn check_word(word: &str, what: &str) -> Result<(), BoxError> {
    if word.contains('\0') {
        return Err(format!("a {what} cannot contain a NUL character: {word:?}").into());
    }
    Ok(())
}

impl<'a> FromSql<'a> for TsVector {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut r = Reader::new(raw, "tsvector");
        let n = r.len()?;
        // Each lexeme takes at least 3 bytes: do not trust `n` for allocation.
        let mut lexemes = Vec::with_capacity(n.min(raw.len() / 3));
        for _ in 0..n {
            let word = r.cstr()?.to_owned();
            let npos = r.u16()?;
            let mut positions = Vec::with_capacity(usize::from(npos));
            for _ in 0..npos {
                let bits = r.u16()?;
                positions.push(TsPosition {
                    position: bits & TS_MAX_POSITION,
                    weight: TsWeight::from_bits(bits >> 14),
                });
            }
            lexemes.push(TsLexeme { word, positions });
        }
        r.finish()?;
        Ok(TsVector(lexemes))
    }

    accepts!(TS_VECTOR);
}

impl ToSql for TsVector {
    /// Lexemes that appear twice are merged (their positions united) first:
    /// the server's binary input sorts lexemes but does not merge them.
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let mut merged: std::collections::BTreeMap<&str, Vec<TsPosition>> =
            std::collections::BTreeMap::new();
        for lexeme in &self.0 {
            check_word(&lexeme.word, "tsvector lexeme")?;
            merged
                .entry(lexeme.word.as_str())
                .or_default()
                .extend(lexeme.positions.iter().copied());
        }
        out.put_i32(wire::count(merged.len())?);
        for (word, mut positions) in merged {
            // One entry per position, keeping the highest weight, as the server does.
            positions.sort_by_key(|p| (p.position, std::cmp::Reverse(p.weight.bits())));
            positions.dedup_by_key(|p| p.position);
            out.put_slice(word.as_bytes());
            out.put_u8(0);
            let npos = u16::try_from(positions.len())
                .map_err(|_| format!("tsvector lexeme {word:?} has too many positions"))?;
            out.put_u16(npos);
            for pos in positions {
                if pos.position == 0 || pos.position > TS_MAX_POSITION {
                    return Err(format!(
                        "tsvector position {} of {word:?} is out of range (1 to {TS_MAX_POSITION})",
                        pos.position
                    )
                    .into());
                }
                out.put_u16(pos.weight.bits() << 14 | pos.position);
            }
        }
        Ok(IsNull::No)
    }

    accepts!(TS_VECTOR);
    to_sql_checked!();
}

/// The weights a [`TsOperand`] is restricted to (`'fat':AB`); none set
/// means any weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TsWeights {
    /// Matches weight `A`.
    pub a: bool,
    /// Matches weight `B`.
    pub b: bool,
    /// Matches weight `C`.
    pub c: bool,
    /// Matches weight `D`.
    pub d: bool,
}

impl TsWeights {
    /// No restriction (the default).
    pub const ANY: TsWeights = TsWeights {
        a: false,
        b: false,
        c: false,
        d: false,
    };

    /// The set holding just `weight`.
    pub fn only(weight: TsWeight) -> Self {
        TsWeights::ANY.with(weight)
    }

    /// This set plus `weight`.
    pub fn with(mut self, weight: TsWeight) -> Self {
        match weight {
            TsWeight::A => self.a = true,
            TsWeight::B => self.b = true,
            TsWeight::C => self.c = true,
            TsWeight::D => self.d = true,
        }
        self
    }

    /// The binary mask: `A` = 8, `B` = 4, `C` = 2, `D` = 1.
    fn mask(self) -> u8 {
        u8::from(self.a) << 3 | u8::from(self.b) << 2 | u8::from(self.c) << 1 | u8::from(self.d)
    }

    fn from_mask(mask: u8) -> Self {
        TsWeights {
            a: mask & 8 != 0,
            b: mask & 4 != 0,
            c: mask & 2 != 0,
            d: mask & 1 != 0,
        }
    }
}

/// A word to match in a [`TsQuery`], possibly a prefix (`'supern':*`) and
/// restricted to some weights (`'fat':AB`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TsOperand {
    /// The lexeme.
    pub word: String,
    /// The weights it matches (none set: any).
    pub weights: TsWeights,
    /// Whether it matches every lexeme starting with `word`.
    pub prefix: bool,
}

impl TsOperand {
    /// An operand matching `word` exactly, at any weight.
    pub fn new(word: impl Into<String>) -> Self {
        TsOperand {
            word: word.into(),
            weights: TsWeights::ANY,
            prefix: false,
        }
    }

    /// Matches lexemes that start with the word (`:*`).
    pub fn with_prefix(mut self) -> Self {
        self.prefix = true;
        self
    }

    /// Matches only at these weights.
    pub fn with_weights(mut self, weights: TsWeights) -> Self {
        self.weights = weights;
        self
    }
}

/// A node of a [`TsQuery`]: an operand or an operator over nodes.
///
/// `&`, `|` and `!` build `And`, `Or` and `Not`; [`TsQueryNode::followed_by`]
/// builds a phrase (`<->`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TsQueryNode {
    /// A word to match.
    Operand(TsOperand),
    /// `!x`.
    Not(Box<TsQueryNode>),
    /// `left & right`.
    And(Box<TsQueryNode>, Box<TsQueryNode>),
    /// `left | right`.
    Or(Box<TsQueryNode>, Box<TsQueryNode>),
    /// `left <distance> right`: `right` follows `left` at exactly
    /// `distance` positions (`<->` is 1).
    Phrase {
        /// What comes first.
        left: Box<TsQueryNode>,
        /// What follows.
        right: Box<TsQueryNode>,
        /// How many positions after `left` (`<->` is 1, `<0>` the same position).
        distance: u16,
    },
}

impl TsQueryNode {
    /// An operand matching `word` exactly.
    pub fn word(word: impl Into<String>) -> Self {
        TsQueryNode::Operand(TsOperand::new(word))
    }

    /// `self <-> next`.
    pub fn followed_by(self, next: TsQueryNode) -> Self {
        self.followed_at(1, next)
    }

    /// `self <distance> next`.
    pub fn followed_at(self, distance: u16, next: TsQueryNode) -> Self {
        TsQueryNode::Phrase {
            left: Box::new(self),
            right: Box::new(next),
            distance,
        }
    }

    /// Operator priority, as PostgreSQL prints parentheses.
    fn priority(&self) -> i32 {
        match self {
            TsQueryNode::Operand(_) => 5,
            TsQueryNode::Not(_) => 4,
            TsQueryNode::Phrase { .. } => 3,
            TsQueryNode::And(..) => 2,
            TsQueryNode::Or(..) => 1,
        }
    }
}

impl From<TsOperand> for TsQueryNode {
    fn from(operand: TsOperand) -> Self {
        TsQueryNode::Operand(operand)
    }
}

impl ops::BitAnd for TsQueryNode {
    type Output = TsQueryNode;

    fn bitand(self, rhs: TsQueryNode) -> TsQueryNode {
        TsQueryNode::And(Box::new(self), Box::new(rhs))
    }
}

impl ops::BitOr for TsQueryNode {
    type Output = TsQueryNode;

    fn bitor(self, rhs: TsQueryNode) -> TsQueryNode {
        TsQueryNode::Or(Box::new(self), Box::new(rhs))
    }
}

impl ops::Not for TsQueryNode {
    type Output = TsQueryNode;

    fn not(self) -> TsQueryNode {
        TsQueryNode::Not(Box::new(self))
    }
}

/// A PostgreSQL `tsquery`: a tree of [`TsQueryNode`]s, or empty (a query
/// with no lexemes, e.g. from `to_tsquery('the')`).
///
/// An empty query decodes as `root: None` but cannot be sent (the server
/// rejects it in the binary format).
///
/// The tree is exactly the server's: `'a' & 'b' & 'c'` is
/// `('a' & 'b') & 'c'`. Decoding, encoding, [`Display`](fmt::Display) and
/// dropping do not recurse, so deep queries (e.g. `plainto_tsquery` of a
/// long text) are fine. [`Display`](fmt::Display) prints PostgreSQL's text
/// form, parentheses included.
///
/// ```
/// use quarry::{TsOperand, TsQuery, TsQueryNode, TsWeight, TsWeights};
///
/// let q = TsQuery::new(
///     TsQueryNode::word("fat") & (TsQueryNode::word("rat") | !TsQueryNode::word("cat")),
/// );
/// assert_eq!(q.to_string(), "'fat' & ( 'rat' | !'cat' )");
///
/// let phrase = TsQueryNode::from(TsOperand::new("super").with_prefix())
///     .followed_at(2, TsOperand::new("star").with_weights(TsWeights::only(TsWeight::A)).into());
/// assert_eq!(TsQuery::new(phrase).to_string(), "'super':* <2> 'star':A");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TsQuery {
    /// The root node, `None` for the empty query.
    pub root: Option<TsQueryNode>,
}

impl TsQuery {
    /// A query of one tree.
    pub fn new(root: TsQueryNode) -> Self {
        TsQuery { root: Some(root) }
    }

    /// The empty query (no lexemes; matches nothing). The server returns it
    /// (e.g. for `to_tsquery('the')`) but rejects it as a parameter, so
    /// encoding it is an error.
    pub fn empty() -> Self {
        TsQuery { root: None }
    }

    /// The root node, taken out.
    pub fn into_root(mut self) -> Option<TsQueryNode> {
        self.root.take()
    }
}

impl From<TsQueryNode> for TsQuery {
    fn from(root: TsQueryNode) -> Self {
        TsQuery::new(root)
    }
}

impl Drop for TsQuery {
    /// Frees the tree with an explicit stack: a derived drop would recurse
    /// once per level.
    fn drop(&mut self) {
        let mut stack: Vec<TsQueryNode> = self.root.take().into_iter().collect();
        while let Some(node) = stack.pop() {
            match node {
                TsQueryNode::Operand(_) => {}
                TsQueryNode::Not(x) => stack.push(*x),
                TsQueryNode::And(l, r)
                | TsQueryNode::Or(l, r)
                | TsQueryNode::Phrase {
                    left: l, right: r, ..
                } => {
                    stack.push(*l);
                    stack.push(*r);
                }
            }
        }
    }
}

/// Pieces of the text form still to print, on an explicit stack.
enum Print<'a> {
    Node(&'a TsQueryNode, i32, bool),
    Text(&'static str),
    Distance(u16),
}

impl fmt::Display for TsQuery {
    /// PostgreSQL's `tsqueryout`, step for step (without its recursion).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut stack: Vec<Print<'_>> = Vec::new();
        if let Some(root) = &self.root {
            stack.push(Print::Node(root, -1, false));
        }
        while let Some(piece) = stack.pop() {
            let (node, parent, right_of_phrase) = match piece {
                Print::Text(text) => {
                    f.write_str(text)?;
                    continue;
                }
                Print::Distance(1) => {
                    f.write_str(" <-> ")?;
                    continue;
                }
                Print::Distance(d) => {
                    write!(f, " <{d}> ")?;
                    continue;
                }
                Print::Node(node, parent, right_of_phrase) => (node, parent, right_of_phrase),
            };
            let priority = node.priority();
            let (left, op, right) = match node {
                TsQueryNode::Operand(o) => {
                    write_quoted(f, &o.word)?;
                    if o.prefix || o.weights != TsWeights::ANY {
                        f.write_str(":")?;
                        if o.prefix {
                            f.write_str("*")?;
                        }
                        for (set, letter) in [
                            (o.weights.a, "A"),
                            (o.weights.b, "B"),
                            (o.weights.c, "C"),
                            (o.weights.d, "D"),
                        ] {
                            if set {
                                f.write_str(letter)?;
                            }
                        }
                    }
                    continue;
                }
                TsQueryNode::Not(x) => {
                    if priority < parent {
                        f.write_str("( ")?;
                        stack.push(Print::Text(" )"));
                    }
                    f.write_str("!")?;
                    stack.push(Print::Node(x, priority, false));
                    continue;
                }
                TsQueryNode::And(l, r) => (l, Print::Text(" & "), r),
                TsQueryNode::Or(l, r) => (l, Print::Text(" | "), r),
                TsQueryNode::Phrase {
                    left,
                    right,
                    distance,
                } => (left, Print::Distance(*distance), right),
            };
            let phrase = matches!(node, TsQueryNode::Phrase { .. });
            if priority < parent || (phrase && right_of_phrase) {
                f.write_str("( ")?;
                stack.push(Print::Text(" )"));
            }
            stack.push(Print::Node(right, priority, phrase));
            stack.push(op);
            stack.push(Print::Node(left, priority, false));
        }
        Ok(())
    }
}

const QI_VAL: u8 = 1;
const QI_OPR: u8 = 2;
const OP_NOT: u8 = 1;
const OP_AND: u8 = 2;
const OP_OR: u8 = 3;
const OP_PHRASE: u8 = 4;

/// One item of the binary form, in the server's order.
enum Item {
    Operand(TsOperand),
    Operator(u8, u16),
}

impl<'a> FromSql<'a> for TsQuery {
    /// The items come in prefix order with the *right* operand of a binary
    /// operator first: `a & b` is `&`, `b`, `a`. Read backwards, that is a
    /// postfix form with the left operand first.
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut r = Reader::new(raw, "tsquery");
        let n = r.len()?;
        // Each item takes at least 2 bytes: do not trust `n` for allocation.
        let mut items = Vec::with_capacity(n.min(raw.len() / 2));
        for _ in 0..n {
            match r.u8()? {
                QI_VAL => {
                    let mask = r.u8()?;
                    if mask > 0xf {
                        return Err(format!("invalid tsquery weight mask {mask:#x}").into());
                    }
                    let prefix = r.u8()? != 0;
                    let word = r.cstr()?.to_owned();
                    items.push(Item::Operand(TsOperand {
                        word,
                        weights: TsWeights::from_mask(mask),
                        prefix,
                    }));
                }
                QI_OPR => {
                    let op = r.u8()?;
                    let distance = match op {
                        OP_PHRASE => r.u16()?,
                        OP_NOT | OP_AND | OP_OR => 0,
                        _ => return Err(format!("invalid tsquery operator {op}").into()),
                    };
                    items.push(Item::Operator(op, distance));
                }
                other => return Err(format!("invalid tsquery item type {other}").into()),
            }
        }
        r.finish()?;
        // Subtrees wrapped in `TsQuery` so that an error drops them without
        // recursion.
        let mut stack: Vec<TsQuery> = Vec::new();
        let pop = |stack: &mut Vec<TsQuery>| -> Result<Box<TsQueryNode>, BoxError> {
            stack
                .pop()
                .and_then(TsQuery::into_root)
                .map(Box::new)
                .ok_or_else(|| "malformed tsquery: operand missing".into())
        };
        for item in items.into_iter().rev() {
            let node = match item {
                Item::Operand(o) => TsQueryNode::Operand(o),
                Item::Operator(OP_NOT, _) => TsQueryNode::Not(pop(&mut stack)?),
                Item::Operator(op, distance) => {
                    let right = pop(&mut stack)?;
                    let left = pop(&mut stack)?;
                    match op {
                        OP_AND => TsQueryNode::And(left, right),
                        OP_OR => TsQueryNode::Or(left, right),
                        _ => TsQueryNode::Phrase {
                            left,
                            right,
                            distance,
                        },
                    }
                }
            };
            stack.push(TsQuery::new(node));
        }
        let query = stack.pop().unwrap_or_default();
        if !stack.is_empty() {
            return Err("malformed tsquery: operands left over".into());
        }
        Ok(query)
    }

    accepts!(TSQUERY);
}

impl ToSql for TsQuery {
    /// The empty query is an error: the server sends it but does not accept
    /// it in the binary format.
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        if self.root.is_none() {
            return Err(
                "PostgreSQL does not accept an empty tsquery as a binary parameter: \
                        send NULL, or write ''::tsquery in the SQL"
                    .into(),
            );
        }
        let start = out.len();
        out.put_i32(0);
        let mut count: usize = 0;
        let mut stack: Vec<&TsQueryNode> = self.root.iter().collect();
        while let Some(node) = stack.pop() {
            count += 1;
            match node {
                TsQueryNode::Operand(o) => {
                    check_word(&o.word, "tsquery operand")?;
                    out.put_u8(QI_VAL);
                    out.put_u8(o.weights.mask());
                    out.put_u8(u8::from(o.prefix));
                    out.put_slice(o.word.as_bytes());
                    out.put_u8(0);
                }
                TsQueryNode::Not(x) => {
                    out.put_slice(&[QI_OPR, OP_NOT]);
                    stack.push(x);
                }
                TsQueryNode::And(l, r) | TsQueryNode::Or(l, r) => {
                    let op = if matches!(node, TsQueryNode::And(..)) {
                        OP_AND
                    } else {
                        OP_OR
                    };
                    out.put_slice(&[QI_OPR, op]);
                    // Right operand first: pushed last.
                    stack.push(l);
                    stack.push(r);
                }
                TsQueryNode::Phrase {
                    left,
                    right,
                    distance,
                } => {
                    out.put_slice(&[QI_OPR, OP_PHRASE]);
                    out.put_u16(*distance);
                    stack.push(left);
                    stack.push(right);
                }
            }
        }
        let count = wire::count(count)?;
        out[start..start + 4].copy_from_slice(&count.to_be_bytes());
        Ok(IsNull::No)
    }

    accepts!(TSQUERY);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{encode, roundtrip};

    fn w(word: &str) -> TsQueryNode {
        TsQueryNode::word(word)
    }

    #[test]
    fn tsvector_layout_and_round_trip() {
        let v = TsVector::new([
            TsLexeme::new("a").with_position(1, TsWeight::A),
            TsLexeme::new("bc"),
        ]);
        assert_eq!(
            encode(&v, &Type::TS_VECTOR),
            [0, 0, 0, 2, b'a', 0, 0, 1, 0xc0, 1, b'b', b'c', 0, 0, 0]
        );
        let v = TsVector::new([
            TsLexeme::new("cat")
                .with_position(1, TsWeight::A)
                .with_position(3, TsWeight::B)
                .with_position(TS_MAX_POSITION, TsWeight::C),
            TsLexeme::new("fat").with_position(2, TsWeight::D),
            TsLexeme::new("naïve'\\"),
        ]);
        assert_eq!(roundtrip(&v, &Type::TS_VECTOR), v);
        assert_eq!(v.to_string(), "'cat':1A,3B,16383C 'fat':2 'naïve''\\\\'");
        assert_eq!(
            roundtrip(&TsVector::default(), &Type::TS_VECTOR),
            TsVector::default()
        );
        assert_eq!(TsVector::default().to_string(), "");
    }

    #[test]
    fn tsvector_encoder_sorts_positions_and_rejects_bad_ones() {
        let v = TsVector::new([TsLexeme::new("x")
            .with_position(5, TsWeight::D)
            .with_position(2, TsWeight::A)]);
        let sorted = TsVector::new([TsLexeme::new("x")
            .with_position(2, TsWeight::A)
            .with_position(5, TsWeight::D)]);
        assert_eq!(roundtrip(&v, &Type::TS_VECTOR), sorted);
        for bad in [
            TsVector::new([TsLexeme::new("x").with_position(0, TsWeight::D)]),
            TsVector::new([TsLexeme::new("x").with_position(0x4000, TsWeight::D)]),
            TsVector::new([TsLexeme::new("a\0b")]),
        ] {
            let mut out = BytesMut::new();
            assert!(bad.to_sql(&Type::TS_VECTOR, &mut out).is_err());
        }
        assert!(TsVector::from_sql(&Type::TS_VECTOR, &[0, 0, 0, 1, b'a']).is_err());
        assert!(TsVector::from_sql(&Type::TS_VECTOR, &[0, 0, 0, 1, b'a', 0, 0, 1]).is_err());
    }

    #[test]
    fn tsquery_binary_puts_the_right_operand_first() {
        let q = TsQuery::new(w("a") & w("b"));
        assert_eq!(
            encode(&q, &Type::TSQUERY),
            [0, 0, 0, 3, 2, 2, 1, 0, 0, b'b', 0, 1, 0, 0, b'a', 0]
        );
        let q = TsQuery::new(w("a").followed_at(3, !w("b")));
        assert_eq!(
            encode(&q, &Type::TSQUERY),
            [0, 0, 0, 4, 2, 4, 0, 3, 2, 1, 1, 0, 0, b'b', 0, 1, 0, 0, b'a', 0]
        );
    }

    #[test]
    fn tsquery_round_trips_and_displays() {
        let star = TsOperand::new("star")
            .with_prefix()
            .with_weights(TsWeights::only(TsWeight::A).with(TsWeight::C));
        assert_eq!(TsQuery::empty().to_string(), "");
        assert_eq!(
            TsQuery::from_sql(&Type::TSQUERY, &[0, 0, 0, 0]).ok(),
            Some(TsQuery::empty())
        );
        let mut out = BytesMut::new();
        assert!(TsQuery::empty().to_sql(&Type::TSQUERY, &mut out).is_err());
        let cases = [
            (TsQuery::new(w("cat")), "'cat'"),
            (TsQuery::new(!w("cat")), "!'cat'"),
            (
                TsQuery::new(w("fat") & (w("rat") | w("cat"))),
                "'fat' & ( 'rat' | 'cat' )",
            ),
            (
                TsQuery::new((w("fat") & w("rat")) | w("cat")),
                "'fat' & 'rat' | 'cat'",
            ),
            (TsQuery::new(w("a") & w("b") & w("c")), "'a' & 'b' & 'c'"),
            (TsQuery::new(w("a") & (w("b") & w("c"))), "'a' & 'b' & 'c'"),
            (TsQuery::new(!(w("a") | w("b"))), "!( 'a' | 'b' )"),
            (
                TsQuery::new(w("a").followed_by(w("b").followed_at(0, w("c")))),
                "'a' <-> ( 'b' <0> 'c' )",
            ),
            (
                TsQuery::new(w("a").followed_by(w("b")).followed_at(2, w("c"))),
                "'a' <-> 'b' <2> 'c'",
            ),
            (
                TsQuery::new(TsQueryNode::from(star) & !w("it's")),
                "'star':*AC & !'it''s'",
            ),
            (
                TsQuery::new(w("x").followed_by(w("y") & w("z"))),
                "'x' <-> ( 'y' & 'z' )",
            ),
        ];
        for (q, text) in cases {
            assert_eq!(roundtrip(&q, &Type::TSQUERY), q, "{text}");
            assert_eq!(q.to_string(), text);
        }
    }

    #[test]
    fn deep_tsquery_does_not_overflow_the_stack() {
        let mut node = w("w0");
        for i in 1..200_000 {
            node = node & w(&format!("w{i}"));
        }
        let q = TsQuery::new(node);
        let raw = encode(&q, &Type::TSQUERY);
        let back = match TsQuery::from_sql(&Type::TSQUERY, &raw) {
            Ok(back) => back,
            Err(e) => panic!("{e}"),
        };
        let text = back.to_string();
        assert!(text.starts_with("'w0' & 'w1' & "));
        assert!(text.ends_with(" & 'w199999'"));
        drop(back);
        drop(q);
    }

    #[test]
    fn malformed_tsqueries_are_errors() {
        let decode = |raw: &[u8]| TsQuery::from_sql(&Type::TSQUERY, raw);
        // `&` with one operand.
        assert!(decode(&[0, 0, 0, 2, 2, 2, 1, 0, 0, b'a', 0]).is_err());
        // Two roots.
        assert!(decode(&[0, 0, 0, 2, 1, 0, 0, b'a', 0, 1, 0, 0, b'b', 0]).is_err());
        // Unknown operator, item type, weight mask.
        assert!(decode(&[0, 0, 0, 1, 2, 9]).is_err());
        assert!(decode(&[0, 0, 0, 1, 3, 0, 0, b'a', 0]).is_err());
        assert!(decode(&[0, 0, 0, 1, 1, 0x10, 0, b'a', 0]).is_err());
        assert!(decode(&[0, 0, 0, 1]).is_err());
        let mut out = BytesMut::new();
        assert!(TsQuery::new(w("a\0"))
            .to_sql(&Type::TSQUERY, &mut out)
            .is_err());
    }
}
