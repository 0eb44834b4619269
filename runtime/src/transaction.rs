//! Transactions that retry: [`transaction`] and [`TransactionOptions`] run a
//! closure in a transaction on a pooled connection and run it again, whole,
//! when PostgreSQL aborts it with a serialization failure (SQLSTATE 40001)
//! or a deadlock (40P01); [`RetryableError`] finds the SQLSTATE in an error;
//! [`InTransaction`] marks the executors that run inside a transaction,
//! which generated queries that take row locks require.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio_postgres::error::{DbError, SqlState};
use tokio_postgres::IsolationLevel;
use tracing::Instrument as _;

use crate::{Error, Executor, Pool};

/// The future a [`transaction`] closure returns: boxed, so that it may
/// borrow the transaction it is given (write `Box::pin(async move { … })`).
pub type TransactionFuture<'t, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

/// Runs `f` in a transaction on a connection of `pool`, with the default
/// [`TransactionOptions`]: commits when it returns `Ok`, rolls back when it
/// returns `Err` (or when the future is dropped), and runs it again from the
/// start, in a new transaction, when PostgreSQL aborted the transaction
/// with a serialization failure or a deadlock (up to 5 attempts, with
/// jittered exponential backoff between them).
///
/// The closure gets the transaction (an [`Executor`] and an
/// [`InTransaction`], so queries that take row locks accept it) and returns
/// a boxed future, which may borrow the transaction but nothing else of the
/// caller's: move owned values (or `Arc` clones) into it, as the example
/// does with `amount`. It may run several times: keep side effects outside the
/// database (sending mail, …) after `transaction` returns. Its error type is
/// yours, as long as a [`quarry::Error`](Error) converts into it and the
/// SQLSTATE can be found in it ([`RetryableError`]).
///
/// ```no_run
/// # async fn demo(pool: &quarry::Pool) -> Result<(), quarry::Error> {
/// use quarry::{Executor, Query};
/// const DEBIT: Query = Query::new("Debit", "UPDATE accounts SET balance = balance - $1 WHERE id = $2");
/// const CREDIT: Query = Query::new("Credit", "UPDATE accounts SET balance = balance + $1 WHERE id = $2");
/// let amount = 100_i64;
/// quarry::transaction(pool, |tx| {
///     Box::pin(async move {
///         tx.execute(&DEBIT, &[&amount, &1_i64]).await?;
///         tx.execute(&CREDIT, &[&amount, &2_i64]).await?;
///         Ok::<_, quarry::Error>(())
///     })
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub async fn transaction<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: for<'t, 'c> FnMut(&'t mut deadpool_postgres::Transaction<'c>) -> TransactionFuture<'t, T, E>
        + Send,
    T: Send,
    E: From<Error> + RetryableError + Send,
{
    TransactionOptions::new().run(pool, f).await
}

/// How [`transaction`] starts its transaction and how often it retries:
/// a builder, `TransactionOptions::new().isolation(…).run(&pool, |tx| …)`.
///
/// Defaults: the server's isolation level (`default_transaction_isolation`,
/// READ COMMITTED unless configured), read-write, not deferrable; 5
/// attempts; backoff from 10 ms doubling up to 1 s. Deadlocks can happen at
/// any level; serialization failures need REPEATABLE READ or SERIALIZABLE.
///
/// ```no_run
/// # async fn demo(pool: &quarry::Pool) -> Result<(), quarry::Error> {
/// use std::time::Duration;
/// use quarry::{Executor, IsolationLevel, Query, TransactionOptions};
/// const COUNT: Query = Query::new("CountPosts", "SELECT count(*) FROM posts");
/// let total: i64 = TransactionOptions::new()
///     .isolation(IsolationLevel::Serializable)
///     .max_attempts(10)
///     .backoff(Duration::from_millis(5), Duration::from_millis(500))
///     .run(pool, |tx| {
///         Box::pin(async move {
///             let rows = tx.query(&COUNT, &[]).await?;
///             Ok::<_, quarry::Error>(rows[0].get(0))
///         })
///     })
///     .await?;
/// # let _ = total;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TransactionOptions {
    isolation: Option<IsolationLevel>,
    read_only: Option<bool>,
    deferrable: Option<bool>,
    max_attempts: u32,
    backoff: Backoff,
}

