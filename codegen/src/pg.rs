//! Database servers for schema introspection: throwaway local clusters and
//! connections to live servers.
//!
//! This module owns the "schema source" server of the pipeline (DESIGN.md,
//! Pipeline > Schema source). It starts and stops ephemeral PostgreSQL clusters
//! from the locally installed server binaries (`initdb`, `pg_ctl`, `postgres`)
//! and connects to an already running server given by URL (`DATABASE_URL`).
//! The rest of the generator only talks to a database through [`Server`].
//!
//! Invariant: a server started here is never left running. A cluster is stopped
//! (`pg_ctl -m immediate`) and its directory deleted when its
//! [`EphemeralCluster`] is dropped, when startup fails half-way, when the
//! process gets SIGINT/SIGTERM/SIGHUP, and at normal process exit (clusters
//! held in statics are never dropped, so an `atexit` hook covers them). Only
//! SIGKILL or a crash can defeat that, so every start also reaps the clusters
//! of processes that no longer exist.
//!
//! Layout under [`std::env::temp_dir`]:
//!
//! ```text
//! quarry-pg-cache/<key>/template            initdb'd data dir, built once
//! quarry-pg-cache/<key>/spare-<pid>-<n>      ready copy of it (see "Spare data directories")
//! quarry-pg-cache/<key>/filling-<pid>-<n>    spare being copied
//! quarry-pg-<pid>-<n>/owner.pid              id of the creating process
//! quarry-pg-<pid>-<n>/data                   copy of the template (0700)
//! quarry-pg-<pid>-<n>/sock                   private unix socket directory
//! quarry-pg-<pid>-<n>/server.log             server log
//! ```
//!
//! `<key>` is the sanitised `postgres --version` plus the server's uid, e.g.
//! `postgres-postgresql-15.18-debian-15.18-0-deb12u1-uid101-v1`.
//!
//! PostgreSQL refuses to run as root, so when this process is root the
//! binaries run as the `postgres` system user and everything the server
//! touches is owned by that user.

use std::ffi::CString;
use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_postgres::NoTls;

/// Superuser created by `initdb -U` in ephemeral clusters.
const SUPERUSER: &str = "postgres";
/// System user the server runs as when this process is root.
const SERVER_OS_USER: &str = "postgres";
/// Part of the template cache key; bump it whenever the initdb invocation
/// changes so templates built by older code are not reused.
const TEMPLATE_FORMAT: &str = "v1";
/// Name prefix of cluster directories in the temp dir (the reaper's pattern).
const CLUSTER_PREFIX: &str = "quarry-pg-";
const CACHE_DIR_NAME: &str = "quarry-pg-cache";
/// Start attempts with a fresh port when the chosen one got taken meanwhile.
const PORT_ATTEMPTS: u32 = 5;
const START_TIMEOUT_SECS: u32 = 60;
const STOP_TIMEOUT_SECS: u32 = 30;
const LOG_TAIL_LINES: usize = 30;
/// Cap on captured command output quoted in errors.
const OUTPUT_LIMIT: usize = 4000;

/// Why a server could not be found, started, reached or used.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under \
         {searched}; install them (Debian/Ubuntu: apt-get install postgresql, \
         Fedora: dnf install postgresql-server, macOS: brew install postgresql), set \
         QUARRY_PG_BIN to their directory, or set DATABASE_URL to use a running server"
    )]
    BinariesNotFound {
        /// The versioned root searched (`/usr/lib/postgresql/*/bin`, or `QUARRY_PG_ROOT`'s).
        searched: String,
    },

    #[error(
        "QUARRY_PG_BIN={} has no executable `{missing}`; point it at the directory that \
         contains initdb, pg_ctl and postgres",
        .dir.display()
    )]
    BadBinDir { dir: PathBuf, missing: &'static str },

    #[error(
        "running as root, so the PostgreSQL server has to run as the `{user}` system user, but \
         {reason}; create that user (Debian: apt-get install postgresql, or useradd --system \
         {user}), run as a non-root user, or set DATABASE_URL to use a running server"
    )]
    ServerUser { user: &'static str, reason: String },

    #[error(
        "{} cannot hold a PostgreSQL cluster: {reason}; set TMPDIR to another directory (e.g. /tmp)",
        .path.display()
    )]
    UnusableDir { path: PathBuf, reason: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("`{command}` failed ({status}){}", fmt_output(.output))]
    Command {
        command: String,
        status: String,
        output: String,
    },

    #[error(
        "could not start PostgreSQL: `{command}` failed ({status}) after {attempts} \
         attempt(s){}\n--- tail of server log {} ---\n{log_tail}",
        fmt_output(.output),
        .log.display()
    )]
    Start {
        command: String,
        status: String,
        attempts: u32,
        output: String,
        log: PathBuf,
        log_tail: String,
    },

    #[error("termination signal received; not starting a new PostgreSQL cluster")]
    ShuttingDown,

    #[error("invalid database URL `{url}`: {}", error_chain(.source))]
    InvalidUrl {
        url: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error("could not connect to {target}: {}", error_chain(.source))]
    Connect {
        target: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error("`{sql}` failed on {target}: {}", error_chain(.source))]
    Query {
        sql: String,
        target: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error(
        "connecting needs a tokio runtime; call Server::connect from async code running on tokio"
    )]
    NoRuntime,
}

fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> PgError {
    let context = context.into();
    move |source| PgError::Io { context, source }
}

fn fmt_output(output: &str) -> String {
    if output.is_empty() {
        String::new()
    } else {
        format!(":\n{output}")
    }
}

/// `tokio_postgres::Error`'s Display is only the kind ("db error"); the
/// useful part (the server's message, the io error) is in its source chain.
fn error_chain(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

// ---------------------------------------------------------------------------
// Ephemeral clusters
// ---------------------------------------------------------------------------

/// A PostgreSQL server started by this process in a private temp directory,
/// listening on 127.0.0.1 and a private unix socket, superuser `postgres`
/// with trust authentication. Dropping it stops the server and deletes the
/// directory (this blocks for ~0.1 s).
pub struct EphemeralCluster {
    /// `None` once stopped.
    paths: Option<ClusterPaths>,
    port: u16,
    socket_dir: PathBuf,
    data_dir: PathBuf,
}

impl EphemeralCluster {
    /// Start a new cluster. Blocking: call it from sync code or inside
    /// `tokio::task::spawn_blocking`. The first start on a machine runs
    /// `initdb` once to build the cached template (~1-3 s); later starts take
    /// a ready spare copy of it (or copy it) and run `pg_ctl start`
    /// (~0.15 s with a spare).
    pub fn start() -> Result<EphemeralCluster, PgError> {
        start_cluster(None, &mut free_port)
    }

    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Directory holding the server's unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `postgres://postgres@127.0.0.1:{port}/{dbname}`.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@127.0.0.1:{}/{}",
            self.port,
            percent_encode(dbname)
        )
    }

    /// Connection config for `dbname` on this cluster (TCP, user `postgres`).
    pub fn config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(SUPERUSER)
            .dbname(dbname)
            .application_name("quarry")
            .connect_timeout(Duration::from_secs(10));
        config
    }

    /// Stop the server and delete its directory (same as dropping it).
    pub fn stop(self) {
        drop(self);
    }

    /// Forget the cluster without stopping it, as a crashed process would.
    #[cfg(test)]
    fn leak(mut self) -> Option<ClusterPaths> {
        let paths = self.paths.take()?;
        deregister(paths.id);
        Some(paths)
    }
}

impl Drop for EphemeralCluster {
    fn drop(&mut self) {
        if let Some(paths) = self.paths.take() {
            let started = Instant::now();
            shutdown(&paths);
            deregister(paths.id);
            tracing::debug!(
                dir = %paths.dir.display(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "stopped ephemeral PostgreSQL cluster"
            );
        }
    }
}

impl fmt::Debug for EphemeralCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EphemeralCluster")
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field("socket_dir", &self.socket_dir)
            .field("running", &self.paths.is_some())
            .finish()
    }
}

/// Everything needed to stop a cluster and delete it; kept both in the
/// cluster and in the process-wide registry used by the signal/exit hooks.
#[derive(Clone, Debug)]
struct ClusterPaths {
    id: u64,
    dir: PathBuf,
    data: PathBuf,
    pg_ctl: PathBuf,
    run_as: RunAs,
}

