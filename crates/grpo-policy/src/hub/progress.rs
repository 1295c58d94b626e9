//! Download progress: what a download reports, and a plain reporter on
//! standard error.
//!
//! The library reports through the [`DownloadProgress`] trait rather than
//! drawing a bar itself, so that a program with its own terminal handling
//! (the CLI's indicatif bars) can show downloads its way, a test can record
//! them, and a server can stay silent with `()`. [`StderrProgress`] is what
//! [`resolve_model`](crate::policy::resolve_model) uses when nobody says
//! otherwise: a one-line bar on a terminal, one line per file elsewhere (a
//! log does not fill with carriage returns).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Receives the progress of a model download.
///
/// A download calls [`started`](Self::started) once, then for each file
/// [`file_started`](Self::file_started), any number of
/// [`advanced`](Self::advanced) and [`file_finished`](Self::file_finished),
/// and at last [`finished`](Self::finished). Files already in the cache are
/// not reported.
pub trait DownloadProgress {
    /// The download of `model` begins: `files` files, `bytes` in all when the
    /// Hub tells the sizes.
    fn started(&mut self, model: &str, files: usize, bytes: Option<u64>) {
        let _ = (model, files, bytes);
    }

    /// The file `name` (a path in the repo) of `size` bytes begins.
    fn file_started(&mut self, name: &str, size: u64);

    /// `bytes` more bytes of the current file are on disk (a resumed file
    /// first reports what an earlier attempt left).
    fn advanced(&mut self, bytes: u64);

    /// The current file is complete.
    fn file_finished(&mut self);

    /// Every file is in the cache, in the snapshot directory `dir`.
    fn finished(&mut self, dir: &Path) {
        let _ = dir;
    }
}

/// Reports nothing.
impl DownloadProgress for () {
    fn file_started(&mut self, _name: &str, _size: u64) {}
    fn advanced(&mut self, _bytes: u64) {}
    fn file_finished(&mut self) {}
}

/// Progress on standard error: a bar redrawn in place on a terminal, a line
/// per finished file otherwise.
#[derive(Debug)]
pub struct StderrProgress {
    terminal: bool,
    file: String,
    size: u64,
    done: u64,
    begun: Instant,
    drawn: Option<Instant>,
}

impl Default for StderrProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl StderrProgress {
    /// A reporter that draws a bar when standard error is a terminal.
    pub fn new() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            file: String::new(),
            size: 0,
            done: 0,
            begun: Instant::now(),
            drawn: None,
        }
    }

    fn draw(&mut self, last: bool) {
        const WIDTH: usize = 30;
        // A redraw at most ten times a second: a terminal that is written to
        // for every network read slows the download down.
        if !last
            && self
                .drawn
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.drawn = Some(Instant::now());
        let fraction = if self.size == 0 {
            1.0
        } else {
            (self.done as f64 / self.size as f64).min(1.0)
        };
        let filled = (fraction * WIDTH as f64) as usize;
        let rate = self.done as f64 / self.begun.elapsed().as_secs_f64().max(1e-3);
        let line = format!(
            "  {:<24} [{}{}] {:>3.0}% {}/{} {}/s",
            self.file,
            "=".repeat(filled),
            " ".repeat(WIDTH - filled),
            fraction * 100.0,
            human_bytes(self.done),
            human_bytes(self.size),
            human_bytes(rate as u64),
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}{}", if last { "\n" } else { "" });
        let _ = err.flush();
    }
}

impl DownloadProgress for StderrProgress {
    fn started(&mut self, model: &str, files: usize, bytes: Option<u64>) {
        let size = bytes.map_or(String::new(), |b| format!(", {}", human_bytes(b)));
        let plural = if files == 1 { "" } else { "s" };
        eprintln!("Downloading {model} from the Hugging Face Hub ({files} file{plural}{size})");
    }

    fn file_started(&mut self, name: &str, size: u64) {
        self.file = name.to_string();
        self.size = size;
        self.done = 0;
        self.begun = Instant::now();
        self.drawn = None;
        if self.terminal {
            self.draw(false);
        }
    }

    fn advanced(&mut self, bytes: u64) {
        self.done += bytes;
        if self.terminal {
            self.draw(false);
        }
    }

    fn file_finished(&mut self) {
        if self.terminal {
            self.draw(true);
        } else {
            eprintln!("  {} ({})", self.file, human_bytes(self.size));
        }
    }

    fn finished(&mut self, dir: &Path) {
        eprintln!("Downloaded into {}", dir.display());
    }
}

/// `1.5 MB`: decimal units, as the Hub's pages show sizes.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// hf-hub's per-file progress, forwarded to a [`DownloadProgress`].
///
/// hf-hub calls `init` twice for one file (before opening the partial file
/// and again when the transfer starts) and then reports the bytes an earlier
/// attempt left as an update; the bridge starts the file once so that the
/// bytes add up to the file's size.
pub(crate) struct Bridge<'a> {
    pub(crate) inner: &'a mut dyn DownloadProgress,
    pub(crate) started: bool,
}

impl hf_hub::api::Progress for Bridge<'_> {
    fn init(&mut self, size: usize, filename: &str) {
        if !self.started {
            self.started = true;
            self.inner.file_started(filename, size as u64);
        }
    }

    fn update(&mut self, size: usize) {
        if size > 0 {
            self.inner.advanced(size as u64);
        }
    }

    fn finish(&mut self) {
        self.inner.file_finished();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_the_hub_writes_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(15_000_000), "15.0 MB");
        assert_eq!(human_bytes(4_200_000_000), "4.2 GB");
    }
}
