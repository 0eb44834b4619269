//! The generator's throwaway PostgreSQL is not a door into the machine, as
//! seen from outside the process that started it:
//!
//! * the cluster listens on no TCP port (the kernel's socket tables, `ss`,
//!   the server's own settings), and its unix socket sits in a 0700
//!   directory of the server's OS user that another uid cannot connect
//!   through;
//! * a directory planted in the temp dir to look like a stale cluster, with a
//!   `data` symlink to a live cluster's data dir, does not make the
//!   generator (run as root, as the `codegen` binary) stop that cluster or
//!   delete anything through the link.
//!
//! See docs/security.md.

use std::collections::HashSet;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use codegen::pg::{EphemeralCluster, Server};
use quarry_tests::codegen_bin;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The uid the server runs as: `postgres` when we are root, else ourselves.
fn server_uid() -> u32 {
    if !is_root() {
        // SAFETY: as above.
        return unsafe { libc::geteuid() };
    }
    let output = run(Command::new("id").args(["-u", "postgres"]));
    assert!(output.status.success(), "id -u postgres: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("uid of postgres: {e}"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

fn start_cluster() -> (Server, PathBuf, u32) {
    let cluster = EphemeralCluster::start().unwrap_or_else(|e| panic!("start cluster: {e}"));
    let data = cluster.data_dir().to_path_buf();
    let pid = postmaster_pid(&data);
    (Server::Ephemeral(cluster), data, pid)
}

/// Line `n` (1-based) of `data/postmaster.pid`.
fn pid_file_line(data: &Path, n: usize) -> String {
    let text = fs::read_to_string(data.join("postmaster.pid"))
        .unwrap_or_else(|e| panic!("postmaster.pid: {e}"));
    text.lines().nth(n - 1).unwrap_or("").to_owned()
}

fn postmaster_pid(data: &Path) -> u32 {
    pid_file_line(data, 1)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("pid in postmaster.pid: {e}"))
}

fn alive(pid: u32) -> bool {
    // Zombies count as dead.
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

async fn select_one(server: &Server) -> Result<i32, String> {
    let client = server.connect(None).await.map_err(|e| e.to_string())?;
    let row = client
        .query_one("SELECT 1", &[])
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

/// Inodes of the sockets process `pid` has open (`/proc/<pid>/fd`).
fn socket_inodes(pid: u32) -> HashSet<u64> {
    let fds =
        fs::read_dir(format!("/proc/{pid}/fd")).unwrap_or_else(|e| panic!("/proc/{pid}/fd: {e}"));
    fds.flatten()
        .filter_map(|fd| {
            let target = fs::read_link(fd.path()).ok()?;
            let target = target.to_str()?;
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// `(local address, inode)` of every listening TCP socket (IPv4 and IPv6)
/// in `/proc/net/tcp{,6}`.
fn tcp_listeners() -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if fields.len() > 9 && fields[3] == "0A" {
                if let Ok(inode) = fields[9].parse() {
                    out.push((fields[1].to_owned(), inode));
                }
            }
        }
    }
    out
}

/// Listening TCP sockets held by process `pid`.
fn tcp_listeners_of(pid: u32) -> Vec<String> {
    let inodes = socket_inodes(pid);
    tcp_listeners()
        .into_iter()
        .filter(|(_, inode)| inodes.contains(inode))
        .map(|(address, _)| address)
        .collect()
}

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fails the test, naming the Debian package, when `program` is missing.
fn require(program: &str, package: &str) {
    assert!(
        has(program),
        "`{program}` is not installed: install the Debian package `{package}` (.ci/run does)"
    );
}

/// `psql -c 'select 1'` through the socket directory, optionally as `nobody`.
fn psql_select_one(socket_dir: &Path, as_nobody: bool) -> Output {
    let mut cmd = if as_nobody {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "psql",
        ]);
        cmd
    } else {
        Command::new("psql")
    };
    cmd.current_dir("/")
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .env("PGCONNECT_TIMEOUT", "10")
        .arg("-h")
        .arg(socket_dir)
        .args(["-p", "5432", "-U", "postgres", "-d", "postgres"])
        .args(["-X", "-w", "-A", "-t", "-c", "select 1"]);
    run(&mut cmd)
}

/// What it must show, 1: no TCP port is open for the generator's cluster,
/// and another uid cannot use its socket.
#[test]
fn the_cluster_listens_on_no_tcp_port_and_only_its_owner_can_connect() {
    let (server, data, pid) = start_cluster();
    let Server::Ephemeral(cluster) = &server else {
        unreachable!()
    };
    let socket_dir = cluster.socket_dir().to_path_buf();
    let cluster_dir = data.parent().unwrap_or_else(|| panic!("cluster dir"));

    // (a) No TCP. First prove the detector sees a listener when there is
    // one (ours), then that the postmaster has none.
    let probe = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let ours = tcp_listeners_of(std::process::id());
    assert!(
        !ours.is_empty(),
        "the /proc/net/tcp scan does not see this process's own listener"
    );
    assert!(
        !socket_inodes(pid).is_empty(),
        "the postmaster has no socket at all?"
    );
    let theirs = tcp_listeners_of(pid);
    assert!(
        theirs.is_empty(),
        "the postmaster {pid} listens on TCP: {theirs:?}"
    );
    require("ss", "iproute2");
    {
        let output = run(Command::new("ss").arg("-ltnpH"));
        let listing = String::from_utf8_lossy(&output.stdout);
        let port = probe
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
            .port();
        assert!(
            listing.contains(&format!(":{port} ")),
            "ss does not show this process's own listener on port {port}:\n{listing}"
        );
        assert!(
            !listing.contains(&format!("pid={pid},")),
            "ss shows a TCP listener of the postmaster {pid}:\n{listing}"
        );
    }
    drop(probe);
    // The server's own view: no listen address.
    assert_eq!(pid_file_line(&data, 6), "", "postmaster.pid listen address");
    let opts = fs::read_to_string(data.join("postmaster.opts"))
        .unwrap_or_else(|e| panic!("postmaster.opts: {e}"));
    assert!(opts.contains(r#""-h" """#), "{opts}");
    let listen: String = runtime().block_on(async {
        let client = server
            .connect(None)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        client
            .query_one("SHOW listen_addresses", &[])
            .await
            .unwrap_or_else(|e| panic!("SHOW: {e}"))
            .get(0)
    });
    assert_eq!(listen, "");
    // Every URL handed out points at the socket directory.
    let url = server.url(None);
    assert!(url.contains("%2Fsock:5432/"), "{url}");
    assert!(
        !url.contains("127.0.0.1") && !url.contains("localhost"),
        "{url}"
    );

    // (b) The socket directory and the cluster directory are 0700 and the
    // server user's.
    let uid = server_uid();
    for dir in [socket_dir.as_path(), cluster_dir] {
        let meta = fs::symlink_metadata(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert!(meta.is_dir(), "{}", dir.display());
        assert_eq!(meta.mode() & 0o7777, 0o700, "mode of {}", dir.display());
        assert_eq!(meta.uid(), uid, "owner of {}", dir.display());
    }
    if is_root() {
        require("psql", "postgresql-client");
        require("setpriv", "util-linux");
        // The same command works for the owner (root may enter anything)...
        let owner = psql_select_one(&socket_dir, false);
        assert!(
            owner.status.success() && String::from_utf8_lossy(&owner.stdout).trim() == "1",
            "psql as root failed: {owner:?}"
        );
        // ... and not for another uid.
        let other = psql_select_one(&socket_dir, true);
        let stderr = String::from_utf8_lossy(&other.stderr);
        assert!(
            !other.status.success(),
            "nobody connected to the cluster: {other:?}"
        );
        assert!(
            stderr.contains("Permission denied"),
            "psql as nobody failed, but not for lack of permission: {stderr}"
        );
    } else {
        // Only root can run a command as another uid; CI runs as root.
        eprintln!("not root: checked the modes and owners only, not a connection as another uid");
    }
}

/// A dead process id: a child we already waited for.
fn dead_pid() -> u32 {
    let mut child = Command::new("true")
        .spawn()
        .unwrap_or_else(|e| panic!("spawn true: {e}"));
    let pid = child.id();
    child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    pid
}

/// `chown -h` to `uid:gid`, every entry under `path` included (no links
/// followed).
fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{e}"));
    if meta.is_dir() {
        for entry in fs::read_dir(path)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            chown_tree(&entry.path(), uid, gid);
        }
    }
}

/// A directory in `tmp` named and shaped like the cluster dir of the dead
/// process `dead`: mode 0700, an `owner.pid`.
fn plant(tmp: &Path, dead: u32, n: u32) -> PathBuf {
    let dir = tmp.join(format!("quarry-pg-{dead}-{n}"));
    fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap_or_else(|e| panic!("{e}"));
    fs::write(dir.join("owner.pid"), format!("{dead}\n")).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn mkdir_private(path: &Path) {
    fs::create_dir(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).unwrap_or_else(|e| panic!("{e}"));
}

/// A project with one table and one query, in `parent/project`.
fn tiny_project(parent: &Path) -> PathBuf {
    let project = parent.join("project");
    fs::create_dir_all(project.join("queries")).unwrap_or_else(|e| panic!("{e}"));
    fs::write(
        project.join("queries/items.sql"),
        "-- name: CountItems :one\nSELECT count(*) AS n FROM items;\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fs::write(project.join("schema.sql"), "CREATE TABLE items (id int);\n")
        .unwrap_or_else(|e| panic!("{e}"));
    fs::write(
        project.join("quarry.toml"),
        "queries = \"queries\"\nschema = \"schema.sql\"\nout = \"out\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    project
}

/// `codegen generate` in `project` with `tmp` as its temp directory.
fn generate(project: &Path, tmp: &Path) -> Output {
    run(Command::new(codegen_bin())
        .arg("generate")
        .current_dir(project)
        .env("TMPDIR", tmp)
        .env_remove("DATABASE_URL"))
}

/// A temp dir too long for the socket path is refused up front, with a
/// message saying what to do, and nothing is started.
#[test]
fn a_temp_dir_too_long_for_the_socket_path_is_refused_clearly() {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let project = tiny_project(scratch.path());
    let long = scratch.path().join("t".repeat(100));
    fs::create_dir(&long).unwrap_or_else(|e| panic!("{e}"));
    let output = generate(&project, &long);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("too long for a unix socket path") && stderr.contains("set TMPDIR"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_dir(&long)
            .map(Iterator::count)
            .unwrap_or(usize::MAX),
        0,
        "something was created in {}",
        long.display()
    );
    assert!(!project.join("out").exists());
}

/// What it must show, 2: a fake stale cluster directory with a `data`
/// symlink to a live victim cluster, planted where the generator reaps, does
/// not get the victim stopped when `codegen generate` runs (as root).
#[test]
fn the_generator_does_not_reap_a_planted_link_to_a_live_cluster() {
    let (victim, victim_data, victim_pid) = start_cluster();
    let victim_pid_file = fs::read_to_string(victim_data.join("postmaster.pid"))
        .unwrap_or_else(|e| panic!("postmaster.pid: {e}"));

    // A private temp dir for the generator, shaped like /tmp (sticky,
    // world-writable) and enterable by the `postgres` user.
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let tmp = scratch.path().join("tmp");
    fs::create_dir(&tmp).unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).unwrap_or_else(|e| panic!("{e}"));
    let dead = dead_pid();
    let server_uid = server_uid();
    let server_gid = fs::metadata(&victim_data)
        .unwrap_or_else(|e| panic!("{e}"))
        .gid();

    // 1. The attack: planted by another user (nobody, when we are root).
    let attacker = plant(&tmp, dead, 1);
    std::os::unix::fs::symlink(&victim_data, attacker.join("data"))
        .unwrap_or_else(|e| panic!("symlink: {e}"));
    if is_root() {
        chown_tree(&attacker, 65534, 65534);
    }
    // 2. The same, as if the server user itself had planted it: the symlink
    // alone must be enough to refuse.
    let linked = plant(&tmp, dead, 2);
    std::os::unix::fs::symlink(&victim_data, linked.join("data"))
        .unwrap_or_else(|e| panic!("symlink: {e}"));
    // 3. A real data dir holding the victim's postmaster.pid.
    let copied = plant(&tmp, dead, 3);
    mkdir_private(&copied.join("data"));
    fs::write(copied.join("data/postmaster.pid"), &victim_pid_file)
        .unwrap_or_else(|e| panic!("{e}"));
    // 4. A genuine stale cluster dir (no server left): must be reaped, which
    // shows that the reaper did run.
    let genuine = plant(&tmp, dead, 4);
    mkdir_private(&genuine.join("data"));
    for dir in [&linked, &copied, &genuine] {
        chown_tree(dir, server_uid, server_gid);
    }

    let project = tiny_project(scratch.path());
    let output = generate(&project, &tmp);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "codegen generate failed ({}):\n{}\n{stderr}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(project.join("out").is_dir(), "nothing generated");

    // The victim still runs and answers.
    assert!(
        alive(victim_pid),
        "the victim's postmaster {victim_pid} is gone"
    );
    assert_eq!(
        runtime().block_on(select_one(&victim)),
        Ok(1),
        "the victim does not answer"
    );
    assert!(victim_data.join("PG_VERSION").is_file());
    assert_eq!(postmaster_pid(&victim_data), victim_pid);
    // Nothing planted was deleted (or followed); the genuine one was reaped.
    for kept in [&attacker, &linked, &copied] {
        let meta = fs::symlink_metadata(kept.join("data"))
            .unwrap_or_else(|e| panic!("{} was reaped: {e}", kept.display()));
        assert!(meta.file_type().is_symlink() || meta.is_dir());
    }
    assert!(
        !genuine.exists(),
        "the genuine stale cluster dir was not reaped (did the reaper run?)\n{stderr}"
    );
}
