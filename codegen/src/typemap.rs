//! Type mapping: which Rust type stands for which PostgreSQL type.
//!
//! Owns DESIGN's type table — built-in scalars, the time types of the chosen
//! crate (chrono, time or jiff), network, bit, text-search and XML types,
//! ranges and multiranges, arrays, enums, composites and domains — plus the
//! user's overrides by type name, and the two Rust spellings of each: the
//! owned type used in row structs and the form used for parameters (`&str`,
//! `&[u8]`, `&[T]`, `&T` for types that are not `Copy`). Enums, composites and
//! domain newtypes met while mapping are collected for the `types` module.
//! Unsupported types are returned as such for the caller to report with a
//! location; nothing here panics on an unknown type. No IO.

use std::cell::RefCell;
use std::collections::BTreeMap;

use postgres_types::{Kind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::config::{parse_rust_type, TimeCrate, TypeConfig, TypeOverride};
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
    /// `money`
    Money,
    /// `text`, `varchar`, `bpchar`, `name`, `citext`
    Text,
    /// `bytea`
    Bytea,
    /// `uuid`
    Uuid,
    /// `json`, `jsonb`
    Json,
    /// `xml`
    Xml,
    /// `inet`
    Inet,
    /// `cidr`
    Cidr,
    /// `macaddr`
    MacAddr,
    /// `macaddr8`
    MacAddr8,
    /// `bit`, `varbit`
    Bit,
    /// `tsvector`
    TsVector,
    /// `tsquery`
    TsQuery,
    /// `date`
    Date(TimeCrate),
    /// `time`
    Time(TimeCrate),
    /// `timestamp`
    Timestamp(TimeCrate),
    /// `timestamptz`
    TimestampTz(TimeCrate),
    /// `timetz`
    TimeTz,
    /// `interval`
    Interval,
    /// `tid`
    Tid,
    /// `cid`
    Cid,
    /// `xid`
    Xid,
    /// `xid8`
    Xid8,
    /// `pg_lsn`
    PgLsn,
    /// `regclass`, `regtype` and the other `reg*` OID aliases
    RegOid,
    /// `oidvector`
    OidVector,
    /// `int2vector`
    Int2Vector,
    /// `pg_snapshot`, `txid_snapshot`
    PgSnapshot,
    /// `point`
    Point,
    /// `line`
    Line,
    /// `lseg`
    LineSegment,
    /// `box`
    Rect,
    /// `refcursor`
    RefCursor,
    /// `jsonpath`
    JsonPath,
    /// `path`
    Path,
    /// `polygon`
    Polygon,
    /// `circle`
    Circle,
}

/// The Rust side of a column or parameter type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RustType {
    /// A built-in mapping.
    Builtin(Builtin),
    /// A generated enum in the `types` module (its Rust name).
    Enum(String),
    /// A generated struct for a composite type in the `types` module.
    Composite(String),
    /// A generated newtype for a domain in the `types` module.
    Domain(String),
    /// A one-dimensional array (`Vec<T>`, or `Vec<Option<T>>`).
    Array {
        /// Element type.
        element: Box<RustType>,
        /// Elements typed `Option<T>` (by override).
        nullable_elements: bool,
    },
    /// `quarry::Range<T>`.
    Range(Box<RustType>),
    /// `quarry::Multirange<T>`.
    Multirange(Box<RustType>),
    /// A user type (path) implementing `ToSql`/`FromSql`, by override.
    Custom(String),
    /// A user serde type stored as json/jsonb, by override.
    Json(String),
}

/// A field of a generated composite struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositeField {
    /// Rust field name.
    pub name: String,
    /// PostgreSQL attribute name.
    pub pg_name: String,
    /// Field type (always `Option`: composite attributes cannot be NOT NULL).
    pub ty: RustType,
}

/// A user-defined type to emit in the `types` module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserType {
    /// An enum: `(variant, label)` pairs in sort order.
    Enum {
        /// PostgreSQL type name.
        pg_name: String,
        /// Variants and labels.
        variants: Vec<(String, String)>,
    },
    /// A composite type.
    Composite {
        /// PostgreSQL type name.
        pg_name: String,
        /// Fields in attribute order.
        fields: Vec<CompositeField>,
    },
    /// A domain newtype over its base type.
    Domain {
        /// PostgreSQL type name.
        pg_name: String,
        /// The base type.
        base: RustType,
    },
}

