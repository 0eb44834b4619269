//! [`MaybeInfinite`]: `date`, `timestamp` and `timestamptz` values that may
//! be `infinity` or `-infinity`.

use bytes::{BufMut, BytesMut};
use postgres_types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{self, BoxError};

/// A `date`, `timestamp` or `timestamptz` that may be `'infinity'` or
/// `'-infinity'`, around any Rust type for that column (chrono's, or the
/// `time`/`jiff` ones with the `with-time`/`with-jiff` features).
///
/// Decoding an infinity into a plain `chrono::NaiveDate` (or
/// `NaiveDateTime`, `DateTime<Utc>`, …) is an error; wrapping the type in
/// `MaybeInfinite` reads it as [`MaybeInfinite::Infinity`] or
/// [`MaybeInfinite::NegInfinity`]. The variants are ordered as PostgreSQL
/// orders the values: `-infinity` < every value < `infinity`.
///
/// ```
/// use chrono::NaiveDate;
/// use quarry::MaybeInfinite;
///
/// let d = MaybeInfinite::Value(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
/// assert!(MaybeInfinite::NegInfinity < d && d < MaybeInfinite::Infinity);
/// assert_eq!(d.value(), NaiveDate::from_ymd_opt(2024, 2, 29).as_ref());
/// assert_eq!(MaybeInfinite::<NaiveDate>::Infinity.value(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MaybeInfinite<T> {
    /// `'-infinity'`, before every value.
    NegInfinity,
    /// A finite value.
    Value(T),
    /// `'infinity'`, after every value.
    Infinity,
}

