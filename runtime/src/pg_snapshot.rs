//! [`PgSnapshot`]: PostgreSQL's `pg_snapshot` and `txid_snapshot` (what
//! `pg_current_snapshot()` and `txid_current_snapshot()` return).

use std::fmt;

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::catalog::Xid8;
use crate::wire::{count, BoxError, Reader};

/// A PostgreSQL `pg_snapshot` (or its older twin `txid_snapshot`): which
/// transactions a snapshot sees as committed.
///
/// Transactions before `xmin` are finished; those from `xmax` on had not
/// started; in between, those listed in `xip` were in progress. The server
/// rejects (as a parameter) a snapshot whose `xmin` is 0 or above `xmax`,
/// or whose `xip` is not sorted within `xmin..xmax`.
///
/// [`Display`](fmt::Display) prints the server's text form.
///
/// ```
/// use quarry::{PgSnapshot, Xid8};
///
/// let snapshot = PgSnapshot { xmin: Xid8(10), xmax: Xid8(20), xip: vec![Xid8(10), Xid8(14)] };
/// assert_eq!(snapshot.to_string(), "10:20:10,14");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PgSnapshot {
    /// The earliest transaction still active.
    pub xmin: Xid8,
    /// The first transaction not yet started.
    pub xmax: Xid8,
    /// The transactions in progress, in ascending order.
    pub xip: Vec<Xid8>,
}

impl fmt::Display for PgSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.xmin, self.xmax)?;
        for (i, xid) in self.xip.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{xid}")?;
        }
        Ok(())
    }
}

impl<'a> FromSql<'a> for PgSnapshot {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let mut r = Reader::new(raw, "pg_snapshot");
        let nxip = r.len()?;
        let xmin = Xid8(r.u64()?);
        let xmax = Xid8(r.u64()?);
        let mut xip = Vec::with_capacity(nxip.min(raw.len() / 8));
        for _ in 0..nxip {
            xip.push(Xid8(r.u64()?));
        }
        r.finish()?;
        Ok(PgSnapshot { xmin, xmax, xip })
    }

    accepts!(PG_SNAPSHOT, TXID_SNAPSHOT);
}

impl ToSql for PgSnapshot {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.reserve(20 + 8 * self.xip.len());
        out.put_i32(count(self.xip.len())?);
        out.put_u64(self.xmin.0);
        out.put_u64(self.xmax.0);
        for xid in &self.xip {
            out.put_u64(xid.0);
        }
        Ok(IsNull::No)
    }

    accepts!(PG_SNAPSHOT, TXID_SNAPSHOT);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{encode, roundtrip};

    #[test]
    fn snapshot_is_a_count_then_bounds_then_the_list() {
        let snapshot = PgSnapshot {
            xmin: Xid8(3),
            xmax: Xid8(9),
            xip: vec![Xid8(4)],
        };
        let mut expected = vec![0, 0, 0, 1];
        expected.extend(3u64.to_be_bytes());
        expected.extend(9u64.to_be_bytes());
        expected.extend(4u64.to_be_bytes());
        for ty in [Type::PG_SNAPSHOT, Type::TXID_SNAPSHOT] {
            assert_eq!(encode(&snapshot, &ty), expected);
            assert_eq!(roundtrip(&snapshot, &ty), snapshot);
        }
        assert_eq!(snapshot.to_string(), "3:9:4");
        let ty = Type::PG_SNAPSHOT;
        assert!(PgSnapshot::from_sql(&ty, &expected[..27]).is_err());
        assert!(PgSnapshot::from_sql(&ty, &[&expected[..], &[0]].concat()).is_err());
        // A negative or huge count fails without allocating for it.
        let mut huge = expected.clone();
        huge[..4].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(PgSnapshot::from_sql(&ty, &huge).is_err());
        huge[..4].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(PgSnapshot::from_sql(&ty, &huge).is_err());
        assert!(!<PgSnapshot as ToSql>::accepts(&Type::INT8_ARRAY));
    }
}
