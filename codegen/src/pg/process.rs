//! The server process: `pg_ctl start` on a free port, stopping it (and
//! making sure the postmaster is gone), deleting cluster directories, and
//! reaping the clusters of processes that died without cleaning up.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::binaries::{
    combined_output, describe, effective_uid, pg_command, run, shell_quote, PgBinaries, RunAs,
};
use super::cluster::ClusterPaths;
use super::{io_error, PgError, CLUSTER_PREFIX};

/// Start attempts with a fresh port when the chosen one got taken meanwhile.
pub(super) const PORT_ATTEMPTS: u32 = 5;

const START_TIMEOUT_SECS: u32 = 60;

const STOP_TIMEOUT_SECS: u32 = 30;

const LOG_TAIL_LINES: usize = 30;

/// `pg_ctl start` on a free port, retrying with another port when the one we
/// picked got taken between probing and binding. Returns the port.
pub(super) fn start_server(
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
pub(super) fn free_port() -> Result<u16, PgError> {
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
pub(super) fn reap_stale(tmp: &Path, bins: &PgBinaries) {
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
