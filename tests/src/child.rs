//! The server processes the harness starts itself (PgBouncer, a replica's
//! postmaster), and the private directories they live in.
//!
//! A child runs in the foreground, as the OS user that owns the cluster it
//! serves (`postgres` when the tests run as root), and is bound to this
//! process: it is forked by one long-lived thread with a parent-death signal
//! (`PR_SET_PDEATHSIG`), so it is told to stop when the test process ends,
//! however it ends (SIGKILL included). Its directory is `quarry-<kind>-<pid>-<n>`
//! in the temp dir, 0700, deleted on drop; the directories of processes that
//! died without dropping theirs are deleted by the next start of that kind.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// An OS user and group, as a directory's owner shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OsUser {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl OsUser {
    /// The owner of `path` (for a cluster: of its socket or data directory,
    /// which belong to the user the server runs as).
    pub(crate) fn owner_of(path: &Path) -> OsUser {
        let meta = fs::metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
        OsUser {
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }

    /// Makes `command` run as this user when that is not us already (we
    /// are then root: nobody else may give a child another uid).
    pub(crate) fn apply(self, command: &mut Command) {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if self.uid != unsafe { libc::geteuid() } {
            command.uid(self.uid).gid(self.gid);
        }
    }

    /// Gives `path` to this user (a no-op when it is ours already).
    pub(crate) fn chown(self, path: &Path) {
        let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if meta.uid() != self.uid || meta.gid() != self.gid {
            std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))
                .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
        }
    }
}

/// The kinds of [`PrivateDir`] (never `pg`: `quarry-pg-` is the ephemeral
/// cluster's, which reaps its own).
pub(crate) const KINDS: [&str; 2] = ["pgbouncer", "replica"];

/// A 0700 directory of the server user in the temp dir, deleted on drop.
#[derive(Debug)]
pub(crate) struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Creates `quarry-<kind>-<pid>-<n>` (`kind` one of [`KINDS`]), after
    /// deleting the directories of every kind left by processes that no
    /// longer exist.
    pub(crate) fn create(kind: &str, owner: OsUser) -> PrivateDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        debug_assert!(KINDS.contains(&kind));
        let tmp = std::path::absolute(std::env::temp_dir()).unwrap_or_else(|e| panic!("{e}"));
        for stale_kind in KINDS {
            reap_stale(&tmp, &format!("quarry-{stale_kind}-"), owner);
        }
        let prefix = format!("quarry-{kind}-");
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = tmp.join(format!("{prefix}{}-{n}", std::process::id()));
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o700))
                        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
                    owner.chown(&path);
                    return PrivateDir { path };
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("create {}: {e}", path.display()),
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        // A process still exiting may briefly add or remove files under us.
        for _ in 0..3 {
            match fs::remove_dir_all(&self.path) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// Deletes `<prefix><pid>-<n>` directories whose process is gone: only real
/// 0700 directories of `owner` (what [`PrivateDir::create`] makes), and
/// `remove_dir_all` follows no symbolic link.
fn reap_stale(tmp: &Path, prefix: &str, owner: OsUser) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(prefix))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, n)| n.parse::<u64>().ok().and(pid.parse::<u32>().ok()))
        else {
            continue;
        };
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let ours = meta.is_dir() && meta.uid() == owner.uid && meta.mode() & 0o7777 == 0o700;
        if ours && pid != std::process::id() && !process_exists(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether `pid` is a live (not zombie) process.
pub(crate) fn process_exists(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

type SpawnRequest = (Command, libc::c_int, mpsc::Sender<io::Result<Child>>);

/// Spawns `command` (stdin from /dev/null, stdout and stderr appended to
/// `log`) in a process group of its own, bound to this process: when the
/// process ends, the child gets `death_signal`. The parent-death signal is
/// sent when the *thread* that forked the child ends, so every child is
/// forked by one thread that lives as long as the process.
pub(crate) fn spawn_bound(
    mut command: Command,
    log: &Path,
    death_signal: libc::c_int,
) -> io::Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnRequest>> = OnceLock::new();
    let out = fs::OpenOptions::new().create(true).append(true).open(log)?;
    command
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0);
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, received) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("quarry-tests-spawner".into())
            .spawn(move || {
                for (mut command, signal, reply) in received {
                    let _ = reply.send(spawn_with_death_signal(&mut command, signal));
                }
            })
            .unwrap_or_else(|e| panic!("cannot start the spawner thread: {e}"));
        requests
    });
    let (reply, child) = mpsc::channel();
    spawner
        .send((command, death_signal, reply))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    child
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

fn spawn_with_death_signal(command: &mut Command, signal: libc::c_int) -> io::Result<Child> {
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe system calls (prctl, getppid); it does not allocate.
    // It runs after the uid change, which would clear the signal.
    unsafe {
        command.pre_exec(move || {
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            #[cfg(not(target_os = "linux"))]
            let _ = signal;
            // The parent may have died before prctl: then nobody will.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    };
    command.spawn()
}

/// Sends `signal` to `child` unless it has exited.
pub(crate) fn signal(child: &mut Child, signal: libc::c_int) {
    if matches!(child.try_wait(), Ok(None)) {
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill has no memory-safety preconditions; `pid` is our
            // child, not yet reaped, so the pid cannot have been reused.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

/// Whether `child` exits within `timeout`.
pub(crate) fn wait_for_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Stops `child`: each signal in turn until it exits (waiting up to
/// `patience` after each), SIGKILL last.
pub(crate) fn stop(child: &mut Child, signals: &[libc::c_int], patience: Duration) {
    for &sig in signals {
        signal(child, sig);
        if wait_for_exit(child, patience) {
            return;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The last `lines` lines of a log file, for failure messages.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `postgres://{user}@{socket dir, percent-encoded}:{port}/{dbname}`: a host
/// that is an absolute path means a unix socket directory.
pub(crate) fn socket_url(socket_dir: &Path, port: u16, user: &str, dbname: &str) -> String {
    use std::os::unix::ffi::OsStrExt;
    format!(
        "postgres://{}@{}:{port}/{}",
        percent_encode(user.as_bytes()),
        percent_encode(socket_dir.as_os_str().as_bytes()),
        percent_encode(dbname.as_bytes())
    )
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
