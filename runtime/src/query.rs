//! [`Query`]: the name and SQL of one generated statement, and what the
//! generator knows about it that the runtime uses: whether it is read-only,
//! its parameter types ([`ParamType`]) and whether it must run pooler-safe.

/// A named SQL statement as emitted by the generator.
///
/// Generated functions hold one in a `const`, so building it costs nothing at
/// run time. The name is what errors and traces report; the SQL is what is
/// prepared (and cached per connection where the executor has a cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Query {
    name: &'static str,
    sql: &'static str,
    read_only: bool,
    params: &'static [ParamType],
    custom_types: bool,
    pooler_safe: bool,
}

/// The type of one parameter of a [`Query`], as the generator found it:
/// what a pooler-safe execution declares for the parameter in its unnamed
/// statement (instead of asking the server with a named, prepared one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// A built-in type, by OID (its [`Type`](postgres_types::Type) is
    /// [`Type::from_oid`](postgres_types::Type::from_oid)).
    Oid(u32),
    /// A user-defined type by schema-qualified name, `schema.name`, or
    /// `schema.name[]` for an array of one: its OID differs per database, so
    /// the runtime looks it up once per connection.
    Named(&'static str),
}

impl Query {
    /// Creates a query from its name (as written after `-- name:`) and its
    /// SQL with `$n` placeholders.
    pub const fn new(name: &'static str, sql: &'static str) -> Self {
        Self {
            name,
            sql,
            read_only: false,
            params: &[],
            custom_types: false,
            pooler_safe: false,
        }
    }

    /// Declares the types of the parameters, `$1` first: what a pooler-safe
    /// execution sends with its unnamed statement. Generated queries always
    /// declare them; without them, a query with parameters cannot run
    /// pooler-safe.
    pub const fn params(self, params: &'static [ParamType]) -> Self {
        Self { params, ..self }
    }

    /// Marks the query as using user-defined types (in its parameters or
    /// its columns): before it runs pooler-safe on a connection, the runtime
    /// loads the database's user-defined types on that connection once, in
    /// one transaction (see [`Pooler`](crate::Pooler)).
    pub const fn custom_types(self) -> Self {
        Self {
            custom_types: true,
            ..self
        }
    }

    /// Makes the query pooler-safe on every executor (`pooler =
    /// "transaction"` in `quarry.toml`): it runs as an unnamed statement with
    /// its declared [parameter types](Self::params), never as a named
    /// prepared statement, so it works through PgBouncer in transaction mode.
    pub const fn pooler_safe(self) -> Self {
        Self {
            pooler_safe: true,
            ..self
        }
    }

    /// Marks the query as read-only: the generator proved it writes nothing
    /// (a `SELECT` without data-modifying CTEs, row locks or volatile
    /// functions), so the runtime may run it again on a fresh connection
    /// when the connection failed under it. Queries are not read-only unless
    /// marked: a write is never retried blindly.
    pub const fn read_only(self) -> Self {
        Self {
            read_only: true,
            ..self
        }
    }

    /// Whether the generator marked the query [read-only](Self::read_only).
    pub const fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The declared parameter types ([`params`](Self::params)).
    pub const fn param_types(&self) -> &'static [ParamType] {
        self.params
    }

    /// Whether the query uses user-defined types ([`custom_types`](Self::custom_types)).
    pub const fn uses_custom_types(&self) -> bool {
        self.custom_types
    }

    /// Whether the query is [pooler-safe](Self::pooler_safe) on every executor.
    pub const fn is_pooler_safe(&self) -> bool {
        self.pooler_safe
    }

    /// The query's name, e.g. `ListPosts`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The SQL sent to PostgreSQL.
    pub const fn sql(&self) -> &'static str {
        self.sql
    }

    /// The same query (name and flags) with another SQL text and parameter
    /// types: a [`Dynamic`](crate::Dynamic) query's variant.
    pub(crate) const fn variant(&self, sql: &'static str, params: &'static [ParamType]) -> Self {
        Self {
            sql,
            params,
            ..*self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    const LIST_POSTS: Query = Query::new("ListPosts", "SELECT id FROM posts LIMIT $1");

    #[test]
    fn accessors_return_what_was_given_in_const_context() {
        const NAME: &str = LIST_POSTS.name();
        const SQL: &str = LIST_POSTS.sql();
        assert_eq!(NAME, "ListPosts");
        assert_eq!(SQL, "SELECT id FROM posts LIMIT $1");
    }

    #[test]
    fn equality_compares_name_and_sql() {
        let copy = LIST_POSTS;
        assert_eq!(copy, LIST_POSTS);
        assert_ne!(Query::new("ListPosts", "SELECT 1"), LIST_POSTS);
        assert_ne!(
            Query::new("Other", "SELECT id FROM posts LIMIT $1"),
            LIST_POSTS
        );
    }
}
