//! Snapshot of the code generated for a fixture covering every query shape:
//! all kinds, named/nullable/sqlc/positional parameters, `@row` reuse, alias
//! and directive overrides, enums, arrays, keyword column names.

use quarry_tests::{generate_fixture, workspace_root};

#[tokio::test]
async fn generated_code_snapshot() {
    let fixtures = workspace_root().join("tests/tests/fixtures");
    let queries = std::fs::read(fixtures.join("snapshot.sql")).unwrap_or_else(|e| panic!("{e}"));
    let schema = std::fs::read_to_string(fixtures.join("snapshot_schema.sql"))
        .unwrap_or_else(|e| panic!("{e}"));
    let result = generate_fixture("snapshot.sql", &queries, &schema).await;
    let output = result.unwrap_or_else(|e| panic!("generation failed:\n{e}"));
    assert_eq!(output.queries, 5);
    let names: Vec<String> = output
        .files
        .keys()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(names, vec!["mod.rs", "snapshot.rs", "types.rs"]);
    for (path, content) in &output.files {
        insta::assert_snapshot!(path.display().to_string(), content);
    }
    // Same input, same bytes.
    let again = generate_fixture("snapshot.sql", &queries, &schema).await;
    let again = again.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.files, again.files);
}
