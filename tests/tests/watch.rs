//! `codegen watch` as a user runs it: a child process on a scratch project
//! (the to-do example's queries and migrations), edited while it runs. It must
//! regenerate within 2 s of a save, report errors without exiting, pick up
//! schema changes, and leave no PostgreSQL behind when interrupted.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use quarry_tests::{codegen_bin, copy_dir, workspace_root};

/// A line of the child's output.
#[derive(Debug)]
enum Line {
    Out(String),
    Err(String),
}

impl Line {
    fn text(&self) -> String {
        match self {
            Line::Out(text) => text.clone(),
            Line::Err(text) => format!("[stderr] {text}"),
        }
    }
}

/// The running `codegen watch`; interrupted and reaped when dropped, so a
/// failing assertion leaves no process (and so no server) behind.
struct Watcher {
    child: Child,
    lines: Receiver<Line>,
    /// Everything printed so far.
    seen: Vec<Line>,
    /// Index into `seen` where [`Watcher::expect`] starts looking.
    mark: usize,
}

impl Watcher {
    fn start(project: &Path) -> Watcher {
        let mut child = Command::new(codegen_bin())
            .arg("watch")
            .current_dir(project)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn codegen watch: {e}"));
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let out = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = out.send(Line::Out(line));
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send(Line::Err(line));
            }
        });
        Watcher {
            child,
            lines,
            seen: Vec::new(),
            mark: 0,
        }
    }

    /// Waits for a line matching `wanted` among those printed since the last
    /// [`checkpoint`](Self::checkpoint) (stdout and stderr are read by two
    /// threads, so their relative order is not reliable); panics with the
    /// output on timeout.
    fn expect(&mut self, what: &str, timeout: Duration, wanted: impl Fn(&Line) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        let mut next = self.mark;
        loop {
            while next < self.seen.len() {
                let line = &self.seen[next];
                next += 1;
                if wanted(line) {
                    return line.text();
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no {what} within {timeout:?}; output so far:\n{}",
                    self.transcript()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "codegen watch exited ({:?}) before {what}; output:\n{}",
                    self.child.try_wait(),
                    self.transcript()
                ),
            }
        }
    }

    /// Later [`expect`](Self::expect)s only look at output printed from now on.
    fn checkpoint(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.mark = self.seen.len();
    }

    fn transcript(&self) -> String {
        self.seen
            .iter()
            .map(Line::text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn expect_regenerated(&mut self, timeout: Duration) -> String {
        self.expect(
            "regeneration",
            timeout,
            |line| matches!(line, Line::Out(text) if text.starts_with("regenerated ")),
        )
    }

    fn assert_running(&mut self) {
        let status = self.child.try_wait().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            status.is_none(),
            "codegen watch must keep running, but exited with {status:?}; output:\n{}",
            self.transcript()
        );
    }

    fn interrupt(&mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(pid, libc::SIGINT) };
    }

    /// Waits up to `timeout` for the process to exit.
    fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.interrupt();
            if self.wait_exit(Duration::from_secs(20)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// Cluster directories (`quarry-pg-<pid>-<n>`, see codegen/src/pg/) of process `pid`.
fn cluster_dirs_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("quarry-pg-{pid}-");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| entry.path())
        .collect();
    dirs.sort();
    dirs
}

