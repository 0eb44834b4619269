//! Process-wide cleanup: the registry of live clusters, and the signal and
//! exit hooks that stop them when the process goes away without dropping
//! them.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use super::error::lock;
use super::paths::ClusterPaths;
use super::process::shutdown;

/// Live clusters of this process, for the signal and exit hooks. Entries are
/// added before anything is started in a cluster dir, so a signal during
/// startup cleans up too.
pub(super) static LIVE: Mutex<Vec<ClusterPaths>> = Mutex::new(Vec::new());
pub(super) static NEXT_CLUSTER_ID: AtomicU64 = AtomicU64::new(0);
/// Set once a termination signal arrived: no new clusters from then on.
pub(super) static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
/// Starts in progress; the signal watcher waits for them so that a server
/// whose `pg_ctl start` was running when the signal came is stopped as well.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Write end of the self-pipe the signal handler writes to (-1: none).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

pub(super) fn register(paths: ClusterPaths) {
    lock(&LIVE).push(paths);
}

pub(super) fn deregister(id: u64) {
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

pub(super) struct InFlightStart;

impl InFlightStart {
    pub(super) fn enter() -> InFlightStart {
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
pub(super) fn install_cleanup_hooks() {
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
