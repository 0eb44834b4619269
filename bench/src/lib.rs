//! Fixture and baselines for Quarry's benchmarks (`benches/`).
//!
//! * [`shop_data`] creates a database with the example application's schema
//!   and a deterministic, generated shop (customers, a category tree,
//!   products, orders and their items);
//! * [`hand_written`] loads what the generated `list_orders_with_details`
//!   loads, written directly against tokio-postgres: the floor that generated
//!   prefetching is measured against;
//! * [`workload`] creates the database of the diesel_bench workload (schema
//!   `diesel_schema/schema.sql`) and each scenario's data;
//! * [`codegen_input`] writes generated query files over that schema, the
//!   input of the `codegen` bench;
//! * [`generated`] is Quarry's code for that workload's queries
//!   (`diesel_schema/queries/bench.sql`, regenerated with
//!   `cargo run -p codegen -- --config bench/quarry.toml`);
//! * [`bulk`] creates the database of the bulk-write bench
//!   (`diesel_schema/bulk.sql`) and its rows.
//!
//! Timing lives in the criterion benches only; nothing here measures time.

#![warn(missing_docs)]

pub mod bulk;
pub mod codegen_input;
/// Quarry's generated code for the diesel_bench workload (`bench/diesel_schema/`).
#[rustfmt::skip]
pub mod generated;
pub mod hand_written;
pub mod shop_data;
pub mod workload;

/// Errors of the fixture and of the hand-written baseline.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