/// Which OS user runs the PostgreSQL binaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunAs {
    /// This process's user (we are not root).
    CurrentUser,
    /// Another user (we are root); children get this uid/gid and no
    /// supplementary groups (std drops them when setting the uid as root).
    User { uid: u32, gid: u32 },
}

impl RunAs {
    fn uid(self) -> u32 {
        match self {
            RunAs::CurrentUser => effective_uid(),
            RunAs::User { uid, .. } => uid,
        }
    }

    /// Give `path` to the server user, so the server can use what we created.
    fn chown(self, path: &Path) -> Result<(), PgError> {
        match self {
            RunAs::CurrentUser => Ok(()),
            RunAs::User { uid, gid } => std::os::unix::fs::lchown(path, Some(uid), Some(gid))
                .map_err(io_error(format!("chown {uid}:{gid} {}", path.display()))),
        }
    }
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Located server binaries (absolute paths, symlinks resolved).
#[derive(Clone, Debug)]
struct PgBinaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    postgres: PathBuf,
}

impl PgBinaries {
    /// All three binaries from one directory (mixing versions breaks), or the
    /// name of the first missing one.
    fn in_dir(dir: &Path) -> Result<PgBinaries, &'static str> {
        let find = |name: &'static str| {
            let path = dir.join(name);
            if !is_executable(&path) {
                return Err(name);
            }
            // Absolute because children run with the cluster dir as cwd.
            Ok(fs::canonicalize(&path)
                .or_else(|_| std::path::absolute(&path))
                .unwrap_or(path))
        };
        Ok(PgBinaries {
            initdb: find("initdb")?,
            pg_ctl: find("pg_ctl")?,
            postgres: find("postgres")?,
        })
    }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `QUARRY_PG_BIN` if set; else the first `PATH` directory with all three
/// binaries (the user's explicit choice wins); else the newest major version
/// under `/usr/lib/postgresql` (Debian/Ubuntu keep them off `PATH`), or under
/// `QUARRY_PG_ROOT` when that is set.
fn find_binaries() -> Result<PgBinaries, PgError> {
    if let Some(dir) = std::env::var_os("QUARRY_PG_BIN").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return PgBinaries::in_dir(&dir).map_err(|missing| PgError::BadBinDir { dir, missing });
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.as_os_str().is_empty() {
                continue;
            }
            if let Ok(bins) = PgBinaries::in_dir(&dir) {
                return Ok(bins);
            }
        }
    }
    // `QUARRY_PG_ROOT` replaces the versioned search root (set it empty to
    // search nowhere: tests use that to prove a build needs no server).
    let root = match std::env::var_os("QUARRY_PG_ROOT") {
        Some(root) if root.is_empty() => {
            return Err(PgError::BinariesNotFound {
                searched: "no versioned root (QUARRY_PG_ROOT is empty)".to_string(),
            })
        }
        Some(root) => PathBuf::from(root),
        None => PathBuf::from("/usr/lib/postgresql"),
    };
    newest_versioned(&root).ok_or_else(|| PgError::BinariesNotFound {
        searched: format!("{}/*/bin", root.display()),
    })
}

/// Binaries from `<root>/<version>/bin` with the highest version, compared
/// numerically ("16" > "9.6").
fn newest_versioned(root: &Path) -> Option<PgBinaries> {
    let mut candidates: Vec<(Vec<u64>, PathBuf)> = fs::read_dir(root)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = parse_version(entry.file_name().to_str()?)?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .find_map(|(_, bin)| PgBinaries::in_dir(&bin).ok())
}

fn parse_version(name: &str) -> Option<Vec<u64>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// `postgres --version`, remembered per binary (it keys the template cache
/// and costs a process spawn).
fn server_version(bins: &PgBinaries) -> Result<String, PgError> {
    static VERSIONS: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
    if let Some((_, version)) = lock(&VERSIONS).iter().find(|(p, _)| *p == bins.postgres) {
        return Ok(version.clone());
    }
    let mut cmd = Command::new(&bins.postgres);
    cmd.arg("--version").env("LC_ALL", "C").stdin(Stdio::null());
    let output = run(&mut cmd, RunAs::CurrentUser)?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    lock(&VERSIONS).push((bins.postgres.clone(), version.clone()));
    Ok(version)
}

/// As root: the `postgres` system user; otherwise ourselves.
fn server_user() -> Result<RunAs, PgError> {
    if effective_uid() != 0 {
        return Ok(RunAs::CurrentUser);
    }
    let not_usable = |reason: String| PgError::ServerUser {
        user: SERVER_OS_USER,
        reason,
    };
    match lookup_user(SERVER_OS_USER) {
        Ok(Some((0, _))) => Err(not_usable("that user has uid 0".to_owned())),
        Ok(Some((uid, gid))) => Ok(RunAs::User { uid, gid }),
        Ok(None) => Err(not_usable("no such user exists".to_owned())),
        Err(e) => Err(not_usable(format!("looking it up failed: {e}"))),
    }
}

/// Safe wrapper over the reentrant `getpwnam_r`: `(uid, gid)` of `name`.
fn lookup_user(name: &str) -> io::Result<Option<(u32, u32)>> {
    let c_name = CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: sysconf has no preconditions.
    let hint = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    let mut buf_len = usize::try_from(hint)
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(1024);
    loop {
        let mut buf: Vec<libc::c_char> = vec![0; buf_len];
        // SAFETY: passwd is plain old data; all-zero is a valid value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf.len()` is the
        // real size of `buf`; the strings `pwd` points to live in `buf`, but
        // we only read the integer fields.
        let rc = unsafe {
            libc::getpwnam_r(
                c_name.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        match rc {
            libc::ERANGE if buf_len < 1 << 20 => buf_len *= 2,
            // Some NSS backends report "not found" as an error code.
            0 | libc::ENOENT | libc::ESRCH if result.is_null() => return Ok(None),
            0 => return Ok(Some((pwd.pw_uid, pwd.pw_gid))),
            rc => return Err(io::Error::from_raw_os_error(rc)),
        }
    }
}

/// Absolute temp dir, checked for what PostgreSQL and `pg_ctl` need.
fn base_temp_dir(run_as: RunAs) -> Result<PathBuf, PgError> {
    let tmp = std::env::temp_dir();
    let tmp = std::path::absolute(&tmp).map_err(io_error("resolving the temp directory"))?;
    let unusable = |reason: String| PgError::UnusableDir {
        path: tmp.clone(),
        reason,
    };
    // pg_ctl pastes the data dir and the -o options into a `/bin/sh -c`
    // command line inside double quotes; these characters would break it.
    if let Some(bad) = tmp
        .to_string_lossy()
        .chars()
        .find(|c| "\"$`\\\n".contains(*c))
    {
        return Err(unusable(format!("its path contains {bad:?}")));
    }
    // Unix socket paths are limited to 107 bytes (sun_path).
    let socket_len =
        tmp.as_os_str().len() + "/quarry-pg-4294967295-99999/sock/.s.PGSQL.65535".len();
    if socket_len > 107 {
        return Err(unusable(
            "its path is too long for a unix socket path inside it".to_owned(),
        ));
    }
    if let RunAs::User { uid, gid } = run_as {
        for dir in tmp.ancestors() {
            let meta = fs::metadata(dir).map_err(io_error(format!("stat {}", dir.display())))?;
            if !can_search(&meta, uid, gid) {
                return Err(unusable(format!(
                    "the `{SERVER_OS_USER}` user that runs the server cannot enter {}",
                    dir.display()
                )));
            }
        }
    }
    Ok(tmp)
}

/// Whether `uid`/`gid` (without supplementary groups, as our children run)
/// may traverse a directory, from its mode bits.
fn can_search(meta: &fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = meta.mode();
    if meta.uid() == uid {
        mode & 0o100 != 0
    } else if meta.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// A command for a PostgreSQL binary, run as the server user from `cwd`.
fn pg_command(program: &Path, run_as: RunAs, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd)
        .stdin(Stdio::null())
        // English, unlocalised messages: we match on the server log text and
        // the C locale is always available.
        .env("LC_ALL", "C")
        .env("LANG", "C")
        // We pass -D/-p explicitly; don't let a caller's environment leak in.
        .env_remove("PGDATA")
        .env_remove("PGPORT")
        .env_remove("PGHOST")
        .env_remove("PGCTLTIMEOUT");
    if let RunAs::User { uid, gid } = run_as {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Human-readable command line for error messages.
fn describe(cmd: &Command, run_as: RunAs) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        text.push(' ');
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            text.push_str(&shell_quote(&arg));
        } else {
            text.push_str(&arg);
        }
    }
    if let RunAs::User { uid, .. } = run_as {
        text.push_str(&format!(" [as uid {uid}]"));
    }
    text
}

/// Run to completion; a non-zero exit is an error carrying the output.
fn run(cmd: &mut Command, run_as: RunAs) -> Result<Output, PgError> {
    let command = describe(cmd, run_as);
    let output = cmd
        .output()
        .map_err(io_error(format!("could not run `{command}`")))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(PgError::Command {
            command,
            status: output.status.to_string(),
            output: combined_output(&output),
        })
    }
}

