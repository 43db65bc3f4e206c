//! The progress of a long command: in a terminal, a bar with counts, rate and time left
//! (indicatif); otherwise (a log, CI), one plain line per step.

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `total` steps of `what` ("photos → s3"); `None` when the total is not known yet.
    pub fn new(what: &str, total: Option<u64>) -> Self {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return Self { bar: None };
        }
        let (bar, template) = match total {
            Some(n) => (ProgressBar::new(n), "{msg} [{bar:30}] {pos}/{len} · {per_sec} · {eta} left"),
            None => (ProgressBar::new_spinner(), "{spinner} {msg}: {pos} · {per_sec}"),
        };
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.set_message(what.to_owned());
        Self { bar: Some(bar) }
    }

    /// One step done; `line` is what a log gets instead of the bar.
    pub fn step(&self, line: impl FnOnce() -> String) {
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => eprintln!("{}", line()),
        }
    }

    /// One step done that has already been told (by [`Self::note`]).
    pub fn advance(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Sets the count to `done` (for callers that report totals so far).
    pub fn set(&self, done: u64, line: impl FnOnce() -> String) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => eprintln!("{}", line()),
        }
    }

    /// A line worth keeping (a failure), above the bar.
    pub fn note(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
