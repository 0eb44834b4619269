//! [`OidVector`] and [`Int2Vector`]: PostgreSQL's `oidvector` and
//! `int2vector`, the zero-based one-dimensional arrays of the system
//! catalogs (`pg_proc.proargtypes`, `pg_index.indkey`).

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{count, BoxError, Reader};

/// A PostgreSQL `oidvector`: a list of OIDs, such as a function's argument
/// types (`pg_proc.proargtypes`).
///
/// On the wire it is an array of `oid` whose lower bound is 0, which a plain
/// `Vec<u32>` cannot send (it writes 1, which the server rejects).
/// PostgreSQL cannot receive an empty `oidvector` in binary form (it reads
/// back as a zero-dimensional array): an empty one is sent, and the server
/// answers with an error; empty ones read from the server decode fine.
///
/// ```
/// let args = quarry::OidVector(vec![23, 25]);
/// assert_eq!(args.0.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OidVector(pub Vec<u32>);

/// A PostgreSQL `int2vector`: a list of `int2`, such as an index's column
/// numbers (`pg_index.indkey`). The wire format and its limits are those of
/// [`OidVector`], with `int2` elements.
///
/// ```
/// let columns = quarry::Int2Vector(vec![1, 3]);
/// assert_eq!(columns.0, [1, 3]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Int2Vector(pub Vec<i16>);

impl From<Vec<u32>> for OidVector {
    fn from(oids: Vec<u32>) -> Self {
        OidVector(oids)
    }
}

impl From<Vec<i16>> for Int2Vector {
    fn from(values: Vec<i16>) -> Self {
        Int2Vector(values)
    }
}

/// Reads a one-dimensional array without NULLs whose elements are `size`
/// bytes each, of element type `element` (any lower bound).
fn read_vector<'a>(
    raw: &'a [u8],
    what: &'static str,
    element: &Type,
    size: usize,
) -> Result<Vec<&'a [u8]>, BoxError> {
    let mut r = Reader::new(raw, what);
    let ndim = r.i32()?;
    let _has_nulls = r.i32()?;
    let oid = r.u32()?;
    if oid != element.oid() {
        return Err(format!("invalid {what} value: element type {oid}").into());
    }
    let len = match ndim {
        0 => 0,
        1 => {
            let len = r.len()?;
            let _lower_bound = r.i32()?;
            len
        }
        n => return Err(format!("invalid {what} value: {n} dimensions").into()),
    };
    let mut elements = Vec::with_capacity(len.min(raw.len() / 4));
    for _ in 0..len {
        if r.i32()? != count(size)? {
            return Err(format!("invalid {what} value: NULL or mis-sized element").into());
        }
        elements.push(r.bytes(size)?);
    }
    r.finish()?;
    Ok(elements)
}

/// Writes the header of a one-dimensional, zero-based array of `len`
/// elements of type `element`, each `size` bytes.
fn write_header(
    out: &mut BytesMut,
    element: &Type,
    len: usize,
    size: usize,
) -> Result<(), BoxError> {
    out.put_i32(1);
    out.put_i32(0);
    out.put_u32(element.oid());
    out.put_i32(count(len)?);
    out.put_i32(0);
    out.reserve(len * (4 + size));
    Ok(())
}

impl<'a> FromSql<'a> for OidVector {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let elements = read_vector(raw, "oidvector", &Type::OID, 4)?;
        let mut oids = Vec::with_capacity(elements.len());
        for bytes in elements {
            oids.push(Reader::new(bytes, "oidvector").u32()?);
        }
        Ok(OidVector(oids))
    }

    accepts!(OID_VECTOR);
}

impl ToSql for OidVector {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        write_header(out, &Type::OID, self.0.len(), 4)?;
        for oid in &self.0 {
            out.put_i32(4);
            out.put_u32(*oid);
        }
        Ok(IsNull::No)
    }

    accepts!(OID_VECTOR);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for Int2Vector {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let elements = read_vector(raw, "int2vector", &Type::INT2, 2)?;
        let mut values = Vec::with_capacity(elements.len());
        for bytes in elements {
            values.push(Reader::new(bytes, "int2vector").u16()? as i16);
        }
        Ok(Int2Vector(values))
    }

    accepts!(INT2_VECTOR);
}

impl ToSql for Int2Vector {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        write_header(out, &Type::INT2, self.0.len(), 2)?;
        for value in &self.0 {
            out.put_i32(2);
            out.put_i16(*value);
        }
        Ok(IsNull::No)
    }

    accepts!(INT2_VECTOR);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{decode, encode, roundtrip};

    #[test]
    fn oidvector_is_a_zero_based_array_of_oid() {
        let v = OidVector(vec![23, 0xffff_ffff]);
        let mut expected = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 26, 0, 0, 0, 2, 0, 0, 0, 0];
        expected.extend([0, 0, 0, 4, 0, 0, 0, 23, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(encode(&v, &Type::OID_VECTOR), expected);
        assert_eq!(roundtrip(&v, &Type::OID_VECTOR), v);
        // A zero-dimensional array (an empty one) and other lower bounds decode.
        let empty = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 26];
        assert_eq!(
            decode::<OidVector>(&empty, &Type::OID_VECTOR),
            OidVector(vec![])
        );
        expected[19] = 1;
        assert_eq!(decode::<OidVector>(&expected, &Type::OID_VECTOR), v);
        assert!(!<OidVector as ToSql>::accepts(&Type::OID_ARRAY));
        assert!(!<OidVector as FromSql>::accepts(&Type::INT2_VECTOR));
    }

    #[test]
    fn int2vector_is_a_zero_based_array_of_int2() {
        let v = Int2Vector(vec![1, -3]);
        let mut expected = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 21, 0, 0, 0, 2, 0, 0, 0, 0];
        expected.extend([0, 0, 0, 2, 0, 1, 0, 0, 0, 2, 0xff, 0xfd]);
        assert_eq!(encode(&v, &Type::INT2_VECTOR), expected);
        assert_eq!(roundtrip(&v, &Type::INT2_VECTOR), v);
        assert!(!<Int2Vector as ToSql>::accepts(&Type::INT2_ARRAY));
    }

    #[test]
    fn malformed_vectors_are_errors() {
        let ty = Type::INT2_VECTOR;
        let good = encode(&Int2Vector(vec![5]), &ty);
        // Truncated, trailing bytes, wrong element type, two dimensions, NULL element.
        assert!(Int2Vector::from_sql(&ty, &good[..good.len() - 1]).is_err());
        assert!(Int2Vector::from_sql(&ty, &[&good[..], &[0]].concat()).is_err());
        let mut wrong = good.clone();
        wrong[11] = 23;
        assert!(Int2Vector::from_sql(&ty, &wrong).is_err());
        let mut two = good.clone();
        two[3] = 2;
        assert!(Int2Vector::from_sql(&ty, &two).is_err());
        let mut null = good[..20].to_vec();
        null.extend([0xff, 0xff, 0xff, 0xff]);
        assert!(Int2Vector::from_sql(&ty, &null).is_err());
        // A huge count with no data fails without allocating for it.
        let mut huge = encode(&OidVector(vec![]), &Type::OID_VECTOR);
        huge[12..16].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(OidVector::from_sql(&Type::OID_VECTOR, &huge).is_err());
    }
}
