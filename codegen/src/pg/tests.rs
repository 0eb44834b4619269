//! Tests of the module as a whole: real clusters started from the installed
//! server binaries (start, stop, unix-socket-only access, spares, reaping and
//! what the reaper refuses to touch, databases), and the pure helpers.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::binaries::{
    find_binaries, newest_versioned, parse_version, server_user, server_version, shell_quote, RunAs,
};
use super::cleanup::LIVE;
use super::cluster::start_cluster;
use super::error::lock;
use super::paths::SOCKET_PORT;
use super::process::{
    inspect_stale, is_postmaster_of, owner_in_name, parse_cluster_dir_name, process_exists,
    reap_stale, remove_dir_quietly,
};
use super::server::unique_database_name;
use super::template::{
    cache_key, copy_tree, ensure_template_unlocked, template_state, TemplateState, FILLING_SPARES,
};
use super::url::{redact_url, url_with_dbname};
use super::{EphemeralCluster, PgError, Server};

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
    assert_eq!(port, SOCKET_PORT);
    assert!(cluster
        .socket_dir()
        .join(format!(".s.PGSQL.{port}"))
        .exists());
    // Private to the server's OS user: the cluster dir and the socket dir.
    let server_uid = server_user().expect("server user").uid();
    for private in [dir.as_path(), cluster.socket_dir()] {
        let meta = fs::symlink_metadata(private).expect("stat");
        assert!(meta.is_dir(), "{}", private.display());
        assert_eq!(meta.mode() & 0o7777, 0o700, "{}", private.display());
        assert_eq!(meta.uid(), server_uid, "{}", private.display());
    }
    // No way in over TCP, not even if the command line were lost.
    let hba = fs::read_to_string(cluster.data_dir().join("pg_hba.conf")).expect("pg_hba.conf");
    let rules: Vec<&str> = hba
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(rules, ["local   all       all   trust"], "{hba}");
    let conf = fs::read_to_string(cluster.data_dir().join("postgresql.conf")).expect("conf");
    assert!(conf.lines().any(|l| l == "listen_addresses = ''"), "{conf}");
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

    let socket_dir = cluster.socket_dir().to_path_buf();
    let server = Server::Ephemeral(cluster);
    let url = server.url(Some("x y"));
    assert_eq!(
        url,
        format!(
            "postgres://postgres@{}:{port}/x%20y",
            socket_dir.display().to_string().replace('/', "%2F")
        )
    );
    let parsed = tokio_postgres::Config::from_str(&url).expect("url parses");
    assert_eq!(
        parsed.get_hosts(),
        [tokio_postgres::config::Host::Unix(socket_dir.clone())]
    );
    runtime().block_on(async {
        assert_eq!(select_one(&server, None).await, 1);
        let client = server.connect(None).await.expect("connect");
        let listen: String = client
            .query_one("SHOW listen_addresses", &[])
            .await
            .expect("SHOW")
            .get(0);
        assert_eq!(listen, "");
        // Through the URL too, as the tests' pools (deadpool) use it.
        let by_url = Server::external(&server.url(None)).expect("external");
        assert_eq!(select_one(&by_url, None).await, 1);
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
    assert!(!socket_dir.exists());
    assert!(!lock(&LIVE).iter().any(|p| p.dir == dir));
}

#[test]
fn cold_and_warm_start_timings() {
    let cache = ScratchCache::new();
    let t = Instant::now();
    let cold = start_cluster(Some(&cache.0), "").expect("cold start");
    let cold_time = t.elapsed();
    drop(cold);
    // Warm, with a spare data dir ready (the normal case) ...
    let mut spare_times = Vec::new();
    for _ in 0..3 {
        wait_for_spare_fill();
        let t = Instant::now();
        let warm = start_cluster(Some(&cache.0), "").expect("warm start");
        spare_times.push(t.elapsed());
        drop(warm);
    }
    // ... and without one (two starts in quick succession).
    wait_for_spare_fill();
    let first = start_cluster(Some(&cache.0), "").expect("warm start");
    let t = Instant::now();
    let second = start_cluster(Some(&cache.0), "").expect("warm start");
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
    // The spare (copied in the background) is socket-only like the template.
    let spare = key_dirs[0].path().join(&entries[0]);
    let conf = fs::read_to_string(spare.join("postgresql.conf")).expect("spare conf");
    assert!(conf.lines().any(|l| l == "listen_addresses = ''"), "{conf}");
    let hba = fs::read_to_string(spare.join("pg_hba.conf")).expect("spare hba");
    assert!(
        !hba.lines().any(|l| l.trim_start().starts_with("host")),
        "{hba}"
    );
    // Unloaded, a warm start takes ~0.15 s; the bound is loose because
    // other tests (and test binaries) compete for CPU and disk.
    let fastest = spare_times.iter().min().copied().unwrap_or_default();
    assert!(
        fastest < Duration::from_secs(5),
        "warm start took {fastest:?}"
    );
}

#[test]
fn failed_start_cleans_up_and_reports_the_log() {
    let error = start_cluster(None, "-c shared_buffers=nonsense").expect_err("bad option");
    let PgError::Start { log, .. } = &error else {
        panic!("unexpected error: {error}");
    };
    let message = error.to_string();
    println!("{message}");
    assert!(message.contains("pg_ctl"), "{message}");
    assert!(message.contains("shared_buffers"), "{message}");
    let dir = log.parent().expect("cluster dir");
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!lock(&LIVE).iter().any(|p| p.dir == dir));
}

