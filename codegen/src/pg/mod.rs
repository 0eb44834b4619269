//! Database servers for schema introspection: throwaway local clusters and
//! connections to live servers.
//!
//! This module owns the "schema source" server of the pipeline (DESIGN.md,
//! Pipeline > Schema source). It starts and stops ephemeral PostgreSQL clusters
//! from the locally installed server binaries (`initdb`, `pg_ctl`, `postgres`)
//! and connects to an already running server given by URL (`DATABASE_URL`).
//! The rest of the generator only talks to a database through [`Server`].
//!
//! Invariant: an ephemeral cluster is reachable by its owner only. It does not
//! listen on TCP (`listen_addresses = ''`, and its `pg_hba.conf` has `local`
//! lines only); its unix socket lives in a 0700 directory of the server's OS
//! user (this user, or `postgres` when we are root). Trust authentication is
//! therefore only meaningful to that user and root. See docs/security.md.
//!
//! Invariant: a server started here is never left running. A cluster is stopped
//! (`pg_ctl -m immediate`) and its directory deleted when its
//! [`EphemeralCluster`] is dropped, when startup fails half-way, when the
//! process gets SIGINT/SIGTERM/SIGHUP, and at normal process exit (clusters
//! held in statics are never dropped, so an `atexit` hook covers them). Only
//! SIGKILL or a crash can defeat that, so every start also reaps the clusters
//! of processes that no longer exist: only directories this tool created (a
//! real 0700 directory of the server user, no symbolic links anywhere in the
//! layout), and only a postmaster verified to serve that very data directory
//! is ever signalled (see `process::reap_stale`).
//!
//! Layout under [`std::env::temp_dir`]:
//!
//! ```text
//! quarry-pg-cache/<key>/template            initdb'd data dir, built once
//! quarry-pg-cache/<key>/spare-<pid>-<n>      ready copy of it (see `template.rs`)
//! quarry-pg-cache/<key>/filling-<pid>-<n>    spare being copied
//! quarry-pg-<pid>-<n>/                       0700, owned by the server user
//! quarry-pg-<pid>-<n>/owner.pid              id of the creating process
//! quarry-pg-<pid>-<n>/data                   copy of the template (0700)
//! quarry-pg-<pid>-<n>/sock                   private unix socket directory (0700)
//! quarry-pg-<pid>-<n>/server.log             server log
//! ```
//!
//! `<key>` is the sanitised `postgres --version` plus the server's uid, e.g.
//! `postgres-postgresql-15.18-debian-15.18-0-deb12u1-uid101-v2`.
//!
//! PostgreSQL refuses to run as root, so when this process is root the
//! binaries run as the `postgres` system user and everything the server
//! touches is owned by that user.

mod binaries;
mod cleanup;
mod cluster;
mod error;
mod paths;
mod process;
mod server;
mod template;
#[cfg(test)]
mod tests;
mod url;

pub use cluster::EphemeralCluster;
pub use error::PgError;
pub use server::Server;
