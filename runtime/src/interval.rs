//! [`Interval`]: PostgreSQL's `interval`, field for field.

use std::fmt;

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{BoxError, Reader};

// Used by the duration conversions of the time crates' features.
#[cfg_attr(
    not(any(feature = "with-chrono", feature = "with-time", feature = "with-jiff")),
    allow(dead_code)
)]
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A PostgreSQL `interval`: months, days and microseconds, kept apart as the
/// server keeps them (a month is not a fixed number of days, nor a day a
/// fixed number of hours across a daylight-saving change).
///
/// Equality is field by field: `'1 mon'` and `'30 days'` are equal in SQL
/// but not here. [`Display`](fmt::Display) prints PostgreSQL's default
/// (`IntervalStyle = postgres`) text form. Conversions to and from
/// `chrono::Duration` (and `time::Duration` / `jiff::SignedDuration` with
/// the `with-time` / `with-jiff` features) are exact durations: they fail
/// when the interval has months, count a day as 24 hours, and fail rather
/// than saturate when a value does not fit.
///
/// ```
/// use quarry::Interval;
///
/// // '1 year 2 mons 3 days 04:05:06.5'
/// let i = Interval::new(14, 3, 14_706_500_000);
/// assert_eq!(i.to_string(), "1 year 2 mons 3 days 04:05:06.5");
///
/// let d = chrono::Duration::try_from(Interval::new(0, 1, 1_000_000)).unwrap();
/// assert_eq!(d, chrono::Duration::seconds(86_401));
/// assert!(chrono::Duration::try_from(i).is_err()); // has months
/// assert_eq!(Interval::try_from(chrono::Duration::minutes(90)).unwrap(),
///            Interval::new(0, 0, 5_400_000_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Whole months (a year is 12).
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds.
    pub microseconds: i64,
}

impl Interval {
    /// `'infinity'` (PostgreSQL 17 and later): every field at its maximum.
    pub const INFINITY: Interval = Interval::new(i32::MAX, i32::MAX, i64::MAX);
    /// `'-infinity'` (PostgreSQL 17 and later): every field at its minimum.
    pub const NEG_INFINITY: Interval = Interval::new(i32::MIN, i32::MIN, i64::MIN);

    /// An interval of `months`, `days` and `microseconds`.
    pub const fn new(months: i32, days: i32, microseconds: i64) -> Self {
        Interval {
            months,
            days,
            microseconds,
        }
    }

    /// Whether this is `'infinity'` or `'-infinity'`.
    pub fn is_infinite(&self) -> bool {
        *self == Interval::INFINITY || *self == Interval::NEG_INFINITY
    }

    /// The interval in microseconds, for intervals without months, counting
    /// a day as 24 hours.
    #[cfg_attr(
        not(any(feature = "with-chrono", feature = "with-time", feature = "with-jiff")),
        allow(dead_code)
    )]
    fn exact_microseconds(self) -> Result<i64, IntervalError> {
        if self.is_infinite() {
            return Err(IntervalError::Infinite);
        }
        if self.months != 0 {
            return Err(IntervalError::HasMonths);
        }
        i64::from(self.days)
            .checked_mul(MICROS_PER_DAY)
            .and_then(|d| d.checked_add(self.microseconds))
            .ok_or(IntervalError::OutOfRange)
    }

    #[cfg_attr(
        not(any(feature = "with-chrono", feature = "with-time", feature = "with-jiff")),
        allow(dead_code)
    )]
    fn from_microseconds(micros: Option<i64>) -> Result<Self, IntervalError> {
        micros
            .map(|us| Interval::new(0, 0, us))
            .ok_or(IntervalError::OutOfRange)
    }
}

/// Why an [`Interval`] could not be converted to or from a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IntervalError {
    /// The interval has months, which have no fixed length.
    HasMonths,
    /// The interval is `'infinity'` or `'-infinity'`.
    Infinite,
    /// The value does not fit in the target type.
    OutOfRange,
}

