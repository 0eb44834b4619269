//! The N+1 detector: flags one query run more than a threshold of times in
//! one scope (a [`record`](crate::record) or [`scope`](crate::scope) block —
//! one request under the `tower` layer — or, outside any block, one
//! [`PooledConnection`](crate::PooledConnection) checkout). Counts belong to
//! their scope: they start at zero with it and end with it.
//!
//! The policy is global and lives in one atomic, so reading it on every
//! execution costs a load; the counts live in each scope.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::Error;

/// What the N+1 detector does when a query runs more than
/// [`NPlusOnePolicy::threshold`] times in one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NPlusOneAction {
    /// Nothing: executions are not counted.
    Off,
    /// Emit one `tracing` warning per scope and query (when its count first
    /// exceeds the threshold) and list it in the scope's
    /// [`QueryLog::n_plus_one`](crate::QueryLog::n_plus_one); the statement
    /// runs normally.
    Warn,
    /// Refuse the execution that would exceed the threshold, and every later
    /// one of the same query in the scope, with [`Error::NPlusOne`]: the
    /// statement is not sent.
    Error,
}

/// The N+1 detector's global policy: see [`set_n_plus_one_policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NPlusOnePolicy {
    /// What to do when the threshold is exceeded.
    pub action: NPlusOneAction,
    /// How many executions of one query a scope may run before it is
    /// flagged: the detector acts on execution `threshold + 1`.
    pub threshold: u32,
}

impl NPlusOnePolicy {
    /// The detector switched off.
    pub const OFF: NPlusOnePolicy = NPlusOnePolicy {
        action: NPlusOneAction::Off,
        threshold: DEFAULT_THRESHOLD,
    };

    /// The default: [`NPlusOneAction::Warn`] with a threshold of 5 in debug
    /// builds (`debug_assertions`), [`NPlusOneAction::Off`] in release builds.
    pub const DEFAULT: NPlusOnePolicy = NPlusOnePolicy {
        action: if cfg!(debug_assertions) {
            NPlusOneAction::Warn
        } else {
            NPlusOneAction::Off
        },
        threshold: DEFAULT_THRESHOLD,
    };

    const fn encode(self) -> u64 {
        let action: u64 = match self.action {
            NPlusOneAction::Off => 0,
            NPlusOneAction::Warn => 1,
            NPlusOneAction::Error => 2,
        };
        (action << 32) | self.threshold as u64
    }

    const fn decode(bits: u64) -> NPlusOnePolicy {
        let action = match bits >> 32 {
            1 => NPlusOneAction::Warn,
            2 => NPlusOneAction::Error,
            _ => NPlusOneAction::Off,
        };
        NPlusOnePolicy {
            action,
            // The low 32 bits, by construction.
            threshold: (bits & 0xFFFF_FFFF) as u32,
        }
    }
}

impl Default for NPlusOnePolicy {
    /// [`NPlusOnePolicy::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

const DEFAULT_THRESHOLD: u32 = 5;

/// Action and threshold in one word, so that a reader never sees the action
/// of one policy with the threshold of another.
static POLICY: AtomicU64 = AtomicU64::new(NPlusOnePolicy::DEFAULT.encode());

/// Sets the N+1 detector's policy for the whole process, effective for the
/// next execution (scopes keep the counts they have).
pub fn set_n_plus_one_policy(policy: NPlusOnePolicy) {
    POLICY.store(policy.encode(), Ordering::Relaxed);
}

/// The N+1 detector's current policy ([`NPlusOnePolicy::DEFAULT`] until
/// [`set_n_plus_one_policy`] is called).
pub fn n_plus_one_policy() -> NPlusOnePolicy {
    NPlusOnePolicy::decode(POLICY.load(Ordering::Relaxed))
}

/// A query the N+1 detector flagged in one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NPlusOne {
    /// The query name.
    pub query: &'static str,
    /// How many times it ran in the scope (with [`NPlusOneAction::Error`]:
    /// counting the first refused execution).
    pub count: u32,
}

/// Executions per query name in one scope, and what was flagged there.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    by_name: HashMap<&'static str, u32>,
    flagged: Vec<NPlusOne>,
}

impl Counts {
    fn get(&self, query: &str) -> u32 {
        self.by_name.get(query).copied().unwrap_or(0)
    }

    /// Flags `query` at `count` unless it already is; true if it was new.
    fn flag(&mut self, query: &'static str, count: u32) -> bool {
        if self.flagged.iter().any(|flagged| flagged.query == query) {
            return false;
        }
        self.flagged.push(NPlusOne { query, count });
        true
    }

    /// What was flagged, in flagging order, with the count the query has now
    /// (or the count it was refused at, if higher).
    pub(crate) fn flagged(&self) -> Vec<NPlusOne> {
        self.flagged
            .iter()
            .map(|flagged| NPlusOne {
                query: flagged.query,
                count: flagged.count.max(self.get(flagged.query)),
            })
            .collect()
    }
}

/// The counts of one scope, shared by the executions that run in it.
#[derive(Debug, Default)]
pub(crate) struct Detector(Mutex<Counts>);

