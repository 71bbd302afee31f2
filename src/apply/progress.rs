//! Progress while applying: actions finished out of the total, failures, and the throttles met so
//! far, counted by [`ApplyTally`] from the executor's `Reporter` events. Pure counting (no output):
//! the CLI shows it as a live line on a terminal and as a periodic plain line otherwise.

use std::sync::Mutex;

use super::executor::Outcome;

/// Where an apply stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyProgress {
    /// Actions finished, whatever their outcome.
    pub finished: usize,
    pub total: usize,
    pub failed: usize,
    /// Throttling answers met so far (retried), from `aws::retry`.
    pub throttles: u64,
}

impl std::fmt::Display for ApplyProgress {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "applied {}/{} actions", self.finished, self.total)?;
        if self.failed > 0 {
            write!(formatter, ", {} failed", self.failed)?;
        }
        if self.throttles > 0 {
            write!(formatter, ", {} throttles met (retried)", self.throttles)?;
        }
        Ok(())
    }
}

/// Counts finished actions.
#[derive(Debug, Default)]
pub struct ApplyTally {
    state: Mutex<ApplyProgress>,
}

impl ApplyTally {
    /// The execution of `total` actions begins.
    pub fn begin(&self, total: usize) -> ApplyProgress {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *state = ApplyProgress { total, ..ApplyProgress::default() };
        ApplyProgress { throttles: crate::aws::retry::throttles_met(), ..*state }
    }

    /// Records one finished action; returns where the apply stands.
    pub fn finished(&self, outcome: &Outcome) -> ApplyProgress {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.finished += 1;
        if matches!(outcome, Outcome::Failed { .. }) {
            state.failed += 1;
        }
        ApplyProgress { throttles: crate::aws::retry::throttles_met(), ..*state }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_actions_and_failures_are_counted() {
        let tally = ApplyTally::default();
        assert_eq!(tally.begin(3).to_string().split(',').next(), Some("applied 0/3 actions"));
        tally.finished(&Outcome::Done);
        let progress = tally.finished(&Outcome::Failed { error: "AccessDenied".to_string() });
        assert_eq!((progress.finished, progress.total, progress.failed), (2, 3, 1));
        assert!(progress.to_string().starts_with("applied 2/3 actions, 1 failed"), "{progress}");
        let progress = tally.finished(&Outcome::Skipped { reason: "emulator".to_string() });
        assert_eq!((progress.finished, progress.failed), (3, 1));
        let quiet = ApplyProgress { finished: 1, total: 2, failed: 0, throttles: 0 };
        assert_eq!(quiet.to_string(), "applied 1/2 actions");
        let throttled = ApplyProgress { throttles: 4, ..quiet };
        assert_eq!(throttled.to_string(), "applied 1/2 actions, 4 throttles met (retried)");
    }
}
