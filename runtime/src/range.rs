//! [`Range`] and [`Multirange`]: PostgreSQL's range and multirange types
//! over any element type that has `ToSql`/`FromSql`.
//!
//! The range wire format is postgres-protocol's (`range_to_sql`,
//! `range_from_sql`); this module adds owned, typed bounds on top. Multiranges
//! (PostgreSQL 14+), which postgres-protocol does not cover, are a count
//! followed by length-prefixed ranges in that same format.

use bytes::{BufMut, BytesMut};
use postgres_protocol::types as protocol;
use postgres_types::{to_sql_checked, FromSql, IsNull, Kind, ToSql, Type};

use crate::wire::BoxError;

/// One bound of a [`Range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeBound<T> {
    /// The bound belongs to the range (`[` or `]`).
    Inclusive(T),
    /// The bound does not belong to the range (`(` or `)`).
    Exclusive(T),
    /// No bound on this side (an empty bound in PostgreSQL's text form,
    /// e.g. `[1,)`).
    Unbounded,
}

impl<T> RangeBound<T> {
    /// The bound's value, `None` when unbounded.
    pub fn value(&self) -> Option<&T> {
        match self {
            RangeBound::Inclusive(v) | RangeBound::Exclusive(v) => Some(v),
            RangeBound::Unbounded => None,
        }
    }

    /// Whether the bound's value belongs to the range.
    pub fn is_inclusive(&self) -> bool {
        matches!(self, RangeBound::Inclusive(_))
    }

    /// Whether there is no bound on this side.
    pub fn is_unbounded(&self) -> bool {
        matches!(self, RangeBound::Unbounded)
    }

    /// Applies `f` to the bound's value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> RangeBound<U> {
        match self {
            RangeBound::Inclusive(v) => RangeBound::Inclusive(f(v)),
            RangeBound::Exclusive(v) => RangeBound::Exclusive(f(v)),
            RangeBound::Unbounded => RangeBound::Unbounded,
        }
    }
}

/// A PostgreSQL range (`int4range`, `int8range`, `numrange`, `tsrange`,
/// `tstzrange`, `daterange`, or a user-defined range over a supported
/// element type).
///
/// `T` is the element type: `i32`, `i64`, `rust_decimal::Decimal`,
/// `chrono::NaiveDateTime`, `chrono::DateTime<Utc>`, `chrono::NaiveDate`
/// (or the `time`/`jiff` equivalents with the `with-time`/`with-jiff`
/// features, or postgres-types' [`Date`](postgres_types::Date) /
/// [`Timestamp`](postgres_types::Timestamp) around any of those when a bound
/// may be `infinity`).
///
/// PostgreSQL canonicalises ranges of discrete types (`int4range`,
/// `int8range`, `daterange`): `[1,3]` is stored, and comes back, as `[1,4)`;
/// a range with no values (e.g. `[3,3)`) comes back as [`Range::Empty`].
/// Equality here is structural, so compare against the canonical form.
///
/// ```
/// use quarry::{Range, RangeBound};
///
/// // `[1,10)`
/// let r = Range::new(RangeBound::Inclusive(1), RangeBound::Exclusive(10));
/// assert!(r.contains(&1) && !r.contains(&10));
/// assert_eq!(r.lower(), Some(&RangeBound::Inclusive(1)));
/// // `[5,)`: no upper bound
/// let from_five = Range::new(RangeBound::Inclusive(5), RangeBound::Unbounded);
/// assert!(from_five.contains(&i32::MAX));
/// assert!(Range::<i32>::Empty.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Range<T> {
    /// The empty range (`'empty'`), which contains no value.
    Empty,
    /// A range with two bounds, each possibly unbounded.
    Bounded {
        /// The lower bound.
        lower: RangeBound<T>,
        /// The upper bound.
        upper: RangeBound<T>,
    },
}

impl<T> Range<T> {
    /// A non-empty range (the server turns it into [`Range::Empty`] if no
    /// value lies between the bounds, and rejects lower > upper).
    pub fn new(lower: RangeBound<T>, upper: RangeBound<T>) -> Self {
        Range::Bounded { lower, upper }
    }

    /// The range with neither bound, `(,)`, which contains every value.
    pub fn unbounded() -> Self {
        Range::new(RangeBound::Unbounded, RangeBound::Unbounded)
    }

    /// Whether this is the empty range.
    pub fn is_empty(&self) -> bool {
        matches!(self, Range::Empty)
    }

    /// The lower bound, `None` for the empty range.
    pub fn lower(&self) -> Option<&RangeBound<T>> {
        match self {
            Range::Empty => None,
            Range::Bounded { lower, .. } => Some(lower),
        }
    }

