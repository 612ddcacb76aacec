//! The release `persona` binary: built with cargo, started on a database of the bench's, probed
//! until ready, observed through `/proc`, and stopped with SIGTERM.

use crate::BenchError;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The command that builds the server; named in every error about a missing binary.
pub const BUILD_COMMAND: &str = "cargo build --release -p persona-server";

/// Builds `persona` in release mode with the cargo that runs the bench and returns its path
/// (beside the bench's own executable, in the same target directory).
///
/// The nested cargo gets the environment of the bench minus the variables cargo sets for the
/// program it runs ([`set_by_cargo_run`]): ring's and rustix's build scripts watch some of them
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...), so inheriting them would rebuild the TLS stack
/// here and again at the next plain build (issue 17). With them removed, this build is the
/// same build as [`BUILD_COMMAND`] typed in a shell: it compiles only what changed.
pub fn build_persona() -> Result<PathBuf, BenchError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    say!("{BUILD_COMMAND}");
    let mut command = Command::new(cargo);
    command.args(["build", "--release", "-p", "persona-server"]).current_dir(&workspace);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_run) {
            command.env_remove(&name);
        }
    }
    let status = command
        .status()
        .map_err(|e| BenchError::new(format!("cannot run cargo to build persona ({BUILD_COMMAND}): {e}")))?;
    if !status.success() {
        return Err(BenchError::new(format!("{BUILD_COMMAND} failed: {status}")));
    }
    let exe = std::env::current_exe().map_err(|e| BenchError::new(format!("own path: {e}")))?;
    let binary = exe.parent().map(|dir| dir.join("persona")).ok_or_else(|| BenchError::new("no target directory"))?;
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(BenchError::new(format!(
            "{} is missing after {BUILD_COMMAND}: the bench and the server must share one target directory",
            binary.display()
        )))
    }
}

/// Whether `name` is one of the variables `cargo run` sets for the program it runs (the cargo
/// book's "Environment variables Cargo sets for crates": the manifest's path and package
/// fields), as opposed to the `CARGO_*` settings a user gives cargo itself (`CARGO_HOME`,
/// `CARGO_TARGET_DIR`, `CARGO_PROFILE_*`, `CARGO_TERM_*`, ...), which the nested build keeps so
/// that it builds exactly what a plain build in the same shell would. `CARGO` (the path of
/// cargo) is kept too: no build script here watches it, and it names the cargo to run.
pub fn set_by_cargo_run(name: &str) -> bool {
    const EXACT: &[&str] = &["CARGO_CRATE_NAME", "CARGO_BIN_NAME", "CARGO_PRIMARY_PACKAGE", "CARGO_RUSTC_CURRENT_DIR"];
    const PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_MANIFEST_"];
    EXACT.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

fn free_port() -> Result<u16, BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| BenchError::new(format!("bind: {e}")))?;
    Ok(listener.local_addr().map_err(|e| BenchError::new(format!("address: {e}")))?.port())
}

/// A running `persona`; killed if dropped without [`Server::stop`].
pub struct Server {
    child: Child,
    pid: u32,
    /// `127.0.0.1:port`.
    pub address: String,
    log: PathBuf,
}

/// Where a server keeps its files and which database it uses.
pub struct Setup<'a> {
    /// The release binary.
    pub binary: &'a Path,
    /// Database URL.
    pub url: &'a str,
    /// Directory for the admin token and the log.
    pub dir: &'a Path,
    /// A configuration file (`PERSONA_CONFIG`), such as the webhook endpoint's.
    pub config: Option<&'a Path>,
}

impl Setup<'_> {
    /// The admin token file the first start writes.
    pub fn pat_path(&self) -> PathBuf {
        self.dir.join("admin.pat")
    }
}

