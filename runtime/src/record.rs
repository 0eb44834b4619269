//! In-process recording of the statements a block of code runs ([`record`],
//! the `assertNumQueries` of Quarry) and detection scopes ([`scope`]).
//!
//! Scopes are task-local: a stack of frames (innermost first) carried by the
//! task that runs the block, seen by every execution polled in that task —
//! across `.await` points and in every branch of `join!`/`try_join!`.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::task::futures::TaskLocalFuture;

use crate::detect::{Detector, NPlusOne};
use crate::Query;

tokio::task_local! {
    /// The innermost scope of the current task.
    static SCOPE: Arc<Frame>;
}

/// One [`record`] or [`scope`] block.
#[derive(Debug)]
pub(crate) struct Frame {
    detector: Detector,
    /// `Some` for [`record`] blocks.
    log: Option<Mutex<Vec<QueryRecord>>>,
    parent: Option<Arc<Frame>>,
    /// `false` for a block the N+1 detector does not watch ([`Frame::unwatched`]).
    watched: bool,
}

impl Frame {
    /// The innermost scope of the current task, if any.
    pub(crate) fn current() -> Option<Arc<Frame>> {
        SCOPE.try_with(Arc::clone).ok()
    }

    /// This scope and the ones around it, innermost first.
    pub(crate) fn chain(&self) -> impl Iterator<Item = &Frame> + Clone {
        std::iter::successors(Some(self), |frame| frame.parent.as_deref())
    }

    /// The detector of this scope.
    pub(crate) fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The detectors that count an execution in this scope: those of the
    /// scopes around it up to the first [unwatched](Frame::unwatched) one.
    pub(crate) fn detectors(&self) -> impl Iterator<Item = &Detector> + Clone {
        self.chain()
            .take_while(|frame| frame.watched)
            .map(Frame::detector)
    }

    /// Whether some scope of the chain records statements.
    pub(crate) fn records(&self) -> bool {
        self.chain().any(|frame| frame.log.is_some())
    }

    async fn run<F: Future>(recording: bool, fut: F) -> (F::Output, Arc<Frame>) {
        let (scoped, frame) = Frame::enter(recording, fut);
        (scoped.await, frame)
    }

    /// `fut` as a new scope inside the current one (a nameable future, for
    /// the `tower` layer), and the scope's frame, to read once it is done.
    pub(crate) fn enter<F: Future>(
        recording: bool,
        fut: F,
    ) -> (TaskLocalFuture<Arc<Frame>, F>, Arc<Frame>) {
        let frame = Arc::new(Frame {
            detector: Detector::default(),
            log: recording.then(|| Mutex::new(Vec::new())),
            parent: Frame::current(),
            watched: true,
        });
        (SCOPE.scope(Arc::clone(&frame), fut), frame)
    }

