//! Every mapped PostgreSQL type, round-tripped through GENERATED code against
//! a real server: values (NULL and edge values included) are written through
//! the parameters of the generated `insert_*` functions of
//! `quarry_tests::generated::{chrono, time, jiff}`, read back both from
//! `RETURNING *` and from the generated `get_*` function, and compared with
//! what PostgreSQL is expected to return (it canonicalises discrete ranges,
//! pads `char(n)`, truncates `name`, merges multiranges…).
//!
//! Types that do not depend on the time crate are checked in each of the
//! three modules by one macro; date/time types have per-crate value
//! constructors and a shared body; decode errors (numeric too large, a
//! two-dimensional array, `infinity` without postgres-types' `Date`/`Timestamp`, a NULL element
//! without `nullable_elements`, json that does not match the serde type) must
//! be `quarry::Error::Decode` naming the column, never a panic.
//!
//! The schema is `tests/types/schema.sql`, the queries
//! `tests/types/queries/all_types.sql`, the configurations `tests/types/*.toml`.
//!
//! Statements are named and cached ([`quarry::Pooler::Session`]);
//! `types_roundtrip_pooler.rs` runs the same round trip pooler-safe.

/// How the generated functions send their statements.
const POOLER: quarry::Pooler = quarry::Pooler::Session;

include!("types_roundtrip/cases.rs");
