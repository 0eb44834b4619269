//! Encode/decode helpers for the unit tests of the runtime's types.

use std::fmt::Debug;

use bytes::BytesMut;
use postgres_types::{FromSql, IsNull, ToSql, Type};

/// Encodes `value` as `ty` (checking `accepts`), panicking on failure.
pub(crate) fn encode<T: ToSql + Debug>(value: &T, ty: &Type) -> Vec<u8> {
    let mut out = BytesMut::new();
    match value.to_sql_checked(ty, &mut out) {
        Ok(IsNull::No) => out.to_vec(),
        Ok(IsNull::Yes) => panic!("{value:?} encoded as NULL"),
        Err(e) => panic!("encode {value:?} as {ty}: {e}"),
    }
}

/// Decodes `raw` as `ty`, checking `accepts` first.
pub(crate) fn decode<T: for<'a> FromSql<'a>>(raw: &[u8], ty: &Type) -> T {
    assert!(T::accepts(ty), "does not accept {ty}");
    match T::from_sql(ty, raw) {
        Ok(v) => v,
        Err(e) => panic!("decode {raw:?} as {ty}: {e}"),
    }
}

/// Encodes then decodes `value` as `ty`.
pub(crate) fn roundtrip<T>(value: &T, ty: &Type) -> T
where
    T: ToSql + Debug + for<'a> FromSql<'a>,
{
    decode(&encode(value, ty), ty)
}