    /// `fut` as a block the N+1 detector does not watch, in no scope around
    /// it either (statements are still recorded): the statements of one
    /// chunk of a chunked prefetch stream, which runs each relation once per
    /// chunk by design.
    pub(crate) fn unwatched<F: Future>(fut: F) -> TaskLocalFuture<Arc<Frame>, F> {
        let frame = Arc::new(Frame {
            detector: Detector::default(),
            log: None,
            parent: Frame::current(),
            watched: false,
        });
        SCOPE.scope(frame, fut)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `fut`, recording every statement it executes, and returns its output
/// with the [`QueryLog`].
///
/// Statements are seen wherever `fut` runs them in the current task: across
/// `.await` points, in every branch of `join!`/`try_join!`/`select!`, and in
/// nested `record` blocks (whose statements appear in both logs). Statements
/// run in **spawned tasks** (`tokio::spawn`, `spawn_blocking`) are not seen:
/// a task does not inherit the scopes of the task that spawned it (wrap the
/// spawned future in its own `record` if needed).
///
/// A `record` block is also a scope of the N+1 detector: what it flagged is
/// in [`QueryLog::n_plus_one`].
///
/// ```no_run
/// # async fn demo(pool: &quarry::Pool) -> Result<(), quarry::Error> {
/// # const GET: quarry::Query = quarry::Query::new("GetAuthor", "SELECT 1");
/// let (result, log) = quarry::record(async {
///     quarry::Executor::query(pool, &GET, &[]).await
/// })
/// .await;
/// result?;
/// log.assert_count(1);
/// assert_eq!(log.names(), ["GetAuthor"]);
/// # Ok(())
/// # }
/// ```
pub async fn record<F: Future>(fut: F) -> (F::Output, QueryLog) {
    let (output, frame) = Frame::run(true, fut).await;
    let records = frame
        .log
        .as_ref()
        .map(|log| std::mem::take(&mut *lock(log)))
        .unwrap_or_default();
    let n_plus_one = frame.detector.lock().flagged();
    (
        output,
        QueryLog {
            records,
            n_plus_one,
        },
    )
}

/// Runs `fut` as one scope of the N+1 detector (like [`record`], without
/// keeping a log): with the [policy](crate::set_n_plus_one_policy) at
/// [`Warn`](crate::NPlusOneAction::Warn) or
/// [`Error`](crate::NPlusOneAction::Error), a query run more than the
/// threshold of times inside it is flagged. Typically wraps one request
/// handler or one job. Statements of spawned tasks are not counted.
pub async fn scope<F: Future>(fut: F) -> F::Output {
    Frame::run(false, fut).await.0
}

/// One statement execution seen by [`record`].
#[derive(Debug, Clone)]
pub struct QueryRecord {
    /// The query name.
    pub query: &'static str,
    /// The SQL sent.
    pub sql: &'static str,
    /// Rows returned (queries) or affected (`execute`); `None` if the
    /// execution failed or was cancelled.
    pub rows: Option<u64>,
    /// When the statement was sent: just before the connection was asked to
    /// prepare and execute it (after a pool handed one out).
    pub started: Instant,
    /// When its result (all rows, or the error) arrived, or when the
    /// execution was cancelled.
    pub finished: Instant,
    /// Whether it succeeded.
    pub ok: bool,
}

impl QueryRecord {
    /// How long the statement was in flight.
    pub fn elapsed(&self) -> Duration {
        self.finished.saturating_duration_since(self.started)
    }

    /// Whether this execution and `other` were in flight at the same time.
    pub fn overlaps(&self, other: &QueryRecord) -> bool {
        self.started < other.finished && other.started < self.finished
    }
}

/// The statements a [`record`] block executed, in the order they started.
#[derive(Debug, Clone, Default)]
pub struct QueryLog {
    records: Vec<QueryRecord>,
    n_plus_one: Vec<NPlusOne>,
}

impl QueryLog {
    /// The number of statements executed.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no statement was executed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every execution, in start order.
    pub fn records(&self) -> &[QueryRecord] {
        &self.records
    }

    /// How many times `query` (a query name) was executed.
    pub fn count(&self, query: &str) -> usize {
        self.records
            .iter()
            .filter(|record| record.query == query)
            .count()
    }

    /// The query name of every execution, in start order.
    pub fn names(&self) -> Vec<&'static str> {
        self.records.iter().map(|record| record.query).collect()
    }

    /// Executions per query name.
    pub fn by_name(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for record in &self.records {
            *counts.entry(record.query).or_insert(0) += 1;
        }
        counts
    }

    /// Whether some execution of query `a` and some (other) execution of
    /// query `b` were in flight at the same time — e.g. pipelined on one
    /// connection, or run on two connections at once.
    pub fn overlapping(&self, a: &str, b: &str) -> bool {
        self.records.iter().enumerate().any(|(i, first)| {
            first.query == a
                && self
                    .records
                    .iter()
                    .enumerate()
                    .any(|(j, second)| i != j && second.query == b && first.overlaps(second))
        })
    }

    /// What the N+1 detector flagged in this scope (empty when the policy is
    /// [`Off`](crate::NPlusOneAction::Off)).
    pub fn n_plus_one(&self) -> Vec<NPlusOne> {
        self.n_plus_one.clone()
    }

    /// Panics unless exactly `expected` statements were executed, listing
    /// the statements that were (a test helper, like Django's
    /// `assertNumQueries`).
    #[track_caller]
    pub fn assert_count(&self, expected: usize) {
        if self.len() != expected {
            panic!("{}", self.mismatch(expected));
        }
    }

    fn mismatch(&self, expected: usize) -> String {
        let mut message = format!(
            "expected {expected} {}, but {} ran",
            plural(u64::try_from(expected).unwrap_or(u64::MAX), "statement"),
            self.len()
        );
        if self.is_empty() {
            return message;
        }
        message.push(':');
        for (index, record) in self.records.iter().enumerate() {
            let _ = write!(message, "\n  {:>3}. {record}", index + 1);
        }
        message
    }
}

impl fmt::Display for QueryRecord {
    /// `Name (3 rows, 1.2ms): SELECT …` on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.query)?;
        match (self.ok, self.rows) {
            (true, Some(rows)) => write!(f, "{rows} {}", plural(rows, "row"))?,
            _ => f.write_str("failed")?,
        }
        write!(f, ", {:.1?}): ", self.elapsed())?;
        // The SQL on one line, shortened; without the comment naming the
        // query (attribution), which would repeat the name.
        const MAX: usize = 120;
        let sql = self
            .sql
            .strip_prefix("/* quarry:")
            .and_then(|rest| rest.strip_prefix(self.query))
            .and_then(|rest| rest.strip_prefix(" */ "))
            .unwrap_or(self.sql);
        let mut written = 0;
        for word in sql.split_whitespace() {
            if written >= MAX {
                return f.write_str(" …");
            }
            if written > 0 {
                f.write_str(" ")?;
                written += 1;
            }
            f.write_str(word)?;
            written += word.chars().count();
        }
        Ok(())
    }
}

