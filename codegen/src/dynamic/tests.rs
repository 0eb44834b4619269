use super::*;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::lex::lex_file;

fn lex(text: &str) -> (Vec<QueryDef>, Vec<Diagnostic>) {
    lex_file(&SourceFile::new("q.sql", text))
}

fn one(text: &str) -> QueryDef {
    let (queries, diagnostics) = lex(text);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    queries
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no query in {text:?}"))
}

fn error(text: &str) -> String {
    let (_, diagnostics) = lex(text);
    let first = diagnostics
        .first()
        .unwrap_or_else(|| panic!("expected an error for {text:?}"));
    format!(
        "{}: {}",
        first.position().unwrap_or_default(),
        first.message
    )
}

fn dynamic(def: &QueryDef) -> &DynamicDef {
    def.dynamic
        .as_ref()
        .unwrap_or_else(|| panic!("{} is not dynamic", def.name))
}

const SEARCH: &str = "-- name: Search :many
SELECT p.id FROM products p
WHERE p.price < :max
  /*? AND p.category_id = :category */
  /*? AND p.name ILIKE '%' || :q || '%' AND p.price > :min */
ORDER BY /*sort: p.created_at DESC AS newest, p.price, lower(p.name) */, p.id
LIMIT :limit;
";

#[test]
fn lexes_blocks_and_sort_into_the_full_variant() {
    let def = one(SEARCH);
    assert_eq!(
        def.sql,
        "SELECT p.id FROM products p
WHERE p.price < $1
   AND p.category_id = $2 \n   AND p.name ILIKE '%' || $3 || '%' AND p.price > $4 \nORDER BY p.created_at DESC, p.id
LIMIT $5"
    );
    let d = dynamic(&def);
    assert_eq!(d.blocks.len(), 2);
    assert_eq!(
        &def.sql[d.blocks[0].range.clone()],
        " AND p.category_id = $2 "
    );
    assert_eq!(d.blocks[0].params, [1]);
    assert_eq!(d.blocks[1].params, [2, 3]);
    assert_eq!(
        &def.file.text[d.blocks[0].span.clone()],
        "/*? AND p.category_id = :category */"
    );
    let sort = d.sort.as_ref().unwrap_or_else(|| panic!("no sort"));
    assert_eq!(&def.sql[sort.range.clone()], "p.created_at DESC");
    let entries: Vec<(&str, bool, &str)> = sort
        .entries
        .iter()
        .map(|e| (e.expr.as_str(), e.descending, e.name.as_str()))
        .collect();
    assert_eq!(
        entries,
        [
            ("p.created_at", true, "newest"),
            ("p.price", false, "price"),
            ("lower(p.name)", false, "name")
        ]
    );
    assert_eq!(
        &def.file.text[sort.entries[2].span.clone()],
        "lower(p.name)"
    );
}

#[test]
fn a_line_comment_in_a_block_ends_at_its_close() {
    let def = one("-- name: Q :many\nSELECT 1 FROM t WHERE true /*? AND a = :a -- why */ AND b;\n");
    let d = dynamic(&def);
    assert_eq!(&def.sql[d.blocks[0].range.clone()], " AND a = $1 -- why \n");
    assert_eq!(
        def.sql,
        "SELECT 1 FROM t WHERE true  AND a = $1 -- why \n AND b"
    );
}

#[test]
fn plain_comments_stay_comments() {
    let def = one("-- name: Q :many\nSELECT 1 /* note: ? */ /*sortx*/ FROM t;\n");
    assert!(def.dynamic.is_none());
    assert_eq!(def.sql, "SELECT 1 /* note: ? */ /*sortx*/ FROM t");
}

