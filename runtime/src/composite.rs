//! Reading and writing composite (row) values in PostgreSQL's binary format,
//! for the structs the generator emits for composite types.
//!
//! The format: a 4-byte field count, then per field its type OID (4 bytes), a
//! 4-byte length (-1 for NULL) and that many bytes of the field's own binary
//! format. Field types come from the `Type` PostgreSQL described, so nested
//! composites, arrays and enums in fields decode with their own impls.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use postgres_types::{FromSql, IsNull, Kind, ToSql, Type};

type BoxError = Box<dyn Error + Sync + Send>;

fn composite_fields(ty: &Type) -> Result<&[postgres_types::Field], BoxError> {
    match ty.kind() {
        Kind::Composite(fields) => Ok(fields),
        _ => Err(format!("`{}` is not a composite type", ty.name()).into()),
    }
}

fn read_i32(raw: &mut &[u8]) -> Result<i32, BoxError> {
    let (head, rest) = raw
        .split_first_chunk::<4>()
        .ok_or("composite value ends early")?;
    *raw = rest;
    Ok(i32::from_be_bytes(*head))
}

/// Reads the fields of one composite value, in order.
#[derive(Debug)]
pub struct CompositeReader<'a> {
    fields: &'a [postgres_types::Field],
    raw: &'a [u8],
    next: usize,
}

impl<'a> CompositeReader<'a> {
    /// Starts reading `raw`, a value of composite type `ty`.
    pub fn new(ty: &'a Type, mut raw: &'a [u8]) -> Result<Self, BoxError> {
        let fields = composite_fields(ty)?;
        let count = read_i32(&mut raw)?;
        if usize::try_from(count).ok() != Some(fields.len()) {
            return Err(format!(
                "composite `{}` has {} fields, the value has {count}",
                ty.name(),
                fields.len()
            )
            .into());
        }
        Ok(Self {
            fields,
            raw,
            next: 0,
        })
    }

    /// Reads the next field (named `name` for messages) as `Option<T>`.
    pub fn read<T: FromSql<'a>>(&mut self, name: &str) -> Result<Option<T>, BoxError> {
        let field = self
            .fields
            .get(self.next)
            .ok_or_else(|| format!("composite has no field `{name}`"))?;
        self.next += 1;
        let _oid = read_i32(&mut self.raw)?;
        let len = read_i32(&mut self.raw)?;
        let value = if len < 0 {
            None
        } else {
            let len = usize::try_from(len)?;
            if self.raw.len() < len {
                return Err(format!("composite field `{name}` ends early").into());
            }
            let (value, rest) = self.raw.split_at(len);
            self.raw = rest;
            Some(value)
        };
        let field_type = without_domains(field.type_());
        if !<Option<T> as FromSql>::accepts(&field_type) {
            return Err(format!(
                "composite field `{name}` has type `{}`, which the Rust field does not accept",
                field.type_().name()
            )
            .into());
        }
        <Option<T> as FromSql>::from_sql_nullable(&field_type, value)
            .map_err(|e| format!("composite field `{name}`: {e}").into())
    }
}

/// Writes the fields of one composite value, in order.
#[derive(Debug)]
pub struct CompositeWriter<'a> {
    fields: &'a [postgres_types::Field],
    out: &'a mut BytesMut,
    next: usize,
}

impl<'a> CompositeWriter<'a> {
    /// Starts writing a value of composite type `ty` with `count` fields.
    pub fn new(ty: &'a Type, out: &'a mut BytesMut, count: usize) -> Result<Self, BoxError> {
        let fields = composite_fields(ty)?;
        if fields.len() != count {
            return Err(format!(
                "composite `{}` has {} fields, the Rust struct has {count}",
                ty.name(),
                fields.len()
            )
            .into());
        }
        out.put_i32(i32::try_from(count)?);
        Ok(Self {
            fields,
            out,
            next: 0,
        })
    }

    /// Writes the next field.
    pub fn write<T: ToSql>(&mut self, value: &Option<T>) -> Result<(), BoxError> {
        let field = self
            .fields
            .get(self.next)
            .ok_or("too many composite fields")?;
        self.next += 1;
        self.out.put_u32(field.type_().oid());
        let at = self.out.len();
        self.out.put_i32(0);
        match value.to_sql_checked(&without_domains(field.type_()), self.out)? {
            IsNull::Yes => self.out[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes()),
            IsNull::No => {
                let len = i32::try_from(self.out.len() - at - 4)?;
                self.out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
        Ok(())
    }
}

/// `ty` with domains replaced by their base types — at the top and as array
/// elements — so a Rust type for the base type accepts it. (PostgreSQL sends
/// a domain's values in its base type's format.)
pub(crate) fn without_domains(ty: &Type) -> std::borrow::Cow<'_, Type> {
    use std::borrow::Cow;
    match ty.kind() {
        Kind::Domain(base) => without_domains(base),
        Kind::Array(element) if matches!(element.kind(), Kind::Domain(_)) => Cow::Owned(Type::new(
            ty.name().to_owned(),
            ty.oid(),
            Kind::Array(without_domains(element).into_owned()),
            ty.schema().to_owned(),
        )),
        _ => Cow::Borrowed(ty),
    }
}

/// A value read or written as its domain's base type: wraps a Rust type for
/// the base type so it accepts a domain, or an array of a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct BaseType<T>(pub T);

impl<'a, T: FromSql<'a>> FromSql<'a> for BaseType<T> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        T::from_sql(&without_domains(ty), raw).map(BaseType)
    }

    fn from_sql_null(ty: &Type) -> Result<Self, BoxError> {
        T::from_sql_null(&without_domains(ty)).map(BaseType)
    }

    fn accepts(ty: &Type) -> bool {
        T::accepts(&without_domains(ty))
    }
}

impl<T: ToSql> ToSql for BaseType<T> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.0.to_sql(&without_domains(ty), out)
    }

    fn accepts(ty: &Type) -> bool {
        T::accepts(&without_domains(ty))
    }

    postgres_types::to_sql_checked!();
}