#[test]
fn concurrent_clusters_from_two_threads() {
    // Both use the same port number, each in its own socket directory, and
    // each connection reaches its own server.
    let threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                let t = Instant::now();
                let server = Server::ephemeral().expect("start");
                (server, t.elapsed())
            })
        })
        .collect();
    let servers: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    println!("concurrent starts: {servers:?}");
    let data_dirs: Vec<(PathBuf, PathBuf)> = runtime().block_on(async {
        let mut out = Vec::new();
        for (server, _) in &servers {
            let Server::Ephemeral(cluster) = server else {
                unreachable!()
            };
            let client = server.connect(None).await.expect("connect");
            let reported: String = client
                .query_one("SELECT current_setting('data_directory')", &[])
                .await
                .expect("data_directory")
                .get(0);
            out.push((PathBuf::from(reported), cluster.data_dir().to_path_buf()));
        }
        out
    });
    for (reported, expected) in &data_dirs {
        assert_eq!(reported, expected);
    }
    assert_ne!(data_dirs[0].1, data_dirs[1].1);
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
    let dead = dead_pid();
    fs::write(paths.dir.join("owner.pid"), format!("{dead}\n")).expect("owner.pid");
    assert!(process_exists(postmaster));

    let server_uid = server_user().expect("server user").uid();
    let tmp = paths.dir.parent().expect("temp dir");
    let stale = inspect_stale(&paths.dir, dead, server_uid)
        .expect("a stale cluster of ours")
        .expect("its owner is dead");
    assert_eq!(stale.postmaster, Some(postmaster));
    assert!(is_postmaster_of(postmaster, &paths.data));
    reap_stale(tmp, server_uid);
    assert!(!paths.dir.exists());
    assert!(!process_exists(postmaster));
}

/// A pid that surely is dead: a child we already waited for.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

/// A directory shaped like a cluster dir of a dead process, in `tmp`: 0700,
/// owned by the server user, with an `owner.pid` naming `dead`.
fn plant(tmp: &Path, n: u32, dead: u32, run_as: RunAs) -> PathBuf {
    let dir = tmp.join(format!("quarry-pg-{dead}-{n}"));
    fs::create_dir(&dir).expect("mkdir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
    fs::write(dir.join("owner.pid"), format!("{dead}\n")).expect("owner.pid");
    run_as.chown(&dir.join("owner.pid")).expect("chown");
    run_as.chown(&dir).expect("chown");
    dir
}

/// `dir/data` as a real 0700 directory of the server user, with `pid_file`
/// as its `postmaster.pid` (if given).
fn plant_data(dir: &Path, pid_file: Option<&str>, run_as: RunAs) -> PathBuf {
    let data = dir.join("data");
    fs::create_dir(&data).expect("mkdir data");
    fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).expect("chmod");
    run_as.chown(&data).expect("chown");
    if let Some(text) = pid_file {
        fs::write(data.join("postmaster.pid"), text).expect("postmaster.pid");
        run_as.chown(&data.join("postmaster.pid")).expect("chown");
    }
    data
}

