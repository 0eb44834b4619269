//! Client on some cores, server on the others.
//!
//! With an ephemeral cluster on the same 2-core machine, a round trip wakes
//! a PostgreSQL backend and then the client again; where the scheduler
//! places each backend relative to the client (the same core, the other
//! core, a core that was idle) changes the latency of a small query by a
//! factor of 2–3 (28 µs or 80 µs for one row), per connection and for
//! minutes at a time, whatever the library. Each implementation has its own
//! connection, so at 1–100 rows that placement, not the library, decided
//! which one looked faster. Pinning the bench to the lower half of the cores
//! and the cluster's postmaster (and so every backend it forks from now on)
//! to the upper half makes every round trip the same cross-core hand-off for
//! every implementation.
//!
//! Only for an ephemeral cluster this process started (never a
//! `DATABASE_URL` server), on Linux with at least 2 cores, unless
//! `QUARRY_BENCH_PIN=0`.

use codegen::pg::Server;

/// Pins this thread (and the threads it starts later) and the cluster's
/// postmaster; returns a description of what was done, or why not.
pub fn pin(server: &Server) -> String {
    if std::env::var("QUARRY_BENCH_PIN").as_deref() == Ok("0") {
        return "not pinned (QUARRY_BENCH_PIN=0)".to_owned();
    }
    let Server::Ephemeral(cluster) = server else {
        return "not pinned (DATABASE_URL's server)".to_owned();
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        return "not pinned (one core)".to_owned();
    }
    let pid = std::fs::read_to_string(cluster.data_dir().join("postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse::<libc::pid_t>().ok());
    let Some(pid) = pid else {
        return "not pinned (no postmaster.pid)".to_owned();
    };
    let client: Vec<usize> = (0..cores / 2).collect();
    let server: Vec<usize> = (cores / 2..cores).collect();
    match (set_affinity(0, &client), set_affinity(pid, &server)) {
        (Ok(()), Ok(())) => format!("bench on cores {client:?}, PostgreSQL on cores {server:?}"),
        (client, server) => {
            // Undo a half-done pinning of this thread.
            let _ = set_affinity(0, &(0..cores).collect::<Vec<_>>());
            format!("not pinned ({client:?}, {server:?})")
        }
    }
}

fn set_affinity(pid: libc::pid_t, cores: &[usize]) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET only writes
    // bits inside it for cores below CPU_SETSIZE (checked), and
    // sched_setaffinity reads exactly size_of::<cpu_set_t>() bytes of it.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &core in cores {
            if core < libc::CPU_SETSIZE as usize {
                libc::CPU_SET(core, &mut set);
            }
        }
        libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
