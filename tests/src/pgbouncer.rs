//! [`PgBouncer`]: a real PgBouncer (Debian package `pgbouncer`) that a test
//! starts in front of a cluster of its own and that stops with it.
//!
//! Like the ephemeral cluster it listens on a unix socket only, in a 0700
//! directory of the server's OS user (`listen_addr` empty: no TCP), and runs
//! as that user (`postgres` when the tests run as root; PgBouncer refuses to
//! run as root). Authentication is `trust`, as on the cluster: the socket
//! directory is the access control. The `*` entry routes every database
//! name to the database of that name upstream, as the connecting user.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use codegen::pg::EphemeralCluster;

use crate::child::{self, OsUser, PrivateDir};
use crate::replica::Replica;

/// The port number in PgBouncer's socket file name (`.s.PGSQL.6432`).
/// Nothing listens on TCP; each PgBouncer has a socket directory of its own.
pub const PGBOUNCER_PORT: u16 = 6432;

/// The user clients connect as (the cluster's superuser, trusted).
const USER: &str = "postgres";

/// PgBouncer's `pool_mode`: when a server connection goes back to the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolMode {
    /// When the client disconnects.
    Session,
    /// At the end of each transaction (each statement outside one): the
    /// mode in which session state, named prepared statements included, is
    /// not the client's own.
    Transaction,
    /// After each statement (multi-statement transactions are refused).
    Statement,
}

impl PoolMode {
    fn as_str(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
            PoolMode::Statement => "statement",
        }
    }
}

/// The server PgBouncer forwards to: a unix socket directory and port, and
/// the OS user the server runs as (who owns that directory).
#[derive(Clone, Debug)]
pub struct Upstream {
    socket_dir: PathBuf,
    port: u16,
    owner: OsUser,
}

impl From<&EphemeralCluster> for Upstream {
    fn from(cluster: &EphemeralCluster) -> Upstream {
        Upstream {
            socket_dir: cluster.socket_dir().to_path_buf(),
            port: cluster.port(),
            owner: OsUser::owner_of(cluster.socket_dir()),
        }
    }
}

impl From<&Replica> for Upstream {
    fn from(replica: &Replica) -> Upstream {
        Upstream {
            socket_dir: replica.socket_dir().to_path_buf(),
            port: replica.port(),
            owner: OsUser::owner_of(replica.socket_dir()),
        }
    }
}

/// A running PgBouncer; dropping it stops it (SIGTERM, then SIGKILL) and
/// deletes its directory. It also stops when the test process dies.
#[derive(Debug)]
pub struct PgBouncer {
    child: Child,
    log: PathBuf,
    // Dropped after `child` is stopped (see Drop).
    dir: PrivateDir,
}

impl PgBouncer {
    /// Starts PgBouncer in front of `upstream` with `pool_mode` and at most
    /// `default_pool_size` server connections per database and user, and
    /// waits until it accepts connections. Blocking (~50 ms). Panics when
    /// it cannot: the `pgbouncer` binary missing (install the Debian package
    /// `pgbouncer`), or PgBouncer failing to start (its log is quoted).
    pub fn start(
        upstream: impl Into<Upstream>,
        pool_mode: PoolMode,
        default_pool_size: u32,
    ) -> PgBouncer {
        let upstream = upstream.into();
        let binary = pgbouncer_binary();
        let dir = PrivateDir::create("pgbouncer", upstream.owner);
        let ini = dir.path().join("pgbouncer.ini");
        let users = dir.path().join("userlist.txt");
        let log = dir.path().join("pgbouncer.log");
        write_owned(&users, &format!("\"{USER}\" \"\"\n"), upstream.owner);
        let config = ini_text(&upstream, dir.path(), pool_mode, default_pool_size);
        write_owned(&ini, &config, upstream.owner);
        let mut command = Command::new(&binary);
        // In the foreground it logs to stderr, which goes to `log`.
        command.arg(&ini).current_dir(dir.path());
        upstream.owner.apply(&mut command);
        let child = child::spawn_bound(command, &log, libc::SIGTERM)
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let mut bouncer = PgBouncer { child, log, dir };
        bouncer.wait_until_accepting();
        bouncer
    }