impl Server {
    /// Starts the server and waits until `/ready` answers 200; returns it with the time from
    /// spawning the process to the first ready answer.
    pub async fn start(setup: &Setup<'_>) -> Result<(Self, Duration), BenchError> {
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let log = setup.dir.join("persona.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| BenchError::new(format!("log file: {e}")))?;
        let log_err = log_file.try_clone().map_err(|e| BenchError::new(format!("log file: {e}")))?;
        let started = Instant::now();
        let mut command = Command::new(setup.binary);
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PERSONA_LISTEN", &address)
            .env("PERSONA_DATABASE__URL", setup.url)
            .env("PERSONA_BOOTSTRAP__ADMIN_PAT_PATH", setup.pat_path())
            .env("PERSONA_LOG__LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err));
        if let Some(config) = setup.config {
            command.env("PERSONA_CONFIG", config);
        }
        let child =
            command.spawn().map_err(|e| BenchError::new(format!("cannot start {}: {e}", setup.binary.display())))?;
        let pid = child.id();
        let mut server = Self { child, pid, address, log };
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(server.failure(&format!("persona exited during start: {status}")));
            }
            if probe_ready(&server.address).await {
                return Ok((server, started.elapsed()));
            }
            if Instant::now() > deadline {
                return Err(server.failure("persona did not become ready within 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn failure(&self, what: &str) -> BenchError {
        let tail = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: String =
            tail.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        BenchError::new(format!("{what}; log {}:\n{tail}", self.log.display()))
    }

    fn status_kb(&self, field: &str) -> Result<u64, BenchError> {
        proc_status_kb(self.pid, field)
    }

    /// Resident memory now, in MiB.
    pub fn rss_mb(&self) -> Result<f64, BenchError> {
        Ok(kb_to_mb(self.status_kb("VmRSS:")?))
    }

    /// Highest resident memory since start or the last [`Server::reset_peak`], in MiB.
    pub fn peak_rss_mb(&self) -> Result<f64, BenchError> {
        Ok(kb_to_mb(self.status_kb("VmHWM:")?))
    }

    /// Resets the peak resident memory (`/proc/PID/clear_refs`, value 5).
    pub fn reset_peak(&self) {
        // Not every kernel allows it; the peak then covers the whole life of the process.
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
    }

    /// CPU seconds (user + system) the server used so far.
    pub fn cpu_seconds(&self) -> Result<f64, BenchError> {
        cpu_seconds_of(&self.pid.to_string())
    }

    /// Whether the process still runs.
    pub fn check_alive(&mut self) -> Result<(), BenchError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(self.failure(&format!("persona exited during the run: {status}"))),
            Err(e) => Err(BenchError::new(format!("cannot watch persona: {e}"))),
        }
    }

    /// SIGTERM, then waits for a clean exit (SIGKILL after 15 s).
    pub async fn stop(mut self) -> Result<(), BenchError> {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .map_err(|e| BenchError::new(format!("cannot send SIGTERM to persona: {e}")))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(self.failure(&format!("persona stopped with {status}"))),
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(10)).await,
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(self.failure("persona did not stop within 15 s of SIGTERM"));
                }
                Err(e) => return Err(BenchError::new(format!("cannot wait for persona: {e}"))),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn kb_to_mb(kb: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "memory sizes are far below 2^52")]
    let kb = kb as f64;
    kb / 1024.0
}

fn proc_status_kb(pid: u32, field: &str) -> Result<u64, BenchError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| BenchError::new(format!("/proc/{pid}/status: {e}")))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| BenchError::new(format!("no {field} in /proc/{pid}/status")))
}

/// User + system CPU seconds of a process (`self` or a pid), from `/proc/PID/stat`.
pub fn cpu_seconds_of(pid: &str) -> Result<f64, BenchError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| BenchError::new(format!("/proc stat: {e}")))?;
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).ok_or_else(|| BenchError::new("odd /proc stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
    // utime is field 14 and stime field 15, i.e. indexes 11 and 12 after the state field.
    let (Some(user), Some(system)) = (ticks(11), ticks(12)) else {
        return Err(BenchError::new("no CPU times in /proc stat"));
    };
    let per_second = rustix::param::clock_ticks_per_second();
    #[expect(clippy::cast_precision_loss, reason = "tick counts are far below 2^52")]
    let seconds = (user + system) as f64 / if per_second > 0 { per_second as f64 } else { 100.0 };
    Ok(seconds)
}

/// One `GET /ready` on a fresh connection; true on HTTP 200.
async fn probe_ready(address: &str) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        stream.write_all(b"GET /ready HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n").await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(&head == b"HTTP/1.1 200")
    };
    tokio::time::timeout(Duration::from_secs(1), attempt).await.ok().flatten().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::set_by_cargo_run;

    #[test]
    fn the_nested_build_drops_what_cargo_run_sets_and_keeps_the_users_cargo_settings() {
        for dropped in [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
        ] {
            assert!(set_by_cargo_run(dropped), "{dropped}");
        }
        for kept in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_PROFILE_RELEASE_LTO",
            "CARGO_TERM_COLOR",
            "CARGO_BUILD_JOBS",
            "CARGO_INCREMENTAL",
            "RUSTFLAGS",
            "PATH",
        ] {
            assert!(!set_by_cargo_run(kept), "{kept}");
        }
    }
}
