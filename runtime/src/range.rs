//! [`Range`] and [`Multirange`]: PostgreSQL's range and multirange types
//! over any element type that has `ToSql`/`FromSql`.

use bytes::{BufMut, BytesMut};
use postgres_types::{to_sql_checked, FromSql, IsNull, Kind, ToSql, Type};

use crate::wire::{self, BoxError, Reader};

const EMPTY: u8 = 0x01;
const LOWER_INCLUSIVE: u8 = 0x02;
const UPPER_INCLUSIVE: u8 = 0x04;
const LOWER_INFINITE: u8 = 0x08;
const UPPER_INFINITE: u8 = 0x10;

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
/// `T` is the element type: `i32`, `i64`, [`rust_decimal::Decimal`],
/// [`chrono::NaiveDateTime`], `chrono::DateTime<Utc>`, [`chrono::NaiveDate`]
/// (or the `time`/`jiff` equivalents with the `with-time`/`with-jiff`
/// features, or [`MaybeInfinite`](crate::MaybeInfinite) of any of those when
/// a bound may be `infinity`).
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
    match wire::base_type(ty).kind() {
        Kind::Range(elem) => Some(elem),
        _ => None,
    }
}

/// The element type of a multirange type. postgres-types' built-in
/// multirange types carry the element type (`int4multirange` →
/// `Kind::Multirange(int4)`); a range type there is looked through too.
fn multirange_element(ty: &Type) -> Option<&Type> {
    match wire::base_type(ty).kind() {
        Kind::Multirange(inner) => Some(range_element(inner).unwrap_or(inner)),
        _ => None,
    }
}

fn missing_element(ty: &Type) -> BoxError {
    format!("`{}` is not a range or multirange type", ty.name()).into()
}

fn encode_range<T: ToSql>(
    range: &Range<T>,
    elem: &Type,
    out: &mut BytesMut,
) -> Result<(), BoxError> {
    let (lower, upper) = match range {
        Range::Empty => {
            out.put_u8(EMPTY);
            return Ok(());
        }
        Range::Bounded { lower, upper } => (lower, upper),
    };
    let mut flags = 0;
    match lower {
        RangeBound::Inclusive(_) => flags |= LOWER_INCLUSIVE,
        RangeBound::Exclusive(_) => {}
        RangeBound::Unbounded => flags |= LOWER_INFINITE,
    }
    match upper {
        RangeBound::Inclusive(_) => flags |= UPPER_INCLUSIVE,
        RangeBound::Exclusive(_) => {}
        RangeBound::Unbounded => flags |= UPPER_INFINITE,
    }
    out.put_u8(flags);
    for bound in [lower, upper] {
        if let Some(value) = bound.value() {
            wire::write_length_prefixed(value, elem, out, "range bound")?;
        }
    }
    Ok(())
}

fn decode_range<'a, T: FromSql<'a>>(elem: &Type, raw: &'a [u8]) -> Result<Range<T>, BoxError> {
    let mut r = Reader::new(raw, "range");
    let flags = r.u8()?;
    if flags & EMPTY != 0 {
        r.finish()?;
        return Ok(Range::Empty);
    }
    let mut bound = |infinite: u8, inclusive: u8| -> Result<RangeBound<T>, BoxError> {
        if flags & infinite != 0 {
            return Ok(RangeBound::Unbounded);
        }
        let value = T::from_sql(elem, r.length_prefixed()?)?;
        Ok(if flags & inclusive != 0 {
            RangeBound::Inclusive(value)
        } else {
            RangeBound::Exclusive(value)
        })
    };
    let lower = bound(LOWER_INFINITE, LOWER_INCLUSIVE)?;
    let upper = bound(UPPER_INFINITE, UPPER_INCLUSIVE)?;
    r.finish()?;
    Ok(Range::Bounded { lower, upper })
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

impl<'a, T: FromSql<'a>> FromSql<'a> for Multirange<T> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let elem = multirange_element(ty).ok_or_else(|| missing_element(ty))?;
        let mut r = Reader::new(raw, "multirange");
        let n = r.len()?;
        // Each range takes at least 5 bytes: do not trust `n` for allocation.
        let mut ranges = Vec::with_capacity(n.min(raw.len() / 5));
        for _ in 0..n {
            ranges.push(decode_range(elem, r.length_prefixed()?)?);
        }
        r.finish()?;
        Ok(Multirange(ranges))
    }

    fn accepts(ty: &Type) -> bool {
        multirange_element(ty).is_some_and(T::accepts)
    }
}

impl<T: ToSql> ToSql for Multirange<T> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let elem = multirange_element(ty).ok_or_else(|| missing_element(ty))?;
        out.put_i32(wire::count(self.0.len())?);
        for range in &self.0 {
            let start = out.len();
            out.put_i32(0);
            encode_range(range, elem, out)?;
            wire::write_length_at(out, start)?;
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        multirange_element(ty).is_some_and(T::accepts)
    }

    to_sql_checked!();
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
        let d = Range::new(
            RangeBound::Inclusive(rust_decimal::Decimal::new(-12345, 2)),
            RangeBound::Exclusive(rust_decimal::Decimal::MAX),
        );
        assert_eq!(roundtrip(&d, &Type::NUM_RANGE), d);
        let day = |n| chrono::NaiveDate::from_ymd_opt(2024, 2, n);
        if let (Some(a), Some(b)) = (day(1), day(29)) {
            let dr = Range::new(RangeBound::Inclusive(a), RangeBound::Exclusive(b));
            assert_eq!(roundtrip(&dr, &Type::DATE_RANGE), dr);
        }
    }

    #[test]
    fn accepts_by_element() {
        assert!(<Range<i32> as FromSql>::accepts(&Type::INT4_RANGE));
        assert!(!<Range<i32> as FromSql>::accepts(&Type::INT8_RANGE));
        assert!(!<Range<i32> as ToSql>::accepts(&Type::INT4));
        assert!(<Range<chrono::NaiveDate> as ToSql>::accepts(
            &Type::DATE_RANGE
        ));
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
