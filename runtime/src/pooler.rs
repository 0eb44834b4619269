//! Pooler-safe execution: [`Pooler`], and what a statement sent unnamed
//! needs — the [`Type`] of each parameter, and the connection's knowledge of
//! the database's user-defined types.
//!
//! Owns the per-connection type registry ([`TypeSlot`]) and how it is filled
//! without leaving a named prepared statement on any server connection. The
//! execution itself is [`Session`](crate::executor)'s.
//!
//! Why the registry: tokio-postgres learns an unknown type OID (a result
//! column of an enum, say) with named prepared statements of its own,
//! which behind a pooler in transaction mode may be prepared on one server
//! connection and executed on another. So, once per connection and before
//! the first statement that uses user-defined types, the runtime describes
//! every user-defined type in one transaction (where the pooler keeps one
//! server connection), deallocates those statements before it ends, and
//! keeps each [`Type`] by name for the parameters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use postgres_types::Type;
use tokio::sync::OnceCell;
use tokio_postgres::Client;

use crate::query::{ParamType, Query};

/// How statements reach the server: named and cached, or unnamed.
///
/// Set on a [`Pool`](crate::Pool) ([`PoolBuilder::pooler`](crate::PoolBuilder::pooler)),
/// a [`PooledConnection`](crate::PooledConnection) or a
/// [`quarry::Client`](crate::Client), or for every executor by generating
/// with `pooler = "transaction"` in `quarry.toml`
/// ([`Query::pooler_safe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Pooler {
    /// A direct connection, or a pooler in session mode: each statement is
    /// prepared once per connection (a named statement) and cached.
    #[default]
    Session,
    /// A pooler in transaction mode, such as PgBouncer with `pool_mode =
    /// transaction`, which may give every transaction (and every statement
    /// outside one) a different server connection: no named prepared
    /// statement outlives a transaction. Each execution is one unnamed
    /// statement carrying the parameter types the generator declared
    /// (tokio-postgres `query_typed`), in one round trip.
    Transaction,
}

/// The user-defined types of a database, by `schema.name` (and
/// `schema.name[]` for their arrays), as one connection learnt them.
#[derive(Debug, Default)]
pub(crate) struct TypeMap {
    types: HashMap<String, Type>,
}

/// A connection's [`TypeMap`], loaded at most once (concurrent first users
/// wait for the one load).
pub(crate) type TypeSlot = OnceCell<Arc<TypeMap>>;

/// What the runtime keeps about a deadpool connection, which has no room
/// for it: its type registry, and whether a [`Pool`](crate::Pool) in
/// [`Pooler::Transaction`] mode handed it out (its transactions, e.g. those
/// of [`quarry::transaction`](crate::transaction), then send unnamed
/// statements too).
#[derive(Default)]
struct DeadpoolState {
    types: Arc<TypeSlot>,
    unnamed: AtomicBool,
}

/// The state of deadpool connections, by the identity of the connection's
/// statement cache (one per connection, shared by its transactions). Dead
/// connections' entries are pruned as new ones are added.
static DEADPOOL: Mutex<Vec<(Weak<deadpool_postgres::StatementCache>, Arc<DeadpoolState>)>> =
    Mutex::new(Vec::new());

/// Whether any deadpool connection was marked [`unnamed`](mark_unnamed):
/// until then, no statement pays for a lookup.
static ANY_UNNAMED: AtomicBool = AtomicBool::new(false);

fn deadpool_state(cache: &Arc<deadpool_postgres::StatementCache>) -> Arc<DeadpoolState> {
    let mut states = DEADPOOL.lock().unwrap_or_else(PoisonError::into_inner);
    let weak = Arc::downgrade(cache);
    if let Some((_, state)) = states.iter().find(|(known, _)| known.ptr_eq(&weak)) {
        return Arc::clone(state);
    }
    states.retain(|(known, _)| known.strong_count() > 0);
    let state = Arc::new(DeadpoolState::default());
    states.push((weak, Arc::clone(&state)));
    state
}

/// The type slot of the deadpool connection whose statement cache is `cache`.
pub(crate) fn deadpool_slot(cache: &Arc<deadpool_postgres::StatementCache>) -> Arc<TypeSlot> {
    Arc::clone(&deadpool_state(cache).types)
}

