//! The N+1 detector in services (feature `tower`): [`NPlusOneLayer`] makes
//! each request of a `tower` service one [`scope`](crate::scope); and
//! [`ReadYourWritesLayer`] makes it one read-your-writes scope
//! ([`read_your_writes`](crate::read_your_writes)).
//!
//! Owns only the wrapping: the counting and the policy are the detector's
//! ([`set_n_plus_one_policy`](crate::set_n_plus_one_policy)). Because
//! counting follows the innermost scope, a query run more than the threshold
//! of times *in one request* is flagged, whatever connection it ran on — a
//! long-lived [`PooledConnection`](crate::PooledConnection) shared by many
//! requests is not flagged for their sum. Depends on `tower-layer` and
//! `tower-service` only (the traits), not on `tower` or any HTTP crate.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::task::futures::TaskLocalFuture;

use crate::detect::NPlusOne;
use crate::record::Frame;
use crate::route::Written;

/// What [`NPlusOneLayer::on_flagged`] calls.
type OnFlagged = Arc<dyn Fn(&[NPlusOne]) + Send + Sync>;

/// A `tower` layer that runs every request as one scope of the N+1
/// detector: counts start at zero for each request.
///
/// ```no_run
/// # fn demo<S>(service: S) {
/// use tower_layer::Layer as _;
///
/// let service = quarry::tower::NPlusOneLayer::new()
///     .on_flagged(|flagged| eprintln!("N+1 in this request: {flagged:?}"))
///     .layer(service);
/// # let _ = service;
/// # }
/// ```
///
/// Statements run in tasks the handler spawns are not counted (a spawned
/// task does not inherit the request's scope).
#[derive(Clone, Default)]
pub struct NPlusOneLayer {
    on_flagged: Option<OnFlagged>,
}

impl NPlusOneLayer {
    /// A layer making each request a detector scope.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `report` when a request completes (its response future
    /// resolved, with a response or an error) with what the detector flagged
    /// in it, if anything: e.g. to log the request's route or fail a test.
    /// The policy's own warning is emitted either way.
    pub fn on_flagged(self, report: impl Fn(&[NPlusOne]) + Send + Sync + 'static) -> Self {
        Self {
            on_flagged: Some(Arc::new(report)),
        }
    }
}

impl fmt::Debug for NPlusOneLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NPlusOneLayer")
            .field("on_flagged", &self.on_flagged.is_some())
            .finish()
    }
}

impl<S> tower_layer::Layer<S> for NPlusOneLayer {
    type Service = NPlusOneService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        NPlusOneService {
            inner,
            on_flagged: self.on_flagged.clone(),
        }
    }
}

/// The service [`NPlusOneLayer`] wraps around `S`.
#[derive(Clone)]
pub struct NPlusOneService<S> {
    inner: S,
    on_flagged: Option<OnFlagged>,
}

impl<S: fmt::Debug> fmt::Debug for NPlusOneService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NPlusOneService")
            .field("inner", &self.inner)
            .field("on_flagged", &self.on_flagged.is_some())
            .finish()
    }
}

impl<S, R> tower_service::Service<R> for NPlusOneService<S>
where
    S: tower_service::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = NPlusOneFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let (scoped, frame) = Frame::enter(false, self.inner.call(request));
        NPlusOneFuture {
            scoped,
            frame,
            on_flagged: self.on_flagged.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`NPlusOneService`]: the inner one, polled
    /// inside the request's scope.
    pub struct NPlusOneFuture<F: Future> {
        #[pin]
        scoped: TaskLocalFuture<Arc<Frame>, F>,
        frame: Arc<Frame>,
        on_flagged: Option<OnFlagged>,
    }
}

impl<F: Future> Future for NPlusOneFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.scoped.poll(cx));
        if let Some(report) = this.on_flagged.take() {
            let flagged = this.frame.detector().lock().flagged();
            if !flagged.is_empty() {
                report(&flagged);
            }
        }
        Poll::Ready(output)
    }
}

impl<F: Future> fmt::Debug for NPlusOneFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NPlusOneFuture").finish_non_exhaustive()
    }
}

/// A `tower` layer that runs every request as one read-your-writes scope
/// ([`read_your_writes`](crate::read_your_writes)): after the request writes
/// through a [`Pool`](crate::Pool) with replicas, its reads go to a replica
/// only once that replica has replayed the write, to the primary until then.
/// Each request starts with no write; requests do not see each other's.
///
/// ```no_run
/// # fn demo<S>(service: S) {
/// use tower_layer::Layer as _;
///
/// let service = quarry::tower::ReadYourWritesLayer::new().layer(service);
/// # let _ = service;
/// # }
/// ```
///
/// Statements run in tasks the handler spawns are outside the scope (a
/// spawned task does not inherit it); pass them a
/// [`PoolSession`](crate::PoolSession) instead.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadYourWritesLayer;

