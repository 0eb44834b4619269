//! Data directories for new clusters: `initdb` itself, the cached template
//! it builds (once per server version and server user) and the spare copies
//! of it prepared in the background, so that most starts only rename a
//! directory.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::binaries::{effective_uid, pg_command, run, PgBinaries, RunAs};
use super::error::{io_error, lock, PgError};
use super::paths::make_private_dir;
use super::process::{owner_in_name, process_exists, remove_dir_quietly};

/// Part of the template cache key; bump it whenever the initdb invocation
/// changes so templates built by older code are not reused.
/// v2: unix socket only (`listen_addresses = ''`, `local` lines only in
/// `pg_hba.conf`).
const TEMPLATE_FORMAT: &str = "v2";

/// Superuser created by `initdb -U` in ephemeral clusters.
pub(super) const SUPERUSER: &str = "postgres";

/// The cached template for this server version and server user, building it
/// if needed. `None` means the cache is not trustworthy (someone else owns
/// it) and the caller should initdb directly.
pub(super) fn ensure_template(
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

pub(super) fn ensure_template_unlocked(
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
pub(super) enum TemplateState {
    Ready,
    Missing,
    Untrusted(String),
}

pub(super) fn template_state(template: &Path, server_uid: u32) -> TemplateState {
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
/// `postgres-postgresql-15.18-debian-15.18-0-deb12u1-uid101-v2`.
pub(super) fn cache_key(version: &str, uid: u32) -> String {
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
pub(super) fn claim_spare(template: &Path, data: &Path, server_uid: u32) -> bool {
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
pub(super) fn refill_spare(template: PathBuf, run_as: RunAs) {
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
pub(super) static FILLING_SPARES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

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
pub(super) fn adopt_abandoned_fill(
    key_dir: &Path,
    ours: &Path,
    server_uid: u32,
    delete_others: bool,
) -> bool {
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
pub(super) fn copy_tree(src: &Path, dst: &Path, run_as: RunAs, resume: bool) -> io::Result<()> {
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

/// `initdb` a fresh data directory for a cluster of ours.
pub(super) fn initdb(
    bins: &PgBinaries,
    data: &Path,
    run_as: RunAs,
    cwd: &Path,
) -> Result<(), PgError> {
    let started = Instant::now();
    let mut cmd = pg_command(&bins.initdb, run_as, cwd);
    cmd.arg("-D")
        .arg(data)
        .args(["-A", "trust", "-E", "UTF8", "-U", SUPERUSER])
        // C, not C.UTF-8: exists everywhere, byte-order collation is
        // deterministic, and it is compatible with the UTF8 encoding.
        .args(["--no-sync", "--locale=C"]);
    run(&mut cmd, run_as)?;
    local_connections_only(data)?;
    tracing::debug!(
        data = %data.display(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "initdb done"
    );
    Ok(())
}

/// Make a fresh data dir's own configuration unix-socket-only, so that the
/// template and every copy of it (spares included) refuse TCP even if
/// started without our command line (which also says `-h ''`): no TCP
/// listener, and `pg_hba.conf` without `host` lines.
fn local_connections_only(data: &Path) -> Result<(), PgError> {
    let conf = data.join("postgresql.conf");
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&conf)
        .map_err(io_error(format!("opening {}", conf.display())))?;
    io::Write::write_all(
        &mut file,
        b"\n# Quarry: no TCP; the unix socket in a private (0700) directory is the only way in.\n\
          listen_addresses = ''\n",
    )
    .map_err(io_error(format!("writing {}", conf.display())))?;
    // Rewritten in place, so it keeps initdb's owner and mode.
    let hba = data.join("pg_hba.conf");
    fs::write(
        &hba,
        "# Quarry: unix socket connections only (the socket directory is 0700);\n\
         # no TCP, no replication.\n\
         # TYPE  DATABASE  USER  METHOD\n\
         local   all       all   trust\n",
    )
    .map_err(io_error(format!("writing {}", hba.display())))
}
