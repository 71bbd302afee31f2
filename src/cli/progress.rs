//! Progress on stderr while the organization's accounts are read: a live line on a terminal, a
//! plain line every few seconds otherwise (CI logs). `plan`, and `apply` before its prompt and
//! under its lock, show it.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::write_stderr;
use crate::live::progress::{ReadProgress, ReadReporter};

/// How often a plain progress line may be written when stderr is not a terminal (CI logs).
pub const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Reading progress on stderr: a live line on a terminal; otherwise a plain line at most every
/// [`PLAIN_EVERY`] (none for a read shorter than that), and a last one if any was written.
pub(crate) struct ReadProgressDisplay {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Mutex<Option<Instant>>,
}

impl ReadProgressDisplay {
    pub(crate) fn new() -> ReadProgressDisplay {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
        ReadProgressDisplay { bar, started: Instant::now(), last_line: Mutex::new(None) }
    }
}

/// Whether a plain line is due at `now`: [`PLAIN_EVERY`] after the last one, or after the start.
pub fn plain_line_due(started: Instant, last_line: Option<Instant>, now: Instant) -> bool {
    now.saturating_duration_since(last_line.unwrap_or(started)) >= PLAIN_EVERY
}

impl ReadReporter for ReadProgressDisplay {
    fn progress(&self, progress: ReadProgress) {
        if let Some(bar) = &self.bar {
            bar.set_length(progress.controls as u64);
            bar.set_position(progress.controls_read as u64);
            bar.set_message(progress.to_string());
            return;
        }
        let mut last_line = self.last_line.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if plain_line_due(self.started, *last_line, now) {
            *last_line = Some(now);
            write_stderr(&progress.to_string());
        }
    }

    fn finished(&self, progress: ReadProgress) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            return;
        }
        if self.last_line.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some() {
            write_stderr(&progress.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_progress_lines_are_paced() {
        let start = Instant::now();
        assert!(!plain_line_due(start, None, start + Duration::from_secs(1)), "a short read says nothing");
        assert!(plain_line_due(start, None, start + PLAIN_EVERY));
        let last = start + PLAIN_EVERY;
        assert!(!plain_line_due(start, Some(last), last + Duration::from_secs(4)));
        assert!(plain_line_due(start, Some(last), last + PLAIN_EVERY));
    }
}
