//! [`RefCursor`] and [`JsonPath`]: PostgreSQL's `refcursor` and `jsonpath`,
//! two types whose binary form is their text (after a version byte, for
//! `jsonpath`).

use std::fmt;

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{BoxError, Reader};

/// A PostgreSQL `refcursor`: the name of a cursor, as a function that opens
/// one returns it (`FETCH ALL FROM "<name>"` reads it, in the same
/// transaction).
///
/// ```
/// let cursor = quarry::RefCursor("<unnamed portal 1>".to_owned());
/// assert_eq!(cursor.to_string(), "<unnamed portal 1>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RefCursor(pub String);

/// A PostgreSQL `jsonpath` (SQL/JSON path expression), as its text.
///
/// The server parses a parameter and rejects an invalid path; a path read
/// back is printed the server's way (`$."a"[*]` for `$.a[*]`).
///
/// ```
/// let path = quarry::JsonPath("$.a[*] ? (@ > 1)".to_owned());
/// assert_eq!(path.to_string(), "$.a[*] ? (@ > 1)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct JsonPath(pub String);

/// The version byte before a `jsonpath`'s text.
const JSONPATH_VERSION: u8 = 1;

impl fmt::Display for RefCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> FromSql<'a> for RefCursor {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(RefCursor(std::str::from_utf8(raw)?.to_owned()))
    }

    accepts!(REFCURSOR);
}

impl ToSql for RefCursor {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    accepts!(REFCURSOR);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for JsonPath {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut r = Reader::new(raw, "jsonpath");
        let version = r.u8()?;
        if version != JSONPATH_VERSION {
            return Err(format!("unsupported jsonpath version {version}").into());
        }
        Ok(JsonPath(
            std::str::from_utf8(raw.get(1..).unwrap_or_default())?.to_owned(),
        ))
    }

    accepts!(JSONPATH);
}

impl ToSql for JsonPath {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.reserve(1 + self.0.len());
        out.put_u8(JSONPATH_VERSION);
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    accepts!(JSONPATH);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{encode, roundtrip};

    #[test]
    fn refcursor_is_its_name() {
        let cursor = RefCursor("c1".to_owned());
        assert_eq!(encode(&cursor, &Type::REFCURSOR), b"c1");
        assert_eq!(roundtrip(&cursor, &Type::REFCURSOR), cursor);
        assert!(RefCursor::from_sql(&Type::REFCURSOR, &[0xff]).is_err());
        assert!(!<RefCursor as ToSql>::accepts(&Type::TEXT));
    }

    #[test]
    fn jsonpath_is_a_version_byte_then_its_text() {
        let path = JsonPath("$.a".to_owned());
        assert_eq!(encode(&path, &Type::JSONPATH), b"\x01$.a");
        assert_eq!(roundtrip(&path, &Type::JSONPATH), path);
        assert!(JsonPath::from_sql(&Type::JSONPATH, b"").is_err());
        assert!(JsonPath::from_sql(&Type::JSONPATH, b"\x02$.a").is_err());
        assert!(!<JsonPath as FromSql>::accepts(&Type::JSONB));
    }
}
