//! [`Query`]: the name and SQL of one generated statement.

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
}

impl Query {
    /// Creates a query from its name (as written after `-- name:`) and its
    /// SQL with `$n` placeholders.
    pub const fn new(name: &'static str, sql: &'static str) -> Self {
        Self {
            name,
            sql,
            read_only: false,
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

    /// The query's name, e.g. `ListPosts`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The SQL sent to PostgreSQL.
    pub const fn sql(&self) -> &'static str {
        self.sql
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
