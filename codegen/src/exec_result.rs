//! `:execresult`: the command whose tag a query's statement ends with.
//!
//! tokio-postgres returns the row count of a command tag but not its text;
//! the command (`INSERT`, `UPDATE`, …) is fixed by the statement, so it is
//! read here from the parsed statement (or, when sqlparser could not parse
//! it, from its first keyword) and generated code passes it to
//! `quarry::execute_result`. A statement whose tag carries no row count
//! (DDL, utility statements) is a diagnostic at the kind. No IO.

use sqlparser::ast::Statement;

use crate::diagnostic::Diagnostic;
use crate::lex::{tokens, QueryDef, TokenKind};
use crate::parse::{classify, StatementClass};

/// The command of a statement whose tag carries a row count
/// (`quarry::Command` in generated code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `INSERT 0 n`.
    Insert,
    /// `UPDATE n`.
    Update,
    /// `DELETE n`.
    Delete,
    /// `MERGE n`.
    Merge,
    /// `SELECT n` (also `VALUES`, `TABLE`).
    Select,
    /// `COPY n`.
    Copy,
}

impl Command {
    /// The variant's name in `quarry::Command`.
    pub fn variant(self) -> &'static str {
        match self {
            Command::Insert => "Insert",
            Command::Update => "Update",
            Command::Delete => "Delete",
            Command::Merge => "Merge",
            Command::Select => "Select",
            Command::Copy => "Copy",
        }
    }
}

/// The command of `statement` (parsed from `sql`; `None` when sqlparser
/// could not parse it), if its tag carries a row count.
pub fn command_of(statement: Option<&Statement>, sql: &str) -> Option<Command> {
    match statement {
        Some(Statement::Copy { .. }) => Some(Command::Copy),
        Some(statement) => match classify(statement) {
            StatementClass::Query => Some(Command::Select),
            StatementClass::Modify { verb, .. } => from_keyword(verb),
            StatementClass::Other => None,
        },
        None => {
            let first = tokens(sql).find(|token| token.kind == TokenKind::Word)?;
            from_keyword(&sql[first.span])
        }
    }
}

fn from_keyword(word: &str) -> Option<Command> {
    Some(match word.to_ascii_uppercase().as_str() {
        "INSERT" => Command::Insert,
        "UPDATE" => Command::Update,
        "DELETE" => Command::Delete,
        "MERGE" => Command::Merge,
        "SELECT" | "VALUES" | "TABLE" => Command::Select,
        "COPY" => Command::Copy,
        _ => return None,
    })
}

/// The diagnostic for an `:execresult` query whose command has no row count
/// in its tag (or cannot be told without parsing it).
pub fn check(def: &QueryDef, statement: Option<&Statement>) -> Option<Diagnostic> {
    if command_of(statement, &def.sql).is_some() {
        return None;
    }
    let what = if statement.is_some() {
        "its statement's command tag carries no row count"
    } else {
        "Quarry cannot tell its statement's command"
    };
    Some(
        Diagnostic::error_at(
            format!("query `{}` is declared `:execresult` but {what}", def.name),
            &def.file,
            def.kind_span.clone(),
        )
        .with_label("`:execresult` reports the rows affected and the command tag")
        .with_help(
            "use `:execresult` on INSERT, UPDATE, DELETE, MERGE, SELECT or COPY; `:exec` otherwise",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(sql: &str) -> Option<Command> {
        let statement = crate::parse::parse_statement(sql).ok();
        command_of(statement.as_ref(), sql)
    }

    #[test]
    fn commands_from_statements() {
        assert_eq!(
            command("INSERT INTO t (a) VALUES (1)"),
            Some(Command::Insert)
        );
        assert_eq!(command("UPDATE t SET a = 1"), Some(Command::Update));
        assert_eq!(
            command("WITH x AS (SELECT 1) DELETE FROM t"),
            Some(Command::Delete)
        );
        assert_eq!(
            command("WITH d AS (DELETE FROM t RETURNING a) SELECT count(*) FROM d"),
            Some(Command::Select)
        );
        assert_eq!(command("VALUES (1), (2)"), Some(Command::Select));
        assert_eq!(
            command("MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE"),
            Some(Command::Merge)
        );
        assert_eq!(command("COPY t FROM STDIN"), Some(Command::Copy));
        assert_eq!(command("CREATE TABLE x (a int)"), None);
        assert_eq!(command("TRUNCATE t"), None);
        // Unparsed: the first keyword.
        assert_eq!(
            command_of(None, "/* c */ update t set ?"),
            Some(Command::Update)
        );
        assert_eq!(command_of(None, "WITH x AS (…) …"), None);
    }
}
