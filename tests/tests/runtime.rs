//! The runtime against a real PostgreSQL: every executor (pool, pooled
//! connection, pooled transaction, plain client and transaction), the
//! statement cache, and every error kind. Uses its own database.

use quarry::tokio_postgres::error::SqlState;
use quarry::{Error, Executor, FromRow, Query};

#[derive(Debug, PartialEq)]
struct ItemRow {
    id: i32,
    name: String,
    note: Option<String>,
}

impl FromRow for ItemRow {
    fn from_row(row: &quarry::Row) -> Result<Self, quarry::DecodeError> {
        Ok(Self {
            id: quarry::decode(row, 0, "id")?,
            name: quarry::decode(row, 1, "name")?,
            note: quarry::decode(row, 2, "note")?,
        })
    }
}

/// Decodes `name` (text) as an integer: must fail with the column name.
#[derive(Debug)]
struct WrongRow {
    _name: i64,
}

impl FromRow for WrongRow {
    fn from_row(row: &quarry::Row) -> Result<Self, quarry::DecodeError> {
        Ok(Self {
            _name: quarry::decode(row, 1, "name")?,
        })
    }
}

const SETUP: &str = "
    DROP SCHEMA IF EXISTS quarry_runtime_smoke CASCADE;
    CREATE SCHEMA quarry_runtime_smoke;
    CREATE TABLE quarry_runtime_smoke.items (
        id int PRIMARY KEY,
        name text NOT NULL UNIQUE,
        note text
    );
    INSERT INTO quarry_runtime_smoke.items VALUES (1, 'one', NULL), (2, 'two', 'second'), (3, 'three', NULL);
";

const LIST: Query = Query::new(
    "ListItems",
    "SELECT id, name, note FROM quarry_runtime_smoke.items WHERE id >= $1 ORDER BY id",
);
const GET: Query = Query::new(
    "GetItem",
    "SELECT id, name, note FROM quarry_runtime_smoke.items WHERE id = $1",
);
const INSERT: Query = Query::new(
    "InsertItem",
    "INSERT INTO quarry_runtime_smoke.items (id, name) VALUES ($1, $2)",
);
const BROKEN: Query = Query::new("Broken", "SELECT nope FROM quarry_runtime_smoke.items");

async fn exercise<E: Executor + ?Sized>(db: &E) -> Result<(), Error> {
    let all: Vec<ItemRow> = quarry::fetch_all(db, &LIST, &[&1_i32]).await?;
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[1],
        ItemRow {
            id: 2,
            name: "two".into(),
            note: Some("second".into())
        }
    );

    let two: ItemRow = quarry::fetch_one(db, &GET, &[&2_i32]).await?;
    assert_eq!(two.name, "two");
    let missing = quarry::fetch_one::<ItemRow, _>(db, &GET, &[&99_i32]).await;
    assert!(
        matches!(missing, Err(Error::NotFound { query: "GetItem" })),
        "{missing:?}"
    );
    let too_many = quarry::fetch_one::<ItemRow, _>(db, &LIST, &[&1_i32]).await;
    assert!(
        matches!(too_many, Err(Error::TooManyRows { query: "ListItems" })),
        "{too_many:?}"
    );

    let none: Option<ItemRow> = quarry::fetch_opt(db, &GET, &[&99_i32]).await?;
    assert!(none.is_none());
    let some: Option<ItemRow> = quarry::fetch_opt(db, &GET, &[&3_i32]).await?;
    assert_eq!(some.map(|row| row.id), Some(3));
    let too_many = quarry::fetch_opt::<ItemRow, _>(db, &LIST, &[&1_i32]).await;
    assert!(
        matches!(too_many, Err(Error::TooManyRows { .. })),
        "{too_many:?}"
    );

    let decode = quarry::fetch_all::<WrongRow, _>(db, &LIST, &[&1_i32]).await;
    assert_decode_error(decode);
    Ok(())
}