/// Marks the deadpool connection whose statement cache is `cache` as one
/// whose every statement is sent unnamed (it belongs to a pool in
/// [`Pooler::Transaction`] mode).
pub(crate) fn mark_unnamed(cache: &Arc<deadpool_postgres::StatementCache>) {
    let state = deadpool_state(cache);
    if !state.unnamed.swap(true, Ordering::AcqRel) {
        ANY_UNNAMED.store(true, Ordering::Release);
    }
}

/// Whether the deadpool connection whose statement cache is `cache` was
/// [marked](mark_unnamed) to send unnamed statements.
pub(crate) fn is_unnamed(cache: &Arc<deadpool_postgres::StatementCache>) -> bool {
    ANY_UNNAMED.load(Ordering::Acquire) && deadpool_state(cache).unnamed.load(Ordering::Acquire)
}

/// Why a statement cannot be sent pooler-safe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolerError {
    /// The query declares no type for a parameter: generated code declares
    /// them all; a hand-written [`Query`] must call [`Query::params`].
    #[error(
        "parameter ${index} has no declared type (Query::params), which an unnamed statement needs"
    )]
    Undeclared {
        /// The parameter's number, from 1.
        index: usize,
    },
    /// A declared OID that is not a built-in type.
    #[error("parameter ${index}: OID {oid} is not a built-in type")]
    UnknownOid {
        /// The parameter's number, from 1.
        index: usize,
        /// The OID declared.
        oid: u32,
    },
    /// The connection has no place to keep the database's user-defined
    /// types: a bare `tokio_postgres::Client` or `Transaction`.
    #[error(
        "the query uses user-defined types, which a bare tokio-postgres client cannot run \
         pooler-safe: wrap it in a quarry::Client (From) or use a quarry::Pool"
    )]
    NoTypeRegistry,
    /// A user-defined type the database did not have when the connection
    /// loaded its types (created since: open new connections).
    #[error(
        "type {0} was not in the database when this connection loaded its user-defined types \
         (created since? new connections will know it)"
    )]
    MissingType(&'static str),
    /// A result column of a type the connection did not load (created
    /// since, or the row type of a table): tokio-postgres's own lookup of it
    /// cannot run pooler-safe. The statement may have run. A connection the
    /// runtime owns is retired; new connections load the types anew.
    #[error(
        "a result column has a type this connection did not load with the database's \
         user-defined types (created since? a table's row type?): {}",
        crate::error::SourceMessage(.0)
    )]
    UnloadedType(#[source] tokio_postgres::Error),
}

/// The [`Type`] of each of `query`'s `count` parameters, the user-defined
/// ones from `types`.
pub(crate) fn param_types(
    query: &Query,
    count: usize,
    types: Option<&TypeMap>,
) -> Result<Vec<Type>, PoolerError> {
    let declared = query.param_types();
    (0..count)
        .map(|at| {
            let index = at + 1;
            match declared.get(at) {
                None => Err(PoolerError::Undeclared { index }),
                Some(ParamType::Oid(oid)) => {
                    Type::from_oid(*oid).ok_or(PoolerError::UnknownOid { index, oid: *oid })
                }
                Some(ParamType::Named(name)) => types
                    .ok_or(PoolerError::NoTypeRegistry)?
                    .types
                    .get(*name)
                    .cloned()
                    .ok_or(PoolerError::MissingType(name)),
            }
        })
        .collect()
}