/// Maps PostgreSQL types under one configuration, collecting the user-defined
/// types it meets.
pub struct TypeMapper<'c> {
    config: &'c TypeConfig,
    user_types: RefCell<BTreeMap<String, UserType>>,
}

impl<'c> TypeMapper<'c> {
    /// A mapper for `config`.
    pub fn new(config: &'c TypeConfig) -> Self {
        Self {
            config,
            user_types: RefCell::new(BTreeMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TypeConfig {
        self.config
    }

    /// The user-defined types met so far, by Rust name.
    pub fn user_types(&self) -> BTreeMap<String, UserType> {
        self.user_types.borrow().clone()
    }

    /// Maps a described type; `None` when it is not supported (and not overridden).
    pub fn map(&self, ty: &Type) -> Option<RustType> {
        if let Some(custom) = self.override_for(ty) {
            return Some(custom);
        }
        let time = self.config.time_crate;
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
            Type::MONEY => Builtin::Money,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Builtin::Text,
            Type::BYTEA => Builtin::Bytea,
            Type::UUID => Builtin::Uuid,
            Type::JSON | Type::JSONB => Builtin::Json,
            Type::XML => Builtin::Xml,
            Type::INET => Builtin::Inet,
            Type::CIDR => Builtin::Cidr,
            Type::MACADDR => Builtin::MacAddr,
            Type::MACADDR8 => Builtin::MacAddr8,
            Type::BIT | Type::VARBIT => Builtin::Bit,
            Type::TS_VECTOR => Builtin::TsVector,
            Type::TSQUERY => Builtin::TsQuery,
            Type::DATE => Builtin::Date(time),
            Type::TIME => Builtin::Time(time),
            Type::TIMESTAMP => Builtin::Timestamp(time),
            Type::TIMESTAMPTZ => Builtin::TimestampTz(time),
            Type::TIMETZ => Builtin::TimeTz,
            Type::INTERVAL => Builtin::Interval,
            _ => match catalog_builtin(ty) {
                Some(builtin) => builtin,
                None => return self.map_kind(ty),
            },
        };
        Some(RustType::Builtin(builtin))
    }

    fn override_for(&self, ty: &Type) -> Option<RustType> {
        let qualified = format!("{}.{}", ty.schema(), ty.name());
        let found = self
            .config
            .by_type
            .get(&qualified)
            .or_else(|| self.config.by_type.get(ty.name()))?;
        RustType::from_override(found)
    }

    fn map_kind(&self, ty: &Type) -> Option<RustType> {
        match ty.kind() {
            Kind::Array(element) => match element.kind() {
                // `oidvector[]`, `int2vector[]`: arrays of types that are arrays.
                Kind::Array(_) if catalog_builtin(element).is_none() => None,
                _ => self.map(element).map(|t| RustType::Array {
                    element: Box::new(t),
                    nullable_elements: false,
                }),
            },
            Kind::Range(element) => self.map(element).map(|t| RustType::Range(Box::new(t))),
            Kind::Multirange(element) => {
                // postgres-types gives the range type here; accept either.
                let element = match element.kind() {
                    Kind::Range(inner) => inner,
                    _ => element,
                };
                self.map(element).map(|t| RustType::Multirange(Box::new(t)))
            }
            Kind::Enum(labels) => {
                let name = ident::type_name_str(ident::pascal(ty.name()));
                let mut seen: BTreeMap<String, usize> = BTreeMap::new();
                let variants = labels
                    .iter()
                    .map(|label| {
                        let mut variant = ident::variant_name(label);
                        let count = seen.entry(variant.clone()).or_insert(0);
                        *count += 1;
                        if *count > 1 {
                            variant = format!("{variant}{count}");
                        }
                        (variant, label.clone())
                    })
                    .collect();
                self.register(
                    &name,
                    UserType::Enum {
                        pg_name: ty.name().to_string(),
                        variants,
                    },
                );
                Some(RustType::Enum(name))
            }
            Kind::Composite(fields) => {
                let name = ident::type_name_str(ident::pascal(ty.name()));
                if !self.user_types.borrow().contains_key(&name) {
                    // Register first so a self-referencing composite terminates.
                    self.register(
                        &name,
                        UserType::Composite {
                            pg_name: ty.name().to_string(),
                            fields: Vec::new(),
                        },
                    );
                    let mut mapped = Vec::new();
                    for field in fields {
                        mapped.push(CompositeField {
                            name: ident::snake(field.name()),
                            pg_name: field.name().to_string(),
                            ty: self.map(field.type_())?,
                        });
                    }
                    self.user_types.borrow_mut().insert(
                        name.clone(),
                        UserType::Composite {
                            pg_name: ty.name().to_string(),
                            fields: mapped,
                        },
                    );
                }
                Some(RustType::Composite(name))
            }
            Kind::Domain(base) => {
                let base = self.map(base)?;
                if !self.config.domain_newtypes {
                    return Some(base);
                }
                let name = ident::type_name_str(ident::pascal(ty.name()));
                self.register(
                    &name,
                    UserType::Domain {
                        pg_name: ty.name().to_string(),
                        base,
                    },
                );
                Some(RustType::Domain(name))
            }
            _ if ty.name() == "citext" => Some(RustType::Builtin(Builtin::Text)),
            _ => None,
        }
    }

    /// The generated newtype for domain `pg_name` over `base` (with
    /// `[domains] newtypes = true`; else `base` itself).
    pub fn domain_newtype(&self, pg_name: &str, base: RustType) -> RustType {
        if !self.config.domain_newtypes {
            return base;
        }
        let name = ident::type_name_str(ident::pascal(pg_name));
        self.register(
            &name,
            UserType::Domain {
                pg_name: pg_name.to_string(),
                base,
            },
        );
        RustType::Domain(name)
    }

    fn register(&self, name: &str, user_type: UserType) {
        self.user_types
            .borrow_mut()
            .entry(name.to_string())
            .or_insert(user_type);
    }
}

/// Whether `ty` (or its element, for an array) is one of the built-in types
/// without binary input/output functions (`aclitem`, `gtsvector`): no
/// mapping can read them; only a cast in the SQL can.
pub fn has_no_binary_format(ty: &Type) -> bool {
    let element = match ty.kind() {
        Kind::Array(element) => element,
        _ => ty,
    };
    matches!(*element, Type::ACLITEM | Type::GTS_VECTOR)
}

/// The system catalog types (ids, `reg*`, vectors, snapshots, geometry,
/// `refcursor`, `jsonpath`).
fn catalog_builtin(ty: &Type) -> Option<Builtin> {
    Some(match *ty {
        Type::TID => Builtin::Tid,
        Type::CID => Builtin::Cid,
        Type::XID => Builtin::Xid,
        Type::XID8 => Builtin::Xid8,
        Type::PG_LSN => Builtin::PgLsn,
        Type::REGCLASS
        | Type::REGPROC
        | Type::REGPROCEDURE
        | Type::REGOPER
        | Type::REGOPERATOR
        | Type::REGTYPE
        | Type::REGCONFIG
        | Type::REGDICTIONARY
        | Type::REGNAMESPACE
        | Type::REGROLE
        | Type::REGCOLLATION => Builtin::RegOid,
        Type::OID_VECTOR => Builtin::OidVector,
        Type::INT2_VECTOR => Builtin::Int2Vector,
        Type::PG_SNAPSHOT | Type::TXID_SNAPSHOT => Builtin::PgSnapshot,
        Type::POINT => Builtin::Point,
        Type::LINE => Builtin::Line,
        Type::LSEG => Builtin::LineSegment,
        Type::BOX => Builtin::Rect,
        Type::PATH => Builtin::Path,
        Type::POLYGON => Builtin::Polygon,
        Type::CIRCLE => Builtin::Circle,
        Type::REFCURSOR => Builtin::RefCursor,
        Type::JSONPATH => Builtin::JsonPath,
        _ => return None,
    })
}

fn time_type(time: TimeCrate, which: &str) -> TokenStream {
    match (time, which) {
        (TimeCrate::Chrono, "date") => quote!(quarry::chrono::NaiveDate),
        (TimeCrate::Chrono, "time") => quote!(quarry::chrono::NaiveTime),
        (TimeCrate::Chrono, "timestamp") => quote!(quarry::chrono::NaiveDateTime),
        (TimeCrate::Chrono, _) => quote!(quarry::chrono::DateTime<quarry::chrono::Utc>),
        (TimeCrate::Time, "date") => quote!(quarry::time::Date),
        (TimeCrate::Time, "time") => quote!(quarry::time::Time),
        (TimeCrate::Time, "timestamp") => quote!(quarry::time::PrimitiveDateTime),
        (TimeCrate::Time, _) => quote!(quarry::time::OffsetDateTime),
        (TimeCrate::Jiff, "date") => quote!(quarry::jiff::civil::Date),
        (TimeCrate::Jiff, "time") => quote!(quarry::jiff::civil::Time),
        (TimeCrate::Jiff, "timestamp") => quote!(quarry::jiff::civil::DateTime),
        (TimeCrate::Jiff, _) => quote!(quarry::jiff::Timestamp),
    }
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
            Builtin::Money => quote!(quarry::Money),
            Builtin::Text => quote!(String),
            Builtin::Bytea => quote!(Vec<u8>),
            Builtin::Uuid => quote!(quarry::uuid::Uuid),
            Builtin::Json => quote!(quarry::serde_json::Value),
            Builtin::Xml => quote!(quarry::Xml),
            Builtin::Inet => quote!(quarry::cidr::IpInet),
            Builtin::Cidr => quote!(quarry::cidr::IpCidr),
            Builtin::MacAddr => quote!(quarry::eui48::MacAddress),
            Builtin::MacAddr8 => quote!(quarry::MacAddr8),
            Builtin::Bit => quote!(quarry::bit_vec::BitVec),
            Builtin::TsVector => quote!(quarry::TsVector),
            Builtin::TsQuery => quote!(quarry::TsQuery),
            Builtin::Date(time) => time_type(time, "date"),
            Builtin::Time(time) => time_type(time, "time"),
            Builtin::Timestamp(time) => time_type(time, "timestamp"),
            Builtin::TimestampTz(time) => time_type(time, "timestamptz"),
            Builtin::TimeTz => quote!(quarry::TimeTz),
            Builtin::Interval => quote!(quarry::Interval),
            Builtin::Tid => quote!(quarry::Tid),
            Builtin::Cid => quote!(quarry::Cid),
            Builtin::Xid => quote!(quarry::Xid),
            Builtin::Xid8 => quote!(quarry::Xid8),
            Builtin::PgLsn => quote!(quarry::PgLsn),
            Builtin::RegOid => quote!(quarry::RegOid),
            Builtin::OidVector => quote!(quarry::OidVector),
            Builtin::Int2Vector => quote!(quarry::Int2Vector),
            Builtin::PgSnapshot => quote!(quarry::PgSnapshot),
            Builtin::Point => quote!(quarry::geo::Point),
            Builtin::Line => quote!(quarry::geo::Line),
            Builtin::LineSegment => quote!(quarry::geo::LineSegment),
            Builtin::Rect => quote!(quarry::geo::Rect),
            Builtin::Path => quote!(quarry::geo::Path),
            Builtin::Polygon => quote!(quarry::geo::Polygon),
            Builtin::Circle => quote!(quarry::geo::Circle),
            Builtin::RefCursor => quote!(quarry::RefCursor),
            Builtin::JsonPath => quote!(quarry::JsonPath),
        }
    }

