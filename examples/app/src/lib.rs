//! The example shop/blog application's data layer: Quarry's generated
//! modules, committed to the repository and regenerated with
//! `cargo run -p codegen`.

#![deny(warnings, missing_docs)]

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[rustfmt::skip]
pub mod queries;
