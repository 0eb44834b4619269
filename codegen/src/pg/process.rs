//! The server process: `pg_ctl start` listening on the cluster's private
//! unix socket only, stopping it (and making sure the postmaster is gone),
//! deleting cluster directories, and reaping the clusters of processes that
//! died without cleaning up.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::binaries::{combined_output, describe, pg_command, run, shell_quote, PgBinaries, RunAs};
use super::error::{io_error, PgError};
use super::paths::{ClusterPaths, CLUSTER_PREFIX, SOCKET_PORT};

const START_TIMEOUT_SECS: u32 = 60;

const STOP_TIMEOUT_SECS: u32 = 30;

const LOG_TAIL_LINES: usize = 30;

/// `pg_ctl start` with no TCP listener at all (`-h ''`): the only way in is
/// the unix socket in `socket_dir`, a 0700 directory of the server user.
/// `extra_options` are appended to the server's command line (tests use it
/// to make a start fail).
pub(super) fn start_server(
    bins: &PgBinaries,
    dir: &Path,
    data: &Path,
    socket_dir: &Path,
    run_as: RunAs,
    extra_options: &str,
) -> Result<(), PgError> {
    let log = dir.join("server.log");
    let options = format!(
        "-k {} -h '' -p {SOCKET_PORT} -F -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200 {extra_options}",
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
        .arg(options.trim_end())
        .arg("start");
    let command = describe(&cmd, run_as);
    let started = Instant::now();
    let output = cmd
        .output()
        .map_err(io_error(format!("could not run `{command}`")))?;
    if output.status.success() {
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "pg_ctl start done"
        );
        return Ok(());
    }
    // pg_ctl can give up (timeout) while the postmaster lives on; make sure
    // nothing is left running before failing.
    stop_server(&bins.pg_ctl, data, run_as, dir);
    let log_text = read_from(&log, log_offset);
    Err(PgError::Start {
        command,
        status: output.status.to_string(),
        output: combined_output(&output),
        log,
        log_tail: tail_lines(&log_text, LOG_TAIL_LINES),
    })
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
pub(super) fn shutdown(paths: &ClusterPaths) {
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
            tracing::warn!(pid, data = %data.display(), "pg_ctl stop left the server running; signalling it");
            kill_postmaster(pid, data);
        }
    }
}

/// Whether `pid` is the running postmaster of `data`. On Linux: the process
/// is a `postgres` whose working directory (the postmaster chdirs into its
/// data dir) is the very directory at `data` (same device and inode; `data`
/// itself must be a real directory, not a symbolic link to somewhere else).
/// Elsewhere we can only check that the pid exists.
pub(super) fn is_postmaster_of(pid: u32, data: &Path) -> bool {
    if !process_exists(pid) {
        return false;
    }
    if !Path::new("/proc/self/cwd").exists() {
        return true;
    }
    let is_postgres = fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.trim_end() == "postgres");
    let Ok(data_meta) = fs::symlink_metadata(data) else {
        return false;
    };
    let Ok(cwd_meta) = fs::metadata(format!("/proc/{pid}/cwd")) else {
        return false;
    };
    is_postgres
        && data_meta.is_dir()
        && cwd_meta.dev() == data_meta.dev()
        && cwd_meta.ino() == data_meta.ino()
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

/// SIGQUIT (what immediate shutdown sends), then SIGKILL, each only while
/// `pid` is verified to be the postmaster of `data`; the backends exit on
/// their own once the postmaster is gone. The last resort when `pg_ctl stop`
/// did not do its job (binary gone, timeout), and how stale clusters stop.
fn kill_postmaster(pid: u32, data: &Path) {
    let Ok(raw_pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    for signal in [libc::SIGQUIT, libc::SIGKILL] {
        if !is_postmaster_of(pid, data) {
            return;
        }
        tracing::debug!(pid, signal, data = %data.display(), "signalling postmaster");
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(raw_pid, signal) };
        if wait_for_exit(pid, Duration::from_secs(5)) {
            return;
        }
    }
}

pub(super) fn remove_dir_quietly(dir: &Path) {
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
pub(super) fn process_exists(pid: u32) -> bool {
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

/// The pid in `<prefix><pid>-<n>`.
pub(super) fn owner_in_name(name: &str, prefix: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix(prefix)?.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Parse `quarry-pg-<pid>-<n>` (and nothing else: not the cache dir).
pub(super) fn parse_cluster_dir_name(name: &str) -> Option<u32> {
    owner_in_name(name, CLUSTER_PREFIX)
}

/// Stop and delete clusters left behind by processes that no longer exist
/// (killed with SIGKILL, crashed). A cluster dir belongs to the pid in its
/// `owner.pid` (falling back to the pid in its name while that file is not
/// written yet). Caveat: a pid from another PID namespace sharing this temp
/// dir looks dead; don't share temp dirs between containers that both run
/// Quarry at the same time.
///
/// The temp dir is shared with other users, who can plant anything that
/// matches the name pattern. So only what this tool itself created is
/// touched (see [`inspect_stale`]): a real 0700 directory owned by
/// `server_uid` (our euid, or the `postgres` user's when we are root), with
/// no symbolic link followed anywhere in it; and the only signal ever sent
/// goes to a postmaster verified to serve exactly that data directory.
/// Anything else is left alone (and logged at debug level).
pub(super) fn reap_stale(tmp: &Path, server_uid: u32) {
    if let Err(why) = shared_dir_is_safe(tmp) {
        tracing::debug!(tmp = %tmp.display(), "not reaping stale clusters: {why}");
        return;
    }
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name_pid) = name.to_str().and_then(parse_cluster_dir_name) else {
            continue;
        };
        let dir = entry.path();
        match inspect_stale(&dir, name_pid, server_uid) {
            Ok(None) => {}
            Ok(Some(stale)) => reap(&stale),
            Err(why) => {
                tracing::debug!(dir = %dir.display(), "not reaping: {why}");
            }
        }
    }
}

/// A cluster directory that passed [`inspect_stale`]'s checks.
#[derive(Debug)]
pub(super) struct StaleCluster {
    pub(super) dir: PathBuf,
    pub(super) data: PathBuf,
    /// The pid in `data/postmaster.pid`, whose data-dir line names `data`.
    pub(super) postmaster: Option<u32>,
}

/// Entries in a directory that others may write to can be swapped under us
/// (a checked directory renamed away and replaced by a link) unless it is
/// sticky, as `/tmp` is: then only an entry's owner may rename or delete it.
fn shared_dir_is_safe(tmp: &Path) -> Result<(), String> {
    let meta = fs::metadata(tmp).map_err(|e| format!("stat: {e}"))?;
    let mode = meta.mode();
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(format!(
            "it is writable by other users but not sticky (mode {:o})",
            mode & 0o7777
        ));
    }
    Ok(())
}