/// Lists the user-defined types a generated query can use (enums, composite
/// types, ranges, multiranges and base types of extensions such as
/// `citext` — every type outside the system schemas but domains and the row
/// types of tables — and the arrays of those and of domains: a domain
/// itself is sent and described as its base type), with the SQL expression
/// that makes a column of each.
const LIST_TYPES: &str = "\
SELECT n.nspname || '.' || t.typname || suffix.s,
       format('NULL::%I.%I', n.nspname, t.typname) || suffix.s
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
CROSS JOIN LATERAL (VALUES (''), ('[]')) AS suffix (s)
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp)'
  AND NOT (t.typelem <> 0 AND t.typlen = -1)
  AND (t.typtype IN ('b', 'e', 'r', 'm')
       OR (t.typtype = 'c' AND EXISTS (
             SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
       OR (t.typtype = 'd' AND suffix.s = '[]'))
  AND (suffix.s = '' OR t.typarray <> 0)
ORDER BY 1";

/// The protocol-level statements tokio-postgres prepared to describe types.
const TYPEINFO_STATEMENTS: &str = "\
SELECT name FROM pg_catalog.pg_prepared_statements
WHERE NOT from_sql
  AND (statement LIKE '%FROM pg_catalog.pg_type t%'
       OR statement LIKE '%FROM pg_catalog.pg_enum%'
       OR statement LIKE '%FROM pg_catalog.pg_attribute%')";

/// How many columns one describing `SELECT` has (PostgreSQL allows 1,664).
const COLUMNS_PER_SELECT: usize = 1000;

/// Loads the database's user-defined types on `client`: one transaction
/// (unless `in_transaction`: the caller's then keeps the server connection)
/// that lists them, selects a `NULL` of each (tokio-postgres describes the
/// columns' types, recursively, and caches them on the client), and
/// deallocates the statements tokio-postgres prepared for that before the
/// transaction ends.
pub(crate) async fn load_types(
    client: &Client,
    in_transaction: bool,
) -> Result<TypeMap, tokio_postgres::Error> {
    if !in_transaction {
        client.batch_execute("BEGIN").await?;
    }
    let loaded = describe_all(client).await;
    let ended = if in_transaction {
        Ok(())
    } else if loaded.is_ok() {
        client.batch_execute("COMMIT").await
    } else {
        client.batch_execute("ROLLBACK").await
    };
    let map = loaded?;
    ended?;
    tracing::debug!(
        types = map.types.len(),
        "quarry: loaded the user-defined types for pooler-safe statements"
    );
    Ok(map)
}

async fn describe_all(client: &Client) -> Result<TypeMap, tokio_postgres::Error> {
    let listed = client.query_typed(LIST_TYPES, &[]).await?;
    let mut named = Vec::with_capacity(listed.len());
    for row in &listed {
        named.push((row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?));
    }
    let mut map = TypeMap::default();
    for chunk in named.chunks(COLUMNS_PER_SELECT) {
        let columns: Vec<&str> = chunk.iter().map(|(_, expr)| expr.as_str()).collect();
        let sql = format!("SELECT {}", columns.join(", "));
        let rows = client.query_typed(&sql, &[]).await?;
        let Some(row) = rows.first() else { continue };
        for ((name, _), column) in chunk.iter().zip(row.columns()) {
            map.types.insert(name.clone(), column.type_().clone());
        }
    }
    let prepared = client.query_typed(TYPEINFO_STATEMENTS, &[]).await?;
    let mut deallocate = String::new();
    for row in &prepared {
        let name: String = row.try_get(0)?;
        deallocate.push_str(&format!("DEALLOCATE \"{}\";", name.replace('"', "\"\"")));
    }
    if !deallocate.is_empty() {
        client.batch_execute(&deallocate).await?;
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::{param_types, ParamType, PoolerError, TypeMap};
    use crate::Query;
    use postgres_types::Type;

    const TYPED: Query = Query::new("Typed", "SELECT $1, $2, $3").params(&[
        ParamType::Oid(20),
        ParamType::Oid(1009),
        ParamType::Named("public.mood"),
    ]);

    #[test]
    fn builtin_types_come_from_their_oid() {
        let types = param_types(&TYPED, 2, None).map_err(|e| e.to_string());
        assert_eq!(types, Ok(vec![Type::INT8, Type::TEXT_ARRAY]));
    }

    #[test]
    fn named_types_need_the_connection_registry() {
        assert!(matches!(
            param_types(&TYPED, 3, None),
            Err(PoolerError::NoTypeRegistry)
        ));
        let empty = TypeMap::default();
        assert!(matches!(
            param_types(&TYPED, 3, Some(&empty)),
            Err(PoolerError::MissingType("public.mood"))
        ));
        let mut known = TypeMap::default();
        known.types.insert("public.mood".into(), Type::TEXT);
        let types = param_types(&TYPED, 3, Some(&known)).map_err(|e| e.to_string());
        assert_eq!(types, Ok(vec![Type::INT8, Type::TEXT_ARRAY, Type::TEXT]));
    }

    #[test]
    fn undeclared_and_unknown_parameters_are_errors() {
        let mut known = TypeMap::default();
        known.types.insert("public.mood".into(), Type::TEXT);
        assert!(matches!(
            param_types(&TYPED, 4, Some(&known)),
            Err(PoolerError::Undeclared { index: 4 })
        ));
        let odd = Query::new("Odd", "SELECT $1").params(&[ParamType::Oid(4_000_000_000)]);
        assert!(matches!(
            param_types(&odd, 1, None),
            Err(PoolerError::UnknownOid { index: 1, .. })
        ));
    }
}
