//! [`MacAddr8`]: PostgreSQL's `macaddr8` (EUI-64).

use std::fmt;

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{BoxError, Reader};

/// A PostgreSQL `macaddr8`: an 8-byte (EUI-64) hardware address. (For
/// 6-byte `macaddr` use [`eui48::MacAddress`](crate::eui48::MacAddress).)
///
/// A 6-byte address cast to `macaddr8` gets `ff:fe` in the middle.
/// [`Display`](fmt::Display) prints the server's text form.
///
/// ```
/// use quarry::MacAddr8;
///
/// let mac = MacAddr8([0x08, 0x00, 0x2b, 0x01, 0x02, 0x03, 0x04, 0x05]);
/// assert_eq!(mac.to_string(), "08:00:2b:01:02:03:04:05");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr8(pub [u8; 8]);

impl From<[u8; 8]> for MacAddr8 {
    fn from(bytes: [u8; 8]) -> Self {
        MacAddr8(bytes)
    }
}

impl fmt::Display for MacAddr8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl<'a> FromSql<'a> for MacAddr8 {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut r = Reader::new(raw, "macaddr8");
        let mut bytes = [0; 8];
        bytes.copy_from_slice(r.bytes(8)?);
        r.finish()?;
        Ok(MacAddr8(bytes))
    }

    accepts!(MACADDR8);
}

impl ToSql for MacAddr8 {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_slice(&self.0);
        Ok(IsNull::No)
    }

    accepts!(MACADDR8);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{encode, roundtrip};

    #[test]
    fn macaddr8_round_trips() {
        let mac = MacAddr8([1, 2, 3, 4, 5, 6, 7, 0xff]);
        assert_eq!(encode(&mac, &Type::MACADDR8), mac.0);
        assert_eq!(roundtrip(&mac, &Type::MACADDR8), mac);
        assert_eq!(mac.to_string(), "01:02:03:04:05:06:07:ff");
        assert!(MacAddr8::from_sql(&Type::MACADDR8, &[0; 6]).is_err());
        assert!(MacAddr8::from_sql(&Type::MACADDR8, &[0; 9]).is_err());
        assert!(!<MacAddr8 as ToSql>::accepts(&Type::MACADDR));
    }
}
