//! Tests of the module as a whole: real clusters started from the installed
//! server binaries (start, stop, ports, spares, reaping, databases), and the
//! pure helpers.

use std::fs;
use std::net::{TcpListener, TcpStream};
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
use super::process::{
    free_port, owner_in_name, parse_cluster_dir_name, process_exists, reap_stale,
    remove_dir_quietly, PORT_ATTEMPTS,
};
use super::server::{redact_url, unique_database_name, url_with_dbname};
use super::template::{
    cache_key, copy_tree, ensure_template_unlocked, template_state, TemplateState, FILLING_SPARES,
};
use super::{lock, EphemeralCluster, PgError, Server};

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
    assert!(cluster
        .socket_dir()
        .join(format!(".s.PGSQL.{port}"))
        .exists());
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

    let server = Server::Ephemeral(cluster);
    assert_eq!(
        server.url(Some("x y")),
        format!("postgres://postgres@127.0.0.1:{port}/x%20y")
    );
    runtime().block_on(async {
        assert_eq!(select_one(&server, None).await, 1);
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
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    assert!(!lock(&LIVE).iter().any(|p| p.dir == dir));
}

#[test]
fn cold_and_warm_start_timings() {
    let cache = ScratchCache::new();
    let t = Instant::now();
    let cold = start_cluster(Some(&cache.0), &mut free_port).expect("cold start");
    let cold_time = t.elapsed();
    drop(cold);
    // Warm, with a spare data dir ready (the normal case) ...
    let mut spare_times = Vec::new();
    for _ in 0..3 {
        wait_for_spare_fill();
        let t = Instant::now();
        let warm = start_cluster(Some(&cache.0), &mut free_port).expect("warm start");
        spare_times.push(t.elapsed());
        drop(warm);
    }
    // ... and without one (two starts in quick succession).
    wait_for_spare_fill();
    let first = start_cluster(Some(&cache.0), &mut free_port).expect("warm start");
    let t = Instant::now();
    let second = start_cluster(Some(&cache.0), &mut free_port).expect("warm start");
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
    // Unloaded, a warm start takes ~0.15 s; the bound is loose because
    // other tests (and test binaries) compete for CPU and disk.
    let fastest = spare_times.iter().min().copied().unwrap_or_default();
    assert!(
        fastest < Duration::from_secs(5),
        "warm start took {fastest:?}"
    );
}

#[test]
fn retries_when_the_port_is_taken() {
    let blocker = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = blocker.local_addr().expect("addr").port();
    let mut first = Some(taken);
    let cluster = start_cluster(None, &mut || first.take().map_or_else(free_port, Ok))
        .expect("start on the second port");
    assert_ne!(cluster.port(), taken);
    let log =
        fs::read_to_string(cluster.data_dir().with_file_name("server.log")).expect("server log");
    assert!(log.contains("Address already in use"), "{log}");
}

#[test]
fn failed_start_cleans_up_and_reports_the_log() {
    let blocker = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = blocker.local_addr().expect("addr").port();
    let error = start_cluster(None, &mut || Ok(taken)).expect_err("port always taken");
    let PgError::Start { attempts, log, .. } = &error else {
        panic!("unexpected error: {error}");
    };
    assert_eq!(*attempts, PORT_ATTEMPTS);
    let message = error.to_string();
    println!("{message}");
    assert!(message.contains("pg_ctl"), "{message}");
    assert!(message.contains("Address already in use"), "{message}");
    let dir = log.parent().expect("cluster dir");
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!lock(&LIVE).iter().any(|p| p.dir == dir));
}

#[test]
fn concurrent_clusters_from_two_threads() {
    let threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                let t = Instant::now();
                let server = Server::ephemeral().expect("start");
                let elapsed = t.elapsed();
                let one = runtime().block_on(select_one(&server, None));
                let port = match &server {
                    Server::Ephemeral(c) => c.port(),
                    Server::External { .. } => unreachable!(),
                };
                (one, port, elapsed)
            })
        })
        .collect();
    let results: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    println!("concurrent starts: {results:?}");
    assert!(results.iter().all(|(one, _, _)| *one == 1));
    assert_ne!(results[0].1, results[1].1);
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
    let mut child = Command::new("true").spawn().expect("spawn true");
    let dead = child.id();
    child.wait().expect("wait");
    fs::write(paths.dir.join("owner.pid"), format!("{dead}\n")).expect("owner.pid");
    assert!(process_exists(postmaster));

    let bins = find_binaries().expect("binaries");
    reap_stale(&std::env::temp_dir(), &bins);
    assert!(!paths.dir.exists());
    assert!(!process_exists(postmaster));
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
        "postgres-postgresql-15.18-debian-15.18-0-deb12u1-uid101-v1"
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
