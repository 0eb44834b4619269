//! [`Replica`]: a streaming replica of a test's own primary cluster, made
//! with `pg_basebackup -R` from the primary's own server binaries, that the
//! test can stop and start again, delay, and wait for.
//!
//! The replica's postmaster runs in the foreground as a child bound to the
//! test process (see `child.rs`), as the primary's OS user, with the
//! primary's server options, on a unix socket only (`-h ''`) in a 0700
//! directory of its own, which also holds its data directory and log. It
//! streams from the primary through a physical replication slot, so a
//! replica that was stopped always finds the WAL it needs. The primary's
//! `pg_hba.conf` gets `local replication all trust` (the ephemeral
//! cluster's allows no replication): still unix socket only.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use codegen::pg::EphemeralCluster;
use tokio_postgres::types::PgLsn;

use crate::child::{self, OsUser, PrivateDir};
use crate::pgbouncer::connect;

/// The port number in a replica's socket file name (`.s.PGSQL.5433`).
/// Nothing listens on TCP; each replica has a socket directory of its own.
pub const REPLICA_PORT: u16 = 5433;

const USER: &str = "postgres";

/// How long starting, stopping and catching up may take before the test
/// fails.
const TIMEOUT: Duration = Duration::from_secs(20);

/// How a [`Replica`] is made.
#[derive(Clone, Debug, Default)]
pub struct ReplicaOptions {
    /// `recovery_min_apply_delay` (e.g. `"500ms"`): the replica applies each
    /// commit that long after the primary made it, so a read right after a
    /// write does not see it there.
    pub recovery_min_apply_delay: Option<String>,
    /// More server settings for the replica, `(name, value)`, passed as
    /// `-c name=value` after the primary's (e.g. `("log_statement", "all")`
    /// to see in [`Replica::log`] what ran there).
    pub settings: Vec<(String, String)>,
}

/// A running (or stopped) streaming replica. Dropping it stops it
/// (immediate shutdown) and deletes its directory; drop it before its
/// primary. It also stops when the test process dies.
#[derive(Debug)]
pub struct Replica {
    postgres: PathBuf,
    server_options: Vec<String>,
    owner: OsUser,
    data: PathBuf,
    log: PathBuf,
    /// `None` while stopped.
    child: Mutex<Option<Child>>,
    dir: PrivateDir,
}

impl Replica {
    /// Makes a replica of `primary` and starts it; returns once it accepts
    /// connections (hot standby). Blocking (~1 s). Panics when it cannot
    /// (the output of `pg_basebackup` or the replica's log is quoted).
    pub fn create(primary: &EphemeralCluster, options: ReplicaOptions) -> Replica {
        static NEXT_SLOT: AtomicU64 = AtomicU64::new(0);
        let owner = OsUser::owner_of(primary.data_dir());
        let (postgres, mut server_options) = primary_command_line(primary.data_dir());
        if let Some(delay) = &options.recovery_min_apply_delay {
            server_options.extend(["-c".to_owned(), format!("recovery_min_apply_delay={delay}")]);
        }
        for (name, value) in &options.settings {
            server_options.extend(["-c".to_owned(), format!("{name}={value}")]);
        }
        allow_local_replication(primary.data_dir());
        let dir = PrivateDir::create("replica", owner);
        let data = dir.path().join("data");
        let slot = format!(
            "quarry_replica_{}_{}",
            std::process::id(),
            NEXT_SLOT.fetch_add(1, Ordering::Relaxed)
        );
        base_backup(&postgres, primary, &data, &slot, owner, dir.path());
        let replica = Replica {
            postgres,
            server_options,
            owner,
            log: dir.path().join("server.log"),
            data,
            child: Mutex::new(None),
            dir,
        };
        replica.start();
        replica
    }