fn combined_output(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stderr.trim());
    }
    if text.len() > OUTPUT_LIMIT {
        let mut cut = text.len() - OUTPUT_LIMIT;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text = format!("...{}", &text[cut..]);
    }
    text
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected data stays consistent across a panic (plain pushes and
    // removals), and cleanup must still work after one.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Start a cluster; `cache_root` overrides the template cache location and
/// `pick_port` the port probe (both for tests).
fn start_cluster(
    cache_root: Option<&Path>,
    pick_port: &mut dyn FnMut() -> Result<u16, PgError>,
) -> Result<EphemeralCluster, PgError> {
    let started = Instant::now();
    install_cleanup_hooks();
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        return Err(PgError::ShuttingDown);
    }
    // Declared before `cluster` so it is dropped after it: a signal watcher
    // waiting for in-flight starts then sees this one's cleanup finished.
    let _in_flight = InFlightStart::enter();

    let bins = find_binaries()?;
    let run_as = server_user()?;
    let tmp = base_temp_dir(run_as)?;
    reap_stale(&tmp, &bins);
    let version = server_version(&bins)?;
    let cache_root = cache_root.map_or_else(|| tmp.join(CACHE_DIR_NAME), Path::to_path_buf);
    let template = ensure_template(&cache_root, &bins, &version, run_as)?;
    let template_done = started.elapsed();

    let dir = create_cluster_dir(&tmp)?;
    let paths = ClusterPaths {
        id: NEXT_CLUSTER_ID.fetch_add(1, Ordering::Relaxed),
        data: dir.join("data"),
        dir: dir.clone(),
        pg_ctl: bins.pg_ctl.clone(),
        run_as,
    };
    register(paths.clone());
    let mut cluster = EphemeralCluster {
        socket_dir: dir.join("sock"),
        data_dir: paths.data.clone(),
        paths: Some(paths),
        port: 0,
    };
    // From here on every early return drops `cluster`, which stops whatever
    // got started and deletes `dir`.
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        return Err(PgError::ShuttingDown);
    }
    let owner_file = dir.join("owner.pid");
    fs::write(&owner_file, format!("{}\n", std::process::id()))
        .map_err(io_error(format!("writing {}", owner_file.display())))?;
    run_as.chown(&dir)?;
    make_private_dir(&cluster.socket_dir, run_as)?;
    let data_source = match &template {
        Some(template) if claim_spare(template, &cluster.data_dir, run_as.uid()) => "spare",
        Some(template) => {
            // No spare: finish a spare fill that a dead process left
            // half-done, if there is one, else copy from scratch.
            let resumed = template.parent().is_some_and(|key_dir| {
                adopt_abandoned_fill(key_dir, &cluster.data_dir, run_as.uid(), false)
            });
            copy_tree(template, &cluster.data_dir, run_as, resumed).map_err(io_error(format!(
                "copying template {} to {}",
                template.display(),
                cluster.data_dir.display()
            )))?;
            if resumed {
                "resumed copy"
            } else {
                "copy"
            }
        }
        None => {
            make_private_dir(&cluster.data_dir, run_as)?;
            initdb(&bins, &cluster.data_dir, run_as, &dir)?;
            "initdb"
        }
    };
    let copy_done = started.elapsed();

    cluster.port = start_server(
        &bins,
        &dir,
        &cluster.data_dir,
        &cluster.socket_dir,
        run_as,
        pick_port,
    )?;
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        return Err(PgError::ShuttingDown);
    }
    if let Some(template) = template {
        refill_spare(template, run_as);
    }
    tracing::debug!(
        dir = %dir.display(),
        port = cluster.port,
        data_source,
        template_ms = template_done.as_millis() as u64,
        copy_ms = (copy_done - template_done).as_millis() as u64,
        pg_ctl_start_ms = (started.elapsed() - copy_done).as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        "started ephemeral PostgreSQL cluster"
    );
    Ok(cluster)
}

/// Claim a fresh `quarry-pg-<pid>-<n>` directory; `create_dir` (not
/// `create_dir_all`) so we never adopt a directory someone else made.
fn create_cluster_dir(tmp: &Path) -> Result<PathBuf, PgError> {
    static NEXT_DIR: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    let mut last_error = None;
    for _ in 0..1000 {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = tmp.join(format!("{CLUSTER_PREFIX}{pid}-{n}"));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(PgError::UnusableDir {
                    path: tmp.to_path_buf(),
                    reason: format!("this user may not create directories in it ({e})"),
                })
            }
            Err(e) => {
                return Err(PgError::Io {
                    context: format!("creating cluster directory {}", dir.display()),
                    source: e,
                })
            }
        }
    }
    Err(PgError::Io {
        context: format!("no free cluster directory name in {}", tmp.display()),
        source: last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)),
    })
}

/// A new 0700 directory owned by the server user (umask-proof).
fn make_private_dir(path: &Path, run_as: RunAs) -> Result<(), PgError> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(0o700)))
        .map_err(io_error(format!("creating directory {}", path.display())))?;
    run_as.chown(path)
}

