//! [`Client`]: a plain connection with a statement cache, its
//! [`Transaction`]s (which share that cache), and the per-connection cache
//! the executors prepare through ([`Cache`]).
//!
//! A bare [`tokio_postgres::Client`] prepares and closes the statement on
//! every call (two round trips); [`Client`] prepares each SQL text once per
//! connection, as a pooled connection does.

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, PoisonError, RwLock};

use tokio_postgres::{IsolationLevel, NoTls, Statement};

use crate::pooler::{Pooler, TypeSlot};

/// The prepared statements of one connection, keyed by SQL text.
///
/// Owned by a [`Client`] and shared by its [`Transaction`]s (prepared
/// statements belong to the session, not to a transaction: one prepared in
/// a transaction that rolls back stays valid). It only grows by the SQL
/// texts run through the executor, which for generated code is a fixed set.
/// Entries are evicted by the runtime when the server reports that a cached
/// plan changed its result type (after `ALTER TABLE`), and by
/// [`clear`](Self::clear).
#[derive(Default)]
pub struct StatementCache {
    entries: Entries<Statement>,
    /// The database's user-defined types, once loaded for pooler-safe
    /// statements ([`crate::pooler`]).
    types: Arc<TypeSlot>,
}

impl StatementCache {
    /// The number of cached statements.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no statement is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every cached statement (each is closed on the server once no
    /// running call uses it any more).
    pub fn clear(&self) {
        self.entries.clear();
    }

    /// Forgets the statement cached for `sql`, if any; the next call
    /// prepares it again. Returns whether one was cached.
    pub fn remove(&self, sql: &str) -> bool {
        self.entries.remove(sql)
    }

    async fn prepare(
        &self,
        client: &tokio_postgres::Client,
        sql: &str,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.entries.get(sql) {
            return Ok(statement);
        }
        let statement = client.prepare(sql).await?;
        // Two tasks preparing the same text at once both prepare; the later
        // one wins and the other statement is closed when its call is done.
        self.entries.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// The map behind [`StatementCache`], generic so that it can be tested
/// without a server (a [`Statement`] has no public constructor).
struct Entries<V> {
    map: RwLock<HashMap<Box<str>, V>>,
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Entries<V> {
    fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn clear(&self) {
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn remove(&self, key: &str) -> bool {
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key)
            .is_some()
    }

    fn get(&self, key: &str) -> Option<V> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn insert(&self, key: &str, value: V) {
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.into(), value);
    }
}

impl fmt::Debug for StatementCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatementCache")
            .field("len", &self.len())
            .finish()
    }
}

/// Where an executor's statements come from: prepared anew on every call,
/// or through a per-connection cache (deadpool's or a [`Client`]'s).
#[derive(Clone, Copy)]
pub(crate) enum Cache<'a> {
    /// No cache: prepare, execute, close.
    None,
    /// A deadpool connection's cache.
    Deadpool(&'a Arc<deadpool_postgres::StatementCache>),
    /// A [`Client`]'s cache.
    Quarry(&'a StatementCache),
}

impl Cache<'_> {
    /// The statement for `sql`, prepared on `client` unless cached.
    pub(crate) async fn prepare(
        self,
        client: &tokio_postgres::Client,
        sql: &str,
    ) -> Result<Statement, tokio_postgres::Error> {
        match self {
            Self::None => client.prepare(sql).await,
            Self::Deadpool(cache) => cache.prepare(client, sql).await,
            Self::Quarry(cache) => cache.prepare(client, sql).await,
        }
    }

    /// Drops the statement cached for `sql`; returns whether there was one
    /// (a statement that was not cached cannot be stale).
    /// Where the connection keeps the user-defined types of pooler-safe
    /// statements: none for a bare tokio-postgres client.
    pub(crate) fn type_slot(self) -> Option<Arc<TypeSlot>> {
        match self {
            Self::None => None,
            Self::Deadpool(cache) => Some(crate::pooler::deadpool_slot(cache)),
            Self::Quarry(cache) => Some(Arc::clone(&cache.types)),
        }
    }

    pub(crate) fn evict(self, sql: &str) -> bool {
        match self {
            Self::None => false,
            Self::Deadpool(cache) => cache.remove(sql, &[]).is_some(),
            Self::Quarry(cache) => cache.remove(sql),
        }
    }
}