    /// Starts the replica again after [`stop`](Replica::stop) (a no-op while
    /// it runs) and waits until it accepts connections; it then catches up
    /// with the primary on its own. Blocking.
    pub fn start(&self) {
        let mut guard = self.lock();
        if guard
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
        {
            return;
        }
        let mut command = Command::new(&self.postgres);
        command
            .arg("-D")
            .arg(&self.data)
            .arg("-k")
            .arg(self.socket_dir())
            .args(["-h", "", "-p", &REPLICA_PORT.to_string()])
            .args(&self.server_options)
            .current_dir(self.dir.path())
            .env("LC_ALL", "C")
            .env_remove("PGDATA");
        self.owner.apply(&mut command);
        // SIGQUIT: immediate shutdown, if the test process dies.
        let child = child::spawn_bound(command, &self.log, libc::SIGQUIT)
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.postgres.display()));
        let child = guard.insert(child);
        self.wait_until_ready(child);
    }

    /// Waits until `postmaster.pid` names this very postmaster and says
    /// "ready" (what a hot standby writes once it accepts connections).
    fn wait_until_ready(&self, child: &mut Child) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid"));
            let lines: Vec<String> = pid_file
                .unwrap_or_default()
                .lines()
                .map(|l| l.trim().to_owned())
                .collect();
            if lines.first() == Some(&child.id().to_string())
                && lines.get(7).is_some_and(|s| s == "ready")
            {
                return;
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "the replica did not start ({}); its log:\n{}",
                    exited.map_or("timed out".to_owned(), |status| status.to_string()),
                    child::log_tail(&self.log, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the replica (fast shutdown: its sessions are ended) and waits
    /// until it is gone; connecting fails until [`start`](Replica::start).
    /// Blocking.
    pub fn stop(&self) {
        if let Some(mut child) = self.lock().take() {
            child::stop(&mut child, &[libc::SIGINT, libc::SIGQUIT], TIMEOUT / 2);
        }
    }

    /// Whether the replica's postmaster is running.
    pub fn is_running(&self) -> bool {
        self.lock()
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The directory holding the replica's socket (`.s.PGSQL.5433`).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// [`REPLICA_PORT`]: it only names the socket file.
    pub fn port(&self) -> u16 {
        REPLICA_PORT
    }

    /// The replica's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// `postgres://postgres@{socket dir}:5433/{dbname}`.
    pub fn url(&self, dbname: &str) -> String {
        child::socket_url(self.socket_dir(), REPLICA_PORT, USER, dbname)
    }

    /// Connection config for `dbname` on the replica.
    pub fn config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(self.socket_dir())
            .port(REPLICA_PORT)
            .user(USER)
            .dbname(dbname)
            .application_name("quarry-tests")
            .connect_timeout(Duration::from_secs(10));
        config
    }

    /// A client connected to `dbname` on the replica.
    pub async fn connect(&self, dbname: &str) -> tokio_postgres::Client {
        connect(&self.config(dbname)).await
    }

    /// `pg_last_wal_replay_lsn()` on the replica: `None` when it cannot be
    /// reached (stopped) or has replayed nothing yet.
    pub async fn replay_lsn(&self) -> Option<PgLsn> {
        let (client, connection) = self
            .config("postgres")
            .connect(tokio_postgres::NoTls)
            .await
            .ok()?;
        tokio::spawn(connection);
        let row = client
            .query_one("SELECT pg_last_wal_replay_lsn()", &[])
            .await
            .ok()?;
        row.get(0)
    }

    /// Waits until the replica has replayed the WAL up to `lsn`; panics
    /// after 20 s.
    pub async fn wait_for_lsn(&self, lsn: PgLsn) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let replayed = self.replay_lsn().await;
            if replayed.is_some_and(|replayed| replayed >= lsn) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the replica did not replay {lsn} within {TIMEOUT:?} (it is at {replayed:?}); its log:\n{}",
                child::log_tail(&self.log, 30)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the replica has replayed everything committed on
    /// `primary` so far ([`primary_wal_lsn`]); returns that position.
    pub async fn wait_for_replay(&self, primary: &EphemeralCluster) -> PgLsn {
        let client = connect(&primary.config("postgres")).await;
        let lsn = primary_wal_lsn(&client).await;
        self.wait_for_lsn(lsn).await;
        lsn
    }

    /// The replica's server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut child) = self.lock().take() {
            child::stop(&mut child, &[libc::SIGQUIT], TIMEOUT / 2);
        }
    }
}

/// The primary's current WAL position, once everything before it is
/// flushed: `pg_current_wal_lsn()` after a transaction that wrote WAL (a
/// transactional `pg_logical_emit_message`) and committed with
/// `synchronous_commit = on`, which flushes all WAL before its commit.
/// Without that flush the position could be before commits already made:
/// the ephemeral cluster runs with `synchronous_commit = off`, under which a
/// commit returns before its WAL is written, and `pg_current_wal_lsn()` is
/// the write position (the WAL sender only sends flushed WAL). A
/// transaction that wrote no WAL (a bare `pg_current_xact_id()`) does not
/// flush, even with `synchronous_commit = on`.
pub async fn primary_wal_lsn(primary: &tokio_postgres::Client) -> PgLsn {
    let messages = primary
        .simple_query(
            "BEGIN; SET LOCAL synchronous_commit = on; \
             SELECT pg_logical_emit_message(true, 'quarry-tests', 'flush'); COMMIT; \
             SELECT pg_current_wal_lsn()::text",
        )
        .await
        .unwrap_or_else(|e| panic!("reading the primary's WAL position: {e}"));
    let text = messages
        .iter()
        .rev()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap_or_else(|| panic!("pg_current_wal_lsn() returned no row"));
    text.parse()
        .unwrap_or_else(|_| panic!("pg_current_wal_lsn() returned {text:?}"))
}