impl ReadYourWritesLayer {
    /// A layer making each request a read-your-writes scope.
    pub fn new() -> Self {
        Self
    }
}

impl<S> tower_layer::Layer<S> for ReadYourWritesLayer {
    type Service = ReadYourWritesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReadYourWritesService { inner }
    }
}

/// The service [`ReadYourWritesLayer`] wraps around `S`.
#[derive(Clone, Debug)]
pub struct ReadYourWritesService<S> {
    inner: S,
}

impl<S, R> tower_service::Service<R> for ReadYourWritesService<S>
where
    S: tower_service::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ReadYourWritesFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        ReadYourWritesFuture {
            scoped: crate::route::fresh_scope(self.inner.call(request)),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ReadYourWritesService`]: the inner one,
    /// polled inside the request's read-your-writes scope.
    pub struct ReadYourWritesFuture<F: Future> {
        #[pin]
        scoped: TaskLocalFuture<Arc<Written>, F>,
    }
}

impl<F: Future> Future for ReadYourWritesFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().scoped.poll(cx)
    }
}

impl<F: Future> fmt::Debug for ReadYourWritesFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadYourWritesFuture")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::{ready, Ready};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::task::{Context, Poll};

    use tower_layer::Layer as _;
    use tower_service::Service as _;

    use super::NPlusOneLayer;
    use crate::detect::tests::WithPolicy;
    use crate::detect::Detector;
    use crate::observe::observe;
    use crate::{Error, NPlusOne, NPlusOneAction, Query};

    const QUERY: Query = Query::new("GetAuthor", "SELECT 1");

    /// A handler running `QUERY` `count` times on one long-lived checkout.
    #[derive(Clone)]
    struct Handler {
        checkout: Arc<Detector>,
    }

    impl tower_service::Service<u32> for Handler {
        type Response = u32;
        type Error = Error;
        type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, Error>>>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, count: u32) -> Self::Future {
            let checkout = Arc::clone(&self.checkout);
            Box::pin(async move {
                for _ in 0..count {
                    observe(&QUERY, Some(&checkout), ready(Ok(())), |()| async {
                        Ok::<u64, Error>(1)
                    })
                    .await?;
                }
                Ok(count)
            })
        }
    }

    fn test_runtime() -> tokio::runtime::Runtime {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime,
            Err(error) => panic!("a tokio runtime: {error}"),
        }
    }

    /// Runs `requests` through the layered handler, returning what
    /// `on_flagged` saw per request and the long-lived checkout.
    fn serve(requests: &[u32]) -> (Vec<Vec<NPlusOne>>, Arc<Detector>) {
        let checkout = Arc::new(Detector::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let mut service = NPlusOneLayer::new()
            .on_flagged(move |flagged| {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(flagged.to_vec())
            })
            .layer(Handler {
                checkout: Arc::clone(&checkout),
            });
        let runtime = test_runtime();
        for &count in requests {
            let response = runtime.block_on(service.call(count));
            assert!(matches!(response, Ok(n) if n == count), "{response:?}");
        }
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
        (seen, checkout)
    }

    #[test]
    fn each_request_is_flagged_on_its_own_count() {
        let _policy = WithPolicy::set(NPlusOneAction::Warn, 5);
        let (seen, checkout) = serve(&[10, 10, 10]);
        let once = vec![NPlusOne {
            query: "GetAuthor",
            count: 10,
        }];
        assert_eq!(seen, [once.clone(), once.clone(), once]);
        // Counting followed the requests, not the long-lived checkout.
        assert!(checkout.lock().flagged().is_empty());
    }

    #[test]
    fn a_connection_shared_by_requests_is_not_flagged_for_their_sum() {
        // 30 executions on one checkout across 3 requests, 10 per request:
        // under a threshold of 10 nothing is flagged.
        let _policy = WithPolicy::set(NPlusOneAction::Error, 10);
        let (seen, checkout) = serve(&[10, 10, 10]);
        assert!(seen.is_empty(), "{seen:?}");
        assert!(checkout.lock().flagged().is_empty());
    }

    #[test]
    fn the_layer_passes_readiness_and_responses_through() {
        struct Ready42;
        impl tower_service::Service<()> for Ready42 {
            type Response = u8;
            type Error = Infallible;
            type Future = Ready<Result<u8, Infallible>>;
            fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }
            fn call(&mut self, (): ()) -> Self::Future {
                ready(Ok(42))
            }
        }
        let mut service = NPlusOneLayer::new().layer(Ready42);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
        let runtime = test_runtime();
        assert!(matches!(runtime.block_on(service.call(())), Ok(42)));
    }
}