impl Default for TransactionOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl TransactionOptions {
    /// The defaults (see the type's documentation).
    pub const fn new() -> Self {
        Self {
            isolation: None,
            read_only: None,
            deferrable: None,
            max_attempts: 5,
            backoff: Backoff {
                base: Duration::from_millis(10),
                max: Duration::from_secs(1),
            },
        }
    }

    /// The isolation level (`BEGIN ISOLATION LEVEL …`).
    pub const fn isolation(self, level: IsolationLevel) -> Self {
        Self {
            isolation: Some(level),
            ..self
        }
    }

    /// `READ ONLY` (`true`) or `READ WRITE` (`false`).
    pub const fn read_only(self, read_only: bool) -> Self {
        Self {
            read_only: Some(read_only),
            ..self
        }
    }

    /// `DEFERRABLE` (`true`) or `NOT DEFERRABLE` (`false`); only meaningful
    /// for a SERIALIZABLE READ ONLY transaction, which then waits for a
    /// snapshot that cannot fail with a serialization error.
    pub const fn deferrable(self, deferrable: bool) -> Self {
        Self {
            deferrable: Some(deferrable),
            ..self
        }
    }

    /// How many times the closure may run in all (at least 1: `1` means no
    /// retry, `0` is taken as `1`).
    pub const fn max_attempts(self, attempts: u32) -> Self {
        Self {
            max_attempts: if attempts == 0 { 1 } else { attempts },
            ..self
        }
    }

    /// The backoff before retry `n` (1-based) is drawn at random between
    /// half and all of `min(base × 2ⁿ⁻¹, max)`, so that transactions that
    /// conflicted do not meet again at the same instant.
    pub const fn backoff(self, base: Duration, max: Duration) -> Self {
        Self {
            backoff: Backoff { base, max },
            ..self
        }
    }

    /// The number of attempts set by [`max_attempts`](Self::max_attempts).
    pub const fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Runs `f` as [`transaction`] does, with these options.
    pub async fn run<T, E, F>(self, pool: &Pool, f: F) -> Result<T, E>
    where
        F: for<'t, 'c> FnMut(
                &'t mut deadpool_postgres::Transaction<'c>,
            ) -> TransactionFuture<'t, T, E>
            + Send,
        T: Send,
        E: From<Error> + RetryableError + Send,
    {
        let span = tracing::info_span!(
            "quarry.transaction",
            attempt = tracing::field::Empty,
            max_attempts = self.max_attempts,
        );
        self.run_attempts(pool, f).instrument(span).await
    }

