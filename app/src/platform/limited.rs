//! Running an outside tool on an untrusted file (pdftotext on a PDF, heif-convert on a photo): in
//! a separate process under `prlimit` (address space and CPU time) and a wall-clock limit, killed
//! if the request or job that started it goes away.

use std::ffi::OsStr;
use std::process::Output;
use std::time::Duration;

/// Why a limited tool gave no output to look at.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolError {
    /// It ran past its time limit and was stopped.
    Timeout,
    /// The program (or prlimit itself) is not installed.
    Missing(&'static str),
    /// It could not be started for another reason.
    Io(String),
}

/// Runs `program args…` with at most `memory` bytes of address space (prlimit takes bytes, no
/// suffixes) and `time` of CPU and of wall clock. Any exit status is returned as output: what a
/// failure means is the caller's to read.
pub async fn run(program: &'static str, args: &[&OsStr], memory: u64, time: Duration) -> Result<Output, ToolError> {
    run_program(program.as_ref(), program, args, memory, time).await
}

/// As [`run`], for a program given by path (`name` is what a missing one is called).
pub async fn run_program(
    program: &OsStr,
    name: &'static str,
    args: &[&OsStr],
    memory: u64,
    time: Duration,
) -> Result<Output, ToolError> {
    let mut cmd = tokio::process::Command::new("prlimit");
    cmd.arg(format!("--as={memory}"))
        .arg(format!("--cpu={}", time.as_secs().max(1)))
        .arg("--")
        .arg(program)
        .args(args)
        .kill_on_drop(true)
        // one core each (Tesseract would take every core by OpenMP): searches keep the other
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(std::process::Stdio::null());
    match tokio::time::timeout(time, cmd.output()).await {
        Err(_) => Err(ToolError::Timeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(ToolError::Missing("prlimit")),
        Ok(Err(e)) => Err(ToolError::Io(format!("{name}: {e}"))),
        Ok(Ok(out))
            if out.status.code() == Some(1) && String::from_utf8_lossy(&out.stderr).contains("failed to execute") =>
        {
            Err(ToolError::Missing(name))
        }
        Ok(Ok(out)) => Ok(out),
    }
}
