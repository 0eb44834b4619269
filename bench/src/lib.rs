//! Fixture and baselines for Quarry's benchmarks (`benches/`).
//!
//! * [`shop_data`] creates a database with the example application's schema
//!   and a deterministic, generated shop (customers, a category tree,
//!   products, orders and their items);
//! * [`hand_written`] loads what the generated `list_orders_with_details`
//!   loads, written directly against tokio-postgres: the floor that generated
//!   prefetching is measured against.
//!
//! Timing lives in the criterion benches only; nothing here measures time.

#![warn(missing_docs)]

pub mod hand_written;
pub mod shop_data;

/// Errors of the fixture and of the hand-written baseline.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