fn initdb(bins: &PgBinaries, data: &Path, run_as: RunAs, cwd: &Path) -> Result<(), PgError> {
    let started = Instant::now();
    let mut cmd = pg_command(&bins.initdb, run_as, cwd);
    cmd.arg("-D")
        .arg(data)
        .args(["-A", "trust", "-E", "UTF8", "-U", SUPERUSER])
        // C, not C.UTF-8: exists everywhere, byte-order collation is
        // deterministic, and it is compatible with the UTF8 encoding.
        .args(["--no-sync", "--locale=C"]);
    run(&mut cmd, run_as)?;
    tracing::debug!(
        data = %data.display(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "initdb done"
    );
    Ok(())
}

/// The cached template for this server version and server user, building it
/// if needed. `None` means the cache is not trustworthy (someone else owns
/// it) and the caller should initdb directly.
fn ensure_template(
    cache_root: &Path,
    bins: &PgBinaries,
    version: &str,
    run_as: RunAs,
) -> Result<Option<PathBuf>, PgError> {
    // Threads of one process take turns (the loser of a race would have run
    // initdb for nothing); other processes are handled by the atomic rename.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _guard = lock(&BUILDING);
    ensure_template_unlocked(cache_root, bins, version, run_as)
}

fn ensure_template_unlocked(
    cache_root: &Path,
    bins: &PgBinaries,
    version: &str,
    run_as: RunAs,
) -> Result<Option<PathBuf>, PgError> {
    let server_uid = run_as.uid();
    let key_dir = cache_root.join(cache_key(version, server_uid));
    let template = key_dir.join("template");
    match template_state(&template, server_uid) {
        TemplateState::Ready => return Ok(Some(template)),
        TemplateState::Untrusted(why) => {
            tracing::warn!(template = %template.display(), "not using the cached cluster template: {why}");
            return Ok(None);
        }
        TemplateState::Missing => {}
    }

    // The cache is an optimisation: if it cannot be set up, say so and let
    // the caller initdb the cluster directly. Only initdb failing is fatal
    // (it would fail the same way there).
    let started = Instant::now();
    let build = match prepare_build_dir(cache_root, &key_dir, run_as) {
        Ok(build) => build,
        Err(e) => {
            tracing::warn!("not using the cluster template cache: {e}");
            return Ok(None);
        }
    };
    if let Err(e) = initdb(bins, &build, run_as, &key_dir) {
        remove_dir_quietly(&build);
        return Err(e);
    }
    // Atomic publish: `template` appears complete or not at all. rename()
    // onto an existing non-empty directory fails, so if another process got
    // there first we use theirs and discard ours.
    if let Err(e) = fs::rename(&build, &template) {
        remove_dir_quietly(&build);
        if template_state(&template, server_uid) != TemplateState::Ready {
            tracing::warn!(
                "not using the cluster template cache: renaming {} to {}: {e}",
                build.display(),
                template.display()
            );
            return Ok(None);
        }
        tracing::debug!("another process built the cluster template first; using theirs");
        return Ok(Some(template));
    }
    tracing::debug!(
        template = %template.display(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "built cluster template"
    );
    Ok(Some(template))
}

/// Create the cache dirs as needed and a fresh, empty `build-<pid>-<n>`
/// directory in `key_dir` for initdb, owned by the server user.
fn prepare_build_dir(cache_root: &Path, key_dir: &Path, run_as: RunAs) -> Result<PathBuf, PgError> {
    // The cache root is shared by all users, like /tmp itself: world-writable
    // and sticky. Each key dir belongs to its server user.
    create_dir_with_mode(cache_root, 0o1777)?;
    if create_dir_with_mode(key_dir, 0o755)? {
        run_as.chown(key_dir)?;
    }
    let key_meta =
        fs::symlink_metadata(key_dir).map_err(io_error(format!("stat {}", key_dir.display())))?;
    let server_uid = run_as.uid();
    if !key_meta.is_dir() || (key_meta.uid() != server_uid && key_meta.uid() != effective_uid()) {
        return Err(PgError::UnusableDir {
            path: key_dir.to_path_buf(),
            reason: format!(
                "owned by uid {}, not by this or the server user",
                key_meta.uid()
            ),
        });
    }
    remove_stale(key_dir, "build-");
    static NEXT_BUILD: AtomicU64 = AtomicU64::new(0);
    let build = key_dir.join(format!(
        "build-{}-{}",
        std::process::id(),
        NEXT_BUILD.fetch_add(1, Ordering::Relaxed)
    ));
    make_private_dir(&build, run_as)?;
    Ok(build)
}

#[derive(Debug, PartialEq, Eq)]
enum TemplateState {
    Ready,
    Missing,
    Untrusted(String),
}

fn template_state(template: &Path, server_uid: u32) -> TemplateState {
    match fs::symlink_metadata(template) {
        Err(_) => TemplateState::Missing,
        Ok(meta) if !meta.is_dir() => TemplateState::Untrusted("not a directory".to_owned()),
        // Its config files end up executed by the server: only trust ones
        // the server user itself wrote.
        Ok(meta) if meta.uid() != server_uid => TemplateState::Untrusted(format!(
            "owned by uid {}, expected {server_uid}",
            meta.uid()
        )),
        Ok(_) if !template.join("PG_VERSION").is_file() => {
            TemplateState::Untrusted("no PG_VERSION file".to_owned())
        }
        Ok(_) => TemplateState::Ready,
    }
}

/// `<sanitised version>-uid<uid>-<format>`, e.g.
/// `postgres-postgresql-15.18-debian-15.18-0-deb12u1-uid101-v1`.
fn cache_key(version: &str, uid: u32) -> String {
    let mut key = String::new();
    for c in version.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('-') {
            key.push('-');
        }
    }
    key.truncate(80); // ASCII only, so any byte index is a char boundary
    let key = key.trim_end_matches('-');
    let key = if key.is_empty() { "unknown" } else { key };
    format!("{key}-uid{uid}-{TEMPLATE_FORMAT}")
}

/// Create `path` with `mode` if missing (races with other processes are
/// fine); returns whether we created it.
fn create_dir_with_mode(path: &Path, mode: u32) -> Result<bool, PgError> {
    match fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => {
            // The umask may have cleared bits (e.g. world-writable).
            fs::set_permissions(path, fs::Permissions::from_mode(mode))
                .map_err(io_error(format!("chmod {mode:o} {}", path.display())))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(PgError::Io {
            context: format!("creating directory {}", path.display()),
            source: e,
        }),
    }
}

/// Delete `<prefix><pid>-<n>` entries of `key_dir` (template builds, spare
/// fills) left behind by processes that died midway.
fn remove_stale(key_dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(key_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| owner_in_name(n, prefix)) else {
            continue;
        };
        if pid != std::process::id() && !process_exists(pid) {
            remove_dir_quietly(&entry.path());
        }
    }
}

/// The pid in `<prefix><pid>-<n>`.
fn owner_in_name(name: &str, prefix: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix(prefix)?.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

// Spare data directories.
//
// Creating the ~1000 files of a data directory is most of a warm start: each
// new inode costs 0.1 ms on an idle disk and nearly 1 ms on a busy one, so
// copying the template takes 0.1-1 s, while renaming a directory is
// instantaneous. So after each start a background thread prepares one spare
// copy of the template next to it (`filling-<pid>-<n>`, renamed to
// `spare-<pid>-<n>` once complete), and the next start, in this or any other
// process, claims it with an atomic rename into its cluster dir. Costs: one
// extra template-sized directory (~40 MB) in the cache. A fill cut short by
// process exit leaves a `filling-` dir, deleted by a later fill.

/// Move a ready spare copy of `template` to `data` (which must not exist).
/// `false` if there is none (or it was taken by someone else first).
fn claim_spare(template: &Path, data: &Path, server_uid: u32) -> bool {
    let Some(key_dir) = template.parent() else {
        return false;
    };
    let Ok(entries) = fs::read_dir(key_dir) else {
        return false;
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("spare-"))
        {
            continue;
        }
        let spare = entry.path();
        // Same trust rule as for the template itself.
        if template_state(&spare, server_uid) != TemplateState::Ready {
            continue;
        }
        // Atomic: of several processes claiming the same spare, one wins
        // and the others get ENOENT and look further (or copy).
        if fs::rename(&spare, data).is_ok() {
            return true;
        }
    }
    false
}

/// Start filling a spare in the background unless one is ready or being
/// filled (by any live process).
fn refill_spare(template: PathBuf, run_as: RunAs) {
    let Some(key_dir) = template.parent().map(Path::to_path_buf) else {
        return;
    };
    {
        let mut filling = lock(&FILLING_SPARES);
        if filling.contains(&key_dir) || spare_ready_or_pending(&key_dir) {
            return;
        }
        filling.push(key_dir.clone());
    }
    let done = {
        let key_dir = key_dir.clone();
        move || lock(&FILLING_SPARES).retain(|k| *k != key_dir)
    };
    let spawned = std::thread::Builder::new()
        .name("quarry-pg-spare".to_owned())
        .spawn({
            let done = done.clone();
            move || {
                fill_spare(&key_dir, &template, run_as);
                done();
            }
        });
    if spawned.is_err() {
        done();
    }
}

/// Key dirs this process is filling a spare for (one fill per key dir).
static FILLING_SPARES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn spare_ready_or_pending(key_dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(key_dir) else {
        return true; // unreadable: don't try to fill it
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let name = name.to_str().unwrap_or("");
        name.starts_with("spare-")
            || owner_in_name(name, "filling-")
                .is_some_and(|pid| pid == std::process::id() || process_exists(pid))
    })
}

fn fill_spare(key_dir: &Path, template: &Path, run_as: RunAs) {
    static NEXT_SPARE: AtomicU64 = AtomicU64::new(0);
    let started = Instant::now();
    let n = NEXT_SPARE.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let filling = key_dir.join(format!("filling-{pid}-{n}"));
    // Short-lived processes (a codegen run) often exit before their fill is
    // done: adopt such an abandoned fill and finish it, so successive runs
    // make progress together instead of each starting over.
    let adopted = adopt_abandoned_fill(key_dir, &filling, run_as.uid(), true);
    let result = copy_tree(template, &filling, run_as, adopted)
        .and_then(|()| fs::rename(&filling, key_dir.join(format!("spare-{pid}-{n}"))));
    match result {
        Ok(()) => tracing::debug!(
            adopted,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "prepared spare cluster data directory"
        ),
        Err(e) => {
            tracing::debug!("could not prepare a spare data directory: {e}");
            remove_dir_quietly(&filling);
        }
    }
}

/// Claim (rename to `ours`) one `filling-<pid>-<n>` dir whose process is
/// gone; with `delete_others`, delete any further ones (slow: only off the
/// start path). Returns whether one was claimed.
fn adopt_abandoned_fill(key_dir: &Path, ours: &Path, server_uid: u32, delete_others: bool) -> bool {
    let Ok(entries) = fs::read_dir(key_dir) else {
        return false;
    };
    let me = std::process::id();
    let mut adopted = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| owner_in_name(n, "filling-")) else {
            continue;
        };
        if pid == me || process_exists(pid) {
            continue;
        }
        let path = entry.path();
        let trusted =
            fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == server_uid);
        // rename is the claim: another process adopting it at the same time
        // gets ENOENT.
        if !adopted && trusted && fs::rename(&path, ours).is_ok() {
            adopted = true;
            if !delete_others {
                break;
            }
        } else if delete_others {
            remove_dir_quietly(&path);
        }
    }
    adopted
}

