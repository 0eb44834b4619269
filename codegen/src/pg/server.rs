//! [`Server`]: a database server, ephemeral or external (`DATABASE_URL`):
//! connection configs and URLs, connecting, and scratch databases.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::NoTls;

use super::cluster::EphemeralCluster;
use super::error::{error_chain, PgError};
use super::url::{redact_url, url_with_dbname};

/// Where a database server comes from.
pub enum Server {
    /// Started by us; stopped when this value is dropped.
    Ephemeral(EphemeralCluster),
    /// Already running, reached through `url`.
    External {
        url: String,
        config: tokio_postgres::Config,
    },
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Server::Ephemeral(cluster) => f.debug_tuple("Ephemeral").field(cluster).finish(),
            Server::External { url, .. } => f
                .debug_struct("External")
                .field("url", &redact_url(url))
                .finish_non_exhaustive(),
        }
    }
}

impl Server {
    /// Start an ephemeral cluster (blocking, see [`EphemeralCluster::start`]).
    pub fn ephemeral() -> Result<Server, PgError> {
        EphemeralCluster::start().map(Server::Ephemeral)
    }

    /// A running server given by a `postgres://` URL or a libpq key=value
    /// connection string.
    pub fn external(url: &str) -> Result<Server, PgError> {
        let config =
            tokio_postgres::Config::from_str(url).map_err(|source| PgError::InvalidUrl {
                url: redact_url(url),
                source,
            })?;
        Ok(Server::External {
            url: url.to_owned(),
            config,
        })
    }

    /// DATABASE_URL when set and non-empty, else an ephemeral cluster.
    pub fn from_env() -> Result<Server, PgError> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Server::external(url.trim()),
            _ => Server::ephemeral(),
        }
    }

    /// Connection config for `dbname` on this server (None = the URL's own
    /// database, which libpq-style defaults to the user name if the URL has
    /// none; `postgres` for an ephemeral cluster).
    pub fn config(&self, dbname: Option<&str>) -> tokio_postgres::Config {
        match self {
            Server::Ephemeral(cluster) => cluster.config(dbname.unwrap_or("postgres")),
            Server::External { config, .. } => {
                let mut config = config.clone();
                if let Some(dbname) = dbname {
                    config.dbname(dbname);
                }
                config
            }
        }
    }

    /// URL for `dbname` on this server (None = as for [`Server::config`]).
    /// For an external server the database part of its URL is replaced and
    /// everything else (credentials, hosts, parameters) kept.
    pub fn url(&self, dbname: Option<&str>) -> String {
        match (self, dbname) {
            (Server::Ephemeral(cluster), dbname) => cluster.url(dbname.unwrap_or("postgres")),
            (Server::External { url, .. }, None) => url.clone(),
            (Server::External { url, .. }, Some(dbname)) => url_with_dbname(url, dbname),
        }
    }

    /// Connect with NoTls and spawn the connection task on the current tokio
    /// runtime.
    pub async fn connect(&self, dbname: Option<&str>) -> Result<tokio_postgres::Client, PgError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| PgError::NoRuntime)?;
        let config = self.config(dbname);
        let (client, connection) =
            config
                .connect(NoTls)
                .await
                .map_err(|source| PgError::Connect {
                    target: describe_config(&config),
                    source,
                })?;
        runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("database connection ended: {}", error_chain(&e));
            }
        });
        Ok(client)
    }

    /// CREATE DATABASE with a unique name `{prefix}_{pid}_{counter}_{nanos}`
    /// (lowercase, valid identifier, <= 63 bytes) and return its name.
    pub async fn create_database(&self, prefix: &str) -> Result<String, PgError> {
        let name = unique_database_name(prefix);
        self.maintenance(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .await?;
        Ok(name)
    }

    /// DROP DATABASE IF EXISTS ... WITH (FORCE) (disconnects its sessions).
    pub async fn drop_database(&self, name: &str) -> Result<(), PgError> {
        self.maintenance(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(name)
        ))
        .await
    }

    /// Run `sql` on the server's default database.
    async fn maintenance(&self, sql: &str) -> Result<(), PgError> {
        let client = self.connect(None).await?;
        client
            .batch_execute(sql)
            .await
            .map_err(|source| PgError::Query {
                sql: sql.to_owned(),
                target: describe_config(&self.config(None)),
                source,
            })
    }
}

/// `user@host:port/dbname`, for messages (never the password).
fn describe_config(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or("?"),
        if hosts.is_empty() {
            "localhost".to_owned()
        } else {
            hosts.join(",")
        },
        config.get_dbname().unwrap_or("")
    )
}

pub(super) fn unique_database_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let suffix = format!("_{}_{counter}_{nanos}", std::process::id());
    let mut name: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        name.push_str("db");
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "db_");
    }
    // ASCII only, so truncating at any byte is fine; keep >= 1 prefix char.
    name.truncate(63usize.saturating_sub(suffix.len()).max(1));
    name.push_str(&suffix);
    name
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
