//! Compile-time guarantees of the generated code, checked with trybuild
//! against the committed example app (`tests/ui/`, nothing generated here):
//!
//! * a query that takes row locks (`LockPostForUpdate … FOR UPDATE`) does
//!   not compile with an executor that is not a transaction — a
//!   `quarry::Pool`, a plain `tokio_postgres::Client`, a
//!   `quarry::PooledConnection` — and the error says why
//!   (`quarry::InTransaction`'s `on_unimplemented` message, in the committed
//!   `.stderr` files);
//! * it compiles with every kind of transaction, and the futures are `Send`.
//!
//! * a chunked prefetch stream (`_stream` of a `:many` query with
//!   `@prefetch` relations) needs an executor that can hold a portal: a
//!   plain client and a borrowed pooled connection do not compile
//!   (`quarry::PortalExecutor`'s `on_unimplemented` message); a pool and
//!   every kind of transaction do.
//!
//! One `TestCases` for all of them: trybuild builds its project (the
//! workspace's dependencies, once more, in `target/tests/trybuild`) once per
//! `TestCases`. The `.stderr` files quote the generated functions (trybuild
//! drops the line numbers of files outside `tests/ui`): after changing what
//! they show, bless them again with `TRYBUILD=overwrite cargo test -p
//! quarry-tests --test compile_fail` and read the diff.

#[test]
fn generated_code_that_must_not_compile() {
    let cases = trybuild::TestCases::new();
    // Row locks need a transaction.
    cases.compile_fail("ui/lock_fail_*.rs");
    cases.pass("ui/lock_pass_*.rs");
    // Chunked streams need an executor that can hold a portal.
    cases.compile_fail("ui/stream_fail_*.rs");
    cases.pass("ui/stream_pass_*.rs");
}
