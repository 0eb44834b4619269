//! The result of an `:execresult` query: rows affected and the command tag.
//!
//! PostgreSQL ends every statement with a command tag (`INSERT 0 3`,
//! `UPDATE 2`, …). tokio-postgres hands out only the row count parsed from
//! it; the command is fixed by the statement, so the generator knows it and
//! passes it in ([`execute_result`]), and [`ExecResult`] renders the tag the
//! server sent.

use std::fmt;

use tokio_postgres::types::ToSql;

use crate::{Error, Executor, Query};

/// The command of a statement, as its command tag names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    /// `INSERT` (tag `INSERT 0 <rows>`).
    Insert,
    /// `UPDATE` (tag `UPDATE <rows>`).
    Update,
    /// `DELETE` (tag `DELETE <rows>`).
    Delete,
    /// `MERGE` (tag `MERGE <rows>`, PostgreSQL 15+).
    Merge,
    /// `SELECT`, `VALUES`, `TABLE` (tag `SELECT <rows>`).
    Select,
    /// `COPY` (tag `COPY <rows>`).
    Copy,
}

impl Command {
    /// The command's word in its tag (`INSERT`, `UPDATE`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Insert => "INSERT",
            Command::Update => "UPDATE",
            Command::Delete => "DELETE",
            Command::Merge => "MERGE",
            Command::Select => "SELECT",
            Command::Copy => "COPY",
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an `:execresult` query returns: the number of rows its statement
/// affected and its command. [`Display`](fmt::Display) (and
/// [`tag`](Self::tag)) renders the server's command tag, e.g. `UPDATE 2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExecResult {
    command: Command,
    rows_affected: u64,
}

impl ExecResult {
    /// The result of a `command` that affected `rows_affected` rows.
    pub fn new(command: Command, rows_affected: u64) -> Self {
        ExecResult {
            command,
            rows_affected,
        }
    }

    /// The rows the statement inserted, updated, deleted, merged, copied or
    /// (for a `SELECT`) returned.
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }

    /// The statement's command.
    pub fn command(&self) -> Command {
        self.command
    }

    /// The command tag as the server sent it: `INSERT 0 3` (the `0` is the
    /// object id PostgreSQL always sends since tables lost OIDs),
    /// `UPDATE 2`, `DELETE 1`, `MERGE 1`, `SELECT 5`, `COPY 7`.
    pub fn tag(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ExecResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.command {
            Command::Insert => write!(f, "INSERT 0 {}", self.rows_affected),
            command => write!(f, "{command} {}", self.rows_affected),
        }
    }
}

/// Runs an `:execresult` query whose statement is a `command`: its rows
/// affected and command tag.
pub async fn execute_result<E: Executor + ?Sized>(
    db: &E,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
    command: Command,
) -> Result<ExecResult, Error> {
    let rows = db.execute(query, params).await?;
    Ok(ExecResult::new(command, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_server_tag() {
        let cases = [
            (Command::Insert, 3, "INSERT 0 3"),
            (Command::Update, 2, "UPDATE 2"),
            (Command::Delete, 1, "DELETE 1"),
            (Command::Merge, 1, "MERGE 1"),
            (Command::Select, 5, "SELECT 5"),
            (Command::Copy, 0, "COPY 0"),
        ];
        for (command, rows, tag) in cases {
            let result = ExecResult::new(command, rows);
            assert_eq!(result.tag(), tag);
            assert_eq!(result.to_string(), tag);
            assert_eq!(result.rows_affected(), rows);
            assert_eq!(result.command(), command);
            assert_eq!(tag.split(' ').next(), Some(command.as_str()));
        }
    }
}
