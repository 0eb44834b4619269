//! [`EphemeralCluster`]: starting a throwaway cluster end to end (binaries,
//! data directory, server, registration for cleanup) and stopping it on
//! drop.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::binaries::{find_binaries, server_user, server_version};
use super::cleanup::{
    deregister, install_cleanup_hooks, register, InFlightStart, NEXT_CLUSTER_ID, SHUTTING_DOWN,
};
use super::error::{io_error, PgError};
use super::paths::{
    base_temp_dir, make_private_dir, ClusterPaths, CLUSTER_PREFIX, SOCKET_PORT, SUN_PATH_MAX,
};
use super::process::{reap_stale, shutdown, start_server};
use super::template::{
    adopt_abandoned_fill, claim_spare, copy_tree, ensure_template, initdb, refill_spare, SUPERUSER,
};
use super::url::percent_encode;

const CACHE_DIR_NAME: &str = "quarry-pg-cache";

/// A PostgreSQL server started by this process in a private temp directory,
/// superuser `postgres` with trust authentication, reachable only through a
/// unix socket in a 0700 directory of the server's OS user: it does not
/// listen on TCP at all. Dropping it stops the server and deletes the
/// directory (this blocks for ~0.1 s).
pub struct EphemeralCluster {
    /// `None` once stopped.
    paths: Option<ClusterPaths>,
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
        start_cluster(None, "")
    }

    /// The port number in the socket file's name (`.s.PGSQL.<port>`), the
    /// same for every cluster: nothing listens on TCP.
    pub fn port(&self) -> u16 {
        SOCKET_PORT
    }

    /// Directory holding the server's unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `postgres://postgres@{socket dir, percent-encoded}:{port}/{dbname}`,
    /// e.g. `postgres://postgres@%2Ftmp%2Fquarry-pg-1-0%2Fsock:5432/app`: a
    /// host that is an absolute path means a unix socket directory (libpq,
    /// tokio-postgres and deadpool-postgres all read it so).
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@{}:{SOCKET_PORT}/{}",
            percent_encode(self.socket_dir.as_os_str().as_bytes()),
            percent_encode(dbname)
        )
    }

    /// Connection config for `dbname` on this cluster (the unix socket, user
    /// `postgres`).
    pub fn config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(&self.socket_dir)
            .port(SOCKET_PORT)
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
    pub(super) fn leak(mut self) -> Option<ClusterPaths> {
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
            .field("data_dir", &self.data_dir)
            .field("socket_dir", &self.socket_dir)
            .field("running", &self.paths.is_some())
            .finish()
    }
}

/// Start a cluster; `cache_root` overrides the template cache location and
/// `extra_server_options` are appended to the server's command line (both
/// for tests).
pub(super) fn start_cluster(
    cache_root: Option<&Path>,
    extra_server_options: &str,
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
    reap_stale(&tmp, run_as.uid());
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
    let cluster = EphemeralCluster {
        socket_dir: dir.join("sock"),
        data_dir: paths.data.clone(),
        paths: Some(paths),
    };
    // From here on every early return drops `cluster`, which stops whatever
    // got started and deletes `dir`.
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        return Err(PgError::ShuttingDown);
    }
    let socket = cluster.socket_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"));
    if socket.as_os_str().len() > SUN_PATH_MAX {
        return Err(PgError::UnusableDir {
            path: tmp,
            reason: format!(
                "the server's socket path {} would be longer than the {SUN_PATH_MAX} bytes \
                 a unix socket path may have",
                socket.display()
            ),
        });
    }
    let owner_file = dir.join("owner.pid");
    fs::write(&owner_file, format!("{}\n", std::process::id()))
        .map_err(io_error(format!("writing {}", owner_file.display())))?;
    run_as.chown(&owner_file)?;
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

    start_server(
        &bins,
        &dir,
        &cluster.data_dir,
        &cluster.socket_dir,
        run_as,
        extra_server_options,
    )?;
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        return Err(PgError::ShuttingDown);
    }
    if let Some(template) = template {
        refill_spare(template, run_as);
    }
    tracing::debug!(
        dir = %dir.display(),
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
            // Exactly 0700 whatever the umask: the reaper insists on it.
            Ok(()) => {
                return fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map(|()| dir.clone())
                    .map_err(io_error(format!("chmod 700 {}", dir.display())))
            }
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