/// A connection to PostgreSQL with a statement cache: the executor to use
/// where there is no pool.
///
/// Generated queries run on a bare [`tokio_postgres::Client`] prepare and
/// close their statement on every call (two round trips, about 2.5× the
/// cost of a prepared one); on a `quarry::Client` each SQL text is prepared
/// once per connection and then executed directly, as on a pooled
/// connection. Its [`transaction`](Self::transaction)s use the same cache.
///
/// It derefs to [`tokio_postgres::Client`] for everything else (simple
/// queries, `COPY`, cancel tokens…).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let mut client = quarry::Client::connect("postgres://app@localhost/app").await?;
/// # const COUNT: quarry::Query = quarry::Query::new("CountPosts", "SELECT count(*) FROM posts");
/// // A generated function, e.g. `blog::count_posts(&client).await?`:
/// let rows = quarry::Executor::query(&client, &COUNT, &[]).await?; // prepares
/// let rows = quarry::Executor::query(&client, &COUNT, &[]).await?; // cached
/// let tx = client.transaction().await?;
/// let rows = quarry::Executor::query(&tx, &COUNT, &[]).await?; // still cached
/// tx.commit().await?;
/// # let _ = rows;
/// # Ok(())
/// # }
/// ```
pub struct Client {
    client: tokio_postgres::Client,
    cache: StatementCache,
    pooler: Pooler,
}

impl Client {
    /// Connects without TLS to a connection string, either a URL
    /// (`postgres://user:password@host:port/db`) or `key=value` pairs, and
    /// spawns the connection task on the current tokio runtime (it ends when
    /// the client is dropped; a connection error is logged with `tracing`).
    ///
    /// For TLS or other settings, connect with tokio-postgres and convert the
    /// client with [`Client::new`] (or `From`).
    pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(
                    error = %crate::error::SourceMessage(&error),
                    "quarry::Client connection closed with an error"
                );
            }
        });
        Ok(Client::new(client))
    }

    /// Wraps a connected client, with an empty statement cache.
    pub fn new(client: tokio_postgres::Client) -> Client {
        Client {
            client,
            cache: StatementCache::default(),
            pooler: Pooler::Session,
        }
    }

    /// The client with its statements sent as `pooler` requires: with
    /// [`Pooler::Transaction`] (a client connected to PgBouncer in
    /// transaction mode), every statement is unnamed and nothing is cached;
    /// its transactions too. See [`Pooler`].
    pub fn with_pooler(self, pooler: Pooler) -> Client {
        Self { pooler, ..self }
    }

    /// The statements prepared on this connection so far.
    pub fn statement_cache(&self) -> &StatementCache {
        &self.cache
    }

    /// Starts a transaction (`BEGIN`) that uses this client's statement
    /// cache. It rolls back when dropped without [`Transaction::commit`].
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, tokio_postgres::Error> {
        let inner = self.client.transaction().await?;
        Ok(Transaction {
            inner,
            cache: &self.cache,
            pooler: self.pooler,
        })
    }

    /// A builder for a transaction with an isolation level, read-only or
    /// deferrable mode; it uses this client's statement cache too.
    pub fn build_transaction(&mut self) -> TransactionBuilder<'_> {
        TransactionBuilder {
            inner: self.client.build_transaction(),
            cache: &self.cache,
            pooler: self.pooler,
        }
    }

    /// The tokio-postgres client (its statement cache is dropped, closing
    /// the cached statements).
    pub fn into_inner(self) -> tokio_postgres::Client {
        self.client
    }

    pub(crate) fn cache(&self) -> Cache<'_> {
        Cache::Quarry(&self.cache)
    }

    pub(crate) fn pooler(&self) -> Pooler {
        self.pooler
    }
}

impl From<tokio_postgres::Client> for Client {
    fn from(client: tokio_postgres::Client) -> Self {
        Client::new(client)
    }
}

impl Deref for Client {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &Self::Target {
        &self.client
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("closed", &self.client.is_closed())
            .field("cache", &self.cache)
            .finish()
    }
}

