//! The host side of running PostgreSQL: locating the server binaries and
//! their version, the OS user they run as ([`RunAs`]), and running the
//! binaries as commands.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use super::error::{io_error, lock, PgError};

/// System user the server runs as when this process is root.
pub(super) const SERVER_OS_USER: &str = "postgres";

/// Cap on captured command output quoted in errors.
const OUTPUT_LIMIT: usize = 4000;

/// Which OS user runs the PostgreSQL binaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RunAs {
    /// This process's user (we are not root).
    CurrentUser,
    /// Another user (we are root); children get this uid/gid and no
    /// supplementary groups (std drops them when setting the uid as root).
    User { uid: u32, gid: u32 },
}

impl RunAs {
    pub(super) fn uid(self) -> u32 {
        match self {
            RunAs::CurrentUser => effective_uid(),
            RunAs::User { uid, .. } => uid,
        }
    }

    /// Give `path` to the server user, so the server can use what we created.
    pub(super) fn chown(self, path: &Path) -> Result<(), PgError> {
        match self {
            RunAs::CurrentUser => Ok(()),
            RunAs::User { uid, gid } => std::os::unix::fs::lchown(path, Some(uid), Some(gid))
                .map_err(io_error(format!("chown {uid}:{gid} {}", path.display()))),
        }
    }
}

pub(super) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Located server binaries (absolute paths, symlinks resolved).
#[derive(Clone, Debug)]
pub(super) struct PgBinaries {
    pub(super) initdb: PathBuf,
    pub(super) pg_ctl: PathBuf,
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
pub(super) fn find_binaries() -> Result<PgBinaries, PgError> {
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
pub(super) fn newest_versioned(root: &Path) -> Option<PgBinaries> {
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

pub(super) fn parse_version(name: &str) -> Option<Vec<u64>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// `postgres --version`, remembered per binary (it keys the template cache
/// and costs a process spawn).
pub(super) fn server_version(bins: &PgBinaries) -> Result<String, PgError> {
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
pub(super) fn server_user() -> Result<RunAs, PgError> {
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

/// A command for a PostgreSQL binary, run as the server user from `cwd`.
pub(super) fn pg_command(program: &Path, run_as: RunAs, cwd: &Path) -> Command {
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
pub(super) fn describe(cmd: &Command, run_as: RunAs) -> String {
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
pub(super) fn run(cmd: &mut Command, run_as: RunAs) -> Result<Output, PgError> {
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

pub(super) fn combined_output(output: &Output) -> String {
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

pub(super) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