impl Detector {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Counts> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts one execution of `query` in every scope it runs in, and applies the
/// policy. `Err` means the execution must not run.
pub(crate) fn detect<'a, I>(query: &'static str, scopes: I) -> Result<(), Error>
where
    I: Iterator<Item = &'a Detector> + Clone,
{
    let NPlusOnePolicy { action, threshold } = n_plus_one_policy();
    if action == NPlusOneAction::Off {
        return Ok(());
    }
    if action == NPlusOneAction::Error {
        // Refuse before counting anywhere: a refused statement did not run.
        let mut refused = None;
        for detector in scopes.clone() {
            let mut counts = detector.lock();
            let next = counts.get(query).saturating_add(1);
            if next > threshold {
                counts.flag(query, next);
                refused = Some(refused.map_or(next, |count: u32| count.min(next)));
            }
        }
        if let Some(count) = refused {
            return Err(Error::NPlusOne { query, count });
        }
    }
    // The count in the innermost scope that crossed, for the one warning
    // this execution emits however many nested scopes it crossed in.
    let mut crossed = None;
    for detector in scopes {
        let mut counts = detector.lock();
        let count = counts.by_name.entry(query).or_insert(0);
        *count = count.saturating_add(1);
        let count = *count;
        if count > threshold && counts.flag(query, count) && crossed.is_none() {
            crossed = Some(count);
        }
    }
    if let Some(count) = crossed {
        tracing::warn!(
            query,
            count,
            threshold,
            "possible N+1: query `{query}` ran {count} times in one scope \
             (threshold {threshold}); load the rows with one batched statement instead \
             (a loader with `= ANY($1)`, or `-- @prefetch` on the parent query)"
        );
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use super::{
        detect, n_plus_one_policy, set_n_plus_one_policy, Detector, NPlusOne, NPlusOneAction,
        NPlusOnePolicy,
    };
    use crate::Error;

    /// Serializes the unit tests that change the global policy.
    pub(crate) fn policy_lock() -> MutexGuard<'static, ()> {
        static LOCK: Mutex<()> = Mutex::new(());
        LOCK.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets a policy for the rest of the current test, restoring the default
    /// afterwards (also on panic).
    pub(crate) struct WithPolicy {
        _lock: MutexGuard<'static, ()>,
    }

    impl WithPolicy {
        pub(crate) fn set(action: NPlusOneAction, threshold: u32) -> Self {
            let guard = policy_lock();
            set_n_plus_one_policy(NPlusOnePolicy { action, threshold });
            Self { _lock: guard }
        }
    }

    impl Drop for WithPolicy {
        fn drop(&mut self) {
            set_n_plus_one_policy(NPlusOnePolicy::DEFAULT);
        }
    }

    #[test]
    fn policy_round_trips_and_defaults_by_build() {
        let _policy = WithPolicy::set(NPlusOneAction::Error, 42);
        assert_eq!(
            n_plus_one_policy(),
            NPlusOnePolicy {
                action: NPlusOneAction::Error,
                threshold: 42
            }
        );
        set_n_plus_one_policy(NPlusOnePolicy {
            action: NPlusOneAction::Warn,
            threshold: u32::MAX,
        });
        assert_eq!(n_plus_one_policy().threshold, u32::MAX);
        assert_eq!(n_plus_one_policy().action, NPlusOneAction::Warn);
        set_n_plus_one_policy(NPlusOnePolicy::default());
        let expected = if cfg!(debug_assertions) {
            NPlusOneAction::Warn
        } else {
            NPlusOneAction::Off
        };
        assert_eq!(n_plus_one_policy().action, expected);
        assert_eq!(n_plus_one_policy().threshold, 5);
    }

    #[test]
    fn warn_flags_once_per_scope_with_the_final_count() {
        let _policy = WithPolicy::set(NPlusOneAction::Warn, 3);
        let (outer, inner) = (Detector::default(), Detector::default());
        for _ in 0..3 {
            assert!(detect("GetAuthor", [&outer].into_iter()).is_ok());
        }
        assert!(outer.lock().flagged().is_empty());
        for _ in 0..2 {
            assert!(detect("GetAuthor", [&inner, &outer].into_iter()).is_ok());
        }
        assert!(detect("Other", [&inner, &outer].into_iter()).is_ok());
        assert_eq!(
            outer.lock().flagged(),
            [NPlusOne {
                query: "GetAuthor",
                count: 5
            }]
        );
        assert!(inner.lock().flagged().is_empty());
    }

    #[test]
    fn error_refuses_every_execution_past_the_threshold() {
        let _policy = WithPolicy::set(NPlusOneAction::Error, 2);
        let scope = Detector::default();
        assert!(detect("GetAuthor", [&scope].into_iter()).is_ok());
        assert!(detect("GetAuthor", [&scope].into_iter()).is_ok());
        for _ in 0..2 {
            let refused = detect("GetAuthor", [&scope].into_iter());
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
        }
        assert_eq!(
            scope.lock().flagged(),
            [NPlusOne {
                query: "GetAuthor",
                count: 3
            }]
        );
    }

    #[test]
    fn off_counts_nothing() {
        let _policy = WithPolicy::set(NPlusOneAction::Off, 0);
        let scope = Detector::default();
        for _ in 0..10 {
            assert!(detect("GetAuthor", [&scope].into_iter()).is_ok());
        }
        assert!(scope.lock().flagged().is_empty());
        assert_eq!(scope.lock().get("GetAuthor"), 0);
    }
}