    fn wait_until_accepting(&mut self) {
        let socket = self.socket_dir().join(format!(".s.PGSQL.{PGBOUNCER_PORT}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                return;
            }
            let exited = self.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "PgBouncer did not start ({}); its log:\n{}",
                    exited.map_or("timed out".to_owned(), |status| status.to_string()),
                    child::log_tail(&self.log, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The directory holding PgBouncer's socket (`.s.PGSQL.6432`).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// [`PGBOUNCER_PORT`]: it only names the socket file.
    pub fn port(&self) -> u16 {
        PGBOUNCER_PORT
    }

    /// `postgres://postgres@{socket dir}:6432/{dbname}`, for
    /// `quarry::Pool::connect` or tokio-postgres.
    pub fn url(&self, dbname: &str) -> String {
        child::socket_url(self.socket_dir(), PGBOUNCER_PORT, USER, dbname)
    }

    /// Connection config for `dbname` through PgBouncer.
    pub fn config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(self.socket_dir())
            .port(PGBOUNCER_PORT)
            .user(USER)
            .dbname(dbname)
            .connect_timeout(Duration::from_secs(10));
        config
    }

    /// A client connected through PgBouncer to `dbname` (its connection
    /// task spawned on the current runtime).
    pub async fn connect(&self, dbname: &str) -> tokio_postgres::Client {
        connect(&self.config(dbname)).await
    }

    /// `SHOW <what>` on PgBouncer's admin console (`POOLS`, `SERVERS`,
    /// `CLIENTS`, `STATS`…): one column name → value map per row (NULL is
    /// an empty string).
    pub async fn show(&self, what: &str) -> Vec<HashMap<String, String>> {
        let admin = connect(&self.config("pgbouncer")).await;
        let messages = admin
            .simple_query(&format!("SHOW {what}"))
            .await
            .unwrap_or_else(|e| panic!("SHOW {what} on PgBouncer's console: {e}"));
        messages
            .iter()
            .filter_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    row.columns()
                        .iter()
                        .enumerate()
                        .map(|(i, column)| {
                            let value = row.get(i).unwrap_or_default().to_owned();
                            (column.name().to_owned(), value)
                        })
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    /// How many server connections PgBouncer holds to `dbname` right now
    /// (rows of `SHOW SERVERS`, whatever their state).
    pub async fn server_connections(&self, dbname: &str) -> usize {
        self.show("SERVERS")
            .await
            .iter()
            .filter(|row| row.get("database").is_some_and(|db| db == dbname))
            .count()
    }

    /// PgBouncer's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// PgBouncer's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // SIGTERM: immediate shutdown (SIGINT would wait for the clients).
        child::stop(&mut self.child, &[libc::SIGTERM], Duration::from_secs(5));
    }
}

/// `pgbouncer` on `PATH`, else `/usr/sbin/pgbouncer` (Debian's place, off a
/// normal user's `PATH`). Panics naming the package when there is none.
fn pgbouncer_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("pgbouncer"))
            .find(|candidate| candidate.is_file())
    });
    match on_path {
        Some(binary) => binary,
        None if Path::new("/usr/sbin/pgbouncer").is_file() => PathBuf::from("/usr/sbin/pgbouncer"),
        None => panic!(
            "the tests need PgBouncer: no `pgbouncer` on PATH nor /usr/sbin/pgbouncer; \
             install the Debian package `pgbouncer` (`apt-get install pgbouncer`; \
             `.ci/run` does it)"
        ),
    }
}

fn ini_text(upstream: &Upstream, dir: &Path, mode: PoolMode, pool_size: u32) -> String {
    let mut ini = String::new();
    let _ = writeln!(ini, "[databases]");
    let _ = writeln!(
        ini,
        "* = host={} port={}",
        upstream.socket_dir.display(),
        upstream.port
    );
    let _ = writeln!(ini, "\n[pgbouncer]");
    let settings = [
        // No TCP: the socket in the 0700 directory is the only way in.
        ("listen_addr", String::new()),
        ("listen_port", PGBOUNCER_PORT.to_string()),
        ("unix_socket_dir", dir.display().to_string()),
        ("unix_socket_mode", "0700".to_owned()),
        ("auth_type", "trust".to_owned()),
        ("auth_file", dir.join("userlist.txt").display().to_string()),
        ("admin_users", USER.to_owned()),
        ("pool_mode", mode.as_str().to_owned()),
        ("default_pool_size", pool_size.to_string()),
        ("min_pool_size", "0".to_owned()),
        ("reserve_pool_size", "0".to_owned()),
        ("max_client_conn", "1000".to_owned()),
        ("ignore_startup_parameters", "extra_float_digits".to_owned()),
    ];
    for (key, value) in settings {
        let _ = writeln!(ini, "{key} = {value}");
    }
    ini
}

fn write_owned(path: &Path, text: &str, owner: OsUser) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    owner.chown(path);
}

/// Connects with NoTls and spawns the connection task; panics on failure.
pub(crate) async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "connect to {:?}/{:?}: {e}",
                config.get_hosts(),
                config.get_dbname()
            )
        });
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}
