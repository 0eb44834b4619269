//! Identifiers: every Rust name the generator makes goes through here.
//!
//! Owns case conversion (via `heck`) and keyword escaping, so a column called
//! `type` becomes the field `r#type` and a query `ListPosts` the function
//! `list_posts` the same way everywhere. No IO.

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

fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
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
pub fn field(name: &str) -> Ident {
    ident(&snake(name))
}

/// Type identifier for a SQL or query name.
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
    }
}
