//! The to-do example's data layer: Quarry's generated module in `src/db/`,
//! committed to the repository and kept up to date by `build.rs`.
//!
//! The build script regenerates `src/db/` only when `queries/`, `schema/`
//! or `quarry.toml` changed since the committed output was generated (their
//! hash is in the header of `src/db/mod.rs`), so a fresh clone builds without
//! PostgreSQL.

#![deny(warnings, missing_docs)]

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[rustfmt::skip]
pub mod db;