/// The primary's postgres binary and its server options (`-F`, `-c …`),
/// from `postmaster.opts`, without the data dir, socket, host and port.
fn primary_command_line(data: &Path) -> (PathBuf, Vec<String>) {
    let opts_file = data.join("postmaster.opts");
    let text = std::fs::read_to_string(&opts_file)
        .unwrap_or_else(|e| panic!("read {}: {e}", opts_file.display()));
    let mut words = split_quoted(text.trim()).into_iter();
    let postgres = PathBuf::from(
        words
            .next()
            .unwrap_or_else(|| panic!("{} is empty", opts_file.display())),
    );
    let mut options = Vec::new();
    while let Some(word) = words.next() {
        if ["-D", "-k", "-h", "-p"].contains(&word.as_str()) {
            words.next();
        } else {
            options.push(word);
        }
    }
    (postgres, options)
}

/// Words of `postmaster.opts`: `/path/postgres "-D" "/data" "-h" "" …`.
fn split_quoted(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            words.push(chars.by_ref().take_while(|&c| c != '"').collect());
        } else {
            let mut word = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
            words.push(word);
        }
    }
    words
}

/// Adds `local replication all trust` to the primary's `pg_hba.conf` (once)
/// and makes the postmaster reload it (SIGHUP). The reload is asynchronous:
/// [`base_backup`] retries while the server still refuses.
fn allow_local_replication(data: &Path) {
    let hba = data.join("pg_hba.conf");
    let text = std::fs::read_to_string(&hba).unwrap_or_else(|e| panic!("{}: {e}", hba.display()));
    const LINE: &str = "local   replication  all   trust";
    if text.lines().any(|line| line == LINE) {
        return;
    }
    // Appended in place: the file keeps its owner and mode.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&hba)
        .unwrap_or_else(|e| panic!("{}: {e}", hba.display()));
    std::io::Write::write_all(
        &mut file,
        format!("# Added by quarry-tests' Replica (still unix socket only).\n{LINE}\n").as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", hba.display()));
    let pid_file = data.join("postmaster.pid");
    let pid: libc::pid_t = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no running postmaster in {}", data.display()));
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGHUP) };
}

/// `pg_basebackup -R` of `primary` into `data` (a new directory), creating
/// the physical replication slot `slot`, as `owner`.
fn base_backup(
    postgres: &Path,
    primary: &EphemeralCluster,
    data: &Path,
    slot: &str,
    owner: OsUser,
    cwd: &Path,
) {
    let binary = postgres.with_file_name("pg_basebackup");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut command = Command::new(&binary);
        command
            .arg("-D")
            .arg(data)
            .arg("-h")
            .arg(primary.socket_dir())
            .args(["-p", &primary.port().to_string(), "-U", USER])
            .args([
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
                "-C",
                "-S",
                slot,
            ])
            .current_dir(cwd)
            .env("LC_ALL", "C")
            .env_remove("PGHOST")
            .env_remove("PGPORT");
        owner.apply(&mut command);
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        if output.status.success() {
            return;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let _ = std::fs::remove_dir_all(data);
        // The primary has not reloaded pg_hba.conf yet.
        if stderr.contains("pg_hba.conf") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        panic!("{} failed ({}): {stderr}", binary.display(), output.status);
    }
}

#[cfg(test)]
mod tests {
    use super::{split_quoted, Replica};

    /// Tests share a replica across tasks (`Arc<Replica>`) and stop it from
    /// `spawn_blocking`.
    #[test]
    fn a_replica_is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Replica>();
    }

    #[test]
    fn postmaster_opts_words() {
        assert_eq!(
            split_quoted(
                "/usr/lib/postgresql/15/bin/postgres \"-D\" \"/tmp/a b\" \"-h\" \"\" \"-F\""
            ),
            [
                "/usr/lib/postgresql/15/bin/postgres",
                "-D",
                "/tmp/a b",
                "-h",
                "",
                "-F"
            ]
        );
    }
}