fn assert_decode_error(decode: Result<Vec<WrongRow>, Error>) {
    match decode {
        Err(error @ Error::Decode { .. }) => {
            assert_eq!(error.query(), "ListItems");
            assert_eq!(error.column(), Some("name"));
            let message = error.to_string();
            assert!(
                message.starts_with("query `ListItems`: cannot decode column `name` (index 1): "),
                "{message}"
            );
            assert!(message.contains("i64"), "{message}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// Statements the server rejects. Inside a transaction only the first one
/// can run (the transaction is aborted afterwards), so `exercise` leaves them
/// out.
async fn exercise_server_errors<E: Executor + ?Sized>(db: &E, in_transaction: bool) {
    let duplicate = quarry::execute(db, &INSERT, &[&1_i32, &"again"]).await;
    match duplicate {
        Err(error) => {
            assert_eq!(error.code(), Some(&SqlState::UNIQUE_VIOLATION));
            assert_eq!(error.query(), "InsertItem");
            let message = error.to_string();
            assert!(
                message.starts_with("query `InsertItem` failed: ERROR: duplicate key value"),
                "{message}"
            );
            assert!(
                message.contains("DETAIL: Key (id)=(1) already exists."),
                "{message}"
            );
        }
        Ok(n) => panic!("duplicate insert affected {n} rows"),
    }
    if in_transaction {
        return;
    }

    let broken = quarry::fetch_all::<ItemRow, _>(db, &BROKEN, &[]).await;
    match broken {
        Err(error) => {
            assert_eq!(error.code(), Some(&SqlState::UNDEFINED_COLUMN));
            assert!(error.as_db_error().is_some());
            assert!(
                error.to_string().contains("column \"nope\" does not exist"),
                "{error}"
            );
        }
        Ok(_) => panic!("a query on a missing column succeeded"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_executor_against_postgres() -> Result<(), Box<dyn std::error::Error>> {
    let db = quarry_tests::TestDb::new("runtime").await;
    let url = db.url.clone();
    let pool = quarry::Pool::connect(&url)?;
    pool.get().await?.batch_execute(SETUP).await?;

    // The pool itself, and through references and boxes.
    exercise(&pool).await?;
    exercise_server_errors(&pool, false).await;
    exercise(&&pool).await?;
    exercise(&Box::new(pool.clone())).await?;

    // A pooled connection: statements come from its cache.
    let mut object = pool.get().await?;
    exercise(&object).await?;
    exercise_server_errors(&object, false).await;
    let cached = object.statement_cache.size();
    exercise(&object).await?;
    assert_eq!(
        object.statement_cache.size(),
        cached,
        "statements were re-prepared"
    );
    assert!(cached >= 3, "{cached}");

    // A pooled transaction, rolled back on drop.
    {
        let tx = object.transaction().await?;
        exercise(&tx).await?;
        let inserted = quarry::execute(&tx, &INSERT, &[&10_i32, &"ten"]).await?;
        assert_eq!(inserted, 1);
        exercise_server_errors(&tx, true).await;
    }
    let gone: Option<ItemRow> = quarry::fetch_opt(&object, &GET, &[&10_i32]).await?;
    assert!(gone.is_none());

    // A plain tokio-postgres client and transaction (no cache).
    let (mut client, connection) =
        quarry::tokio_postgres::connect(&url, quarry::tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);
    exercise(&client).await?;
    exercise_server_errors(&client, false).await;
    {
        let tx = client.transaction().await?;
        exercise(&tx).await?;
        tx.commit().await?;
    }
    {
        let tx = client.transaction().await?;
        exercise_server_errors(&tx, true).await;
    }

    // A future that runs on another worker thread.
    let spawned = tokio::spawn({
        let pool = pool.clone();
        async move { quarry::fetch_all::<ItemRow, _>(&pool, &LIST, &[&2_i32]).await }
    });
    assert_eq!(spawned.await??.len(), 2);

    client
        .batch_execute("DROP SCHEMA quarry_runtime_smoke CASCADE")
        .await?;
    drop(client);
    driver.await??;
    Ok(())
}