/// Recursive copy keeping permission bits (PostgreSQL insists on 0700/0750
/// data dirs), owned by the server user. Without `resume` it fails if `dst`
/// exists. With `resume`, `dst` may hold the result of an interrupted copy:
/// existing directories are kept, and files of the right size too (a copy
/// only ever grows a file, so a cut-short one is smaller); everything else is
/// (re)copied, and modes and owners are reapplied.
fn copy_tree(src: &Path, dst: &Path, run_as: RunAs, resume: bool) -> io::Result<()> {
    let mode = fs::symlink_metadata(src)?.permissions().mode() & 0o7777;
    match fs::DirBuilder::new().mode(mode).create(dst) {
        Ok(()) => {}
        Err(e) if resume && e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    fs::set_permissions(dst, fs::Permissions::from_mode(mode))?;
    chown_io(dst, run_as)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let file_type = entry.file_type()?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        if file_type.is_dir() {
            copy_tree(&from, &to, run_as, resume)?;
        } else if file_type.is_symlink() {
            if resume {
                match fs::remove_file(&to) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
            chown_io(&to, run_as)?;
        } else if file_type.is_file() {
            let done = resume
                && fs::symlink_metadata(&to).is_ok_and(|existing| {
                    existing.is_file() && entry.metadata().is_ok_and(|m| m.len() == existing.len())
                });
            if done {
                fs::set_permissions(&to, entry.metadata()?.permissions())?;
            } else {
                // fs::copy truncates, copies the permission bits, and uses
                // copy_file_range (reflinks where the filesystem can).
                fs::copy(&from, &to)?;
            }
            chown_io(&to, run_as)?;
        }
        // Sockets/fifos: a stopped data dir has none worth copying.
    }
    Ok(())
}

fn chown_io(path: &Path, run_as: RunAs) -> io::Result<()> {
    match run_as {
        RunAs::CurrentUser => Ok(()),
        RunAs::User { uid, gid } => std::os::unix::fs::lchown(path, Some(uid), Some(gid)),
    }
}

/// `pg_ctl start` on a free port, retrying with another port when the one we
/// picked got taken between probing and binding. Returns the port.
fn start_server(
    bins: &PgBinaries,
    dir: &Path,
    data: &Path,
    socket_dir: &Path,
    run_as: RunAs,
    pick_port: &mut dyn FnMut() -> Result<u16, PgError>,
) -> Result<u16, PgError> {
    let log = dir.join("server.log");
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = pick_port()?;
        let options = format!(
            "-k {} -h 127.0.0.1 -p {port} -F -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200",
            // pg_ctl hands -o to /bin/sh.
            shell_quote(&socket_dir.to_string_lossy())
        );
        let log_offset = fs::metadata(&log).map_or(0, |m| m.len());
        let mut cmd = pg_command(&bins.pg_ctl, run_as, dir);
        cmd.arg("-w")
            .args(["-t", &START_TIMEOUT_SECS.to_string()])
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(&options)
            .arg("start");
        let command = describe(&cmd, run_as);
        let started = Instant::now();
        let output = cmd
            .output()
            .map_err(io_error(format!("could not run `{command}`")))?;
        if output.status.success() {
            tracing::debug!(
                port,
                attempt,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "pg_ctl start done"
            );
            return Ok(port);
        }
        // pg_ctl can give up (timeout) while the postmaster lives on; make
        // sure this attempt left nothing running before retrying or failing.
        stop_server(&bins.pg_ctl, data, run_as, dir);
        let log_text = read_from(&log, log_offset);
        let port_taken = log_text.contains("Address already in use")
            || log_text.contains("could not create any TCP/IP sockets")
            || log_text.contains("could not bind IPv4 address");
        if port_taken && attempt < PORT_ATTEMPTS {
            tracing::debug!(port, attempt, "port taken, retrying with another");
            continue;
        }
        return Err(PgError::Start {
            command,
            status: output.status.to_string(),
            attempts: attempt,
            output: combined_output(&output),
            log,
            log_tail: tail_lines(&log_text, LOG_TAIL_LINES),
        });
    }
}

/// A port that was free a moment ago (the kernel's pick for port 0).
fn free_port() -> Result<u16, PgError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(io_error("probing for a free TCP port"))?;
    let port = listener
        .local_addr()
        .map_err(io_error("probing for a free TCP port"))?
        .port();
    Ok(port)
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut file) = fs::File::open(path) {
        if file.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = file.read_to_end(&mut text);
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(n)..].join("\n");
    if tail.is_empty() {
        "(empty)".to_owned()
    } else {
        tail
    }
}

/// Stop the cluster's server, if any, and delete its directory. Never fails:
/// it runs from Drop, signal and exit hooks; problems are logged.
fn shutdown(paths: &ClusterPaths) {
    stop_server(&paths.pg_ctl, &paths.data, paths.run_as, &paths.dir);
    remove_dir_quietly(&paths.dir);
}

/// `pg_ctl -m immediate -w stop` (the data is thrown away, so no checkpoint),
/// then make sure the postmaster is really gone.
fn stop_server(pg_ctl: &Path, data: &Path, run_as: RunAs, cwd: &Path) {
    let Ok(pid_file) = fs::read_to_string(data.join("postmaster.pid")) else {
        return; // never started, or already stopped
    };
    let postmaster = pid_file
        .lines()
        .next()
        .and_then(|line| line.trim().parse::<u32>().ok())
        .filter(|&pid| pid > 0);
    // pg_ctl -w returns once postmaster.pid is gone, which the postmaster
    // deletes just before it exits: so we must also wait for the exit itself.
    // Only a postmaster verified to serve this data dir is waited for or
    // killed: the pid in a stale postmaster.pid may belong to another process.
    let live_postmaster = postmaster.filter(|&pid| is_postmaster_of(pid, data));
    let mut cmd = pg_command(pg_ctl, run_as, cwd);
    cmd.arg("-D").arg(data).args([
        "-m",
        "immediate",
        "-w",
        "-t",
        &STOP_TIMEOUT_SECS.to_string(),
        "stop",
    ]);
    if let Err(e) = run(&mut cmd, run_as) {
        tracing::debug!("{e}");
    }
    if let Some(pid) = live_postmaster {
        if !wait_for_exit(pid, Duration::from_secs(5)) {
            kill_postmaster(pid, data);
        }
    }
}

/// Whether `pid` is the running postmaster of `data`. On Linux we check its
/// cwd (the postmaster chdirs into its data dir); elsewhere we can only
/// check that the pid exists.
fn is_postmaster_of(pid: u32, data: &Path) -> bool {
    if !process_exists(pid) {
        return false;
    }
    if !Path::new("/proc/self/cwd").exists() {
        return true;
    }
    let cwd = fs::read_link(format!("/proc/{pid}/cwd"));
    matches!((cwd, fs::canonicalize(data)), (Ok(a), Ok(b)) if a == b)
}

