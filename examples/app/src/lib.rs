//! The example shop/blog application's data layer: Quarry's generated
//! modules, committed to the repository and regenerated with
//! `cargo run -p codegen`.

pub mod queries;