    /// The upper bound, `None` for the empty range.
    pub fn upper(&self) -> Option<&RangeBound<T>> {
        match self {
            Range::Empty => None,
            Range::Bounded { upper, .. } => Some(upper),
        }
    }

    /// Applies `f` to both bounds' values.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Range<U> {
        match self {
            Range::Empty => Range::Empty,
            Range::Bounded { lower, upper } => Range::Bounded {
                lower: lower.map(&mut f),
                upper: upper.map(f),
            },
        }
    }

    /// Whether `value` lies in the range.
    pub fn contains(&self, value: &T) -> bool
    where
        T: PartialOrd,
    {
        match self {
            Range::Empty => false,
            Range::Bounded { lower, upper } => {
                let above = match lower {
                    RangeBound::Inclusive(l) => value >= l,
                    RangeBound::Exclusive(l) => value > l,
                    RangeBound::Unbounded => true,
                };
                let below = match upper {
                    RangeBound::Inclusive(u) => value <= u,
                    RangeBound::Exclusive(u) => value < u,
                    RangeBound::Unbounded => true,
                };
                above && below
            }
        }
    }
}

/// The element type of a range type (through domains).
fn range_element(ty: &Type) -> Option<&Type> {
    match base_type(ty).kind() {
        Kind::Range(elem) => Some(elem),
        _ => None,
    }
}

/// The element type of a multirange type. postgres-types' built-in
/// multirange types carry the element type (`int4multirange` →
/// `Kind::Multirange(int4)`); a range type there is looked through too.
fn multirange_element(ty: &Type) -> Option<&Type> {
    match base_type(ty).kind() {
        Kind::Multirange(inner) => Some(range_element(inner).unwrap_or(inner)),
        _ => None,
    }
}

/// The type under any domains.
fn base_type(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base_type(inner),
        _ => ty,
    }
}

fn missing_element(ty: &Type) -> BoxError {
    format!("`{}` is not a range or multirange type", ty.name()).into()
}

/// Writes one range with postgres-protocol's codec.
fn encode_range<T: ToSql>(
    range: &Range<T>,
    elem: &Type,
    out: &mut BytesMut,
) -> Result<(), BoxError> {
    let (lower, upper) = match range {
        Range::Empty => {
            protocol::empty_range_to_sql(out);
            return Ok(());
        }
        Range::Bounded { lower, upper } => (lower, upper),
    };
    protocol::range_to_sql(
        |out| encode_bound(lower, elem, out),
        |out| encode_bound(upper, elem, out),
        out,
    )
}

fn encode_bound<T: ToSql>(
    bound: &RangeBound<T>,
    elem: &Type,
    out: &mut BytesMut,
) -> Result<protocol::RangeBound<postgres_protocol::IsNull>, BoxError> {
    let mut value = |v: &T| match v.to_sql(elem, out)? {
        IsNull::No => Ok(postgres_protocol::IsNull::No),
        IsNull::Yes => Err(BoxError::from("a range bound cannot be NULL")),
    };
    Ok(match bound {
        RangeBound::Inclusive(v) => protocol::RangeBound::Inclusive(value(v)?),
        RangeBound::Exclusive(v) => protocol::RangeBound::Exclusive(value(v)?),
        RangeBound::Unbounded => protocol::RangeBound::Unbounded,
    })
}

/// Reads one range with postgres-protocol's codec.
fn decode_range<'a, T: FromSql<'a>>(elem: &Type, raw: &'a [u8]) -> Result<Range<T>, BoxError> {
    let (lower, upper) = match protocol::range_from_sql(raw)? {
        protocol::Range::Empty => return Ok(Range::Empty),
        protocol::Range::Nonempty(lower, upper) => (lower, upper),
    };
    Ok(Range::Bounded {
        lower: decode_bound(lower, elem)?,
        upper: decode_bound(upper, elem)?,
    })
}

fn decode_bound<'a, T: FromSql<'a>>(
    bound: protocol::RangeBound<Option<&'a [u8]>>,
    elem: &Type,
) -> Result<RangeBound<T>, BoxError> {
    let value = |raw: Option<&'a [u8]>| match raw {
        Some(raw) => T::from_sql(elem, raw),
        None => Err(BoxError::from("a range bound cannot be NULL")),
    };
    Ok(match bound {
        protocol::RangeBound::Inclusive(raw) => RangeBound::Inclusive(value(raw)?),
        protocol::RangeBound::Exclusive(raw) => RangeBound::Exclusive(value(raw)?),
        protocol::RangeBound::Unbounded => RangeBound::Unbounded,
    })
}

