//! [`Money`]: PostgreSQL's `money`.

use std::fmt;

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{BoxError, Reader};

/// A PostgreSQL `money` value: a 64-bit amount in the currency's smallest
/// unit (cents with `lc_monetary = 'C'` or any two-decimal currency).
///
/// The server's text form depends on `lc_monetary` (`$12.34` in the `C`
/// locale); the binary form used here does not. [`Display`](fmt::Display)
/// prints the amount with two decimals and no currency symbol.
///
/// ```
/// use quarry::Money;
///
/// assert_eq!(Money(1234).to_string(), "12.34");
/// assert_eq!(Money(-5).to_string(), "-0.05");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

impl Money {
    /// The amount in the smallest unit (cents).
    pub fn minor_units(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl From<i64> for Money {
    fn from(cents: i64) -> Self {
        Money(cents)
    }
}

impl<'a> FromSql<'a> for Money {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut r = Reader::new(raw, "money");
        let cents = r.i64()?;
        r.finish()?;
        Ok(Money(cents))
    }

    accepts!(MONEY);
}

impl ToSql for Money {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_i64(self.0);
        Ok(IsNull::No)
    }

    accepts!(MONEY);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{encode, roundtrip};

    #[test]
    fn money_round_trips_and_displays() {
        assert_eq!(encode(&Money(-2), &Type::MONEY), (-2i64).to_be_bytes());
        for m in [
            Money(0),
            Money(1234),
            Money(-1),
            Money(i64::MIN),
            Money(i64::MAX),
        ] {
            assert_eq!(roundtrip(&m, &Type::MONEY), m);
        }
        assert_eq!(Money(0).to_string(), "0.00");
        assert_eq!(Money(-123_456).to_string(), "-1234.56");
        assert_eq!(Money(i64::MIN).to_string(), "-92233720368547758.08");
        assert!(!<Money as FromSql>::accepts(&Type::INT8));
        assert!(Money::from_sql(&Type::MONEY, &[0; 4]).is_err());
    }
}