/// Whether `dir` is a stale cluster directory this tool created and may
/// reap: `Ok(None)` when its owner process still lives, `Err` (why not) when
/// it does not look exactly like what `EphemeralCluster::start` makes:
///
/// * `dir` itself: a real directory (not a symbolic link), owned by
///   `server_uid`, mode 0700. Nobody else can then have put anything in it.
/// * `owner.pid`, if present: a regular file.
/// * `data`, if present: a real directory owned by `server_uid`.
/// * `data/postmaster.pid`, if present: a regular file owned by
///   `server_uid` whose data-dir line (the second) is `dir/data`.
///
/// Nothing is canonicalised: paths are compared as they are spelled.
pub(super) fn inspect_stale(
    dir: &Path,
    name_pid: u32,
    server_uid: u32,
) -> Result<Option<StaleCluster>, String> {
    let meta = fs::symlink_metadata(dir).map_err(|e| format!("stat: {e}"))?;
    if !meta.file_type().is_dir() {
        return Err("not a directory (or a symbolic link)".to_owned());
    }
    if meta.uid() != server_uid {
        return Err(format!(
            "owned by uid {}, not by the server user (uid {server_uid})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o7777 != 0o700 {
        return Err(format!("mode {:o}, not 0700", meta.mode() & 0o7777));
    }
    let owner = match read_regular_file(&dir.join("owner.pid"), None)? {
        Some(text) => text
            .trim()
            .parse::<u32>()
            .map_err(|_| "owner.pid holds no process id".to_owned())?,
        None => name_pid,
    };
    if owner == std::process::id() || process_exists(owner) {
        return Ok(None);
    }
    let data = dir.join("data");
    let postmaster = match fs::symlink_metadata(&data) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("stat data: {e}")),
        Ok(m) if !m.file_type().is_dir() => {
            return Err("data is not a directory (or a symbolic link)".to_owned())
        }
        Ok(m) if m.uid() != server_uid => {
            return Err(format!("data is owned by uid {}", m.uid()));
        }
        Ok(_) => match read_regular_file(&data.join("postmaster.pid"), Some(server_uid))? {
            None => None,
            Some(text) => {
                let mut lines = text.lines();
                let pid = lines
                    .next()
                    .and_then(|line| line.trim().parse::<u32>().ok())
                    .ok_or("postmaster.pid holds no process id")?;
                let recorded = lines.next().unwrap_or("");
                if Path::new(recorded) != data {
                    return Err(format!(
                        "postmaster.pid is for data directory {recorded:?}, not {}",
                        data.display()
                    ));
                }
                Some(pid)
            }
        },
    };
    Ok(Some(StaleCluster {
        dir: dir.to_path_buf(),
        data,
        postmaster,
    }))
}

/// The contents of `path` if it exists: it must be a regular file (opened
/// without following a symbolic link), owned by `uid` when given, and small.
fn read_regular_file(path: &Path, uid: Option<u32>) -> Result<Option<String>, String> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{name}: {e}")),
    };
    let meta = file.metadata().map_err(|e| format!("{name}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{name} is not a regular file"));
    }
    if let Some(uid) = uid.filter(|&uid| uid != meta.uid()) {
        return Err(format!("{name} is owned by uid {}, not {uid}", meta.uid()));
    }
    let mut text = String::new();
    file.take(4096)
        .read_to_string(&mut text)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(Some(text))
}

/// Stop a stale cluster's postmaster if it still runs, then delete the
/// directory. The postmaster gets SIGQUIT (immediate shutdown, what
/// `pg_ctl -m immediate stop` sends) and, if it lingers, SIGKILL, each only
/// after checking again that it is the postmaster of exactly this data dir.
/// `remove_dir_all` does not follow symbolic links.
fn reap(stale: &StaleCluster) {
    tracing::debug!(dir = %stale.dir.display(), "reaping stale ephemeral cluster");
    if let Some(pid) = stale.postmaster {
        if is_postmaster_of(pid, &stale.data) {
            kill_postmaster(pid, &stale.data);
            if is_postmaster_of(pid, &stale.data) {
                tracing::warn!(pid, dir = %stale.dir.display(), "stale cluster's server did not stop; leaving it");
                return;
            }
        }
    }
    remove_dir_quietly(&stale.dir);
}