impl<T> MaybeInfinite<T> {
    /// The finite value, if any.
    pub fn value(&self) -> Option<&T> {
        match self {
            MaybeInfinite::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The finite value, if any.
    pub fn into_value(self) -> Option<T> {
        match self {
            MaybeInfinite::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Whether this is a finite value.
    pub fn is_finite(&self) -> bool {
        matches!(self, MaybeInfinite::Value(_))
    }

    /// Applies `f` to the finite value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> MaybeInfinite<U> {
        match self {
            MaybeInfinite::NegInfinity => MaybeInfinite::NegInfinity,
            MaybeInfinite::Value(v) => MaybeInfinite::Value(f(v)),
            MaybeInfinite::Infinity => MaybeInfinite::Infinity,
        }
    }
}

impl<T> From<T> for MaybeInfinite<T> {
    fn from(value: T) -> Self {
        MaybeInfinite::Value(value)
    }
}

/// Which sentinel encoding a type uses: `date` is 4 bytes, timestamps 8.
fn is_date(ty: &Type) -> Option<bool> {
    let base = wire::base_type(ty);
    if *base == Type::DATE {
        Some(true)
    } else if *base == Type::TIMESTAMP || *base == Type::TIMESTAMPTZ {
        Some(false)
    } else {
        None
    }
}

fn unsupported(ty: &Type) -> BoxError {
    format!("infinity is not supported for `{}`", ty.name()).into()
}

impl<'a, T: FromSql<'a>> FromSql<'a> for MaybeInfinite<T> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let date = is_date(ty).ok_or_else(|| unsupported(ty))?;
        let sentinel = if date {
            <[u8; 4]>::try_from(raw)
                .ok()
                .map(i32::from_be_bytes)
                .and_then(|d| match d {
                    i32::MAX => Some(MaybeInfinite::Infinity),
                    i32::MIN => Some(MaybeInfinite::NegInfinity),
                    _ => None,
                })
        } else {
            <[u8; 8]>::try_from(raw)
                .ok()
                .map(i64::from_be_bytes)
                .and_then(|t| match t {
                    i64::MAX => Some(MaybeInfinite::Infinity),
                    i64::MIN => Some(MaybeInfinite::NegInfinity),
                    _ => None,
                })
        };
        match sentinel {
            Some(infinite) => Ok(infinite),
            None => T::from_sql(ty, raw).map(MaybeInfinite::Value),
        }
    }

    fn accepts(ty: &Type) -> bool {
        is_date(ty).is_some() && T::accepts(ty)
    }
}

impl<T: ToSql> ToSql for MaybeInfinite<T> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let date = is_date(ty).ok_or_else(|| unsupported(ty))?;
        match (self, date) {
            (MaybeInfinite::Value(v), _) => return v.to_sql(ty, out),
            (MaybeInfinite::Infinity, true) => out.put_i32(i32::MAX),
            (MaybeInfinite::NegInfinity, true) => out.put_i32(i32::MIN),
            (MaybeInfinite::Infinity, false) => out.put_i64(i64::MAX),
            (MaybeInfinite::NegInfinity, false) => out.put_i64(i64::MIN),
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        is_date(ty).is_some() && T::accepts(ty)
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

    use super::*;
    use crate::types_test::{encode, roundtrip};

    #[test]
    fn sentinels() {
        type D = MaybeInfinite<NaiveDate>;
        assert_eq!(encode(&D::Infinity, &Type::DATE), i32::MAX.to_be_bytes());
        assert_eq!(encode(&D::NegInfinity, &Type::DATE), i32::MIN.to_be_bytes());
        type Ts = MaybeInfinite<NaiveDateTime>;
        assert_eq!(
            encode(&Ts::Infinity, &Type::TIMESTAMP),
            i64::MAX.to_be_bytes()
        );
        type Tz = MaybeInfinite<DateTime<Utc>>;
        assert_eq!(
            encode(&Tz::NegInfinity, &Type::TIMESTAMPTZ),
            i64::MIN.to_be_bytes()
        );
        for v in [D::Infinity, D::NegInfinity] {
            assert_eq!(roundtrip(&v, &Type::DATE), v);
        }
        for v in [Tz::Infinity, Tz::NegInfinity] {
            assert_eq!(roundtrip(&v, &Type::TIMESTAMPTZ), v);
        }
    }

    #[test]
    fn finite_values_delegate() {
        let Some(day) = NaiveDate::from_ymd_opt(1999, 12, 31) else {
            panic!("date")
        };
        let d = MaybeInfinite::Value(day);
        assert_eq!(encode(&d, &Type::DATE), (-1i32).to_be_bytes());
        assert_eq!(roundtrip(&d, &Type::DATE), d);
        let Some(ts) = day.and_hms_micro_opt(23, 59, 59, 1) else {
            panic!("timestamp")
        };
        let ts = MaybeInfinite::Value(ts);
        assert_eq!(roundtrip(&ts, &Type::TIMESTAMP), ts);
        let tz = MaybeInfinite::Value(DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(roundtrip(&tz, &Type::TIMESTAMPTZ), tz);
    }

    #[test]
    fn accepts_only_date_and_timestamps() {
        assert!(<MaybeInfinite<NaiveDate> as FromSql>::accepts(&Type::DATE));
        assert!(!<MaybeInfinite<NaiveDate> as FromSql>::accepts(
            &Type::TIMESTAMP
        ));
        assert!(!<MaybeInfinite<i64> as FromSql>::accepts(&Type::INT8));
        assert!(!<MaybeInfinite<i64> as ToSql>::accepts(&Type::INT8));
        assert!(MaybeInfinite::<i64>::from_sql(&Type::INT8, &[0; 8]).is_err());
    }

    #[test]
    fn plain_chrono_rejects_infinity_without_panicking() {
        assert!(NaiveDate::from_sql(&Type::DATE, &i32::MAX.to_be_bytes()).is_err());
        assert!(NaiveDate::from_sql(&Type::DATE, &i32::MIN.to_be_bytes()).is_err());
        assert!(NaiveDateTime::from_sql(&Type::TIMESTAMP, &i64::MAX.to_be_bytes()).is_err());
        assert!(DateTime::<Utc>::from_sql(&Type::TIMESTAMPTZ, &i64::MIN.to_be_bytes()).is_err());
    }
}
