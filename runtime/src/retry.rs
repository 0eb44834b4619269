//! Surviving server restarts, failovers and schema changes: which failures
//! a statement may be run again after, and the [`Pool`]'s retry on a fresh
//! connection.
//!
//! Two kinds of retry, each at most once per call:
//!
//! * a cached statement whose plan the server invalidated ("cached plan must
//!   not change result type", SQLSTATE 0A000, after `ALTER TABLE`) is
//!   evicted from the connection's cache, prepared again and re-run, by the
//!   executors' `Session` (not inside a transaction, which the error aborted);
//! * a statement that failed because its connection died (the connection
//!   closed, SQLSTATE class 08, or 57P01/57P02/57P03) runs again on a fresh
//!   connection of the [`Pool`] when that is safe: it provably never reached
//!   the server (failed at checkout or while being prepared), or it is
//!   [read-only](crate::Query::read_only). A write that failed after being
//!   sent is never retried: it may have been applied.

use std::future::Future;

use deadpool_postgres::{Object, PoolError};
use tokio_postgres::error::SqlState;

use crate::{Error, Pool, Query};

/// How far a failed statement got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Preparing it: the execution was never sent.
    Prepare,
    /// Executing it: it may have run.
    Execute,
}

/// A failed statement, with how far it got.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) stage: Stage,
}

impl Failure {
    #[cold]
    pub(crate) fn new(query: &Query, stage: Stage, source: tokio_postgres::Error) -> Self {
        Self {
            error: Error::db(query.name(), source),
            stage,
        }
    }

    /// A statement that could not be sent pooler-safe (nothing was sent).
    #[cold]
    pub(crate) fn pooler(query: &Query, source: crate::pooler::PoolerError) -> Self {
        Self {
            error: Error::Pooler {
                query: query.name(),
                source,
            },
            stage: Stage::Prepare,
        }
    }

    /// The failure, at `stage` (whether the statement may have run).
    pub(crate) fn at(self, stage: Stage) -> Self {
        Self { stage, ..self }
    }

    pub(crate) fn into_error(self) -> Error {
        self.error
    }

    /// Whether the statement failed because its connection did.
    pub(crate) fn is_connection_failure(&self) -> bool {
        matches!(&self.error, Error::Db { source, .. } if is_connection_error(source))
    }

    /// Why this failure may be retried on a fresh connection, if it may.
    fn retry_reason(&self, read_only: bool) -> Option<&'static str> {
        let dead = match &self.error {
            Error::Db { source, .. } => is_connection_error(source),
            _ => false,
        };
        retry_reason(self.stage, read_only, dead)
    }
}

/// The retry rule: only connection failures, and only when the statement
/// never ran or cannot have written anything.
fn retry_reason(stage: Stage, read_only: bool, connection_failed: bool) -> Option<&'static str> {
    match (connection_failed, stage, read_only) {
        (false, _, _) => None,
        (true, Stage::Prepare, _) => Some("the connection failed before the statement was sent"),
        (true, Stage::Execute, true) => Some("the connection failed under a read-only statement"),
        (true, Stage::Execute, false) => None,
    }
}

/// Whether `error` means the connection is gone: closed, or the server
/// reported a connection exception (class 08) or is shutting down,
/// restarting or starting up (57P01, 57P02, 57P03).
pub(crate) fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    error.is_closed() || error.code().is_some_and(is_connection_state)
}

fn is_connection_state(state: &SqlState) -> bool {
    state.code().starts_with("08")
        || *state == SqlState::ADMIN_SHUTDOWN
        || *state == SqlState::CRASH_SHUTDOWN
        || *state == SqlState::CANNOT_CONNECT_NOW
}

/// Whether `error` is the server refusing a cached statement whose result
/// type changed since it was prepared (SQLSTATE 0A000 raised by the plan
/// cache's revalidation, "cached plan must not change result type").
pub(crate) fn is_stale_plan(error: &tokio_postgres::Error) -> bool {
    error
        .as_db_error()
        .is_some_and(|db| is_stale_plan_report(db.code(), db.routine(), db.message()))
}

fn is_stale_plan_report(code: &SqlState, routine: Option<&str>, message: &str) -> bool {
    // SQLSTATE 0A000 alone means any unsupported feature; the routine name
    // is not translated, the message is (unless lc_messages is English).
    *code == SqlState::FEATURE_NOT_SUPPORTED
        && (routine == Some("RevalidateCachedQuery")
            || message == "cached plan must not change result type")
}