/// Whether `pid` is a live process. Zombies count as dead: the postmaster is
/// reparented to PID 1, which may be slow to reap it (as in codegen/src/pg/process.rs).
fn process_exists(pid: libc::pid_t) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) state …`
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        // No procfs (not Linux): ask the kernel.
        Err(_) if !Path::new("/proc/self/stat").exists() => {
            // SAFETY: signal 0 only checks for existence.
            unsafe { libc::kill(pid, 0) == 0 }
        }
        Err(_) => false,
    }
}

/// Polls `path` until its content satisfies `done`; returns how long that took.
fn wait_for_file(path: &Path, timeout: Duration, done: impl Fn(&str) -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if std::fs::read_to_string(path).is_ok_and(|text| done(&text)) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn append(path: &Path, text: &str) {
    let mut content = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    content.push_str(text);
    std::fs::write(path, content).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn watch_regenerates_on_save_reports_errors_and_cleans_up() {
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let project = project.path();
    let example = workspace_root().join("examples/build-app");
    copy_dir(&example.join("queries"), &project.join("queries"));
    copy_dir(&example.join("schema"), &project.join("schema"));
    std::fs::write(
        project.join("quarry.toml"),
        "queries = \"queries\"\nschema = \"schema\"\nout = \"out\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let query_file = project.join("queries/todo.sql");
    let generated = project.join("out/todo.rs");

    let started = Instant::now();
    let mut watcher = Watcher::start(project);
    watcher.expect(
        "start message",
        Duration::from_secs(60),
        |line| matches!(line, Line::Out(text) if text.contains("watching for changes")),
    );
    let first = watcher.expect_regenerated(Duration::from_secs(60));
    eprintln!(
        "first generation after {:.2}s: {first}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        std::fs::read_to_string(&generated)
            .is_ok_and(|text| text.contains("pub async fn lists_with_todos")),
        "the first run writes the module"
    );

    // 1. A new query appears in the output within 2 s of the save.
    watcher.checkpoint();
    append(
        &query_file,
        "\n-- name: CountLists :one\n-- How many lists there are.\nSELECT count(*) AS lists FROM lists;\n",
    );
    let took = wait_for_file(&generated, Duration::from_secs(20), |text| {
        text.contains("pub async fn count_lists")
    })
    .unwrap_or_else(|| panic!("the new query was not generated within 20 s"));
    let line = watcher.expect_regenerated(Duration::from_secs(10));
    eprintln!(
        "query added: output updated {:.0} ms after the save ({line})",
        took.as_secs_f64() * 1000.0
    );
    assert!(
        took < Duration::from_secs(2),
        "regeneration took {took:?} after the save (limit 2 s)"
    );

    // 2. An error is reported, nothing is written, and watch keeps running.
    watcher.checkpoint();
    let before_error = std::fs::read_to_string(&generated).unwrap_or_else(|e| panic!("{e}"));
    let broken_line = std::fs::read_to_string(&query_file)
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .count()
        + 3;
    append(
        &query_file,
        "\n-- name: ListTitles :many\nSELECT id, titel FROM lists;\n",
    );
    let diagnostic = watcher.expect(
        "the diagnostic",
        Duration::from_secs(20),
        |line| matches!(line, Line::Err(text) if text.contains("column \"titel\" does not exist")),
    );
    let location = watcher.expect(
        "its location",
        Duration::from_secs(5),
        |line| matches!(line, Line::Err(text) if text.contains("-->")),
    );
    watcher.expect(
        "`waiting for changes`",
        Duration::from_secs(5),
        |line| matches!(line, Line::Out(text) if text.contains("waiting for changes")),
    );
    eprintln!("error reported: {diagnostic} {location}");
    assert!(
        location.ends_with(&format!("queries/todo.sql:{broken_line}:12")),
        "diagnostic location {location:?}, expected queries/todo.sql:{broken_line}:12"
    );
    std::thread::sleep(Duration::from_millis(300));
    watcher.assert_running();
    assert_eq!(
        std::fs::read_to_string(&generated).unwrap_or_else(|e| panic!("{e}")),
        before_error,
        "nothing is written while a query is broken"
    );

    // 3. Fixing it regenerates again.
    watcher.checkpoint();
    let text = std::fs::read_to_string(&query_file).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&query_file, text.replace("titel", "title")).unwrap_or_else(|e| panic!("{e}"));
    let took = wait_for_file(&generated, Duration::from_secs(20), |text| {
        text.contains("pub async fn list_titles")
    })
    .unwrap_or_else(|| panic!("the fixed query was not generated within 20 s"));
    watcher.expect_regenerated(Duration::from_secs(10));
    eprintln!(
        "error fixed: output updated {:.0} ms after the save",
        took.as_secs_f64() * 1000.0
    );

    // 4. A schema change (a new migration) is applied: the new column is typed.
    watcher.checkpoint();
    std::fs::write(
        project.join("schema/0003_priority.up.sql"),
        "ALTER TABLE todos ADD COLUMN priority int NOT NULL DEFAULT 0;\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    append(
        &query_file,
        "\n-- name: TodosByPriority :many\nSELECT id, title, priority FROM todos ORDER BY priority DESC, id;\n",
    );
    let took = wait_for_file(&generated, Duration::from_secs(20), |text| {
        text.contains("pub async fn todos_by_priority") && text.contains("pub priority: i32")
    })
    .unwrap_or_else(|| {
        panic!(
            "the schema change was not picked up within 20 s; output:\n{}",
            watcher.transcript()
        )
    });
    eprintln!(
        "migration added: output updated {:.0} ms after the save",
        took.as_secs_f64() * 1000.0
    );
    watcher.assert_running();

    // 5. SIGINT stops it and its ephemeral server.
    let pid = watcher.child.id();
    let clusters = cluster_dirs_of(pid);
    let external = std::env::var_os("DATABASE_URL").is_some_and(|url| !url.is_empty());
    if !external {
        assert_eq!(
            clusters.len(),
            1,
            "watch keeps one ephemeral cluster: {clusters:?}"
        );
    }
    let postmasters: Vec<libc::pid_t> = clusters
        .iter()
        .filter_map(|dir| std::fs::read_to_string(dir.join("data/postmaster.pid")).ok())
        .filter_map(|text| text.lines().next()?.trim().parse().ok())
        .collect();
    assert_eq!(
        postmasters.len(),
        clusters.len(),
        "a running server per cluster"
    );
    assert!(postmasters.iter().all(|&pid| process_exists(pid)));
    watcher.interrupt();
    let status = watcher
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("codegen watch did not stop within 30 s of SIGINT"));
    eprintln!("stopped by SIGINT: {status}");
    let left = cluster_dirs_of(pid);
    assert!(left.is_empty(), "cluster directories left behind: {left:?}");
    for postmaster in postmasters {
        assert!(
            !process_exists(postmaster),
            "the server (pid {postmaster}) is still running after watch stopped"
        );
    }
}