    /// The attempts, inside the `quarry.transaction` span.
    async fn run_attempts<T, E, F>(&self, pool: &Pool, mut f: F) -> Result<T, E>
    where
        F: for<'t, 'c> FnMut(
                &'t mut deadpool_postgres::Transaction<'c>,
            ) -> TransactionFuture<'t, T, E>
            + Send,
        T: Send,
        E: From<Error> + RetryableError + Send,
    {
        let mut conn = pool.get().await.map_err(|source| Error::Pool {
            query: BEGIN,
            source,
        })?;
        let mut attempt = 1;
        loop {
            tracing::Span::current().record("attempt", attempt);
            let error = match crate::route::in_transaction(self.attempt(&mut conn, &mut f)).await {
                Ok(value) => {
                    if self.read_only != Some(true) {
                        // Read-your-writes: the commit's WAL position.
                        crate::route::after_write(pool, &conn).await;
                    }
                    return Ok(value);
                }
                Err(error) => error,
            };
            let state = match error.sqlstate() {
                Some(state) if is_retryable(state) && attempt < self.max_attempts => state,
                _ => return Err(error),
            };
            let delay = self.backoff.delay(attempt, fastrand::f64());
            tracing::warn!(
                sqlstate = state.code(),
                attempt,
                delay_ms = delay.as_secs_f64() * 1000.0,
                "transaction aborted by PostgreSQL ({}), running it again",
                state.code()
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One attempt: begin, run the closure, commit (or roll back).
    async fn attempt<T, E, F>(&self, conn: &mut crate::PooledConnection, f: &mut F) -> Result<T, E>
    where
        F: for<'t, 'c> FnMut(
                &'t mut deadpool_postgres::Transaction<'c>,
            ) -> TransactionFuture<'t, T, E>
            + Send,
        E: From<Error>,
    {
        let mut builder = conn.build_transaction();
        if let Some(level) = self.isolation {
            builder = builder.isolation_level(level);
        }
        if let Some(read_only) = self.read_only {
            builder = builder.read_only(read_only);
        }
        if let Some(deferrable) = self.deferrable {
            builder = builder.deferrable(deferrable);
        }
        let mut tx = builder.start().await.map_err(|e| Error::db(BEGIN, e))?;
        match f(&mut tx).await {
            Ok(value) => {
                // A failed COMMIT ends the transaction too (PostgreSQL rolls it back).
                tx.commit().await.map_err(|e| Error::db(COMMIT, e))?;
                Ok(value)
            }
            Err(error) => {
                if let Err(rollback) = tx.rollback().await {
                    // The closure's error says more; the connection, if
                    // broken, is not reused by the pool.
                    tracing::warn!(error = %rollback, "ROLLBACK failed");
                }
                Err(error)
            }
        }
    }
}

/// The name errors of the transaction's own statements carry.
const BEGIN: &str = "BEGIN";
const COMMIT: &str = "COMMIT";

/// Exponential backoff bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Backoff {
    base: Duration,
    max: Duration,
}

impl Backoff {
    /// The delay before retry `retry` (1-based), `unit` in `[0, 1)` choosing
    /// where in `[cap / 2, cap]` it falls.
    fn delay(&self, retry: u32, unit: f64) -> Duration {
        let factor = 2_u32.saturating_pow(retry.saturating_sub(1));
        let cap = self.base.saturating_mul(factor).min(self.max);
        let unit = unit.clamp(0.0, 1.0);
        cap / 2 + cap.mul_f64(unit * 0.5)
    }
}

/// Whether a SQLSTATE means "run the transaction again": a serialization
/// failure (40001) or a deadlock (40P01).
pub fn is_retryable(state: &SqlState) -> bool {
    *state == SqlState::T_R_SERIALIZATION_FAILURE || *state == SqlState::T_R_DEADLOCK_DETECTED
}

/// An error whose SQLSTATE [`transaction`] can read, to decide whether to
/// run the closure again ([`is_retryable`]).
///
/// Implemented for [`quarry::Error`](Error), [`tokio_postgres::Error`],
/// [`deadpool_postgres::PoolError`] and `Box<dyn Error + Send + Sync>`
/// (which looks through the chain of [`source`](StdError::source)s). An
/// error type of your own opts in with [`sqlstate_of`], provided the
/// database error is in its `source()` chain (as `#[from]`/`#[source]` of
/// `thiserror` put it):
///
/// ```
/// #[derive(Debug, thiserror::Error)]
/// enum AppError {
///     #[error(transparent)]
///     Db(#[from] quarry::Error),
///     #[error("insufficient funds")]
///     InsufficientFunds,
/// }
///
/// impl quarry::RetryableError for AppError {
///     fn sqlstate(&self) -> Option<&quarry::tokio_postgres::error::SqlState> {
///         quarry::sqlstate_of(self)
///     }
/// }
/// ```
pub trait RetryableError {
    /// The SQLSTATE PostgreSQL reported, if this error comes from one.
    fn sqlstate(&self) -> Option<&SqlState>;
}

impl RetryableError for Error {
    fn sqlstate(&self) -> Option<&SqlState> {
        self.code()
    }
}

impl RetryableError for tokio_postgres::Error {
    fn sqlstate(&self) -> Option<&SqlState> {
        self.code()
    }
}

impl RetryableError for deadpool_postgres::PoolError {
    fn sqlstate(&self) -> Option<&SqlState> {
        match self {
            Self::Backend(error) => error.code(),
            _ => None,
        }
    }
}

impl RetryableError for Box<dyn StdError + Send + Sync> {
    fn sqlstate(&self) -> Option<&SqlState> {
        sqlstate_of(self.as_ref())
    }
}

/// The SQLSTATE of the first PostgreSQL error in `error`'s chain of
/// [`source`](StdError::source)s (`error` itself first): a
/// [`quarry::Error`](Error), a [`tokio_postgres::Error`], a
/// [`DbError`] or a [`deadpool_postgres::PoolError`].
pub fn sqlstate_of<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a SqlState> {
    let mut next = Some(error);
    while let Some(error) = next {
        let state = if let Some(error) = error.downcast_ref::<Error>() {
            error.code()
        } else if let Some(error) = error.downcast_ref::<tokio_postgres::Error>() {
            error.code()
        } else if let Some(error) = error.downcast_ref::<DbError>() {
            Some(error.code())
        } else if let Some(error) = error.downcast_ref::<deadpool_postgres::PoolError>() {
            error.sqlstate()
        } else {
            None
        };
        if state.is_some() {
            return state;
        }
        next = error.source();
    }
    None
}

/// An [`Executor`] that runs inside a transaction, so that row locks taken
/// by one statement are held until the transaction ends.
///
/// Generated functions for queries that take row locks (`SELECT … FOR
/// UPDATE`/`FOR NO KEY UPDATE`/`FOR SHARE`/`FOR KEY SHARE`,
/// `pg_advisory_xact_lock` and its variants) require it instead of
/// [`Executor`]: on a pool or a plain connection each statement is its own
/// transaction, so the lock would be released as soon as the statement
/// ended, before the code that took it could rely on it. Passing a
/// [`Pool`], a [`PooledConnection`](crate::PooledConnection) or a
/// [`tokio_postgres::Client`] to such a function does not compile.
///
/// Implemented for [`quarry::Transaction`](crate::Transaction),
/// [`tokio_postgres::Transaction`], [`deadpool_postgres::Transaction`]
/// (what [`transaction`] gives its closure), and `&T`/`Box<T>` of those.
/// Implement it for an executor of your own only if every statement it
/// runs is inside one transaction.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a transaction, and this query takes row locks",
    label = "a transaction is required here",
    note = "the query locks rows (`FOR UPDATE`, `FOR SHARE`, `pg_advisory_xact_lock`, …); outside a transaction each statement commits on its own, so the locks would be released as soon as the statement ends",
    note = "pass a transaction: `pool.get().await?.transaction().await?`, or run the code in `quarry::transaction(&pool, |tx| …)`"
)]
pub trait InTransaction: Executor {}