impl<'a, T: FromSql<'a>> FromSql<'a> for Range<T> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let elem = range_element(ty).ok_or_else(|| missing_element(ty))?;
        decode_range(elem, raw)
    }

    fn accepts(ty: &Type) -> bool {
        range_element(ty).is_some_and(T::accepts)
    }
}

impl<T: ToSql> ToSql for Range<T> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let elem = range_element(ty).ok_or_else(|| missing_element(ty))?;
        encode_range(self, elem, out)?;
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        range_element(ty).is_some_and(T::accepts)
    }

    to_sql_checked!();
}

/// A PostgreSQL multirange (`int4multirange`, `datemultirange`, …;
/// PostgreSQL 14 and later): a list of [`Range`]s.
///
/// The server normalises a multirange: it drops empty ranges, merges
/// overlapping and adjacent ones and sorts them, so `{[3,5), [1,3)}` comes
/// back as `{[1,5)}`.
///
/// ```
/// use quarry::{Multirange, Range, RangeBound};
///
/// let m = Multirange(vec![
///     Range::new(RangeBound::Inclusive(1), RangeBound::Exclusive(3)),
///     Range::new(RangeBound::Inclusive(7), RangeBound::Unbounded),
/// ]);
/// assert!(m.contains(&2) && !m.contains(&5) && m.contains(&100));
/// assert!(Multirange::<i32>::default().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Multirange<T>(pub Vec<Range<T>>);

impl<T> Default for Multirange<T> {
    fn default() -> Self {
        Multirange(Vec::new())
    }
}

impl<T> Multirange<T> {
    /// Whether the multirange holds no range (`'{}'`).
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Range::is_empty)
    }

    /// Whether `value` lies in one of the ranges.
    pub fn contains(&self, value: &T) -> bool
    where
        T: PartialOrd,
    {
        self.0.iter().any(|r| r.contains(value))
    }
}

impl<T> From<Vec<Range<T>>> for Multirange<T> {
    fn from(ranges: Vec<Range<T>>) -> Self {
        Multirange(ranges)
    }
}

// Multiranges (PostgreSQL 14+) are not in postgres-protocol: a count, then
// each range length-prefixed in the range format above.

impl<'a, T: FromSql<'a>> FromSql<'a> for Multirange<T> {
    fn from_sql(ty: &Type, mut raw: &'a [u8]) -> Result<Self, BoxError> {
        let elem = multirange_element(ty).ok_or_else(|| missing_element(ty))?;
        let n = take_len(&mut raw)?;
        // Each range takes at least 5 bytes: do not trust `n` for allocation.
        let mut ranges = Vec::with_capacity(n.min(raw.len() / 5));
        for _ in 0..n {
            let len = take_len(&mut raw)?;
            let (range, rest) = raw.split_at_checked(len).ok_or(TRUNCATED)?;
            ranges.push(decode_range(elem, range)?);
            raw = rest;
        }
        if !raw.is_empty() {
            return Err(format!("invalid multirange value: {} trailing bytes", raw.len()).into());
        }
        Ok(Multirange(ranges))
    }

    fn accepts(ty: &Type) -> bool {
        multirange_element(ty).is_some_and(T::accepts)
    }
}

impl<T: ToSql> ToSql for Multirange<T> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let elem = multirange_element(ty).ok_or_else(|| missing_element(ty))?;
        out.put_i32(to_i32(self.0.len())?);
        for range in &self.0 {
            let start = out.len();
            out.put_i32(0);
            encode_range(range, elem, out)?;
            let len = to_i32(out.len() - start - 4)?;
            out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        multirange_element(ty).is_some_and(T::accepts)
    }

    to_sql_checked!();
}

const TRUNCATED: &str = "invalid multirange value: unexpected end of data";

/// Reads a non-negative 4-byte length or count.
fn take_len(raw: &mut &[u8]) -> Result<usize, BoxError> {
    let (head, rest) = raw.split_first_chunk::<4>().ok_or(TRUNCATED)?;
    *raw = rest;
    let n = i32::from_be_bytes(*head);
    usize::try_from(n).map_err(|_| format!("invalid multirange value: negative length {n}").into())
}

