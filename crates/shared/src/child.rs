//! Child processes (FFmpeg, espeak-ng) with a deadline: each runs in a process group of its own,
//! killed as a group on timeout or when its caller is cancelled, and never outlives the service
//! that started it (a parent-death signal, set by util-linux's `setpriv` where it is installed).

use std::{
    ffi::{OsStr, OsString},
    path::PathBuf,
    process::{ExitStatus, Stdio},
    sync::OnceLock,
    time::Duration,
};

use nix::{sys::signal::Signal, unistd::Pid};
use tokio::{io::AsyncWriteExt as _, process::Command};

/// Why a child process gave no result.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("{name} is not available (`{program}`: {reason})")]
    Unavailable {
        name: String,
        program: String,
        reason: String,
    },
    #[error("`{program}` did not finish within {} s and was killed", timeout.as_secs())]
    TimedOut { program: String, timeout: Duration },
    #[error("`{program}` failed: {source}")]
    Io {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// What a finished child printed and how it exited.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A program to run once with a deadline.
#[derive(Debug, Clone)]
pub struct Child {
    /// What errors call the program ("FFmpeg"); the program itself by default.
    name: String,
    program: String,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl Child {
    pub fn new(program: impl Into<String>, timeout: Duration) -> Child {
        let program = program.into();
        Child {
            name: program.clone(),
            program,
            args: Vec::new(),
            stdin: None,
            timeout,
        }
    }

    /// The name errors give the program, when its path would say less ("FFmpeg").
    pub fn named(mut self, name: impl Into<String>) -> Child {
        self.name = name.into();
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Child {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Child
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Bytes written to the child's standard input, which is then closed.
    pub fn stdin(mut self, bytes: Vec<u8>) -> Child {
        self.stdin = Some(bytes);
        self
    }

    /// Runs the program to completion, or kills its process group when the deadline passes or
    /// the returned future is dropped.
    pub async fn output(self) -> Result<Output, ChildError> {
        let resolved = which::which(&self.program).map_err(|e| ChildError::Unavailable {
            name: self.name.clone(),
            program: self.program.clone(),
            reason: e.to_string(),
        })?;
        let mut command = supervised(resolved);
        command
            .args(&self.args)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let io_error = |source| ChildError::Io {
            program: self.program.clone(),
            source,
        };
        let mut child = command.spawn().map_err(io_error)?;
        let group = child.id().map(|pid| GroupGuard(pid as i32));
        let input = child.stdin.take();
        let stdin = self.stdin;
        let run = async move {
            if let (Some(mut pipe), Some(bytes)) = (input, stdin) {
                pipe.write_all(&bytes).await?;
                drop(pipe);
            }
            child.wait_with_output().await
        };
        let finished = tokio::time::timeout(self.timeout, run).await;
        match finished {
            Ok(Ok(output)) => {
                // The leader exited; anything it left in its group goes with the guard.
                drop(group);
                Ok(Output {
                    status: output.status,
                    stdout: output.stdout,
                    stderr: output.stderr,
                })
            }
            Ok(Err(source)) => Err(io_error(source)),
            Err(_) => {
                drop(group);
                Err(ChildError::TimedOut {
                    program: self.program,
                    timeout: self.timeout,
                })
            }
        }
    }
}

/// Kills a process group when dropped: on timeout, on cancellation, and after a normal exit
/// (so a program's own children never linger).
struct GroupGuard(i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        // ESRCH (the group is already gone) is the usual, harmless outcome.
        let _ = nix::sys::signal::killpg(Pid::from_raw(self.0), Signal::SIGKILL);
    }
}

/// A command for `program` that dies with this process: wrapped in `setpriv --pdeathsig KILL`
/// when util-linux's setpriv is installed (the child then gets SIGKILL if the service is killed,
/// even by `kill -9`), else run directly.
fn supervised(program: PathBuf) -> Command {
    static SETPRIV: OnceLock<Option<PathBuf>> = OnceLock::new();
    let setpriv = SETPRIV.get_or_init(|| {
        which::which("setpriv").ok().filter(|path| {
            std::process::Command::new(path)
                .args(["--pdeathsig", "KILL", "--", "true"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    });
    match setpriv {
        Some(setpriv) => {
            let mut command = Command::new(setpriv);
            command.args(["--pdeathsig", "KILL", "--"]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: i32) -> bool {
        // A zombie has exited even though its entry lingers until reaped.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat.contains(") Z "))
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn a_program_past_its_deadline_is_killed_with_everything_it_started() -> anyhow::Result<()>
    {
        let dir = tempfile::tempdir()?;
        let pids = dir.path().join("pids");
        let script = format!(
            "sleep 30 & echo $! > {0}; sleep 30 & echo $! >> {0}; wait",
            pids.display()
        );
        let started = std::time::Instant::now();
        let outcome = Child::new("sh", Duration::from_millis(500))
            .args(["-c", &script])
            .output()
            .await;
        assert!(
            matches!(outcome, Err(ChildError::TimedOut { .. })),
            "{outcome:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        let text = std::fs::read_to_string(&pids)?;
        let spawned: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        assert_eq!(spawned.len(), 2, "{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        for pid in spawned {
            assert!(!alive(pid), "process {pid} outlived the timeout");
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_cancelled_caller_kills_its_child() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let pid_file = dir.path().join("pid");
        let script = format!("echo $$ > {}; exec sleep 30", pid_file.display());
        let run = Child::new("sh", Duration::from_secs(60))
            .args(["-c", &script])
            .output();
        // Cancel the caller once the child has started.
        let _ = tokio::time::timeout(Duration::from_millis(500), run).await;
        let pid: i32 = std::fs::read_to_string(&pid_file)?.trim().parse()?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!alive(pid), "process {pid} outlived its cancelled caller");
        Ok(())
    }

    #[tokio::test]
    async fn output_stdin_and_a_missing_program() -> anyhow::Result<()> {
        let output = Child::new("cat", Duration::from_secs(10))
            .stdin(b"hello".to_vec())
            .output()
            .await?;
        assert!(output.status.success());
        assert_eq!(output.stdout, b"hello");
        let missing = Child::new("/nonexistent/ffmpeg", Duration::from_secs(10))
            .output()
            .await;
        assert!(
            matches!(&missing, Err(ChildError::Unavailable { program, .. }) if program == "/nonexistent/ffmpeg"),
            "{missing:?}"
        );
        Ok(())
    }
}