impl InTransaction for tokio_postgres::Transaction<'_> {}

impl InTransaction for deadpool_postgres::Transaction<'_> {}

impl InTransaction for crate::Transaction<'_> {}

impl<T: InTransaction + ?Sized> InTransaction for &T {}

impl<T: InTransaction + ?Sized> InTransaction for Box<T> {}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio_postgres::error::SqlState;

    use super::{is_retryable, sqlstate_of, Backoff, RetryableError, TransactionOptions};
    use crate::Error;

    fn backoff() -> Backoff {
        Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(300),
        }
    }

    #[test]
    fn delay_doubles_within_half_and_all_of_the_cap() {
        let backoff = backoff();
        for (retry, cap_ms) in [
            (1, 10),
            (2, 20),
            (3, 40),
            (4, 80),
            (5, 160),
            (6, 300),
            (40, 300),
        ] {
            let cap = Duration::from_millis(cap_ms);
            assert_eq!(backoff.delay(retry, 0.0), cap / 2, "retry {retry}");
            assert!(backoff.delay(retry, 0.999_999) <= cap, "retry {retry}");
            assert!(
                backoff.delay(retry, 0.999_999) > cap.mul_f64(0.99),
                "retry {retry}"
            );
            for _ in 0..200 {
                let delay = backoff.delay(retry, fastrand::f64());
                assert!(delay >= cap / 2 && delay <= cap, "retry {retry}: {delay:?}");
            }
        }
    }

    #[test]
    fn delay_is_jittered() {
        let backoff = backoff();
        let delays: std::collections::BTreeSet<Duration> =
            (0..50).map(|_| backoff.delay(3, fastrand::f64())).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn delay_never_overflows() {
        let huge = Backoff {
            base: Duration::MAX,
            max: Duration::MAX,
        };
        assert!(huge.delay(u32::MAX, 1.0) <= Duration::MAX);
        assert!(huge.delay(0, 2.0) >= Duration::MAX / 2);
    }

    #[test]
    fn only_serialization_failures_and_deadlocks_are_retryable() {
        assert!(is_retryable(&SqlState::T_R_SERIALIZATION_FAILURE));
        assert!(is_retryable(&SqlState::T_R_DEADLOCK_DETECTED));
        assert!(!is_retryable(&SqlState::UNIQUE_VIOLATION));
        assert!(!is_retryable(&SqlState::LOCK_NOT_AVAILABLE));
        assert!(!is_retryable(&SqlState::QUERY_CANCELED));
        assert_eq!(SqlState::T_R_SERIALIZATION_FAILURE.code(), "40001");
        assert_eq!(SqlState::T_R_DEADLOCK_DETECTED.code(), "40P01");
    }

    #[test]
    fn errors_without_a_database_error_have_no_sqlstate() {
        let error = Error::NotFound { query: "GetPost" };
        assert_eq!(error.sqlstate(), None);
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
        assert_eq!(boxed.sqlstate(), None);
        let io: Box<dyn std::error::Error + Send + Sync> = "plain".into();
        assert_eq!(io.sqlstate(), None);
        assert_eq!(sqlstate_of(io.as_ref()), None);
        let pool = deadpool_postgres::PoolError::Closed;
        assert_eq!(pool.sqlstate(), None);
    }

    #[test]
    fn transaction_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        const QUERY: crate::Query = crate::Query::new("One", "SELECT 1");
        let pool = crate::Pool::connect("postgres://app@127.0.0.1:1/app");
        let Ok(pool) = pool else {
            panic!("a lazy pool is built without a server")
        };
        let future = super::transaction(&pool, |tx| {
            Box::pin(async move {
                let rows = crate::Executor::query(&*tx, &QUERY, &[]).await?;
                Ok::<_, Error>(rows.len())
            })
        });
        assert_send(&future);
        let boxed = TransactionOptions::new().run(&pool, |tx| {
            Box::pin(async move {
                crate::Executor::execute(tx, &QUERY, &[]).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        });
        assert_send(&boxed);
    }

    #[test]
    fn options_builder() {
        let options = TransactionOptions::new();
        assert_eq!(TransactionOptions::default().attempts(), 5);
        assert!(options.isolation.is_none() && options.read_only.is_none());
        assert_eq!(options.attempts(), 5);
        assert_eq!(options.max_attempts(0).attempts(), 1);
        assert_eq!(options.max_attempts(3).attempts(), 3);
        let options = options
            .isolation(tokio_postgres::IsolationLevel::Serializable)
            .read_only(true)
            .deferrable(true)
            .backoff(Duration::from_millis(1), Duration::from_millis(2));
        assert!(matches!(
            options.isolation,
            Some(tokio_postgres::IsolationLevel::Serializable)
        ));
        assert_eq!(options.read_only, Some(true));
        assert_eq!(options.deferrable, Some(true));
        assert_eq!(options.backoff.max, Duration::from_millis(2));
    }
}
