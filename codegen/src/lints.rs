//! Lints: advice about a query that is valid but probably not what its
//! author wants (an `UPDATE` without `WHERE`, `OFFSET` pagination, …).
//!
//! Owns the registry of lints ([`LINTS`]), their levels ([`Level`]: from
//! each lint's default, `[lints]` in quarry.toml ([`LintLevels`]) and
//! `-- @allow name` on a query), and turning a lint's [`Finding`]s into
//! rustc-style diagnostics: a warning, or an error when the lint is denied
//! (then nothing is written and `codegen check` fails). Lints never stop
//! generation otherwise. The kind-vs-statement checks of [`crate::lint`]
//! are not lints in this sense: they are always on.
//!
//! Lint levels change whether generation succeeds, never the generated code,
//! so they are not part of the input hash ([`crate::Sources::input_hash`]):
//! allowing a lint does not make committed code stale.
//!
//! To add a lint: write `fn(&LintContext) -> Vec<Finding>` (pure; spans are
//! byte ranges of the query's file, see [`LintContext::span_of`]), add a
//! [`Lint`] entry to [`LINTS`] with its name, default level, a one-line why,
//! add the name to [`crate::lint_level::NAMES`] (what quarry.toml is checked
//! against), and document it in docs/lints.md (tests check both).
//! Syntactic lints live in [`syntax`].

mod syntax;

use sqlparser::ast::Statement;

use crate::describe::Described;
use crate::diagnostic::Diagnostic;
use crate::lex::QueryDef;
use crate::schema::Catalog;

pub(crate) use crate::lint_context::{Finding, LintContext};
pub use crate::lint_level::{Level, LintLevels};

impl LintLevels {
    /// The level of `lint`: the configured one, else its default.
    fn level(&self, lint: &Lint) -> (Level, bool) {
        match self.0.get(lint.name) {
            Some(level) => (*level, true),
            None => (lint.default, false),
        }
    }
}

/// A lint: a name, a default level, why it exists, and its check.
pub(crate) struct Lint {
    /// `snake_case` name, used in `[lints]` and `-- @allow`.
    pub name: &'static str,
    /// Level when neither config nor the query says otherwise.
    pub default: Level,
    /// Why it matters, one line.
    pub why: &'static str,
    /// The check.
    pub check: fn(&LintContext) -> Vec<Finding>,
}

/// Every lint.
pub(crate) const LINTS: &[Lint] = &[
    Lint {
        name: "update_without_where",
        default: Level::Warn,
        why: "an UPDATE without WHERE changes every row of the table",
        check: syntax::update_without_where,
    },
    Lint {
        name: "delete_without_where",
        default: Level::Warn,
        why: "a DELETE without WHERE removes every row of the table",
        check: syntax::delete_without_where,
    },
    Lint {
        name: "limit_without_order_by",
        default: Level::Warn,
        why: "without ORDER BY, which rows LIMIT keeps is up to the plan and changes with it",
        check: syntax::limit_without_order_by,
    },
    Lint {
        name: "offset_pagination",
        default: Level::Warn,
        why: "OFFSET reads and throws away every skipped row, and pages shift under concurrent writes",
        check: syntax::offset_pagination,
    },
    Lint {
        name: "select_star",
        default: Level::Warn,
        why: "`*` in committed code changes the row type whenever the table's columns change",
        check: syntax::select_star,
    },
    Lint {
        name: "not_in_subquery_nullable",
        default: Level::Warn,
        why: "`x NOT IN (SELECT col …)` is never true when `col` has a NULL: the query silently returns nothing",
        check: syntax::not_in_subquery_nullable,
    },
    Lint {
        name: "count_for_existence",
        default: Level::Warn,
        why: "`count(*) > 0` counts every matching row to answer yes or no; EXISTS stops at the first",
        check: syntax::count_for_existence,
    },
    Lint {
        name: crate::index_lint::UNINDEXED_FOREIGN_KEY,
        default: Level::Warn,
        why: "PostgreSQL does not index foreign keys: a loader, derived relation or join on one scans the whole child table",
        check: crate::index_lint::unindexed_foreign_key_lint,
    },
    Lint {
        name: crate::index_lint::UNINDEXED_FILTER,
        default: Level::Warn,
        why: "an equality filter on a column no index leads with reads the whole table on every call",
        check: crate::index_lint::unindexed_filter_lint,
    },
];

/// The lint named `name`.
pub(crate) fn find(name: &str) -> Option<&'static Lint> {
    LINTS.iter().find(|lint| lint.name == name)
}

