//! [`TimeTz`]: PostgreSQL's `timetz` (`time with time zone`).

use std::fmt;

use bytes::{BufMut, BytesMut};
use chrono::{FixedOffset, NaiveTime, Timelike};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{BoxError, Reader};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A PostgreSQL `timetz`: a time of day with a fixed UTC offset.
///
/// On the wire the offset is in seconds *west* of UTC; here it is a
/// [`chrono::FixedOffset`] (east-positive, as usual). The server keeps
/// microseconds: sub-microsecond precision is truncated when sending.
/// PostgreSQL's `24:00:00` has no [`chrono::NaiveTime`] and is a decode
/// error. Equality is field by field: `12:00+01` and `11:00+00` differ,
/// as they do for `=` on `timetz`. [`Display`](fmt::Display) prints the
/// server's text form.
///
/// ```
/// use chrono::{FixedOffset, NaiveTime};
/// use quarry::TimeTz;
///
/// let t = TimeTz::new(
///     NaiveTime::from_hms_micro_opt(12, 34, 56, 789_000).unwrap(),
///     FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap(),
/// );
/// assert_eq!(t.to_string(), "12:34:56.789+05:30");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeTz {
    /// The local time of day.
    pub time: NaiveTime,
    /// The offset from UTC.
    pub offset: FixedOffset,
}

impl TimeTz {
    /// A time of day at an offset from UTC.
    pub fn new(time: NaiveTime, offset: FixedOffset) -> Self {
        TimeTz { time, offset }
    }
}

fn micros_since_midnight(time: NaiveTime) -> i64 {
    // A leap second's nanoseconds (>= 1e9) count as the next second.
    i64::from(time.num_seconds_from_midnight()) * 1_000_000 + i64::from(time.nanosecond()) / 1000
}

impl fmt::Display for TimeTz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = micros_since_midnight(self.time);
        let secs = micros / 1_000_000;
        write!(
            f,
            "{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        let fraction = micros % 1_000_000;
        if fraction != 0 {
            let digits = format!("{fraction:06}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        let east = self.offset.local_minus_utc();
        let sign = if east >= 0 { '+' } else { '-' };
        let abs = east.unsigned_abs();
        let (hours, minutes, seconds) = (abs / 3600, abs / 60 % 60, abs % 60);
        write!(f, "{sign}{hours:02}")?;
        if seconds != 0 {
            write!(f, ":{minutes:02}:{seconds:02}")
        } else if minutes != 0 {
            write!(f, ":{minutes:02}")
        } else {
            Ok(())
        }
    }
}

impl<'a> FromSql<'a> for TimeTz {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut r = Reader::new(raw, "timetz");
        let micros = r.i64()?;
        let west = r.i32()?;
        r.finish()?;
        if !(0..MICROS_PER_DAY).contains(&micros) {
            return Err(format!(
                "timetz time of day {micros}us is out of range for chrono::NaiveTime \
                 (24:00:00 has no NaiveTime)"
            )
            .into());
        }
        let secs = u32::try_from(micros / 1_000_000)?;
        let nanos = u32::try_from(micros % 1_000_000)? * 1000;
        let time = NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
            .ok_or("timetz time of day out of range")?;
        let offset = west
            .checked_neg()
            .and_then(FixedOffset::east_opt)
            .ok_or_else(|| format!("timetz offset of {west}s west of UTC is out of range"))?;
        Ok(TimeTz { time, offset })
    }

    accepts!(TIMETZ);
}

impl ToSql for TimeTz {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_i64(micros_since_midnight(self.time));
        out.put_i32(-self.offset.local_minus_utc());
        Ok(IsNull::No)
    }

    accepts!(TIMETZ);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{encode, roundtrip};

    fn t(h: u32, m: u32, s: u32, us: u32, east: i32) -> TimeTz {
        match (
            NaiveTime::from_hms_micro_opt(h, m, s, us),
            FixedOffset::east_opt(east),
        ) {
            (Some(time), Some(offset)) => TimeTz::new(time, offset),
            _ => panic!("bad test time"),
        }
    }

    #[test]
    fn offset_is_seconds_west() {
        let v = t(0, 0, 1, 0, 3600);
        let mut expected = 1_000_000i64.to_be_bytes().to_vec();
        expected.extend_from_slice(&(-3600i32).to_be_bytes());
        assert_eq!(encode(&v, &Type::TIMETZ), expected);
    }

    #[test]
    fn round_trips_and_displays() {
        for (v, text) in [
            (t(0, 0, 0, 0, 0), "00:00:00+00"),
            (t(23, 59, 59, 999_999, -(8 * 3600)), "23:59:59.999999-08"),
            (
                t(12, 34, 56, 789_000, 5 * 3600 + 30 * 60),
                "12:34:56.789+05:30",
            ),
            (t(1, 2, 3, 0, -(3600 + 2 * 60 + 3)), "01:02:03-01:02:03"),
        ] {
            assert_eq!(roundtrip(&v, &Type::TIMETZ), v);
            assert_eq!(v.to_string(), text);
        }
    }

    #[test]
    fn out_of_range_is_an_error() {
        let raw = |micros: i64, west: i32| {
            let mut raw = micros.to_be_bytes().to_vec();
            raw.extend_from_slice(&west.to_be_bytes());
            raw
        };
        assert!(TimeTz::from_sql(&Type::TIMETZ, &raw(MICROS_PER_DAY, 0)).is_err());
        assert!(TimeTz::from_sql(&Type::TIMETZ, &raw(-1, 0)).is_err());
        assert!(TimeTz::from_sql(&Type::TIMETZ, &raw(0, 86_400)).is_err());
        assert!(TimeTz::from_sql(&Type::TIMETZ, &raw(0, i32::MIN)).is_err());
        assert!(TimeTz::from_sql(&Type::TIMETZ, &raw(0, 0)[..11]).is_err());
    }
}