    /// Whether the Rust type is `Copy` (passed by value).
    fn is_copy(self) -> bool {
        !matches!(
            self,
            Builtin::Text
                | Builtin::Bytea
                | Builtin::Json
                | Builtin::Xml
                | Builtin::Bit
                | Builtin::TsVector
                | Builtin::TsQuery
                | Builtin::OidVector
                | Builtin::Int2Vector
                | Builtin::PgSnapshot
                | Builtin::Path
                | Builtin::Polygon
                | Builtin::RefCursor
                | Builtin::JsonPath
        )
    }

    /// Parameter form: borrowed for text, bytes and other non-`Copy` types.
    fn param(self) -> TokenStream {
        match self {
            Builtin::Text => quote!(&str),
            Builtin::Bytea => quote!(&[u8]),
            other if other.is_copy() => other.owned(),
            other => {
                let owned = other.owned();
                quote!(&#owned)
            }
        }
    }
}

impl Builtin {
    /// The cargo feature of `quarry` its Rust type needs (see
    /// `config::RUNTIME_FEATURES`), `None` when it needs none.
    pub fn feature(self) -> Option<&'static str> {
        let time_feature = |time| match time {
            TimeCrate::Chrono => "with-chrono",
            TimeCrate::Time => "with-time",
            TimeCrate::Jiff => "with-jiff",
        };
        Some(match self {
            Builtin::Numeric => "with-rust_decimal",
            Builtin::Uuid => "with-uuid",
            Builtin::Json => "with-serde_json",
            Builtin::Inet | Builtin::Cidr => "with-cidr",
            Builtin::MacAddr => "with-eui48",
            Builtin::Bit => "with-bit-vec",
            Builtin::TsVector | Builtin::TsQuery => "text-search",
            Builtin::Date(time)
            | Builtin::Time(time)
            | Builtin::Timestamp(time)
            | Builtin::TimestampTz(time) => time_feature(time),
            Builtin::TimeTz => "with-chrono",
            _ => return None,
        })
    }
}

