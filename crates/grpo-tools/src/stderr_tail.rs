//! [`StderrTail`]: the last lines a server wrote on stderr, kept so that an
//! error about the server can show why it failed (a Python traceback, a
//! missing module) instead of only "it stopped".

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;
use tokio::task::JoinHandle;

/// How many lines are kept.
const LINES: usize = 20;

/// How long an error waits for the last lines of a server that exited: a
/// crashed process's final words are often still in the pipe.
const DRAIN: Duration = Duration::from_millis(500);

/// Reads a server's stderr in the background and keeps its last lines.
#[derive(Debug)]
pub(crate) struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    reader: Mutex<Option<JoinHandle<()>>>,
}

impl StderrTail {
    /// Starts reading `stderr` (or keeps nothing when it is not piped).
    pub(crate) fn follow(stderr: Option<ChildStderr>) -> Self {
        let lines = Arc::new(Mutex::new(VecDeque::with_capacity(LINES)));
        let reader = stderr.map(|stderr| {
            let lines = Arc::clone(&lines);
            tokio::spawn(async move {
                let mut reader = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
                    if lines.len() == LINES {
                        lines.pop_front();
                    }
                    lines.push_back(line);
                }
            })
        });
        StderrTail {
            lines,
            reader: Mutex::new(reader),
        }
    }

    /// The kept lines, formatted to follow an error message (empty when the
    /// server wrote nothing). Waits briefly for the pipe to close first.
    pub(crate) async fn render(&self) -> String {
        let reader = self.reader.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(reader) = reader {
            // Finished when the server closed stderr; otherwise leave it be.
            let _ = tokio::time::timeout(DRAIN, reader).await;
        }
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.is_empty() {
            return String::new();
        }
        let mut text = String::from("\nlast lines of its stderr:");
        for line in lines.iter() {
            text.push_str("\n  ");
            text.push_str(line);
        }
        text
    }
}
