//! [`Xml`]: PostgreSQL's `xml`.

use std::fmt;

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::BoxError;

/// A PostgreSQL `xml` value, as its text (the server checks that it is
/// well-formed when it receives it).
///
/// ```
/// use quarry::Xml;
///
/// let doc = Xml::from("<a href=\"x\">link</a>");
/// assert_eq!(doc.as_str(), "<a href=\"x\">link</a>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Xml(pub String);

impl Xml {
    /// The XML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The XML text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<String> for Xml {
    fn from(text: String) -> Self {
        Xml(text)
    }
}

impl From<&str> for Xml {
    fn from(text: &str) -> Self {
        Xml(text.to_owned())
    }
}

impl fmt::Display for Xml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> FromSql<'a> for Xml {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Xml(std::str::from_utf8(raw)?.to_owned()))
    }

    accepts!(XML);
}

impl ToSql for Xml {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    accepts!(XML);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::roundtrip;

    #[test]
    fn xml_round_trips() {
        let doc = Xml::from("<p>héllo &amp; <b>wörld</b></p>");
        assert_eq!(roundtrip(&doc, &Type::XML), doc);
        assert!(Xml::from_sql(&Type::XML, &[0xff]).is_err());
        assert!(!<Xml as FromSql>::accepts(&Type::TEXT));
    }
}