impl fmt::Display for IntervalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntervalError::HasMonths => {
                "an interval with months has no fixed duration (months vary in length)"
            }
            IntervalError::Infinite => "an infinite interval has no duration",
            IntervalError::OutOfRange => "the duration is out of range",
        })
    }
}

impl std::error::Error for IntervalError {}

#[cfg(feature = "with-chrono")]
impl TryFrom<Interval> for chrono::Duration {
    type Error = IntervalError;

    fn try_from(interval: Interval) -> Result<Self, IntervalError> {
        Ok(chrono::Duration::microseconds(
            interval.exact_microseconds()?,
        ))
    }
}

/// Sub-microsecond precision is truncated.
#[cfg(feature = "with-chrono")]
impl TryFrom<chrono::Duration> for Interval {
    type Error = IntervalError;

    fn try_from(duration: chrono::Duration) -> Result<Self, IntervalError> {
        Interval::from_microseconds(duration.num_microseconds())
    }
}

#[cfg(feature = "with-time")]
impl TryFrom<Interval> for time::Duration {
    type Error = IntervalError;

    fn try_from(interval: Interval) -> Result<Self, IntervalError> {
        Ok(time::Duration::microseconds(interval.exact_microseconds()?))
    }
}

/// Sub-microsecond precision is truncated.
#[cfg(feature = "with-time")]
impl TryFrom<time::Duration> for Interval {
    type Error = IntervalError;

    fn try_from(duration: time::Duration) -> Result<Self, IntervalError> {
        Interval::from_microseconds(i64::try_from(duration.whole_microseconds()).ok())
    }
}

#[cfg(feature = "with-jiff")]
impl TryFrom<Interval> for jiff::SignedDuration {
    type Error = IntervalError;

    fn try_from(interval: Interval) -> Result<Self, IntervalError> {
        Ok(jiff::SignedDuration::from_micros(
            interval.exact_microseconds()?,
        ))
    }
}

/// Sub-microsecond precision is truncated.
#[cfg(feature = "with-jiff")]
impl TryFrom<jiff::SignedDuration> for Interval {
    type Error = IntervalError;

    fn try_from(duration: jiff::SignedDuration) -> Result<Self, IntervalError> {
        Interval::from_microseconds(i64::try_from(duration.as_micros()).ok())
    }
}

impl fmt::Display for Interval {
    /// PostgreSQL's `postgres` interval style, e.g. `1 year 2 mons -3 days
    /// +04:05:06.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Interval::INFINITY {
            return f.write_str("infinity");
        }
        if *self == Interval::NEG_INFINITY {
            return f.write_str("-infinity");
        }
        let mut is_zero = true;
        let mut is_before = false;
        let mut part = |f: &mut fmt::Formatter<'_>, value: i32, unit: &str| -> fmt::Result {
            if value == 0 {
                return Ok(());
            }
            let space = if is_zero { "" } else { " " };
            let plus = if is_before && value > 0 { "+" } else { "" };
            let plural = if value == 1 { "" } else { "s" };
            is_before = value < 0;
            is_zero = false;
            write!(f, "{space}{plus}{value} {unit}{plural}")
        };
        part(f, self.months / 12, "year")?;
        part(f, self.months % 12, "mon")?;
        part(f, self.days, "day")?;
        let time = self.microseconds;
        if is_zero || time != 0 {
            let space = if is_zero { "" } else { " " };
            let sign = if time < 0 {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            };
            let abs = time.unsigned_abs();
            let hours = abs / 3_600_000_000;
            let minutes = abs / 60_000_000 % 60;
            let seconds = abs / 1_000_000 % 60;
            let fraction = abs % 1_000_000;
            write!(f, "{space}{sign}{hours:02}:{minutes:02}:{seconds:02}")?;
            if fraction != 0 {
                let digits = format!("{fraction:06}");
                write!(f, ".{}", digits.trim_end_matches('0'))?;
            }
        }
        Ok(())
    }
}

impl<'a> FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut r = Reader::new(raw, "interval");
        let microseconds = r.i64()?;
        let days = r.i32()?;
        let months = r.i32()?;
        r.finish()?;
        Ok(Interval::new(months, days, microseconds))
    }

    accepts!(INTERVAL);
}