/// A transaction on a [`Client`], using the client's statement cache.
///
/// It derefs to [`tokio_postgres::Transaction`]. Dropped without
/// [`commit`](Self::commit), it rolls back (as tokio-postgres does).
pub struct Transaction<'a> {
    inner: tokio_postgres::Transaction<'a>,
    cache: &'a StatementCache,
    pooler: Pooler,
}

impl<'a> Transaction<'a> {
    /// Commits the transaction (or releases the savepoint).
    pub async fn commit(self) -> Result<(), tokio_postgres::Error> {
        self.inner.commit().await
    }

    /// Rolls the transaction back (or to the savepoint).
    pub async fn rollback(self) -> Result<(), tokio_postgres::Error> {
        self.inner.rollback().await
    }

    /// Starts a nested transaction (a savepoint) sharing the statement cache.
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, tokio_postgres::Error> {
        let inner = self.inner.transaction().await?;
        Ok(Transaction {
            inner,
            cache: self.cache,
            pooler: self.pooler,
        })
    }

    /// Like [`transaction`](Self::transaction), with a savepoint name.
    pub async fn savepoint<I>(&mut self, name: I) -> Result<Transaction<'_>, tokio_postgres::Error>
    where
        I: Into<String>,
    {
        let inner = self.inner.savepoint(name).await?;
        Ok(Transaction {
            inner,
            cache: self.cache,
            pooler: self.pooler,
        })
    }

    /// The tokio-postgres transaction (still rolled back on drop).
    pub fn into_inner(self) -> tokio_postgres::Transaction<'a> {
        self.inner
    }

    pub(crate) fn cache(&self) -> Cache<'_> {
        Cache::Quarry(self.cache)
    }

    pub(crate) fn pooler(&self) -> Pooler {
        self.pooler
    }
}

impl<'a> Deref for Transaction<'a> {
    type Target = tokio_postgres::Transaction<'a>;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("cache", self.cache)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Transaction`] with options; see [`Client::build_transaction`].
pub struct TransactionBuilder<'a> {
    inner: tokio_postgres::TransactionBuilder<'a>,
    cache: &'a StatementCache,
    pooler: Pooler,
}

impl<'a> TransactionBuilder<'a> {
    /// Sets the isolation level (the server's default otherwise).
    pub fn isolation_level(self, level: IsolationLevel) -> Self {
        Self {
            inner: self.inner.isolation_level(level),
            ..self
        }
    }

    /// Makes the transaction read-only (or read-write).
    pub fn read_only(self, read_only: bool) -> Self {
        Self {
            inner: self.inner.read_only(read_only),
            ..self
        }
    }

    /// Makes a serializable read-only transaction deferrable.
    pub fn deferrable(self, deferrable: bool) -> Self {
        Self {
            inner: self.inner.deferrable(deferrable),
            ..self
        }
    }

    /// Starts the transaction.
    pub async fn start(self) -> Result<Transaction<'a>, tokio_postgres::Error> {
        let inner = self.inner.start().await?;
        Ok(Transaction {
            inner,
            cache: self.cache,
            pooler: self.pooler,
        })
    }
}

impl fmt::Debug for TransactionBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionBuilder").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::{Cache, Entries};

    #[test]
    fn entries_are_keyed_by_sql_text_and_evicted_once() {
        let entries = Entries::<u32>::default();
        entries.insert("SELECT 1", 1);
        entries.insert("SELECT 2", 2);
        assert_eq!(entries.get("SELECT 1"), Some(1));
        assert_eq!(entries.get("SELECT  1"), None);
        assert_eq!(entries.len(), 2);
        assert!(entries.remove("SELECT 1"));
        assert!(!entries.remove("SELECT 1"), "already evicted");
        assert_eq!(entries.get("SELECT 1"), None);
        // A later insert for the same text replaces the entry.
        entries.insert("SELECT 2", 22);
        assert_eq!(entries.get("SELECT 2"), Some(22));
        assert_eq!(entries.len(), 1);
        entries.clear();
        assert_eq!(entries.len(), 0);
    }

    #[test]
    fn eviction_reports_whether_a_statement_was_cached() {
        // Nothing cached: nothing to heal (the caller then returns the error).
        assert!(!Cache::None.evict("SELECT 1"));
        let quarry = super::StatementCache::default();
        assert!(!Cache::Quarry(&quarry).evict("SELECT 1"));
        assert!(quarry.is_empty());
    }
}
