//! The single choke point every statement execution passes through.
//!
//! Each [`Executor`](crate::Executor) impl wraps its work in [`observe`],
//! exactly once per execution (the pool's impl includes taking a connection).
//! Instrumentation lives here and nowhere else:
//!
//! * the `tracing` span `quarry.query` (fields `query`, `rows`, `elapsed_us`);
//! * the N+1 detector ([`detect`]), counting the execution in every scope it
//!   runs in: the task's [`record`](crate::record)/[`scope`](crate::scope)
//!   blocks or, outside any such block, the
//!   [`PooledConnection`](crate::PooledConnection) checkout;
//! * the in-process recorder ([`Flight`]).
//!
//! It stays cheap when nobody listens (no subscriber interested in the span,
//! no scope, no checkout): one thread-local read, no allocation, no clock
//! read, no lock.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument as _;

use crate::detect::{detect, Detector};
use crate::record::{Flight, Frame};
use crate::{Error, Query, Row};

/// What an execution produced, as far as instrumentation cares.
pub(crate) trait Outcome {
    /// Rows returned (queries) or affected (`execute`); `None` when not
    /// known yet (a stream, whose rows arrive after the statement started).
    fn rows(&self) -> Option<u64>;
}

impl Outcome for Vec<Row> {
    fn rows(&self) -> Option<u64> {
        Some(self.len() as u64)
    }
}

impl Outcome for u64 {
    fn rows(&self) -> Option<u64> {
        Some(*self)
    }
}

impl Outcome for crate::RowStream {
    fn rows(&self) -> Option<u64> {
        None
    }
}