fn wait_for_exit(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !process_exists(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Last resort when `pg_ctl stop` did not do its job (binary gone, timeout):
/// SIGQUIT (what immediate shutdown sends), then SIGKILL; the backends exit
/// on their own once the postmaster is gone.
fn kill_postmaster(pid: u32, data: &Path) {
    let Ok(raw_pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    for signal in [libc::SIGQUIT, libc::SIGKILL] {
        if !is_postmaster_of(pid, data) {
            return;
        }
        tracing::warn!(pid, signal, data = %data.display(), "pg_ctl stop left the server running; signalling it");
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(raw_pid, signal) };
        if wait_for_exit(pid, Duration::from_secs(5)) {
            return;
        }
    }
}

fn remove_dir_quietly(dir: &Path) {
    // A few tries: a process still exiting may briefly add or remove files
    // (e.g. socket lock files) under us, which makes one pass fail.
    for attempt in 1..=3 {
        match fs::remove_dir_all(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) if attempt == 3 => {
                tracing::warn!(dir = %dir.display(), "could not remove directory: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Whether `pid` is a live process. Zombies count as dead: the postmaster is
/// reparented to PID 1 (pg_ctl exits after starting it), and in a container
/// PID 1 may be slow, or fail, to reap it.
fn process_exists(pid: u32) -> bool {
    if Path::new("/proc/self/stat").exists() {
        return match fs::read_to_string(format!("/proc/{pid}/stat")) {
            // Format: `pid (comm) state ...`; comm may contain spaces/parens.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X"),
            Err(_) => false,
        };
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence/permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Parse `quarry-pg-<pid>-<n>` (and nothing else: not the cache dir).
fn parse_cluster_dir_name(name: &str) -> Option<u32> {
    owner_in_name(name, CLUSTER_PREFIX)
}

/// Stop and delete clusters left behind by processes that no longer exist
/// (killed with SIGKILL, crashed). A cluster dir belongs to the pid in its
/// `owner.pid` (falling back to the pid in its name while that file is not
/// written yet). Caveat: a pid from another PID namespace sharing this temp
/// dir looks dead; don't share temp dirs between containers that both run
/// Quarry at the same time.
fn reap_stale(tmp: &Path, bins: &PgBinaries) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    let me = std::process::id();
    let euid = effective_uid();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name_pid) = name.to_str().and_then(parse_cluster_dir_name) else {
            continue;
        };
        let dir = entry.path();
        // symlink_metadata: never follow a planted symlink to somewhere else.
        let Ok(meta) = fs::symlink_metadata(&dir) else {
            continue;
        };
        // Only root can stop or delete other users' clusters.
        if !meta.is_dir() || (euid != 0 && meta.uid() != euid) {
            continue;
        }
        let owner = fs::read_to_string(dir.join("owner.pid"))
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
            .unwrap_or(name_pid);
        if owner == me || process_exists(owner) {
            continue;
        }
        let data = dir.join("data");
        // pg_ctl must run as the user owning the data dir (never root).
        let run_as = match fs::symlink_metadata(&data) {
            Ok(m) if euid == 0 && m.uid() != 0 => RunAs::User {
                uid: m.uid(),
                gid: m.gid(),
            },
            _ => RunAs::CurrentUser,
        };
        tracing::debug!(dir = %dir.display(), owner, "reaping stale ephemeral cluster");
        shutdown(&ClusterPaths {
            id: u64::MAX,
            dir,
            data,
            pg_ctl: bins.pg_ctl.clone(),
            run_as,
        });
    }
}

// ---------------------------------------------------------------------------
// Process-wide cleanup: registry, signals, exit
// ---------------------------------------------------------------------------

/// Live clusters of this process, for the signal and exit hooks. Entries are
/// added before anything is started in a cluster dir, so a signal during
/// startup cleans up too.
static LIVE: Mutex<Vec<ClusterPaths>> = Mutex::new(Vec::new());
static NEXT_CLUSTER_ID: AtomicU64 = AtomicU64::new(0);
/// Set once a termination signal arrived: no new clusters from then on.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
/// Starts in progress; the signal watcher waits for them so that a server
/// whose `pg_ctl start` was running when the signal came is stopped as well.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Write end of the self-pipe the signal handler writes to (-1: none).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

fn register(paths: ClusterPaths) {
    lock(&LIVE).push(paths);
}

fn deregister(id: u64) {
    lock(&LIVE).retain(|p| p.id != id);
}

/// Stop every registered cluster. Entries are taken out first, so a
/// concurrent Drop of the same cluster at worst repeats an idempotent stop.
fn stop_all_registered() {
    let clusters = std::mem::take(&mut *lock(&LIVE));
    for paths in &clusters {
        shutdown(paths);
    }
}

struct InFlightStart;

impl InFlightStart {
    fn enter() -> InFlightStart {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlightStart
    }
}

impl Drop for InFlightStart {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Install, once per process, the hooks that stop registered clusters when
/// the process goes away without dropping them.
///
/// * `atexit`: Rust never drops statics (e.g. a cluster shared by a test
///   binary through a `OnceLock`), but `exit()` — also reached by returning
///   from `main` and by libtest — runs atexit handlers.
/// * SIGINT/SIGTERM/SIGHUP: the default action kills the process without
///   running any of that, and the postmaster is in its own session (pg_ctl
///   calls setsid), so Ctrl-C does not reach it either. A signal handler may
///   only do async-signal-safe things, so it just writes the signal number to
///   a self-pipe; a watcher thread reads it, stops the clusters (spawning
///   pg_ctl), restores the default action and re-raises the signal so the
///   process still dies the way it would have (exit status 130 for Ctrl-C).
///   We only take over signals whose disposition is still the default: if
///   the host program handles or ignores them itself, it decides how the
///   process ends, and Drop/atexit do the cleanup.
/// * SIGKILL and crashes cannot be caught: the reaper in the next start is
///   the backstop.
fn install_cleanup_hooks() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: registering a plain extern "C" fn with atexit is sound.
        if unsafe { libc::atexit(stop_registered_at_exit) } != 0 {
            tracing::warn!(
                "could not register atexit hook; clusters in statics may outlive the process"
            );
        }
        if let Err(e) = install_signal_watcher() {
            tracing::warn!("could not install signal handlers for cluster cleanup: {e}");
        }
    });
}

extern "C" fn stop_registered_at_exit() {
    // Unwinding out of an extern "C" fn aborts; contain any panic.
    let _ = std::panic::catch_unwind(stop_all_registered);
}

fn install_signal_watcher() -> io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe() writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let [read_fd, write_fd] = fds;
    for fd in fds {
        // SAFETY: fd is a descriptor we own; FD_CLOEXEC keeps it out of the
        // pg_ctl/initdb children.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // Non-blocking write end: the handler must never block.
    // SAFETY: as above.
    unsafe {
        let flags = libc::fcntl(write_fd, libc::F_GETFL);
        libc::fcntl(write_fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    std::thread::Builder::new()
        .name("quarry-pg-signals".to_owned())
        .spawn(move || watch_signals(read_fd))?;
    SIGNAL_PIPE.store(write_fd, Ordering::SeqCst);

    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: sigaction is plain old data; we pass valid pointers.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction != libc::SIG_DFL
            {
                continue;
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int) = on_termination_signal;
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                tracing::warn!(signal, "could not install signal handler");
            }
        }
    }
    Ok(())
}

/// Async-signal-safe: one write(2) to the self-pipe, errno preserved.
extern "C" fn on_termination_signal(signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    let byte = signal as u8;
    let saved = errno();
    // SAFETY: write(2) is async-signal-safe; the buffer is one valid byte.
    unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    set_errno(saved);
}

fn watch_signals(read_fd: libc::c_int) {
    loop {
        let mut byte = 0u8;
        // SAFETY: reading one byte into a valid one-byte buffer.
        let n = unsafe { libc::read(read_fd, (&mut byte as *mut u8).cast(), 1) };
        if n == 1 {
            let signal = libc::c_int::from(byte);
            SHUTTING_DOWN.store(true, Ordering::SeqCst);
            // Let starts that are inside pg_ctl finish (and, seeing the flag,
            // clean up after themselves), but don't hang on them for long.
            let deadline = Instant::now() + Duration::from_secs(10);
            while IN_FLIGHT.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            stop_all_registered();
            // SAFETY: restoring the default action and re-raising it is how a
            // handler hands the signal back; _exit is the fallback if the
            // signal is blocked in this thread.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                libc::raise(signal);
                libc::_exit(128 + signal);
            }
        }
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return;
    }
}

#[cfg(target_os = "linux")]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: returns this thread's errno slot.
    unsafe { libc::__errno_location() }
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: returns this thread's errno slot.
    unsafe { libc::__error() }
}

#[cfg(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
))]
fn errno() -> libc::c_int {
    // SAFETY: the slot is valid for this thread.
    unsafe { *errno_location() }
}

#[cfg(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
))]
fn set_errno(value: libc::c_int) {
    // SAFETY: the slot is valid for this thread.
    unsafe { *errno_location() = value };
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
)))]
fn errno() -> libc::c_int {
    0
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
)))]
fn set_errno(_: libc::c_int) {}

// ---------------------------------------------------------------------------
// Server: ephemeral or external
// ---------------------------------------------------------------------------

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