/// The reaper touches only what the tool itself created: a planted
/// directory pointing at a live cluster (the attack of a local user on a
/// root `codegen generate`) never gets that cluster stopped or deleted.
#[test]
fn reaper_leaves_alone_what_it_did_not_create() {
    let run_as = server_user().expect("server user");
    let uid = run_as.uid();
    let victim = EphemeralCluster::start().expect("start victim");
    let victim_pid = postmaster_pid(victim.data_dir());
    let victim_pid_file =
        fs::read_to_string(victim.data_dir().join("postmaster.pid")).expect("pid file");
    let tmp = ScratchCache::new();
    fs::create_dir(&tmp.0).expect("mkdir tmp");
    fs::set_permissions(&tmp.0, fs::Permissions::from_mode(0o755)).expect("chmod");
    let dead = dead_pid();
    let refused = |dir: &Path, why: &str| {
        let error = inspect_stale(dir, dead, uid).expect_err(why);
        assert!(error.contains(why), "{}: {error}", dir.display());
    };

    // `data` is a symbolic link to the victim's data dir.
    let linked_data = plant(&tmp.0, 1, dead, run_as);
    std::os::unix::fs::symlink(victim.data_dir(), linked_data.join("data")).expect("symlink");
    refused(&linked_data, "data is not a directory (or a symbolic link)");
    assert!(is_postmaster_of(victim_pid, victim.data_dir()));
    assert!(!is_postmaster_of(victim_pid, &linked_data.join("data")));

    // A real data dir holding the victim's postmaster.pid.
    let copied_pid = plant(&tmp.0, 2, dead, run_as);
    plant_data(&copied_pid, Some(&victim_pid_file), run_as);
    refused(&copied_pid, "postmaster.pid is for data directory");

    // postmaster.pid is a symbolic link to the victim's.
    let linked_pid = plant(&tmp.0, 3, dead, run_as);
    let data = plant_data(&linked_pid, None, run_as);
    std::os::unix::fs::symlink(
        victim.data_dir().join("postmaster.pid"),
        data.join("postmaster.pid"),
    )
    .expect("symlink");
    refused(&linked_pid, "postmaster.pid: ");

    // Not 0700.
    let open_mode = plant(&tmp.0, 4, dead, run_as);
    fs::set_permissions(&open_mode, fs::Permissions::from_mode(0o755)).expect("chmod");
    refused(&open_mode, "mode 755, not 0700");

    // The cluster dir itself is a symbolic link (to a well-formed one).
    let elsewhere = tmp.0.join("elsewhere");
    fs::create_dir(&elsewhere).expect("mkdir");
    let target = plant(&elsewhere, 5, dead, run_as);
    plant_data(&target, None, run_as);
    let linked_dir = tmp.0.join(format!("quarry-pg-{dead}-6"));
    std::os::unix::fs::symlink(&target, &linked_dir).expect("symlink");
    refused(&linked_dir, "not a directory (or a symbolic link)");

    // Owned by another user than the server's.
    let foreign = plant(&tmp.0, 7, dead, run_as);
    let error = inspect_stale(&foreign, dead, uid + 1).expect_err("foreign");
    assert!(error.contains("owned by uid"), "{error}");
    if RunAs::CurrentUser.uid() == 0 {
        RunAs::User {
            uid: 65534,
            gid: 65534,
        }
        .chown(&foreign)
        .expect("chown nobody");
        refused(&foreign, "owned by uid 65534");
    }

    // Ours, really stale: reaped.
    let genuine = plant(&tmp.0, 8, dead, run_as);
    let genuine_data = genuine.join("data");
    plant_data(
        &genuine,
        Some(&format!("{dead}\n{}\n", genuine_data.display())),
        run_as,
    );
    let stale = inspect_stale(&genuine, dead, uid)
        .expect("well-formed")
        .expect("owner dead");
    assert_eq!(stale.postmaster, Some(dead));

    reap_stale(&tmp.0, uid);
    assert!(
        !genuine.exists(),
        "the genuine stale cluster was not reaped"
    );
    for kept in [
        &linked_data,
        &copied_pid,
        &linked_pid,
        &open_mode,
        &linked_dir,
        &foreign,
    ] {
        assert!(
            fs::symlink_metadata(kept).is_ok(),
            "{} was deleted",
            kept.display()
        );
    }
    assert!(target.join("data").is_dir());
    assert!(victim.data_dir().join("PG_VERSION").is_file());
    assert!(
        process_exists(victim_pid),
        "the victim's server was stopped"
    );
    let victim = Server::Ephemeral(victim);
    assert_eq!(runtime().block_on(select_one(&victim, None)), 1);

    // A temp dir others can write to and that is not sticky: entries could
    // be swapped under the checks, so nothing in it is reaped.
    let genuine = plant(&tmp.0, 9, dead, run_as);
    fs::set_permissions(&tmp.0, fs::Permissions::from_mode(0o777)).expect("chmod");
    reap_stale(&tmp.0, uid);
    assert!(genuine.exists());
    fs::set_permissions(&tmp.0, fs::Permissions::from_mode(0o1777)).expect("chmod");
    reap_stale(&tmp.0, uid);
    assert!(!genuine.exists());
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
        "postgres-postgresql-15.18-debian-15.18-0-deb12u1-uid101-v2"
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
