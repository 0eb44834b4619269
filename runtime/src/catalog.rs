//! PostgreSQL's system identifier types: [`Tid`] (`tid`), [`Cid`] (`cid`),
//! [`Xid`] (`xid`), [`Xid8`] (`xid8`) and [`RegOid`] (`regclass`, `regtype`
//! and the other `reg*` OID aliases), in the binary wire format.

use std::fmt;

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{BoxError, Reader};

/// A PostgreSQL `tid`: a tuple identifier, the physical location of a row
/// version (`ctid`): a block number and an item offset within the block.
///
/// [`Display`](fmt::Display) prints the server's text form.
///
/// ```
/// use quarry::Tid;
///
/// let tid = Tid { block: 0, offset: 1 };
/// assert_eq!(tid.to_string(), "(0,1)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tid {
    /// The block (page) number.
    pub block: u32,
    /// The item (line pointer) number within the block, from 1.
    pub offset: u16,
}

impl fmt::Display for Tid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", self.block, self.offset)
    }
}

impl<'a> FromSql<'a> for Tid {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut r = Reader::new(raw, "tid");
        let tid = Tid {
            block: r.u32()?,
            offset: r.u16()?,
        };
        r.finish()?;
        Ok(tid)
    }

    accepts!(TID);
}

impl ToSql for Tid {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_u32(self.block);
        out.put_u16(self.offset);
        Ok(IsNull::No)
    }

    accepts!(TID);
    to_sql_checked!();
}

/// A newtype over an unsigned integer sent as the integer itself.
macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident($int:ty), $pg:literal, $read:ident, $put:ident, $($ty:ident),+) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub $int);

        impl From<$int> for $name {
            fn from(value: $int) -> Self {
                $name(value)
            }
        }

        impl From<$name> for $int {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl<'a> FromSql<'a> for $name {
            fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
                let mut r = Reader::new(raw, $pg);
                let value = r.$read()?;
                r.finish()?;
                Ok($name(value))
            }

            accepts!($($ty),+);
        }

        impl ToSql for $name {
            fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
                out.$put(self.0);
                Ok(IsNull::No)
            }

            accepts!($($ty),+);
            to_sql_checked!();
        }
    };
}

id_newtype!(
    /// A PostgreSQL `cid`: a command identifier within a transaction (the
    /// `cmin`/`cmax` system columns).
    ///
    /// ```
    /// assert_eq!(quarry::Cid(3).to_string(), "3");
    /// ```
    Cid(u32), "cid", u32, put_u32, CID
);

id_newtype!(
    /// A PostgreSQL `xid`: a 32-bit transaction ID (the `xmin`/`xmax` system
    /// columns, `age(…)`'s argument), which wraps around. For the 64-bit
    /// form (`pg_current_xact_id()`) see [`Xid8`].
    ///
    /// ```
    /// assert_eq!(quarry::Xid(742).to_string(), "742");
    /// ```
    Xid(u32), "xid", u32, put_u32, XID
);

id_newtype!(
    /// A PostgreSQL `xid8`: a 64-bit transaction ID that never wraps around
    /// (`pg_current_xact_id()`, the members of a
    /// [`PgSnapshot`](crate::PgSnapshot)).
    ///
    /// ```
    /// assert_eq!(quarry::Xid8(1 << 32).to_string(), "4294967296");
    /// ```
    Xid8(u64), "xid8", u64, put_u64, XID8
);

id_newtype!(
    /// The OID behind any of PostgreSQL's OID alias types: `regclass`,
    /// `regproc`, `regprocedure`, `regoper`, `regoperator`, `regtype`,
    /// `regconfig`, `regdictionary`, `regnamespace`, `regrole` and
    /// `regcollation`.
    ///
    /// Their binary form is the bare OID: the name the server prints
    /// (`'users'::regclass` as `users`) is only their text form. One type
    /// stands for all of them, as the OID means nothing without the catalog
    /// it points into; the column's or parameter's type says which. To get
    /// the name, select `oid::regclass::text`.
    ///
    /// ```
    /// let pg_class = quarry::RegOid(1259);
    /// assert_eq!(u32::from(pg_class), 1259);
    /// ```
    RegOid(u32),
    "reg*",
    u32,
    put_u32,
    REGCLASS,
    REGPROC,
    REGPROCEDURE,
    REGOPER,
    REGOPERATOR,
    REGTYPE,
    REGCONFIG,
    REGDICTIONARY,
    REGNAMESPACE,
    REGROLE,
    REGCOLLATION
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{encode, roundtrip};

    #[test]
    fn tid_is_a_block_and_an_offset() {
        let tid = Tid {
            block: 0x0102_0304,
            offset: 0x0506,
        };
        assert_eq!(encode(&tid, &Type::TID), [1, 2, 3, 4, 5, 6]);
        assert_eq!(roundtrip(&tid, &Type::TID), tid);
        assert_eq!(tid.to_string(), "(16909060,1286)");
        assert!(Tid::from_sql(&Type::TID, &[0; 5]).is_err());
        assert!(Tid::from_sql(&Type::TID, &[0; 7]).is_err());
        assert!(!<Tid as ToSql>::accepts(&Type::INT8));
    }

    #[test]
    fn transaction_and_command_ids_are_their_integers() {
        assert_eq!(encode(&Xid(u32::MAX), &Type::XID), [0xff; 4]);
        assert_eq!(encode(&Cid(1), &Type::CID), [0, 0, 0, 1]);
        assert_eq!(
            encode(&Xid8(1 << 32), &Type::XID8),
            [0, 0, 0, 1, 0, 0, 0, 0]
        );
        assert_eq!(roundtrip(&Xid8(u64::MAX), &Type::XID8), Xid8(u64::MAX));
        assert_eq!(roundtrip(&Cid(7), &Type::CID), Cid(7));
        assert!(Xid::from_sql(&Type::XID, &[0; 8]).is_err());
        assert!(Xid8::from_sql(&Type::XID8, &[0; 4]).is_err());
        // Each accepts exactly its own type.
        assert!(!<Xid as FromSql>::accepts(&Type::CID));
        assert!(!<Cid as FromSql>::accepts(&Type::XID));
        assert!(!<Xid8 as ToSql>::accepts(&Type::INT8));
        assert!(!<Xid as ToSql>::accepts(&Type::OID));
    }

    #[test]
    fn reg_oid_accepts_every_oid_alias_type_and_nothing_else() {
        for ty in [
            Type::REGCLASS,
            Type::REGPROC,
            Type::REGPROCEDURE,
            Type::REGOPER,
            Type::REGOPERATOR,
            Type::REGTYPE,
            Type::REGCONFIG,
            Type::REGDICTIONARY,
            Type::REGNAMESPACE,
            Type::REGROLE,
            Type::REGCOLLATION,
        ] {
            assert_eq!(encode(&RegOid(1259), &ty), 1259u32.to_be_bytes());
            assert_eq!(roundtrip(&RegOid(1259), &ty), RegOid(1259));
        }
        assert!(!<RegOid as FromSql>::accepts(&Type::OID));
        assert!(!<RegOid as ToSql>::accepts(&Type::INT4));
        assert!(RegOid::from_sql(&Type::REGCLASS, &[0; 3]).is_err());
    }
}
