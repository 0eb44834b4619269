//! Keeps `src/db/` in step with `queries/` and `schema/`.
//!
//! When the input hash recorded in `src/db/mod.rs` matches the inputs (the
//! normal case: the generated code is committed), this does nothing and needs
//! no PostgreSQL. After an edit to a query, the schema or `quarry.toml` it
//! regenerates `src/db/` on an ephemeral PostgreSQL (or `DATABASE_URL`), and
//! fails with a hint on how to regenerate by hand when no server is available.

fn main() -> Result<(), codegen::BuildError> {
    codegen::build_from_config("quarry.toml")
}
