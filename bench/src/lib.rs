//! What the benchmark binaries share: the median of repeated timings, and a whole process timed
//! with its peak resident set size.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Builds the release `godwit` binary and returns its path.
///
/// # Panics
/// If the build fails.
#[must_use]
pub fn build_release() -> std::path::PathBuf {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--release", "-p", "godwit-cli", "--bin", "godwit"])
        .status()
        .expect("cargo build");
    assert!(status.success(), "cargo build --release -p godwit-cli");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), Into::into);
    target.join("release/godwit")
}

/// The middle value of `times` (the upper one of the two middles for an even count).
///
/// # Panics
/// If `times` is empty.
#[must_use]
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// One finished process: its wall-clock time from spawn to exit, its peak resident set size
/// (the largest of the process and every descendant it waited for), the CPU time it and
/// those descendants used (user and system), its exit code and output.
#[derive(Debug)]
pub struct Measured {
    pub elapsed: Duration,
    pub peak_rss_kib: u64,
    pub cpu: Duration,
    pub code: Option<i32>,
    pub output: String,
}

/// Runs `command` to its end with stdout and stderr going to files in `scratch` (a pipe that
/// nobody reads could stall a chatty tool), and reaps it with `wait4`, which reports the peak
/// RSS of that one process tree without a wrapper process in the timing.
///
/// # Errors
/// If the process cannot be started or waited for.
pub fn measure(command: &mut Command, scratch: &Path) -> std::io::Result<Measured> {
    let out_path = scratch.join("measured.out");
    let out = std::fs::File::create(&out_path)?;
    let err = out.try_clone()?;
    let started = Instant::now();
    let child = command.stdin(Stdio::null()).stdout(out).stderr(err).spawn()?;
    let (status, peak_rss_kib, cpu) = wait4(child.id())?;
    let elapsed = started.elapsed();
    let output = String::from_utf8_lossy(&std::fs::read(&out_path)?).into_owned();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok(Measured { elapsed, peak_rss_kib, cpu, code, output })
}

/// `wait4` for one child: its raw wait status, `ru_maxrss` (KiB on Linux) and its user and
/// system CPU time. The standard library waits without resource usage, so the child is
/// reaped here instead.
#[allow(unsafe_code)]
fn wait4(pid: u32) -> std::io::Result<(i32, u64, Duration)> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are valid for writes for the duration of the call, and `pid`
        // is our own child, spawned above and not waited for by anything else.
        let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
        if reaped == pid {
            let time = |t: libc::timeval| {
                let micros = t.tv_sec * 1_000_000 + t.tv_usec;
                Duration::from_micros(u64::try_from(micros).unwrap_or(0))
            };
            let cpu = time(usage.ru_utime) + time(usage.ru_stime);
            return Ok((status, u64::try_from(usage.ru_maxrss).unwrap_or(0), cpu));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// The machine's CPU time so far, busy and in all (`/proc/stat`'s first line, in clock
/// ticks): two readings tell how busy its cores were in between.
///
/// # Panics
/// If `/proc/stat` cannot be read (a machine other than Linux).
#[must_use]
pub fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let line = stat.lines().next().expect("the cpu line of /proc/stat");
    let ticks: Vec<u64> = line.split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    let total = ticks.iter().take(8).sum();
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (total - idle, total)
}
