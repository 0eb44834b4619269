//! Where a cluster lives: the layout constants, the temp directory checked
//! for what PostgreSQL needs, private (0700) directories of the server user,
//! and [`ClusterPaths`], what it takes to stop and delete a cluster.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::binaries::{RunAs, SERVER_OS_USER};
use super::error::{io_error, PgError};

/// Name prefix of cluster directories in the temp dir (the reaper's pattern).
pub(super) const CLUSTER_PREFIX: &str = "quarry-pg-";

/// Port number of every ephemeral cluster. Nothing listens on TCP: it only
/// names the socket file (`sock/.s.PGSQL.5432`), and each cluster has a
/// socket directory of its own, so they can all use the same number.
pub(super) const SOCKET_PORT: u16 = 5432;

/// Longest unix socket path the kernel accepts (`sun_path` is 108 bytes
/// with the terminating NUL).
pub(super) const SUN_PATH_MAX: usize = 107;

/// Absolute temp dir, checked for what PostgreSQL and `pg_ctl` need.
pub(super) fn base_temp_dir(run_as: RunAs) -> Result<PathBuf, PgError> {
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
    // Unix socket paths are limited (sun_path); the start checks the real
    // path again, this is the early, clear refusal.
    let socket_len = tmp.as_os_str().len()
        + format!("/{CLUSTER_PREFIX}4294967295-99999/sock/.s.PGSQL.{SOCKET_PORT}").len();
    if socket_len > SUN_PATH_MAX {
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

/// Everything needed to stop a cluster and delete it; kept both in the
/// cluster and in the process-wide registry used by the signal/exit hooks.
#[derive(Clone, Debug)]
pub(super) struct ClusterPaths {
    pub(super) id: u64,
    pub(super) dir: PathBuf,
    pub(super) data: PathBuf,
    pub(super) pg_ctl: PathBuf,
    pub(super) run_as: RunAs,
}

/// A new 0700 directory owned by the server user (umask-proof).
pub(super) fn make_private_dir(path: &Path, run_as: RunAs) -> Result<(), PgError> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(0o700)))
        .map_err(io_error(format!("creating directory {}", path.display())))?;
    run_as.chown(path)
}
