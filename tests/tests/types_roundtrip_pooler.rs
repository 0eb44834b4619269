//! The round trip of every mapped PostgreSQL type (`types_roundtrip.rs`,
//! the same cases) with pooler-safe statements: the generated functions run
//! on a `quarry::Client` set to [`quarry::Pooler::Transaction`], so every
//! statement is one unnamed statement carrying the parameter types the
//! generator declared in its `Query` (`.params(…)`, `.custom_types()`), as
//! through PgBouncer in transaction mode. Every parameter type family
//! (built-in scalars and arrays, enums and arrays of enums, composites,
//! ranges and multiranges, domains and arrays of domains, extension types)
//! is declared here, so a wrong declaration fails a case: the server rejects
//! the statement or the value comes back different.

/// How the generated functions send their statements.
const POOLER: quarry::Pooler = quarry::Pooler::Transaction;

include!("types_roundtrip/cases.rs");
