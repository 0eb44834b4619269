//! Identifiers: every Rust name the generator makes goes through here.
//!
//! Owns case conversion (via `heck`) and keyword escaping, so a column called
//! `type` becomes the field `r#type` and a query `ListPosts` the function
//! `list_posts` the same way everywhere; module names for query files
//! ([`module_name`]); and the quoting of SQL identifiers the generator writes
//! into SQL ([`sql_ident`]). No IO.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

/// Rust keywords that need `r#` (strict and reserved, 2021 edition).
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// PostgreSQL keywords that cannot stand unquoted everywhere an identifier
/// can: every category of `pg_get_keywords()` but "unreserved" (reserved,
/// type/function name, column name), from PostgreSQL 15 plus the ones later
/// versions added. Column-name keywords such as `bit`, `char` or `time` mean
/// something else unquoted in a type position (`::bit` is `bit(1)`), so they
/// are quoted too. Sorted, for binary search.
const SQL_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "merge_action",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// `name` as a PostgreSQL identifier: as is when it is lower-case
/// `[a-z_][a-z0-9_$]*` and not a keyword that needs quoting, else
/// double-quoted (`"user"`, `"Name"`, `"1st"`). The generator writes every
/// identifier it puts into SQL through here.
pub fn sql_ident(name: &str) -> String {
    let simple = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if simple && SQL_KEYWORDS.binary_search(&name).is_err() {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Module names the generator uses itself: `types` (enums, composites,
/// domains) and `mod` (the file declaring the modules).
const GENERATED_MODULES: &[&str] = &["types", "mod"];

/// The module name of a query file with file stem `stem`, which is also the
/// name of the generated file (`<name>.rs`). Always a name that compiles and
/// that `pub mod <ident>;` finds in `<name>.rs`:
///
/// * `snake_case`, other characters replaced by `_`, `_` before a leading
///   digit (`My File` → `my_file`, `1st` → `_1st`, `Über` → `_ber`);
/// * a Rust keyword usable as a raw identifier stays (`fn.sql` → `fn.rs`,
///   declared `pub mod r#fn;`);
/// * a keyword that cannot be raw (`crate`, `self`, `super`, `Self`, `_`) or a
///   name of the generator's own modules (`types`, `mod`) gets a `_` suffix:
///   `crate.sql` → `crate_`, `types.sql` → `types_`.
pub fn module_name(stem: &str) -> String {
    let name = snake(stem);
    if NOT_RAW.contains(&name.as_str()) || GENERATED_MODULES.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// `snake_case` form of `name`, made into a valid identifier string
/// (non-identifier characters become `_`, a leading digit gets a `_` prefix).
pub fn snake(name: &str) -> String {
    sanitize(&name.to_snake_case())
}

/// `PascalCase` form of `name`.
pub fn pascal(name: &str) -> String {
    let pascal: String = name
        .to_upper_camel_case()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if pascal.is_empty() || pascal.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{pascal}")
    } else {
        pascal
    }
}

/// Type names generated code uses unqualified (and `E`, its executor type
/// parameter): a generated type of that name would shadow them.
const SHADOWED_TYPES: &[&str] = &[
    "Box", "Default", "E", "Err", "None", "Ok", "Option", "Result", "Self", "Send", "Sized",
    "Some", "String", "Sync", "Vec",
];

/// The name of a generated type (row struct, enum, composite, domain newtype):
/// `name` as is, or with `Type` appended when it would shadow a type the
/// generated code uses (`option` → `OptionType`, `@row Vec` → `VecType`).
pub fn type_name_str(name: String) -> String {
    if SHADOWED_TYPES.contains(&name.as_str()) {
        format!("{name}Type")
    } else {
        name
    }
}

/// The name of an enum variant: [`pascal`], with `Self` (which cannot be a
/// variant) made `SelfValue`.
pub fn variant_name(label: &str) -> String {
    match pascal(label) {
        name if name == "Self" => "SelfValue".to_string(),
        name => name,
    }
}

fn sanitize(name: &str) -> String {
    // Runs of `_` collapse into one (`Größe` → `gr_e`, not `gr__e`), which
    // `non_snake_case` would reject.
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// An identifier token for `name`, raw (`r#type`) when it is a keyword.
pub fn ident(name: &str) -> Ident {
    if NOT_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// Field or variable identifier for a SQL name.
#[cfg(test)]
pub fn field(name: &str) -> Ident {
    ident(&snake(name))
}

/// Type identifier for a SQL or query name.
#[cfg(test)]
pub fn type_name(name: &str) -> Ident {
    ident(&pascal(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_and_escapes() {
        assert_eq!(field("ListPosts").to_string(), "list_posts");
        assert_eq!(field("type").to_string(), "r#type");
        assert_eq!(field("self").to_string(), "self_");
        assert_eq!(field("2fa").to_string(), "_2fa");
        assert_eq!(field("order total").to_string(), "order_total");
        assert_eq!(type_name("order_status").to_string(), "OrderStatus");
        assert_eq!(type_name("in-progress").to_string(), "InProgress");
        assert_eq!(pascal("1st"), "V1st");
        // Non-ASCII letters become one `_` per run, never `__`.
        assert_eq!(field("Größe").to_string(), "gr_e");
        assert_eq!(snake("a€€b"), "a_b");
    }

    #[test]
    fn sql_identifiers_are_quoted_when_needed() {
        assert!(SQL_KEYWORDS.windows(2).all(|w| w[0] < w[1]), "sorted");
        assert_eq!(sql_ident("comments"), "comments");
        assert_eq!(sql_ident("post_id2"), "post_id2");
        assert_eq!(sql_ident("user"), "\"user\"");
        assert_eq!(sql_ident("order"), "\"order\"");
        assert_eq!(sql_ident("bit"), "\"bit\"");
        assert_eq!(sql_ident("Name"), "\"Name\"");
        assert_eq!(sql_ident("1st"), "\"1st\"");
        assert_eq!(sql_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(sql_ident(""), "\"\"");
        // Unreserved keywords are plain identifiers.
        assert_eq!(sql_ident("comments"), "comments");
        assert_eq!(sql_ident("action"), "action");
    }

    #[test]
    fn module_names_compile_and_match_their_files() {
        for (stem, module, ident) in [
            ("blog", "blog", "blog"),
            ("Blog Posts", "blog_posts", "blog_posts"),
            ("fn", "fn", "r#fn"),
            ("type", "type", "r#type"),
            ("async", "async", "r#async"),
            ("crate", "crate_", "crate_"),
            ("self", "self_", "self_"),
            ("Self", "self_", "self_"),
            ("super", "super_", "super_"),
            ("types", "types_", "types_"),
            ("mod", "mod_", "mod_"),
            ("1st", "_1st", "_1st"),
            ("my-file", "my_file", "my_file"),
            ("_", "__", "__"),
        ] {
            let name = module_name(stem);
            assert_eq!(name, module, "{stem}");
            assert_eq!(super::ident(&name).to_string(), ident, "{stem}");
        }
    }
}