fn unique_database_name(prefix: &str) -> String {
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

/// Percent-encode everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `url` with its database replaced by `dbname`. Splits the URL the way
/// tokio-postgres (and libpq) parse it: credentials up to the first `@`,
/// hosts up to `/` or `?`, database up to `?`, then parameters, where a
/// `dbname=` parameter would override the path and so is dropped.
/// Key=value connection strings get a trailing `dbname=` (last one wins).
fn url_with_dbname(url: &str, dbname: &str) -> String {
    for scheme in ["postgres://", "postgresql://"] {
        let Some(rest) = url.strip_prefix(scheme) else {
            continue;
        };
        let creds_end = rest.find('@').map_or(0, |i| i + 1);
        let (creds, rest) = rest.split_at(creds_end);
        let hosts_end = rest.find(&['/', '?'][..]).unwrap_or(rest.len());
        let (hosts, rest) = rest.split_at(hosts_end);
        let query = match rest.strip_prefix('/') {
            Some(path) => path.find('?').map_or("", |i| &path[i..]),
            None => rest,
        };
        let params: Vec<&str> = query
            .strip_prefix('?')
            .unwrap_or("")
            .split('&')
            .filter(|param| !param.is_empty() && param.split('=').next() != Some("dbname"))
            .collect();
        let mut out = format!("{scheme}{creds}{hosts}/{}", percent_encode(dbname));
        if !params.is_empty() {
            out.push('?');
            out.push_str(&params.join("&"));
        }
        return out;
    }
    format!(
        "{} dbname='{}'",
        url.trim_end(),
        dbname.replace('\\', r"\\").replace('\'', r"\'")
    )
}

/// `url` with its password (userinfo or `password=` parameter) masked.
fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            if let Some(at) = rest.find('@') {
                if let Some(colon) = rest[..at].find(':') {
                    out = format!("{scheme}{}:***{}", &rest[..colon], &rest[at..]);
                }
            }
        }
    }
    if let Some(i) = out.find("password=") {
        let start = i + "password=".len();
        let value = &out[start..];
        let len = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(value.len(), |end| end + 2)
        } else {
            value
                .find(|c: char| c == '&' || c.is_whitespace())
                .unwrap_or(value.len())
        };
        out.replace_range(start..start + len, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;
    use std::sync::atomic::AtomicU32;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    }

    fn postmaster_pid(data: &Path) -> u32 {
        let text = fs::read_to_string(data.join("postmaster.pid")).expect("postmaster.pid");
        text.lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("pid in postmaster.pid")
    }

    /// A private cache root (not matching the reaper's pattern), removed on drop.
    struct ScratchCache(PathBuf);

    impl ScratchCache {
        fn new() -> ScratchCache {
            static N: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "quarry-pgtest-cache-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            ScratchCache(path)
        }
    }

    impl Drop for ScratchCache {
        fn drop(&mut self) {
            remove_dir_quietly(&self.0);
        }
    }

    /// Wait for background spare fills of this process to finish.
    fn wait_for_spare_fill() {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !lock(&FILLING_SPARES).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    async fn select_one(server: &Server, dbname: Option<&str>) -> i32 {
        let client = server.connect(dbname).await.expect("connect");
        client
            .query_one("SELECT 1", &[])
            .await
            .expect("SELECT 1")
            .get(0)
    }

    #[test]
    fn start_connect_create_drop_and_stop() {
        let started = Instant::now();
        let cluster = EphemeralCluster::start().expect("start cluster");
        println!("start (cache possibly warm): {:?}", started.elapsed());
        let dir = cluster
            .data_dir()
            .parent()
            .expect("cluster dir")
            .to_path_buf();
        let port = cluster.port();
        assert!(cluster
            .socket_dir()
            .join(format!(".s.PGSQL.{port}"))
            .exists());
        assert_eq!(
            fs::read_to_string(dir.join("owner.pid"))
                .expect("owner.pid")
                .trim(),
            std::process::id().to_string()
        );
        let mode = fs::metadata(cluster.data_dir()).expect("data dir").mode() & 0o777;
        assert!(mode == 0o700 || mode == 0o750, "data dir mode {mode:o}");
        assert!(lock(&LIVE).iter().any(|p| p.dir == dir));
        let postmaster = postmaster_pid(cluster.data_dir());

        let server = Server::Ephemeral(cluster);
        assert_eq!(
            server.url(Some("x y")),
            format!("postgres://postgres@127.0.0.1:{port}/x%20y")
        );
        runtime().block_on(async {
            assert_eq!(select_one(&server, None).await, 1);
            let name = server.create_database("Pg Test").await.expect("create db");
            assert!(name.starts_with("pg_test_"), "{name}");
            assert_eq!(select_one(&server, Some(&name)).await, 1);
            // An open session does not prevent the forced drop.
            let _session = server.connect(Some(&name)).await.expect("connect");
            server.drop_database(&name).await.expect("drop db");
            assert!(server.connect(Some(&name)).await.is_err());
            server
                .drop_database(&name)
                .await
                .expect("drop is idempotent");
        });

        let stopping = Instant::now();
        drop(server);
        println!("stop: {:?}", stopping.elapsed());
        assert!(!dir.exists(), "cluster dir {} still exists", dir.display());
        assert!(
            !process_exists(postmaster),
            "postmaster {postmaster} still running"
        );
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        assert!(!lock(&LIVE).iter().any(|p| p.dir == dir));
    }

    #[test]
    fn cold_and_warm_start_timings() {
        let cache = ScratchCache::new();
        let t = Instant::now();
        let cold = start_cluster(Some(&cache.0), &mut free_port).expect("cold start");
        let cold_time = t.elapsed();
        drop(cold);
        // Warm, with a spare data dir ready (the normal case) ...
        let mut spare_times = Vec::new();
        for _ in 0..3 {
            wait_for_spare_fill();
            let t = Instant::now();
            let warm = start_cluster(Some(&cache.0), &mut free_port).expect("warm start");
            spare_times.push(t.elapsed());
            drop(warm);
        }
        // ... and without one (two starts in quick succession).
        wait_for_spare_fill();
        let first = start_cluster(Some(&cache.0), &mut free_port).expect("warm start");
        let t = Instant::now();
        let second = start_cluster(Some(&cache.0), &mut free_port).expect("warm start");
        let copy_time = t.elapsed();
        let t = Instant::now();
        drop(second);
        let stop_time = t.elapsed();
        drop(first);
        wait_for_spare_fill();
        println!(
            "cold start: {cold_time:?}; warm start with spare: {spare_times:?}; \
             warm start copying the template: {copy_time:?}; stop: {stop_time:?}"
        );

        let key_dirs: Vec<_> = fs::read_dir(&cache.0).expect("cache").flatten().collect();
        assert_eq!(key_dirs.len(), 1);
        let mut entries: Vec<String> = fs::read_dir(key_dirs[0].path())
            .expect("key dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert!(entries[0].starts_with("spare-"), "{entries:?}");
        assert_eq!(entries[1], "template");
        // Unloaded, a warm start takes ~0.15 s; the bound is loose because
        // other tests (and test binaries) compete for CPU and disk.
        let fastest = spare_times.iter().min().copied().unwrap_or_default();
        assert!(
            fastest < Duration::from_secs(5),
            "warm start took {fastest:?}"
        );
    }

    #[test]
    fn retries_when_the_port_is_taken() {
        let blocker = TcpListener::bind("127.0.0.1:0").expect("bind");
        let taken = blocker.local_addr().expect("addr").port();
        let mut first = Some(taken);
        let cluster = start_cluster(None, &mut || first.take().map_or_else(free_port, Ok))
            .expect("start on the second port");
        assert_ne!(cluster.port(), taken);
        let log = fs::read_to_string(cluster.data_dir().with_file_name("server.log"))
            .expect("server log");
        assert!(log.contains("Address already in use"), "{log}");
    }

    #[test]
    fn failed_start_cleans_up_and_reports_the_log() {
        let blocker = TcpListener::bind("127.0.0.1:0").expect("bind");
        let taken = blocker.local_addr().expect("addr").port();
        let error = start_cluster(None, &mut || Ok(taken)).expect_err("port always taken");
        let PgError::Start { attempts, log, .. } = &error else {
            panic!("unexpected error: {error}");
        };
        assert_eq!(*attempts, PORT_ATTEMPTS);
        let message = error.to_string();
        println!("{message}");
        assert!(message.contains("pg_ctl"), "{message}");
        assert!(message.contains("Address already in use"), "{message}");
        let dir = log.parent().expect("cluster dir");
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(!lock(&LIVE).iter().any(|p| p.dir == dir));
    }

    #[test]
    fn concurrent_clusters_from_two_threads() {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(|| {
                    let t = Instant::now();
                    let server = Server::ephemeral().expect("start");
                    let elapsed = t.elapsed();
                    let one = runtime().block_on(select_one(&server, None));
                    let port = match &server {
                        Server::Ephemeral(c) => c.port(),
                        Server::External { .. } => unreachable!(),
                    };
                    (one, port, elapsed)
                })
            })
            .collect();
        let results: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        println!("concurrent starts: {results:?}");
        assert!(results.iter().all(|(one, _, _)| *one == 1));
        assert_ne!(results[0].1, results[1].1);
    }

    #[test]
    fn concurrent_template_builds_both_succeed() {
        // Bypasses the in-process lock to race two builders like two
        // processes would: one rename wins, the other adopts its template.
        let cache = ScratchCache::new();
        let bins = find_binaries().expect("binaries");
        let run_as = server_user().expect("server user");
        let version = server_version(&bins).expect("version");
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| s.spawn(|| ensure_template_unlocked(&cache.0, &bins, &version, run_as)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread").expect("template"))
                .collect()
        });
        assert_eq!(results[0], results[1]);
        let template = results[0].clone().expect("cached template");
        assert_eq!(
            template_state(&template, run_as.uid()),
            TemplateState::Ready
        );
        let key_dir = template.parent().expect("key dir");
        assert_eq!(fs::read_dir(key_dir).expect("key dir").count(), 1);
    }

    #[test]
    fn reaps_clusters_of_dead_processes() {
        let cluster = EphemeralCluster::start().expect("start");
        let postmaster = postmaster_pid(cluster.data_dir());
        let paths = cluster.leak().expect("paths");
        // A pid that surely is dead: a child we already reaped.
        let mut child = Command::new("true").spawn().expect("spawn true");
        let dead = child.id();
        child.wait().expect("wait");
        fs::write(paths.dir.join("owner.pid"), format!("{dead}\n")).expect("owner.pid");
        assert!(process_exists(postmaster));

        let bins = find_binaries().expect("binaries");
        reap_stale(&std::env::temp_dir(), &bins);
        assert!(!paths.dir.exists());
        assert!(!process_exists(postmaster));
    }

    #[test]
    fn external_server_urls_and_databases() {
        let cluster = EphemeralCluster::start().expect("start");
        let server = Server::external(&cluster.url("postgres")).expect("external");
        runtime().block_on(async {
            assert_eq!(select_one(&server, None).await, 1);
            let name = server.create_database("ext").await.expect("create");
            let url = server.url(Some(&name));
            assert_eq!(url, cluster.url(&name));
            let by_url = Server::external(&url).expect("external by url");
            assert_eq!(select_one(&by_url, None).await, 1);
            server.drop_database(&name).await.expect("drop");
        });
    }

    #[test]
    fn url_database_replacement() {
        let cases = [
            (
                "postgres://u:p%40ss@h1:5433,h2/app?sslmode=disable&dbname=x&application_name=a",
                "postgres://u:p%40ss@h1:5433,h2/new%20db?sslmode=disable&application_name=a",
            ),
            ("postgresql://h", "postgresql://h/new%20db"),
            (
                "postgres://h?sslmode=disable",
                "postgres://h/new%20db?sslmode=disable",
            ),
            (
                "postgres://u@%2Frun%2Fpg/db",
                "postgres://u@%2Frun%2Fpg/new%20db",
            ),
        ];
        for (url, expected) in cases {
            let replaced = url_with_dbname(url, "new db");
            assert_eq!(replaced, expected);
            let config = tokio_postgres::Config::from_str(&replaced).expect("parses");
            assert_eq!(config.get_dbname(), Some("new db"));
        }
        let kv = url_with_dbname("host=h user=u dbname=old", "it's");
        let config = tokio_postgres::Config::from_str(&kv).expect("parses");
        assert_eq!(config.get_dbname(), Some("it's"));
        assert_eq!(config.get_user(), Some("u"));

        let server = Server::external("postgres://u:secret@h/app").expect("external");
        assert_eq!(server.url(None), "postgres://u:secret@h/app");
        assert_eq!(server.url(Some("other")), "postgres://u:secret@h/other");
        assert_eq!(server.config(None).get_dbname(), Some("app"));
        assert_eq!(server.config(Some("other")).get_dbname(), Some("other"));
        assert!(!format!("{server:?}").contains("secret"));
        assert_eq!(
            redact_url("host=h password='a b' user=u"),
            "host=h password=*** user=u"
        );
        let err = Server::external("postgres://u:secret@h:notaport/db").expect_err("bad port");
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn database_names_are_unique_valid_identifiers() {
        let long = "X".repeat(100);
        for prefix in ["Schema Test", "", "9lives", long.as_str(), "ünï"] {
            let a = unique_database_name(prefix);
            let b = unique_database_name(prefix);
            assert_ne!(a, b);
            assert!(a.len() <= 63, "{a}");
            assert!(
                a.starts_with(|c: char| c.is_ascii_lowercase() || c == '_'),
                "{a}"
            );
            assert!(
                a.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{a}"
            );
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(parse_cluster_dir_name("quarry-pg-123-4"), Some(123));
        assert_eq!(parse_cluster_dir_name("quarry-pg-cache"), None);
        assert_eq!(parse_cluster_dir_name("quarry-pgtest-cache-1-2"), None);
        assert_eq!(owner_in_name("filling-12-3", "filling-"), Some(12));
        assert_eq!(owner_in_name("spare-12-3", "filling-"), None);
        assert!(parse_version("16") > parse_version("9.6"));
        assert_eq!(parse_version("main"), None);
        assert_eq!(
            cache_key("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", 101),
            "postgres-postgresql-15.18-debian-15.18-0-deb12u1-uid101-v1"
        );
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn resumed_copy_completes_a_partial_tree() {
        let root = ScratchCache::new();
        let src = root.0.join("src");
        let dst = root.0.join("dst");
        fs::create_dir_all(src.join("sub")).expect("mkdir");
        fs::set_permissions(&src, fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::write(src.join("a"), vec![1u8; 10_000]).expect("write");
        fs::write(src.join("empty"), b"").expect("write");
        fs::write(src.join("sub/b"), b"bbb").expect("write");
        fs::set_permissions(src.join("sub/b"), fs::Permissions::from_mode(0o600)).expect("chmod");
        copy_tree(&src, &dst, RunAs::CurrentUser, false).expect("copy");
        // Simulate an interrupted copy: a cut-short file and a missing one.
        fs::write(dst.join("a"), vec![1u8; 100]).expect("truncate");
        fs::remove_file(dst.join("sub/b")).expect("rm");
        assert!(
            copy_tree(&src, &dst, RunAs::CurrentUser, false).is_err(),
            "plain copy must not reuse"
        );
        copy_tree(&src, &dst, RunAs::CurrentUser, true).expect("resume");
        assert_eq!(fs::read(dst.join("a")).expect("a"), vec![1u8; 10_000]);
        assert_eq!(fs::read(dst.join("sub/b")).expect("b"), b"bbb");
        assert_eq!(fs::read(dst.join("empty")).expect("empty"), b"");
        let mode = |p: &Path| fs::metadata(p).expect("stat").mode() & 0o777;
        assert_eq!(mode(&dst), 0o700);
        assert_eq!(mode(&dst.join("sub/b")), 0o600);
    }

    #[test]
    fn picks_the_newest_major_version() {
        let root = ScratchCache::new();
        for version in ["9.6", "15", "16", "main"] {
            let bin = root.0.join(version).join("bin");
            fs::create_dir_all(&bin).expect("mkdir");
            for name in ["initdb", "pg_ctl", "postgres"] {
                // 16 is incomplete, so 15 must win over it and over 9.6.
                if version == "16" && name == "postgres" {
                    continue;
                }
                let path = bin.join(name);
                fs::write(&path, "#!/bin/sh\n").expect("write");
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
            }
        }
        let bins = newest_versioned(&root.0).expect("found");
        assert!(bins.pg_ctl.ends_with("15/bin/pg_ctl"), "{bins:?}");
        assert!(newest_versioned(&root.0.join("nonexistent")).is_none());
    }

    #[test]
    fn binaries_not_found_message_names_what_to_install() {
        let message = PgError::BinariesNotFound {
            searched: "/usr/lib/postgresql/*/bin".to_string(),
        }
        .to_string();
        assert!(message.contains("apt-get install postgresql"));
        assert!(message.contains("DATABASE_URL"));
    }
}
