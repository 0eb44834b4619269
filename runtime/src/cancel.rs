//! Cancellation: a statement whose future (or [`RowStream`](crate::RowStream))
//! is dropped before it completes is cancelled on the server, and a
//! connection the runtime owns that may still be busy with it is detached
//! from its pool instead of going back to it.
//!
//! * [`arm`] gives the [`Guard`] of one statement: dropped before the
//!   statement's result arrived, it sends a cancel request
//!   (tokio-postgres' [`CancelToken`], over a new connection to the server —
//!   TCP or unix socket — without TLS) from a task spawned on the tokio
//!   runtime, since `Drop` cannot wait; and it marks the connection's
//!   [`CancelState`], when it has one.
//! * [`Owned`] is a deadpool connection the runtime checked out (the
//!   [`Pool`](crate::Pool) executor's per-statement checkout, a
//!   [`PooledConnection`](crate::PooledConnection), a stream's connection):
//!   dropped after a cancellation, it is taken out of the pool
//!   ([`deadpool::managed::Object::take`]) and closed rather than returned to
//!   it while the server may still be running the statement.
//! * A connection the caller keeps using after a cancellation (a
//!   `PooledConnection`) runs its next statement only once the cancel
//!   request was sent ([`CancelState::settle`]), so that a late cancel
//!   is unlikely to hit that next statement (PostgreSQL acknowledges no
//!   cancel request, so this narrows a window it cannot close; a `COPY`
//!   that is reading rows is ended by `CopyFail` instead, without one).
//!
//! A raw [`deadpool_postgres::Object`] (or a plain client, or a transaction)
//! has no such state: its statement is cancelled on the server, but the
//! runtime cannot detach it, so a deadpool object dropped right after a
//! cancellation goes back to its pool as deadpool decides (it waits, if it
//! must, behind the end of the cancelled statement), and a statement sent on
//! it right away may be hit by the late cancel request.
//!
//! [`deadpool::managed::Object::take`]: deadpool_postgres::Object::take

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::JoinHandle;
use tokio_postgres::{CancelToken, Client, NoTls};

/// What a connection remembers of the cancellations of its statements.
#[derive(Debug, Default)]
pub(crate) struct CancelState {
    /// A statement of this connection was cancelled: the connection may be
    /// busy, and must not go back to its pool.
    cancelled: AtomicBool,
    /// The cancel request in flight, if any.
    pending: Mutex<Option<JoinHandle<()>>>,
}

impl CancelState {
    /// Whether a statement of this connection was cancelled (or the
    /// connection was otherwise marked not to go back to its pool).
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Marks the connection as not to be returned to its pool.
    pub(crate) fn mark(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    /// Waits until the last cancel request sent for this connection has been
    /// delivered (or has failed), so that it cannot cancel a later statement.
    pub(crate) async fn settle(&self) {
        if !self.is_cancelled() {
            return;
        }
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(pending) = pending {
            // A failed or aborted cancel request: nothing more to wait for.
            let _ = pending.await;
        }
    }

    fn cancelled(&self, request: Option<JoinHandle<()>>) {
        self.mark();
        if let Some(request) = request {
            *self.pending.lock().unwrap_or_else(PoisonError::into_inner) = Some(request);
        }
    }
}

/// Sends a cancel request for the statement running on `token`'s
/// connection, from a task on the current tokio runtime; `None` without a
/// runtime (then nothing is sent: a runtime shutting down closes its
/// connections anyway).
fn send_cancel(token: CancelToken) -> Option<JoinHandle<()>> {
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    Some(runtime.spawn(async move {
        if let Err(error) = token.cancel_query(NoTls).await {
            tracing::debug!(%error, "quarry: cancel request failed");
        }
    }))
}

/// Armed while one statement is in flight on `client`: dropped armed (the
/// statement's future was dropped), it cancels the statement.
pub(crate) struct Guard<'a> {
    client: &'a Client,
    state: Option<&'a CancelState>,
    armed: bool,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let request = send_cancel(self.client.cancel_token());
        if let Some(state) = self.state {
            state.cancelled(request);
        }
    }
}

/// The guard of one statement about to be sent on `client`: dropped before
/// [`disarm`](Guard::disarm) (the statement's future was dropped before it
/// completed), it cancels the statement on the server and marks `state`.
/// Waits first for a cancel request still in flight on the connection
/// ([`CancelState::settle`]).
///
/// Costs nothing on the way: no allocation, no clock, no cancel token until
/// a cancellation actually happens. (Not a wrapper future: one more level of
/// futures around every statement is stack that debug builds notice.)
pub(crate) async fn arm<'a>(client: &'a Client, state: Option<&'a CancelState>) -> Guard<'a> {
    if let Some(state) = state {
        state.settle().await;
    }
    Guard {
        client,
        state,
        armed: true,
    }
}

impl Guard<'_> {
    /// The statement completed (with a result or an error): nothing to cancel.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

/// Armed while a [`RowStream`](crate::RowStream) has rows to come: dropped
/// armed, it cancels the rest of the statement and marks the connection's
/// state.
pub(crate) struct StreamGuard {
    token: CancelToken,
    state: Option<Arc<CancelState>>,
    armed: bool,
}

impl StreamGuard {
    pub(crate) fn new(token: CancelToken, state: Option<Arc<CancelState>>) -> Self {
        Self {
            token,
            state,
            armed: true,
        }
    }

    /// The statement ended (all rows read, or an error): nothing to cancel.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let request = send_cancel(self.token.clone());
        if let Some(state) = &self.state {
            state.cancelled(request);
        }
    }
}

/// A deadpool connection the runtime checked out: dropped after one of its
/// statements was cancelled, it is detached from the pool and closed instead
/// of being returned.
#[derive(Debug)]
pub(crate) struct Owned {
    // `None` only inside `into_inner` and `drop`.
    object: Option<deadpool_postgres::Object>,
    state: Arc<CancelState>,
}

impl Owned {
    pub(crate) fn new(object: deadpool_postgres::Object) -> Self {
        Self {
            object: Some(object),
            state: Arc::default(),
        }
    }

    /// The connection's cancellation state (shared with its streams).
    pub(crate) fn state(&self) -> &Arc<CancelState> {
        &self.state
    }

    /// The deadpool connection, returned to its pool when dropped whatever
    /// happened to it (see the module documentation).
    pub(crate) fn into_inner(mut self) -> deadpool_postgres::Object {
        match self.object.take() {
            Some(object) => object,
            None => unreachable!("a quarry checkout given away twice"),
        }
    }
}

impl Deref for Owned {
    type Target = deadpool_postgres::Object;

    fn deref(&self) -> &Self::Target {
        match &self.object {
            Some(object) => object,
            // Only `into_inner` (which consumes `self`) and `drop` take it.
            None => unreachable!("a quarry checkout used after it was given away"),
        }
    }
}

impl std::ops::DerefMut for Owned {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match &mut self.object {
            Some(object) => object,
            None => unreachable!("a quarry checkout used after it was given away"),
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let Some(object) = self.object.take() else {
            return;
        };
        if self.state.is_cancelled() {
            // Out of the pool for good: the client is dropped here, which
            // closes the connection once the server is done with it.
            drop(deadpool_postgres::Object::take(object));
        }
        // Otherwise `object` goes back to its pool.
    }
}
