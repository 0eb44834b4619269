//! Type mapping: which Rust type stands for which PostgreSQL type.
//!
//! Owns DESIGN's type table for the types supported so far (built-in scalars,
//! one-dimensional arrays of them, and enums) and the two Rust spellings of
//! each: the owned type used in row structs and the borrowed form used for
//! parameters (`&str`, `&[u8]`, `&[T]`). Unsupported types are reported by the
//! caller with a location; nothing here panics on an unknown type. No IO.

use postgres_types::{Kind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::ident;

/// A built-in PostgreSQL type with a fixed Rust mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Builtin {
    /// `bool`
    Bool,
    /// `"char"`
    Char,
    /// `int2`
    I16,
    /// `int4`
    I32,
    /// `int8`
    I64,
    /// `float4`
    F32,
    /// `float8`
    F64,
    /// `oid`
    Oid,
    /// `numeric`
    Numeric,
    /// `text`, `varchar`, `bpchar`, `name`, `citext`
    Text,
    /// `bytea`
    Bytea,
    /// `uuid`
    Uuid,
    /// `json`, `jsonb`
    Json,
    /// `timestamp`
    Timestamp,
    /// `timestamptz`
    TimestampTz,
    /// `date`
    Date,
    /// `time`
    Time,
    /// `inet`
    Inet,
}

/// The Rust side of a column or parameter type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RustType {
    /// A built-in mapping.
    Builtin(Builtin),
    /// A generated enum in the `types` module (its Rust name).
    Enum(String),
    /// A one-dimensional array (`Vec<T>`).
    Array(Box<RustType>),
}

/// Maps a described PostgreSQL type; `None` when it is not supported.
pub fn map_type(ty: &Type) -> Option<RustType> {
    let builtin = match *ty {
        Type::BOOL => Builtin::Bool,
        Type::CHAR => Builtin::Char,
        Type::INT2 => Builtin::I16,
        Type::INT4 => Builtin::I32,
        Type::INT8 => Builtin::I64,
        Type::FLOAT4 => Builtin::F32,
        Type::FLOAT8 => Builtin::F64,
        Type::OID => Builtin::Oid,
        Type::NUMERIC => Builtin::Numeric,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Builtin::Text,
        Type::BYTEA => Builtin::Bytea,
        Type::UUID => Builtin::Uuid,
        Type::JSON | Type::JSONB => Builtin::Json,
        Type::TIMESTAMP => Builtin::Timestamp,
        Type::TIMESTAMPTZ => Builtin::TimestampTz,
        Type::DATE => Builtin::Date,
        Type::TIME => Builtin::Time,
        Type::INET => Builtin::Inet,
        _ => {
            return match ty.kind() {
                Kind::Array(element) => match element.kind() {
                    Kind::Array(_) => None,
                    _ => map_type(element).map(|t| RustType::Array(Box::new(t))),
                },
                Kind::Enum(_) => Some(RustType::Enum(ident::pascal(ty.name()))),
                _ if ty.name() == "citext" => Some(RustType::Builtin(Builtin::Text)),
                _ => None,
            };
        }
    };
    Some(RustType::Builtin(builtin))
}

impl Builtin {
    fn owned(self) -> TokenStream {
        match self {
            Builtin::Bool => quote!(bool),
            Builtin::Char => quote!(i8),
            Builtin::I16 => quote!(i16),
            Builtin::I32 => quote!(i32),
            Builtin::I64 => quote!(i64),
            Builtin::F32 => quote!(f32),
            Builtin::F64 => quote!(f64),
            Builtin::Oid => quote!(u32),
            Builtin::Numeric => quote!(quarry::rust_decimal::Decimal),
            Builtin::Text => quote!(String),
            Builtin::Bytea => quote!(Vec<u8>),
            Builtin::Uuid => quote!(quarry::uuid::Uuid),
            Builtin::Json => quote!(quarry::serde_json::Value),
            Builtin::Timestamp => quote!(quarry::chrono::NaiveDateTime),
            Builtin::TimestampTz => quote!(quarry::chrono::DateTime<quarry::chrono::Utc>),
            Builtin::Date => quote!(quarry::chrono::NaiveDate),
            Builtin::Time => quote!(quarry::chrono::NaiveTime),
            Builtin::Inet => quote!(std::net::IpAddr),
        }
    }

    /// Borrowed parameter form (`&str`, `&[u8]`, `&Value`), else the owned type by value.
    fn param(self) -> TokenStream {
        match self {
            Builtin::Text => quote!(&str),
            Builtin::Bytea => quote!(&[u8]),
            Builtin::Json => quote!(&quarry::serde_json::Value),
            other => other.owned(),
        }
    }
}

impl RustType {
    /// The owned type, as in a row struct field.
    pub fn owned(&self, types_module: &TokenStream) -> TokenStream {
        match self {
            RustType::Builtin(builtin) => builtin.owned(),
            RustType::Enum(name) => {
                let name = ident::ident(name);
                quote!(#types_module::#name)
            }
            RustType::Array(element) => {
                let element = element.owned(types_module);
                quote!(Vec<#element>)
            }
        }
    }

    /// The type a generated function takes for a parameter of this type.
    pub fn param(&self, types_module: &TokenStream) -> TokenStream {
        match self {
            RustType::Builtin(builtin) => builtin.param(),
            RustType::Enum(_) => self.owned(types_module),
            RustType::Array(element) => {
                let element = match element.as_ref() {
                    RustType::Builtin(builtin @ (Builtin::Text | Builtin::Bytea)) => {
                        builtin.param()
                    }
                    other => other.owned(types_module),
                };
                quote!(&[#element])
            }
        }
    }

    /// Enum names this type refers to.
    pub fn enums(&self) -> Option<&str> {
        match self {
            RustType::Enum(name) => Some(name),
            RustType::Array(element) => element.enums(),
            RustType::Builtin(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spell(ty: &Type) -> Option<(String, String)> {
        let types = quote!(super::types);
        map_type(ty).map(|t| (t.owned(&types).to_string(), t.param(&types).to_string()))
    }

    #[test]
    fn maps_builtins_and_arrays() {
        assert_eq!(spell(&Type::INT8), Some(("i64".into(), "i64".into())));
        assert_eq!(spell(&Type::TEXT), Some(("String".into(), "& str".into())));
        assert_eq!(
            spell(&Type::TEXT_ARRAY),
            Some(("Vec < String >".into(), "& [& str]".into()))
        );
        assert_eq!(
            spell(&Type::INT4_ARRAY),
            Some(("Vec < i32 >".into(), "& [i32]".into()))
        );
        assert_eq!(spell(&Type::INTERVAL), None);
    }
}