impl RustType {
    /// The Rust type a configured override names, if it names one.
    pub fn from_override(configured: &TypeOverride) -> Option<RustType> {
        let path = configured.rust_type.clone()?;
        Some(if configured.json {
            RustType::Json(path)
        } else {
            RustType::Custom(path)
        })
    }

    /// The owned type, as in a row struct field.
    pub fn owned(&self, types_module: &TokenStream) -> TokenStream {
        match self {
            RustType::Builtin(builtin) => builtin.owned(),
            RustType::Enum(name) | RustType::Composite(name) | RustType::Domain(name) => {
                let name = ident::ident(name);
                quote!(#types_module::#name)
            }
            RustType::Array {
                element,
                nullable_elements,
            } => {
                let element = element.owned(types_module);
                if *nullable_elements {
                    quote!(Vec<Option<#element>>)
                } else {
                    quote!(Vec<#element>)
                }
            }
            RustType::Range(element) => {
                let element = element.owned(types_module);
                quote!(quarry::Range<#element>)
            }
            RustType::Multirange(element) => {
                let element = element.owned(types_module);
                quote!(quarry::Multirange<#element>)
            }
            RustType::Custom(path) | RustType::Json(path) => {
                parse_rust_type(path).unwrap_or_else(|| quote!(()))
            }
        }
    }

    /// The type a generated function takes for a parameter of this type.
    pub fn param(&self, types_module: &TokenStream) -> TokenStream {
        match self {
            RustType::Builtin(builtin) => builtin.param(),
            RustType::Enum(_) => self.owned(types_module),
            RustType::Array {
                element,
                nullable_elements,
            } => {
                let element = match element.as_ref() {
                    RustType::Builtin(builtin @ (Builtin::Text | Builtin::Bytea)) => {
                        builtin.param()
                    }
                    other => other.owned(types_module),
                };
                if *nullable_elements {
                    quote!(&[Option<#element>])
                } else {
                    quote!(&[#element])
                }
            }
            other => {
                let owned = other.owned(types_module);
                quote!(&#owned)
            }
        }
    }

    /// `value`, a place of the [owned](Self::owned) type (`Option` of it when
    /// `nullable`), borrowed as the [parameter](Self::param) type: what a
    /// params struct's field is passed as (`&p.title` for `&str`, `p.id` for
    /// `Copy` types, `p.note.as_deref()`). Only text and bytea arrays
    /// allocate: `Vec<String>` becomes a `Vec<&str>` of pointers for `&[&str]`.
    pub fn borrow_owned(&self, value: &TokenStream, nullable: bool) -> TokenStream {
        let by_value = match self {
            RustType::Builtin(builtin) => builtin.is_copy(),
            RustType::Enum(_) => true,
            _ => false,
        };
        // `&[&str]`/`&[&[u8]]`/`&[Option<&str>]` from the owned vector.
        let element_view = match self {
            RustType::Array {
                element,
                nullable_elements,
            } => match (element.as_ref(), nullable_elements) {
                (RustType::Builtin(Builtin::Text | Builtin::Bytea), true) => {
                    Some(quote!(Option::as_deref))
                }
                (RustType::Builtin(Builtin::Text), false) => Some(quote!(String::as_str)),
                (RustType::Builtin(Builtin::Bytea), false) => Some(quote!(Vec::as_slice)),
                _ => None,
            },
            _ => None,
        };
        let slice_or_str = matches!(
            self,
            RustType::Builtin(Builtin::Text | Builtin::Bytea) | RustType::Array { .. }
        );
        match (nullable, by_value, element_view) {
            (_, true, _) => quote!(#value),
            (false, _, Some(view)) => {
                quote!(&#value.iter().map(#view).collect::<Vec<_>>())
            }
            (true, _, Some(view)) => quote! {
                #value
                    .as_ref()
                    .map(|values| values.iter().map(#view).collect::<Vec<_>>())
                    .as_deref()
            },
            (false, _, None) => quote!(&#value),
            (true, _, None) if slice_or_str => quote!(#value.as_deref()),
            (true, _, None) => quote!(#value.as_ref()),
        }
    }

    /// Whether values are `Copy`, so passed by value: the built-in scalars
    /// and generated enums (what [`RustType::borrow_owned`] copies).
    pub fn is_copy(&self) -> bool {
        match self {
            RustType::Builtin(builtin) => builtin.is_copy(),
            RustType::Enum(_) => true,
            _ => false,
        }
    }

    /// Whether this is a serde type read through `quarry::types::Json`.
    pub fn is_json_wrapper(&self) -> bool {
        matches!(self, RustType::Json(_))
    }

    /// Whether `Hash + Eq` hold, so it can key a map (loaders).
    pub fn is_hashable(&self) -> bool {
        match self {
            RustType::Builtin(
                Builtin::F32
                | Builtin::F64
                | Builtin::Json
                | Builtin::TsQuery
                | Builtin::TsVector
                | Builtin::Interval
                | Builtin::TimeTz
                | Builtin::Money
                | Builtin::PgLsn
                | Builtin::Point
                | Builtin::Line
                | Builtin::LineSegment
                | Builtin::Rect
                | Builtin::Path
                | Builtin::Polygon
                | Builtin::Circle,
            ) => false,
            RustType::Builtin(_) | RustType::Enum(_) => true,
            RustType::Array { element, .. } => element.is_hashable(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spell(ty: &Type) -> Option<(String, String)> {
        let config = TypeConfig::default();
        let mapper = TypeMapper::new(&config);
        let types = quote!(super::types);
        mapper
            .map(ty)
            .map(|t| (t.owned(&types).to_string(), t.param(&types).to_string()))
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
        assert_eq!(
            spell(&Type::INTERVAL),
            Some(("quarry :: Interval".into(), "quarry :: Interval".into()))
        );
        assert_eq!(
            spell(&Type::INT4_RANGE),
            Some((
                "quarry :: Range < i32 >".into(),
                "& quarry :: Range < i32 >".into()
            ))
        );
        assert_eq!(spell(&Type::VOID), None);
    }

    #[test]
    fn maps_catalog_types_and_their_arrays() {
        let same = |owned: &str| Some((owned.to_string(), owned.to_string()));
        assert_eq!(spell(&Type::TID), same("quarry :: Tid"));
        assert_eq!(spell(&Type::XID8), same("quarry :: Xid8"));
        assert_eq!(spell(&Type::PG_LSN), same("quarry :: PgLsn"));
        for reg in [
            Type::REGCLASS,
            Type::REGPROC,
            Type::REGCOLLATION,
            Type::REGROLE,
        ] {
            assert_eq!(spell(&reg), same("quarry :: RegOid"));
        }
        assert_eq!(spell(&Type::BOX), same("quarry :: geo :: Rect"));
        assert_eq!(
            spell(&Type::POLYGON),
            Some((
                "quarry :: geo :: Polygon".into(),
                "& quarry :: geo :: Polygon".into()
            ))
        );
        // The vectors are arrays to postgres-types, but types of their own here,
        // and so are their arrays' elements.
        assert_eq!(
            spell(&Type::OID_VECTOR),
            Some(("quarry :: OidVector".into(), "& quarry :: OidVector".into()))
        );
        assert_eq!(
            spell(&Type::INT2_VECTOR_ARRAY),
            Some((
                "Vec < quarry :: Int2Vector >".into(),
                "& [quarry :: Int2Vector]".into()
            ))
        );
        assert_eq!(
            spell(&Type::TXID_SNAPSHOT),
            Some((
                "quarry :: PgSnapshot".into(),
                "& quarry :: PgSnapshot".into()
            ))
        );
        assert_eq!(
            spell(&Type::JSONPATH),
            Some(("quarry :: JsonPath".into(), "& quarry :: JsonPath".into()))
        );
        assert_eq!(spell(&Type::ACLITEM), None);
        assert_eq!(spell(&Type::ACLITEM_ARRAY), None);
    }
}