impl Pool {
    /// A connection for one statement (not a detector scope of its own).
    /// A checkout that fails to open a connection never reached the server
    /// with the statement, so it is tried once more.
    pub(crate) async fn checkout(&self, query: &Query) -> Result<Object, Error> {
        match self.inner().get().await {
            Ok(client) => Ok(client),
            Err(PoolError::Backend(source)) => {
                tracing::warn!(
                    query = query.name(),
                    reason = %crate::error::SourceMessage(&source),
                    "quarry: retrying a checkout that could not connect"
                );
                self.fresh_connection(query).await
            }
            Err(source) => Err(Error::Pool {
                query: query.name(),
                source,
            }),
        }
    }

    /// Runs `attempt` on `client`; if its connection failed in a way that
    /// allows it (see [`Failure`]), once more on a fresh connection. Returns
    /// the result with the connection it ran on.
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        query: &Query,
        client: Object,
        attempt: F,
    ) -> Result<(T, Object), Error>
    where
        F: Fn(Object) -> Fut,
        Fut: Future<Output = (Object, Result<T, Failure>)>,
    {
        let (client, result) = attempt(client).await;
        let failure = match result {
            Ok(value) => return Ok((value, client)),
            Err(failure) => failure,
        };
        let Some(reason) = failure.retry_reason(query.is_read_only()) else {
            return Err(failure.into_error());
        };
        tracing::warn!(
            query = query.name(),
            reason,
            error = %failure.error,
            "quarry: retrying on a fresh connection"
        );
        // The connection is dead: it never goes back to the pool.
        drop(Object::take(client));
        let client = self.fresh_connection(query).await?;
        let (client, result) = attempt(client).await;
        result
            .map(|value| (value, client))
            .map_err(Failure::into_error)
    }

    /// A connection that is live: the pool is first rid of the connections
    /// already known closed, then each candidate answers an empty query (a
    /// round trip, paid only on this rare path) before it is used; one that
    /// does not is dropped from the pool.
    async fn fresh_connection(&self, query: &Query) -> Result<Object, Error> {
        let pool = self.inner();
        let removed = pool.retain(|client, _| !client.is_closed()).removed.len();
        if removed > 0 {
            tracing::debug!(removed, "quarry: closed connections evicted from the pool");
        }
        // Every pooled connection may be dead (a server restart): one more
        // try than the pool holds reaches a newly opened one.
        let mut tries = pool.status().max_size + 1;
        loop {
            let client = pool.get().await.map_err(|source| Error::Pool {
                query: query.name(),
                source,
            })?;
            match client.simple_query("").await {
                Ok(_) => return Ok(client),
                Err(source) if tries > 1 && is_connection_error(&source) => {
                    tries -= 1;
                    drop(Object::take(client));
                }
                Err(source) => return Err(Error::db(query.name(), source)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio_postgres::error::SqlState;

    use super::{is_connection_state, is_stale_plan_report, retry_reason, Stage};

    #[test]
    fn only_connection_failures_are_retried() {
        for stage in [Stage::Prepare, Stage::Execute] {
            for read_only in [false, true] {
                assert_eq!(retry_reason(stage, read_only, false), None);
            }
        }
    }

    #[test]
    fn a_statement_never_sent_is_retried_even_if_it_writes() {
        assert!(retry_reason(Stage::Prepare, false, true).is_some());
        assert!(retry_reason(Stage::Prepare, true, true).is_some());
    }

    #[test]
    fn a_sent_statement_is_retried_only_if_read_only() {
        assert!(retry_reason(Stage::Execute, true, true).is_some());
        assert_eq!(retry_reason(Stage::Execute, false, true), None);
    }

    #[test]
    fn connection_states() {
        for state in [
            SqlState::CONNECTION_EXCEPTION,
            SqlState::CONNECTION_FAILURE,
            SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
            SqlState::PROTOCOL_VIOLATION,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ] {
            assert!(is_connection_state(&state), "{state:?}");
        }
        for state in [
            SqlState::QUERY_CANCELED,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::UNIQUE_VIOLATION,
            SqlState::FEATURE_NOT_SUPPORTED,
        ] {
            assert!(!is_connection_state(&state), "{state:?}");
        }
    }

    #[test]
    fn stale_plan_is_0a000_from_plan_revalidation() {
        let message = "cached plan must not change result type";
        let code = SqlState::FEATURE_NOT_SUPPORTED;
        assert!(is_stale_plan_report(
            &code,
            Some("RevalidateCachedQuery"),
            message
        ));
        // Translated message, routine still there.
        assert!(is_stale_plan_report(
            &code,
            Some("RevalidateCachedQuery"),
            "…"
        ));
        // No routine (a proxy stripped it), English message.
        assert!(is_stale_plan_report(&code, None, message));
        // Another unsupported feature.
        assert!(!is_stale_plan_report(
            &code,
            Some("transformSelectStmt"),
            "nope"
        ));
        // Another code with the same words.
        assert!(!is_stale_plan_report(
            &SqlState::SYNTAX_ERROR,
            Some("RevalidateCachedQuery"),
            message
        ));
    }
}
