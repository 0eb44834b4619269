//! Helpers shared by the runtime's PostgreSQL types: reading and writing the
//! binary wire format without panicking on short or malformed input.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use postgres_types::{IsNull, Kind, ToSql, Type};

/// The error type of `ToSql`/`FromSql`.
pub(crate) type BoxError = Box<dyn Error + Sync + Send>;

/// A cursor over a binary value that returns errors instead of panicking.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, a binary value of the PostgreSQL type `what`
    /// (named in error messages).
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    fn short(&self) -> BoxError {
        format!("invalid {} value: unexpected end of data", self.what).into()
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], BoxError> {
        if self.buf.len() < n {
            return Err(self.short());
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], BoxError> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, BoxError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, BoxError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, BoxError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, BoxError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A non-negative 4-byte count or length.
    pub(crate) fn len(&mut self) -> Result<usize, BoxError> {
        let n = self.i32()?;
        usize::try_from(n)
            .map_err(|_| format!("invalid {} value: negative length {n}", self.what).into())
    }

    /// A 4-byte length followed by that many bytes (a length of -1, SQL
    /// `NULL`, is an error: the types read with this never hold one).
    pub(crate) fn length_prefixed(&mut self) -> Result<&'a [u8], BoxError> {
        let n = self.len()?;
        self.bytes(n)
    }

    /// A NUL-terminated UTF-8 string.
    pub(crate) fn cstr(&mut self) -> Result<&'a str, BoxError> {
        let Some(end) = self.buf.iter().position(|&b| b == 0) else {
            return Err(format!("invalid {} value: unterminated string", self.what).into());
        };
        let (text, rest) = self.buf.split_at(end);
        self.buf = &rest[1..];
        Ok(std::str::from_utf8(text)?)
    }

    /// Fails when bytes are left over.
    pub(crate) fn finish(self) -> Result<(), BoxError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "invalid {} value: {} trailing bytes",
                self.what,
                self.buf.len()
            )
            .into())
        }
    }
}

/// Writes a 4-byte length followed by `value` encoded as `ty`; a value that
/// encodes as SQL `NULL` is an error (`what` names the container).
pub(crate) fn write_length_prefixed<T: ToSql>(
    value: &T,
    ty: &Type,
    out: &mut BytesMut,
    what: &str,
) -> Result<(), BoxError> {
    let start = out.len();
    out.put_i32(0);
    if let IsNull::Yes = value.to_sql(ty, out)? {
        return Err(format!("a {what} cannot contain NULL").into());
    }
    write_length_at(out, start)
}

/// Writes the length of what follows the 4-byte placeholder at `start`.
pub(crate) fn write_length_at(out: &mut BytesMut, start: usize) -> Result<(), BoxError> {
    let len = i32::try_from(out.len() - start - 4).map_err(|_| "value too large to transmit")?;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// A length or count as the 4-byte integer of the wire format.
pub(crate) fn count(n: usize) -> Result<i32, BoxError> {
    i32::try_from(n).map_err(|_| "value too large to transmit".into())
}

/// The type under any domains.
pub(crate) fn base_type(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base_type(inner),
        _ => ty,
    }
}