/// Every lint's name, in registry order.
pub fn names() -> Vec<&'static str> {
    LINTS.iter().map(|lint| lint.name).collect()
}

/// The lint names of the query's `-- @allow a, b` directives; an unknown
/// name is an error at the directive.
fn allowed(def: &QueryDef, diagnostics: &mut Vec<Diagnostic>) -> Vec<String> {
    let mut out = Vec::new();
    for directive in def.directives.iter().filter(|d| d.name == "allow") {
        let names: Vec<&str> = directive
            .args
            .split([',', ' '])
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .collect();
        if names.is_empty() {
            diagnostics.push(
                Diagnostic::error_at(
                    "`@allow` needs a lint name",
                    &def.file,
                    directive.span.clone(),
                )
                .with_help(format!("the lints are: {}", names_list())),
            );
        }
        for name in names {
            if find(name).is_some() {
                out.push(name.to_string());
            } else {
                let at = directive.args.find(name).unwrap_or(0);
                let start = directive.args_span.start + at;
                diagnostics.push(
                    Diagnostic::error_at(
                        format!("unknown lint `{name}`"),
                        &def.file,
                        start..start + name.len(),
                    )
                    .with_label("not a Quarry lint")
                    .with_help(format!("the lints are: {}", names_list())),
                );
            }
        }
    }
    out
}

/// Every lint name, comma-separated, for help lines.
pub(crate) fn names_list() -> String {
    names().join(", ")
}

/// Runs every lint that is not allowed on one query and reports its
/// findings at their level. `None` statement (sqlparser could not parse
/// it): only the `@allow` names are checked.
pub(crate) fn run(
    def: &QueryDef,
    statement: Option<&Statement>,
    described: &Described,
    catalog: &Catalog,
    levels: &LintLevels,
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let allowed = allowed(def, &mut diagnostics);
    let Some(statement) = statement else {
        return diagnostics;
    };
    let context = LintContext {
        def,
        statement,
        described,
        catalog,
    };
    for lint in LINTS {
        let (level, configured) = levels.level(lint);
        if level == Level::Allow || allowed.iter().any(|name| name == lint.name) {
            continue;
        }
        for finding in (lint.check)(&context) {
            diagnostics.push(report(def, lint, level, configured, finding));
        }
    }
    diagnostics
}

/// A finding as a diagnostic at `level`, naming the lint and how to allow it.
fn report(
    def: &QueryDef,
    lint: &Lint,
    level: Level,
    configured: bool,
    finding: Finding,
) -> Diagnostic {
    let message = format!("{} (query `{}`)", finding.message, def.name);
    let diagnostic = if level == Level::Deny {
        Diagnostic::error_at(message, &def.file, finding.span)
    } else {
        Diagnostic::warning(
            message,
            Some(crate::diagnostic::Location::new(&def.file, finding.span)),
        )
    };
    let origin = if configured {
        format!(
            "`{} = \"{}\"` in [lints] of quarry.toml",
            lint.name,
            level.as_str()
        )
    } else {
        format!("`{}` is {} by default", lint.name, level.as_str())
    };
    let diagnostic = match finding.label {
        Some(label) => diagnostic.with_label(label),
        None => diagnostic,
    };
    diagnostic
        .with_help(finding.help)
        .with_note(format!("{origin}: {}", lint.why))
        .with_note(format!(
            "to allow it, write `-- @allow {}` above the query or set `{} = \"allow\"` in [lints]",
            lint.name, lint.name
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every lint is documented in docs/lints.md, and names are unique.
    #[test]
    fn every_lint_is_documented() {
        let docs = include_str!("../../docs/lints.md");
        let mut seen = std::collections::BTreeSet::new();
        for lint in LINTS {
            assert!(seen.insert(lint.name), "duplicate lint `{}`", lint.name);
            assert!(
                docs.contains(&format!("## `{}`", lint.name)),
                "docs/lints.md does not document `{}`",
                lint.name
            );
        }
    }

    /// The leaf list the configuration checks names against is the registry's.
    #[test]
    fn names_match_the_registry() {
        assert_eq!(names(), crate::lint_level::NAMES);
    }

    #[test]
    fn levels_parse() {
        for level in [Level::Allow, Level::Warn, Level::Deny] {
            assert_eq!(Level::parse(level.as_str()), Some(level));
        }
        assert_eq!(Level::parse("forbid"), None);
    }
}
