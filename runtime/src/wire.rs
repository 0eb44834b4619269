//! Helpers shared by the runtime's PostgreSQL types: reading the binary wire
//! format without panicking on short or malformed input.

use std::error::Error;

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

    pub(crate) fn u32(&mut self) -> Result<u32, BoxError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, BoxError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, BoxError> {
        Ok(f64::from_be_bytes(self.array()?))
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

    /// A NUL-terminated UTF-8 string.
    #[cfg_attr(not(feature = "text-search"), allow(dead_code))]
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

/// A length or count as the 4-byte integer of the wire format.
pub(crate) fn count(n: usize) -> Result<i32, BoxError> {
    i32::try_from(n).map_err(|_| "value too large to transmit".into())
}
