//! Parsing an untrusted file in a child process: Bartleby runs itself (`bartleby parse …`, see
//! `server/src/main.rs`) under `prlimit` (address space and CPU time) and a wall-clock limit. A
//! parser that allocates without bound, overflows its stack or aborts takes down the child only;
//! the parent reads that as "this one file failed" and keeps serving.
//!
//! The child answers with one JSON value on stdout. This module knows no feature: each feature
//! names its own child command and result type.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::limited::{run_program, ToolError};

/// The first argument that makes `bartleby` a parser child instead of the app.
pub const CHILD_COMMAND: &str = "parse";

/// Why a child gave no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SandboxError {
    /// It ran out of its memory or CPU limit (killed by the kernel, or aborted on a failed allocation).
    #[error("it needed more memory or time than one file may use")]
    Limits,
    #[error("it took longer than {0} seconds")]
    Timeout(u64),
    /// It died another way (a crash in a parser, or an answer that is not ours).
    #[error("the reader crashed ({0})")]
    Crashed(String),
    #[error("{0} is not installed")]
    Missing(&'static str),
    #[error("{0}")]
    Io(String),
}

/// Runs `exe parse <args…>` under the limits and reads its JSON answer.
pub async fn run<T: DeserializeOwned>(
    exe: &Path,
    args: &[&OsStr],
    memory: u64,
    time: Duration,
) -> Result<T, SandboxError> {
    use std::os::unix::process::ExitStatusExt;
    let mut all: Vec<&OsStr> = Vec::with_capacity(args.len() + 1);
    all.push(CHILD_COMMAND.as_ref());
    all.extend_from_slice(args);
    let out = run_program(exe.as_os_str(), "bartleby", &all, memory, time).await.map_err(|e| match e {
        ToolError::Timeout => SandboxError::Timeout(time.as_secs()),
        ToolError::Missing(tool) => SandboxError::Missing(tool),
        ToolError::Io(e) => SandboxError::Io(e),
    })?;
    // SIGKILL/SIGXCPU: the CPU limit; SIGABRT: a failed allocation under the address-space limit;
    // SIGSEGV: a stack overflow or a crash, also a file the parser could not cope with
    if let Some(signal) = out.status.signal() {
        tracing::warn!(signal, "a parser child was stopped");
        return Err(match signal {
            6 | 9 | 24 => SandboxError::Limits,
            other => SandboxError::Crashed(format!("signal {other}")),
        });
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Rust's "memory allocation of N bytes failed" is an abort (above); a panic exits 101
        let line = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim();
        if line.contains("memory allocation") || line.contains("capacity overflow") {
            return Err(SandboxError::Limits);
        }
        tracing::warn!(status = ?out.status.code(), stderr = line, "a parser child failed");
        return Err(SandboxError::Crashed(format!("exit {}", out.status.code().unwrap_or(-1))));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| SandboxError::Crashed(format!("unreadable answer: {e}")))
}

/// In the child: writes the answer for the parent. Returns the process exit code.
pub fn answer<T: Serialize>(value: &T) -> i32 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match serde_json::to_writer(&mut out, value).and_then(|()| out.flush().map_err(serde_json::Error::io)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bartleby parse: could not write the answer: {e}");
            2
        }
    }
}