fn to_i32(n: usize) -> Result<i32, BoxError> {
    i32::try_from(n).map_err(|_| "value too large to transmit".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::roundtrip;

    #[test]
    fn int4range_layout() {
        let r = Range::new(RangeBound::Inclusive(1), RangeBound::Exclusive(10));
        let bytes = crate::types_test::encode(&r, &Type::INT4_RANGE);
        assert_eq!(
            bytes,
            [0x02, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 10]
        );
        assert_eq!(
            crate::types_test::encode(&Range::<i32>::Empty, &Type::INT4_RANGE),
            [0x01]
        );
        let upper_only = Range::new(RangeBound::Unbounded, RangeBound::Inclusive(7i64));
        assert_eq!(
            crate::types_test::encode(&upper_only, &Type::INT8_RANGE),
            [0x0c, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]
        );
    }

    #[test]
    fn ranges_round_trip() {
        for r in [
            Range::Empty,
            Range::unbounded(),
            Range::new(RangeBound::Inclusive(-5), RangeBound::Inclusive(5)),
            Range::new(RangeBound::Exclusive(i32::MIN), RangeBound::Unbounded),
            Range::new(RangeBound::Unbounded, RangeBound::Exclusive(0)),
        ] {
            assert_eq!(roundtrip(&r, &Type::INT4_RANGE), r);
        }
        #[cfg(feature = "with-rust_decimal")]
        {
            let d = Range::new(
                RangeBound::Inclusive(rust_decimal::Decimal::new(-12345, 2)),
                RangeBound::Exclusive(rust_decimal::Decimal::MAX),
            );
            assert_eq!(roundtrip(&d, &Type::NUM_RANGE), d);
        }
        #[cfg(feature = "with-chrono")]
        {
            let day = |n| chrono::NaiveDate::from_ymd_opt(2024, 2, n);
            if let (Some(a), Some(b)) = (day(1), day(29)) {
                let dr = Range::new(RangeBound::Inclusive(a), RangeBound::Exclusive(b));
                assert_eq!(roundtrip(&dr, &Type::DATE_RANGE), dr);
            }
            // postgres-types' `Date` for an infinite bound.
            let infinite = Range::new(
                RangeBound::Inclusive(postgres_types::Date::<chrono::NaiveDate>::NegInfinity),
                RangeBound::Exclusive(postgres_types::Date::PosInfinity),
            );
            assert_eq!(roundtrip(&infinite, &Type::DATE_RANGE), infinite);
        }
    }

    #[test]
    fn accepts_by_element() {
        assert!(<Range<i32> as FromSql>::accepts(&Type::INT4_RANGE));
        assert!(!<Range<i32> as FromSql>::accepts(&Type::INT8_RANGE));
        assert!(!<Range<i32> as ToSql>::accepts(&Type::INT4));
        assert!(<Range<i64> as ToSql>::accepts(&Type::INT8_RANGE));
        assert!(<Multirange<i64> as FromSql>::accepts(
            &Type::INT8MULTI_RANGE
        ));
        assert!(!<Multirange<i64> as FromSql>::accepts(&Type::INT8_RANGE));
        assert!(!<Range<i64> as FromSql>::accepts(&Type::INT8MULTI_RANGE));
    }

    #[test]
    fn multiranges_round_trip() {
        let m = Multirange(vec![
            Range::new(RangeBound::Inclusive(1i64), RangeBound::Exclusive(3)),
            Range::Empty,
            Range::new(RangeBound::Exclusive(7), RangeBound::Unbounded),
        ]);
        assert_eq!(roundtrip(&m, &Type::INT8MULTI_RANGE), m);
        let empty = Multirange::<i64>::default();
        assert_eq!(
            crate::types_test::encode(&empty, &Type::INT8MULTI_RANGE),
            [0, 0, 0, 0]
        );
        assert_eq!(roundtrip(&empty, &Type::INT8MULTI_RANGE), empty);
    }

    #[test]
    fn malformed_ranges_are_errors() {
        let decode = |raw: &[u8]| Range::<i32>::from_sql(&Type::INT4_RANGE, raw);
        assert!(decode(&[]).is_err());
        assert!(decode(&[0x02, 0, 0, 0, 4, 0, 0]).is_err());
        assert!(decode(&[0x01, 0]).is_err());
        assert!(decode(&[0x18, 0]).is_err());
        assert!(decode(&[0x02, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Range::<i32>::from_sql(&Type::INT4, &[0x01]).is_err());
        assert!(Multirange::<i32>::from_sql(&Type::INT4MULTI_RANGE, &[0, 0, 0, 9]).is_err());
    }

    #[test]
    fn null_bound_is_an_error() {
        let r = Range::new(RangeBound::Inclusive(None::<i32>), RangeBound::Unbounded);
        let mut out = BytesMut::new();
        assert!(r.to_sql(&Type::INT4_RANGE, &mut out).is_err());
    }
}
