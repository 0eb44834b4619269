//! Configuration that changes names in generated code: the runtime crate's
//! path and the row struct suffix.

use codegen::config::TypeConfig;
use quarry_tests::generate_fixture_with;

const SCHEMA: &str = "CREATE TABLE things (id bigint PRIMARY KEY, label text);";
const QUERIES: &str = "-- name: GetThing :one\nSELECT id, label FROM things WHERE id = :id;\n";

#[tokio::test]
async fn runtime_path_and_row_suffix() {
    let types = TypeConfig {
        runtime: Some("crate::db_runtime".to_string()),
        row_suffix: Some("Record".to_string()),
        ..TypeConfig::default()
    };
    let result = generate_fixture_with("things.sql", QUERIES.as_bytes(), SCHEMA, types).await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    let module = &output.files[std::path::Path::new("things.rs")];
    assert!(
        module.contains("\nuse crate::db_runtime as quarry;\n"),
        "{module}"
    );
    assert!(module.contains("pub struct GetThingRecord {"), "{module}");
    assert!(
        module.contains("-> Result<GetThingRecord, quarry::Error>"),
        "{module}"
    );

    let default = generate_fixture_with(
        "things.sql",
        QUERIES.as_bytes(),
        SCHEMA,
        TypeConfig::default(),
    )
    .await;
    let default = default.unwrap_or_else(|e| panic!("{e}"));
    let module = &default.files[std::path::Path::new("things.rs")];
    assert!(!module.contains(" as quarry;"), "{module}");
    assert!(module.contains("pub struct GetThingRow {"), "{module}");
    assert_ne!(
        output.input_hash, default.input_hash,
        "options are part of the input hash"
    );
}