#[test]
fn variants_and_the_checked_subset() {
    let def = one(SEARCH);
    let d = dynamic(&def);
    let all: Vec<VariantKey> = d.variants().collect();
    assert_eq!(all.len(), 4 * 6);
    assert_eq!(d.checked_variants(), all);
    assert_eq!(
        d.full_key(),
        VariantKey {
            mask: 0b11,
            sort: Some((0, true))
        }
    );
    assert!(all.contains(&VariantKey {
        mask: 0b10,
        sort: Some((2, true))
    }));
    let many = DynamicDef {
        blocks: (0..10)
            .map(|i| BlockDef {
                range: i..i,
                params: vec![i],
                span: i..i,
            })
            .collect(),
        sort: None,
    };
    let checked = many.checked_variants();
    assert_eq!(checked.len(), 12);
    assert_eq!(many.variants().count(), 1024);
    assert!(checked
        .iter()
        .all(|k| k.mask.count_ones() <= 1 || k.mask == 0x3ff));
    let none = DynamicDef::default();
    assert_eq!(none.variants().count(), 1);
}

#[test]
fn variant_sql_params_and_mapping() {
    let def = one(SEARCH);
    let key = VariantKey {
        mask: 0b10,
        sort: Some((1, true)),
    };
    let v = variant_def(&def, key);
    assert_eq!(
        v.sql,
        "SELECT p.id FROM products p
WHERE p.price < $1
  \n   AND p.name ILIKE '%' || $2 || '%' AND p.price > $3 \nORDER BY p.price DESC, p.id
LIMIT $4"
    );
    assert!(v.dynamic.is_none());
    let names: Vec<Option<&str>> = v.params.iter().map(|p| p.name.as_deref()).collect();
    assert_eq!(names, [Some("max"), Some("q"), Some("min"), Some("limit")]);
    // The variant's parameters are the full query's, filtered, in order.
    let mapping = dynamic(&def).variant_params(key, def.params.len());
    assert_eq!(mapping, [0, 2, 3, 4]);
    for (k, &full) in mapping.iter().enumerate() {
        assert_eq!(v.params[k], def.params[full]);
    }
    for (index, range) in &v.param_sites {
        assert_eq!(&v.sql[range.clone()], format!("${}", index + 1));
    }
    assert_eq!(v.param_sites.len(), 4);
    // The property holds for every variant.
    for key in dynamic(&def).variants() {
        let v = variant_def(&def, key);
        let mapping = dynamic(&def).variant_params(key, def.params.len());
        assert_eq!(v.params.len(), mapping.len());
        for (k, &full) in mapping.iter().enumerate() {
            assert_eq!(v.params[k], def.params[full]);
        }
    }
}

#[test]
fn variant_offsets_map_back_to_the_file() {
    let def = one(SEARCH);
    let text = &def.file.text;
    let key = VariantKey {
        mask: 0b10,
        sort: Some((2, false)),
    };
    let v = variant_def(&def, key);
    let file_at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in the file"))
    };
    let sql_at = |needle: &str| {
        v.sql
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} not in {}", v.sql))
    };
    // Text inside a present block.
    assert_eq!(v.offsets.to_file(sql_at("ILIKE")), file_at("ILIKE"));
    // A renumbered parameter points at its placeholder.
    let site = sql_at("$2");
    assert_eq!(
        v.file_span(site..site + 2),
        file_at(":q")..file_at(":q") + 2
    );
    // Text after a removed block.
    assert_eq!(v.offsets.to_file(sql_at("LIMIT")), file_at("LIMIT"));
    // The chosen sort entry.
    assert_eq!(v.offsets.to_file(sql_at("lower")), file_at("lower"));
    assert_eq!(
        v.offsets.to_file(sql_at("(p.name)") + 1),
        file_at("lower(p.name)") + 6
    );
    assert_eq!(v.offsets.to_file(sql_at(", p.id")), file_at(", p.id"));
    // Before any block.
    assert_eq!(v.offsets.to_file(sql_at("products")), file_at("products"));
    // A sort entry chosen against its written direction: the expression
    // keeps its whole span (PostgreSQL's error on it is underlined whole).
    let v = variant_def(
        &def,
        VariantKey {
            mask: 0,
            sort: Some((0, false)),
        },
    );
    let at = v
        .sql
        .find("p.created_at ASC")
        .unwrap_or_else(|| panic!("{}", v.sql));
    let written = file_at("p.created_at DESC AS");
    assert_eq!(v.file_span(at..at + 12), written..written + 12);
    // The same in the full variant, where the lexer wrote the default entry.
    let at = def.sql.find("p.created_at DESC").unwrap_or(0);
    assert_eq!(def.file_span(at..at + 12), written..written + 12);
}