impl ToSql for Interval {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_i64(self.microseconds);
        out.put_i32(self.days);
        out.put_i32(self.months);
        Ok(IsNull::No)
    }

    accepts!(INTERVAL);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{encode, roundtrip};

    #[test]
    fn layout_is_micros_days_months() {
        let i = Interval::new(1, 2, 3);
        assert_eq!(
            encode(&i, &Type::INTERVAL),
            [0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1]
        );
        for i in [
            Interval::default(),
            Interval::new(-14, 3, -1),
            Interval::INFINITY,
            Interval::NEG_INFINITY,
        ] {
            assert_eq!(roundtrip(&i, &Type::INTERVAL), i);
        }
        assert!(Interval::from_sql(&Type::INTERVAL, &[0; 15]).is_err());
        assert!(Interval::from_sql(&Type::INTERVAL, &[0; 17]).is_err());
    }

    #[test]
    fn displays_like_postgres() {
        let cases = [
            (Interval::default(), "00:00:00"),
            (
                Interval::new(14, 3, 14_706_500_000),
                "1 year 2 mons 3 days 04:05:06.5",
            ),
            (Interval::new(1, 0, 0), "1 mon"),
            (Interval::new(-13, 0, 0), "-1 years -1 mons"),
            (Interval::new(0, -1, 3_600_000_000), "-1 days +01:00:00"),
            (Interval::new(0, 1, -1), "1 day -00:00:00.000001"),
            (Interval::new(0, 0, 100 * 3_600_000_000), "100:00:00"),
            (Interval::new(24, 1, 0), "2 years 1 day"),
            (Interval::INFINITY, "infinity"),
            (Interval::NEG_INFINITY, "-infinity"),
        ];
        for (i, text) in cases {
            assert_eq!(i.to_string(), text);
        }
    }

    #[test]
    #[cfg(feature = "with-chrono")]
    fn chrono_conversions() {
        let d = chrono::Duration::try_from(Interval::new(0, -2, 5)).unwrap();
        assert_eq!(d, chrono::Duration::microseconds(-2 * MICROS_PER_DAY + 5));
        assert_eq!(
            chrono::Duration::try_from(Interval::new(1, 0, 0)),
            Err(IntervalError::HasMonths)
        );
        assert_eq!(
            chrono::Duration::try_from(Interval::INFINITY),
            Err(IntervalError::Infinite)
        );
        assert_eq!(
            chrono::Duration::try_from(Interval::new(0, i32::MAX, i64::MAX)),
            Err(IntervalError::OutOfRange)
        );
        assert_eq!(
            Interval::try_from(chrono::Duration::MAX),
            Err(IntervalError::OutOfRange)
        );
        assert_eq!(
            Interval::try_from(chrono::Duration::milliseconds(-1500)),
            Ok(Interval::new(0, 0, -1_500_000))
        );
    }

    #[cfg(feature = "with-time")]
    #[test]
    fn time_conversions() {
        assert_eq!(
            time::Duration::try_from(Interval::new(0, 1, 1)),
            Ok(time::Duration::microseconds(MICROS_PER_DAY + 1))
        );
        assert_eq!(
            Interval::try_from(time::Duration::MAX),
            Err(IntervalError::OutOfRange)
        );
        assert_eq!(
            Interval::try_from(time::Duration::seconds(-3)),
            Ok(Interval::new(0, 0, -3_000_000))
        );
    }

    #[cfg(feature = "with-jiff")]
    #[test]
    fn jiff_conversions() {
        assert_eq!(
            jiff::SignedDuration::try_from(Interval::new(0, 1, 1)),
            Ok(jiff::SignedDuration::from_micros(MICROS_PER_DAY + 1))
        );
        assert_eq!(
            Interval::try_from(jiff::SignedDuration::MAX),
            Err(IntervalError::OutOfRange)
        );
        assert_eq!(
            jiff::SignedDuration::try_from(Interval::new(2, 0, 0)),
            Err(IntervalError::HasMonths)
        );
    }
}
