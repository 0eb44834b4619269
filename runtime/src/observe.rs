//! The single choke point every statement execution passes through.
//!
//! Each [`Executor`](crate::Executor) impl wraps its work in [`observe`],
//! exactly once per execution (the pool's impl includes taking a connection).
//! Instrumentation belongs here and nowhere else: the `tracing` span today;
//! timing and in-process recording (statement counts, N+1 detection) plug in
//! at the marked spots. It must stay cheap when nobody listens: no allocation,
//! no clock read, no lock.

use std::future::Future;

use tracing::Instrument as _;

use crate::{Error, Query, Row};

/// What an execution produced, as far as instrumentation cares.
pub(crate) trait Outcome {
    /// Rows returned (queries) or affected (`execute`).
    fn rows(&self) -> u64;
}

impl Outcome for Vec<Row> {
    fn rows(&self) -> u64 {
        self.len() as u64
    }
}

impl Outcome for u64 {
    fn rows(&self) -> u64 {
        *self
    }
}

/// Runs `execution` (one statement of `query`) inside its `quarry.query` span
/// and records what it returned.
pub(crate) async fn observe<T, F>(query: &Query, execution: F) -> Result<T, Error>
where
    T: Outcome,
    F: Future<Output = Result<T, Error>>,
{
    let span = tracing::debug_span!(
        "quarry.query",
        query = query.name(),
        rows = tracing::field::Empty,
    );
    // Hook: an in-process recorder would note the start here.
    let result = execution.instrument(span.clone()).await;
    if let (Ok(outcome), false) = (&result, span.is_disabled()) {
        span.record("rows", outcome.rows());
    }
    // Hook: ... and the end (with `result`) here.
    result
}

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use super::observe;
    use crate::{Error, Query};

    /// Keeps `name query=… rows=…` of every span it sees.
    #[derive(Clone, Default)]
    struct Recorder {
        spans: Arc<Mutex<Vec<String>>>,
        next_id: Arc<AtomicU64>,
    }

    struct Fields<'a>(&'a mut String);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.push_str(&format!(" {}={:?}", field.name(), value));
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
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime.block_on(future),
            Err(error) => panic!("{error}"),
        }
    }

    const QUERY: Query = Query::new("ListPosts", "SELECT 1");

    #[test]
    fn every_execution_is_a_span_with_query_and_rows() {
        let recorder = Recorder::default();
        tracing::subscriber::with_default(recorder.clone(), || {
            let ok = run(observe(&QUERY, async { Ok::<u64, Error>(7) }));
            assert!(matches!(ok, Ok(7)));
            let failed = run(observe(&QUERY, async {
                Err::<u64, Error>(Error::NotFound { query: "ListPosts" })
            }));
            assert!(failed.is_err());
        });
        let spans = recorder.spans.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(
            spans,
            [
                "quarry.query query=\"ListPosts\" rows=7",
                "quarry.query query=\"ListPosts\""
            ]
        );
    }

    #[test]
    fn nothing_is_recorded_without_a_subscriber() {
        let ok = run(observe(&QUERY, async { Ok::<u64, Error>(1) }));
        assert!(matches!(ok, Ok(1)));
    }
}