#[test]
fn labels_name_the_variant() {
    let def = one(SEARCH);
    let label = |mask, sort| variant_label(&def, VariantKey { mask, sort });
    assert_eq!(
        label(0b11, Some((1, true))),
        "variant with blocks `category` and `q+min` and sort `p.price DESC`"
    );
    assert_eq!(
        label(0, Some((0, false))),
        "variant with no block and sort `p.created_at ASC`"
    );
    assert_eq!(label(0b01, None), "variant with block `category`");
}

#[test]
fn block_and_sort_diagnostics() {
    let q = |sql: &str| format!("-- name: Q :many\n{sql}");
    assert_eq!(
        error(&q(
            "SELECT 1 WHERE true /*? AND a = :a /*? AND b = :b */ */"
        )),
        "q.sql:2:36: optional blocks cannot nest"
    );
    assert_eq!(
        error(&q("SELECT 1 WHERE true /*? AND a = 1 */")),
        "q.sql:2:21: optional block without parameters"
    );
    assert_eq!(
        error(&q("SELECT :a WHERE true /*? AND a = :a */")),
        "q.sql:2:34: parameter `a` is used both inside an optional block and outside it"
    );
    assert_eq!(
        error(&q(
            "SELECT 1 WHERE true /*? AND a = :a */ /*? AND b = :a */"
        )),
        "q.sql:2:51: parameter `a` is used in two optional blocks"
    );
    assert_eq!(
        error(&q("SELECT 1 WHERE true /*? AND a = :a")),
        "q.sql:2:21: unterminated optional block"
    );
    assert_eq!(
        error(&q("SELECT 1 FROM t WHERE /*sort: a */ true")),
        "q.sql:2:23: `/*sort: … */` outside an ORDER BY"
    );
    assert_eq!(
        error(&q("SELECT 1 FROM t ORDER BY a LIMIT /*sort: a */ 1")),
        "q.sql:2:34: `/*sort: … */` outside an ORDER BY"
    );
    assert_eq!(
        error(&q("SELECT 1 FROM t ORDER BY /*sort: a + :x */")),
        "q.sql:2:38: parameter in a sort entry"
    );
    assert_eq!(
        error(&q("SELECT 1 FROM t ORDER BY /*sort: */")),
        "q.sql:2:26: empty sort list"
    );
    assert_eq!(
        error(&q("SELECT 1 FROM t ORDER BY /*sort: t.a, b.a DESC */")),
        "q.sql:2:39: two sort entries named `a`"
    );
    assert_eq!(
        error(&q("SELECT 1 FROM t ORDER BY /*sort: a */, /*sort: b */")),
        "q.sql:2:40: second sort list in one query"
    );
    assert_eq!(
        error(&q("SELECT 1 FROM t ORDER BY /*sort: 1 */")),
        "q.sql:2:34: cannot name sort entry `1`"
    );
    assert_eq!(
        error("-- name: Q :copyfrom\nINSERT INTO t (a) VALUES (:a) /*? , :b */"),
        "q.sql:2:31: optional blocks and sort lists are not supported in `:copyfrom` queries"
    );
}

#[test]
fn sort_after_a_comma_and_inside_parentheses() {
    let def = one("-- name: Q :many\nSELECT 1 FROM t ORDER BY t.a, /*sort: b, c DESC */;\n");
    assert_eq!(def.sql, "SELECT 1 FROM t ORDER BY t.a, b");
    let def =
        one("-- name: Q :many\nSELECT (SELECT 1 FROM u ORDER BY /*sort: x */ LIMIT 1) FROM t;\n");
    assert_eq!(
        def.sql,
        "SELECT (SELECT 1 FROM u ORDER BY x LIMIT 1) FROM t"
    );
    assert!(error("-- name: Q :many\nSELECT f(a, /*sort: b */) FROM t;\n").contains("outside"));
}