/// Runs one statement of `query` inside its `quarry.query` span: `acquire`
/// gets the connection (immediately, unless it comes from a pool), then
/// `run` prepares and executes the statement on it.
///
/// The statement is in flight from just before `run` is first polled until
/// its result arrives; that interval is what `elapsed_us` and the recorder
/// report. `checkout` is the detector of the pool checkout the statement
/// runs on, if any (counted only outside task scopes). The N+1 detector
/// decides before `acquire`, so a refused statement takes no connection.
pub(crate) async fn observe<C, T, A, R, F>(
    query: &Query,
    checkout: Option<&Detector>,
    acquire: A,
    run: R,
) -> Result<T, Error>
where
    T: Outcome,
    A: Future<Output = Result<C, Error>>,
    R: FnOnce(C) -> F,
    F: Future<Output = Result<T, Error>>,
{
    let span = tracing::debug_span!(
        "quarry.query",
        query = query.name(),
        rows = tracing::field::Empty,
        elapsed_us = tracing::field::Empty,
    );
    let scopes = Frame::current();
    // Counting follows the innermost scope when there is one (a request of
    // the `tower` layer, a job): a long-lived checkout used across many
    // scopes is not flagged for their sum. Outside any scope, the checkout counts.
    let checkout = checkout.filter(|_| scopes.is_none());
    // A pool checkout only matters to the N+1 detector, which does nothing
    // while it is off: then only a span or a recording scope needs the slow path.
    let detecting = checkout.is_some()
        && crate::detect::n_plus_one_policy().action != crate::detect::NPlusOneAction::Off;
    if span.is_disabled() && scopes.is_none() && !detecting {
        let connection = acquire.await?;
        // Boxed: the statement's future (checkout, retries, cancel guard,
        // the prepare/execute state machine) lives on the heap, so the
        // callers' futures — prefetch nests many statements — stay small and
        // their polls fit a thread's stack in debug builds too (one
        // allocation per statement, next to a network round trip).
        return Box::pin(run(connection)).await;
    }

    let watched = async {
        let frames = scopes.iter().flat_map(|innermost| innermost.detectors());
        detect(query.name(), checkout.into_iter().chain(frames))?;
        let connection = acquire.await?;

        let recording = scopes.as_ref().is_some_and(|innermost| innermost.records());
        let timed = recording || !span.is_disabled();
        let started = timed.then(Instant::now);
        let flight = match (&scopes, started) {
            (Some(innermost), Some(started)) if recording => {
                Some(Flight::start(innermost, query, started))
            }
            _ => None,
        };

        // Boxed for the same reason as above.
        let result = Box::pin(run(connection)).await;

        let rows = result.as_ref().ok().and_then(Outcome::rows);
        if let Some(started) = started {
            let finished = Instant::now();
            if let Some(flight) = flight {
                flight.finish(finished, rows);
            }
            if !span.is_disabled() {
                let elapsed = finished.saturating_duration_since(started);
                span.record(
                    "elapsed_us",
                    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                );
            }
        }
        if let (Some(rows), false) = (rows, span.is_disabled()) {
            span.record("rows", rows);
        }
        result
    };
    watched.instrument(span.clone()).await
}

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::future::{ready, Future};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use super::observe;
    use crate::detect::tests::{policy_lock, WithPolicy};
    use crate::detect::Detector;
    use crate::{record, scope, Error, NPlusOne, NPlusOneAction, Query};

    /// Keeps `name field=value…` of every span and event it sees.
    #[derive(Clone, Default)]
    struct Recorder {
        spans: Arc<Mutex<Vec<String>>>,
        events: Arc<Mutex<Vec<String>>>,
        next_id: Arc<AtomicU64>,
    }

    struct Fields<'a>(&'a mut String);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            // Durations vary: keep that the field is there, not its value.
            if field.name() == "elapsed_us" {
                self.0.push_str(" elapsed_us=_");
            } else {
                self.0.push_str(&format!(" {}={:?}", field.name(), value));
            }
        }
    }

    impl Recorder {
        fn append(&self, id: &Id, line: impl FnOnce(&mut String)) {
            let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
            let index = usize::try_from(id.into_u64() - 1).unwrap_or(usize::MAX);
            if let Some(span) = spans.get_mut(index) {
                line(span);
            }
        }

        fn spans(&self) -> Vec<String> {
            self.spans.lock().map(|s| s.clone()).unwrap_or_default()
        }

        fn events(&self) -> Vec<String> {
            self.events.lock().map(|s| s.clone()).unwrap_or_default()
        }
    }

    impl Subscriber for Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, attributes: &Attributes<'_>) -> Id {
            let mut line = attributes.metadata().name().to_owned();
            attributes.record(&mut Fields(&mut line));
            self.spans
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line);
            Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
        }
        fn record(&self, id: &Id, values: &Record<'_>) {
            self.append(id, |line| values.record(&mut Fields(line)));
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = event.metadata().level().to_string();
            event.record(&mut Fields(&mut line));
            self.events
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn run<T>(future: impl Future<Output = T>) -> T {
        match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime.block_on(future),
            Err(error) => panic!("{error}"),
        }
    }

    const QUERY: Query = Query::new("ListPosts", "SELECT 1");
    const OTHER: Query = Query::new("GetAuthor", "SELECT 2");

    /// A fake execution of `query` taking `millis` and returning `rows`.
    async fn fake(query: &Query, millis: u64, rows: u64) -> Result<u64, Error> {
        observe(query, None, ready(Ok(())), move |()| async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(rows)
        })
        .await
    }

    #[test]
    fn every_execution_is_a_span_with_query_rows_and_elapsed() {
        // Also serializes the tests that install a subscriber: tracing's
        // callsite interest is global, and two scoped subscribers coming and
        // going in parallel threads can leave a callsite disabled.
        let _policy = policy_lock();
        let recorder = Recorder::default();
        tracing::subscriber::with_default(recorder.clone(), || {
            let ok = run(observe(&QUERY, None, ready(Ok(())), |()| async {
                Ok::<u64, Error>(7)
            }));
            assert!(matches!(ok, Ok(7)));
            let failed = run(observe(&QUERY, None, ready(Ok(())), |()| async {
                Err::<u64, Error>(Error::NotFound { query: "ListPosts" })
            }));
            assert!(failed.is_err());
            let no_connection = run(observe(
                &QUERY,
                None,
                ready(Err::<(), Error>(Error::NotFound { query: "ListPosts" })),
                |()| async { Ok::<u64, Error>(1) },
            ));
            assert!(no_connection.is_err());
        });
        assert_eq!(
            recorder.spans(),
            [
                "quarry.query query=\"ListPosts\" elapsed_us=_ rows=7",
                "quarry.query query=\"ListPosts\" elapsed_us=_",
                "quarry.query query=\"ListPosts\"",
            ]
        );
    }

    #[test]
    fn nothing_is_recorded_without_a_subscriber() {
        let _policy = policy_lock();
        let ok = run(observe(&QUERY, None, ready(Ok(())), |()| async {
            Ok::<u64, Error>(1)
        }));
        assert!(matches!(ok, Ok(1)));
    }

    #[test]
    fn record_sees_joined_branches_nested_scopes_and_overlap() {
        let _policy = policy_lock();
        run(async {
            let ((first, inner, last), outer_log) = record(async {
                let first = fake(&QUERY, 0, 3).await;
                let inner = record(async {
                    futures_util::try_join!(fake(&QUERY, 30, 1), fake(&OTHER, 30, 2))
                })
                .await;
                let last = fake(&OTHER, 0, 0).await;
                (first, inner, last)
            })
            .await;
            assert!(matches!((first, last), (Ok(3), Ok(0))));
            let (joined, inner_log) = inner;
            assert!(matches!(joined, Ok((1, 2))));

            assert_eq!(inner_log.names(), ["ListPosts", "GetAuthor"]);
            assert!(inner_log.overlapping("ListPosts", "GetAuthor"));
            assert_eq!(
                outer_log.names(),
                ["ListPosts", "ListPosts", "GetAuthor", "GetAuthor"]
            );
            assert_eq!(outer_log.count("GetAuthor"), 2);
            let rows: Vec<_> = outer_log.records().iter().map(|r| r.rows).collect();
            assert_eq!(rows, [Some(3), Some(1), Some(2), Some(0)]);
            assert!(outer_log.records().iter().all(|r| r.ok));
            // The first and the last ran alone.
            let records = outer_log.records();
            for (i, a) in records.iter().enumerate() {
                for (j, b) in records.iter().enumerate() {
                    let concurrent = matches!((i, j), (1, 2) | (2, 1));
                    assert_eq!(i != j && a.overlaps(b), concurrent, "{i} {j}");
                }
            }
        });
    }

    #[test]
    fn failed_and_cancelled_executions_are_recorded_as_failed() {
        let _policy = policy_lock();
        run(async {
            let (_, log) = record(async {
                let failed = observe(&QUERY, None, ready(Ok(())), |()| async {
                    Err::<u64, Error>(Error::NotFound { query: "ListPosts" })
                })
                .await;
                assert!(failed.is_err());
                // Dropped while in flight.
                let cancelled =
                    tokio::time::timeout(Duration::from_millis(5), fake(&OTHER, 1000, 1)).await;
                assert!(cancelled.is_err());
                // A statement that never got a connection is not recorded.
                let refused = observe(
                    &QUERY,
                    None,
                    ready(Err::<(), Error>(Error::NotFound { query: "ListPosts" })),
                    |()| async { Ok::<u64, Error>(1) },
                )
                .await;
                assert!(refused.is_err());
            })
            .await;
            assert_eq!(log.names(), ["ListPosts", "GetAuthor"]);
            assert!(log.records().iter().all(|r| !r.ok && r.rows.is_none()));
            assert!(log.records()[1].elapsed() < Duration::from_millis(500));
        });
    }

    #[test]
    fn warn_flags_a_loop_once_per_scope() {
        let _policy = WithPolicy::set(NPlusOneAction::Warn, 5);
        let recorder = Recorder::default();
        let (flagged_in_scope, log) = tracing::subscriber::with_default(recorder.clone(), || {
            run(record(async {
                scope(async {
                    for _ in 0..20 {
                        assert!(fake(&OTHER, 0, 1).await.is_ok());
                    }
                })
                .await;
                fake(&QUERY, 0, 1).await.is_ok()
            }))
        });
        assert!(flagged_in_scope);
        assert_eq!(log.len(), 21);
        assert_eq!(
            log.n_plus_one(),
            [NPlusOne {
                query: "GetAuthor",
                count: 20
            }]
        );
        let warnings: Vec<_> = recorder
            .events()
            .into_iter()
            .filter(|event| event.starts_with("WARN"))
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("query=\"GetAuthor\" count=6 threshold=5")
                && warnings[0].contains("possible N+1: query `GetAuthor` ran 6 times")
                && warnings[0].contains("@prefetch"),
            "{warnings:?}"
        );
    }

    #[test]
    fn error_refuses_without_taking_a_connection() {
        let _policy = WithPolicy::set(NPlusOneAction::Error, 2);
        let checkout = Detector::default();
        let acquired = AtomicBool::new(false);
        run(async {
            for _ in 0..2 {
                let ok = observe(&OTHER, Some(&checkout), ready(Ok(())), |()| async {
                    Ok::<u64, Error>(1)
                })
                .await;
                assert!(ok.is_ok());
            }
            let refused = observe(
                &OTHER,
                Some(&checkout),
                async {
                    acquired.store(true, Ordering::Relaxed);
                    Ok(())
                },
                |()| async { Ok::<u64, Error>(1) },
            )
            .await;
            assert!(
                matches!(
                    refused,
                    Err(Error::NPlusOne {
                        query: "GetAuthor",
                        count: 3
                    })
                ),
                "{refused:?}"
            );
        });
        assert!(!acquired.load(Ordering::Relaxed));
        assert_eq!(
            checkout.lock().flagged(),
            [NPlusOne {
                query: "GetAuthor",
                count: 3
            }]
        );
    }
}
