//! Items generated code needs to implement `ToSql`/`FromSql` for generated
//! enums (and composites) without depending on `postgres-types` or `bytes`
//! itself, and `Json` for `json`/`jsonb` columns bound to a serde type
//! (`Json<T>` where `T: Serialize + Deserialize`; feature `with-serde_json`).

use std::fmt;

pub use bytes::BytesMut;
#[cfg(feature = "with-serde_json")]
pub use postgres_types::Json;
pub use postgres_types::{to_sql_checked, FromSql, IsNull, Kind, ToSql, Type};

pub use crate::composite::{BaseType, CompositeReader, CompositeWriter};

/// Error returned by generated enum `FromSql` impls for an unknown label.
///
/// It happens when the database enum gained a label after the code was
/// generated: regenerate to pick it up.
#[derive(Debug)]
pub struct UnknownEnumLabel {
    /// The PostgreSQL enum type, e.g. `post_status`.
    pub type_name: &'static str,
    /// The label that has no Rust variant.
    pub label: String,
}

impl fmt::Display for UnknownEnumLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown label `{}` for PostgreSQL enum `{}` (regenerate the code if the type changed)",
            self.label, self.type_name
        )
    }
}

impl std::error::Error for UnknownEnumLabel {}

#[cfg(test)]
mod tests {
    use super::UnknownEnumLabel;

    #[test]
    fn unknown_enum_label_names_type_and_label() {
        let error = UnknownEnumLabel {
            type_name: "post_status",
            label: "archived".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "unknown label `archived` for PostgreSQL enum `post_status` \
             (regenerate the code if the type changed)"
        );
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
        assert!(boxed.source().is_none());
    }
}