fn plural(count: u64, word: &str) -> String {
    if count == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// The records one execution holds open in the recording scopes around it,
/// finished when the result arrives — or, if the execution is dropped
/// before that (cancelled), when it is dropped.
pub(crate) struct Flight {
    open: Vec<(Arc<Frame>, usize)>,
}

impl Flight {
    /// Opens a record of `query`, started now-ish at `started`, in every
    /// recording scope from `innermost` outwards.
    pub(crate) fn start(innermost: &Arc<Frame>, query: &Query, started: Instant) -> Flight {
        let mut open = Vec::new();
        let mut frame = Some(innermost);
        while let Some(current) = frame {
            if let Some(log) = &current.log {
                let mut records = lock(log);
                open.push((Arc::clone(current), records.len()));
                records.push(QueryRecord {
                    query: query.name(),
                    sql: query.sql(),
                    rows: None,
                    started,
                    finished: started,
                    ok: false,
                });
            }
            frame = current.parent.as_ref();
        }
        Flight { open }
    }

    /// Closes the records with the execution's result.
    pub(crate) fn finish(mut self, finished: Instant, rows: Option<u64>) {
        self.close(finished, rows);
    }

    fn close(&mut self, finished: Instant, rows: Option<u64>) {
        for (frame, index) in self.open.drain(..) {
            if let Some(log) = &frame.log {
                if let Some(record) = lock(log).get_mut(index) {
                    record.finished = finished;
                    record.rows = rows;
                    record.ok = rows.is_some();
                }
            }
        }
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        if !self.open.is_empty() {
            self.close(Instant::now(), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{record, QueryLog, QueryRecord};

    fn at(start_ms: u64, end_ms: u64, query: &'static str) -> QueryRecord {
        QueryRecord {
            query,
            sql: "SELECT  1\n  FROM t",
            rows: Some(1),
            started: origin() + Duration::from_millis(start_ms),
            finished: origin() + Duration::from_millis(end_ms),
            ok: true,
        }
    }

    fn origin() -> Instant {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *ORIGIN.get_or_init(Instant::now)
    }

    fn log(records: Vec<QueryRecord>) -> QueryLog {
        QueryLog {
            records,
            n_plus_one: Vec::new(),
        }
    }

    #[test]
    fn counts_names_and_overlaps() {
        let log = log(vec![
            at(0, 50, "A"),
            at(0, 100, "B"),
            at(100, 150, "C"),
            at(150, 160, "A"),
        ]);
        assert_eq!(log.len(), 4);
        assert!(!log.is_empty());
        assert_eq!(log.count("A"), 2);
        assert_eq!(log.count("Z"), 0);
        assert_eq!(log.names(), ["A", "B", "C", "A"]);
        assert_eq!(
            log.by_name().into_iter().collect::<Vec<_>>(),
            [("A", 2), ("B", 1), ("C", 1)]
        );
        assert!(log.overlapping("A", "B"));
        assert!(log.overlapping("B", "A"));
        // Back to back is not overlapping.
        assert!(!log.overlapping("B", "C"));
        assert!(!log.overlapping("C", "A"));
        // An execution does not overlap itself.
        assert!(!log.overlapping("C", "C"));
        assert!(log.overlapping("A", "A") == log.records()[0].overlaps(&log.records()[3]));
    }

    #[test]
    fn assert_count_lists_the_statements() {
        let log = log(vec![at(0, 2, "GetAuthor"), at(2, 3, "ListPosts")]);
        log.assert_count(2);
        let message = log.mismatch(1);
        assert_eq!(
            message,
            "expected 1 statement, but 2 ran:\n    \
             1. GetAuthor (1 row, 2.0ms): SELECT 1 FROM t\n    \
             2. ListPosts (1 row, 1.0ms): SELECT 1 FROM t"
        );
        assert_eq!(
            QueryLog::default().mismatch(3),
            "expected 3 statements, but 0 ran"
        );
    }

    #[test]
    fn the_attribution_comment_is_not_repeated_after_the_name() {
        let mut record = at(0, 2, "GetAuthor");
        record.sql = "/* quarry:GetAuthor */ SELECT 1\n  FROM t";
        assert_eq!(
            record.to_string(),
            "GetAuthor (1 row, 2.0ms): SELECT 1 FROM t"
        );
        // Only the comment naming this query.
        record.sql = "/* quarry:Other */ SELECT 1";
        assert_eq!(
            record.to_string(),
            "GetAuthor (1 row, 2.0ms): /* quarry:Other */ SELECT 1"
        );
    }

    #[test]
    fn empty_record() {
        let runtime = match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime,
            Err(error) => panic!("{error}"),
        };
        let ((), log) = runtime.block_on(record(async {}));
        assert!(log.is_empty());
        assert!(log.n_plus_one().is_empty());
    }
}
