//! Progress while reading: how many accounts and controls are read out of how many, and the
//! throttles met so far, through a small [`ReadReporter`] trait (the CLI shows it on stderr, tests
//! record it). [`ReadTally`] does the counting; it is pure, so it is tested without AWS.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::plan::control::ControlKey;

/// Where reading stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadProgress {
    /// Accounts all of whose controls are read.
    pub accounts_read: usize,
    pub accounts: usize,
    pub controls_read: usize,
    pub controls: usize,
    /// Throttling answers met so far (retried), from `aws::retry`.
    pub throttles: u64,
}

impl std::fmt::Display for ReadProgress {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "read {}/{} accounts, {}/{} controls",
            self.accounts_read, self.accounts, self.controls_read, self.controls
        )?;
        if self.throttles > 0 {
            write!(formatter, ", {} throttles met (retried)", self.throttles)?;
        }
        Ok(())
    }
}

/// Receives progress while controls are read.
pub trait ReadReporter: Send + Sync {
    /// After each control read, and once at the start (nothing read yet).
    fn progress(&self, progress: ReadProgress);
    /// Once, when every control is read.
    fn finished(&self, progress: ReadProgress);
}

/// Shows nothing.
pub struct SilentReadReporter;

impl ReadReporter for SilentReadReporter {
    fn progress(&self, _: ReadProgress) {}
    fn finished(&self, _: ReadProgress) {}
}

/// Counts reads per account to say how many accounts are complete.
#[derive(Debug)]
pub struct ReadTally {
    left_by_account: Mutex<(BTreeMap<String, usize>, ReadProgress)>,
}

impl ReadTally {
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a ControlKey>) -> ReadTally {
        let mut left: BTreeMap<String, usize> = BTreeMap::new();
        for key in keys {
            *left.entry(key.account.clone()).or_default() += 1;
        }
        let progress = ReadProgress {
            accounts: left.len(),
            controls: left.values().sum(),
            throttles: crate::aws::retry::throttles_met(),
            ..ReadProgress::default()
        };
        ReadTally { left_by_account: Mutex::new((left, progress)) }
    }

    /// Where reading stands now.
    pub fn now(&self) -> ReadProgress {
        let state = self.left_by_account.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        ReadProgress { throttles: crate::aws::retry::throttles_met(), ..state.1 }
    }

    /// Records one read of `key`; returns where reading stands.
    pub fn read(&self, key: &ControlKey) -> ReadProgress {
        let mut state = self.left_by_account.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (left, progress) = &mut *state;
        if let Some(count) = left.get_mut(&key.account) {
            *count = count.saturating_sub(1);
            progress.controls_read += 1;
            if *count == 0 {
                progress.accounts_read += 1;
            }
        }
        ReadProgress { throttles: crate::aws::retry::throttles_met(), ..*progress }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Keeps every report.
    #[derive(Default)]
    pub struct Recording {
        pub reports: Mutex<Vec<(bool, ReadProgress)>>,
    }

    impl ReadReporter for Recording {
        fn progress(&self, progress: ReadProgress) {
            self.reports.lock().expect("lock").push((false, progress));
        }
        fn finished(&self, progress: ReadProgress) {
            self.reports.lock().expect("lock").push((true, progress));
        }
    }

    #[test]
    fn an_account_counts_as_read_when_its_last_control_is() {
        let keys = [
            ControlKey::new("password_policy", "a", None),
            ControlKey::new("ebs_encryption", "a", Some("us-east-1")),
            ControlKey::new("password_policy", "b", None),
        ];
        let tally = ReadTally::new(&keys);
        let recording = Recording::default();
        recording.progress(tally.now());
        for key in &keys {
            recording.progress(tally.read(key));
        }
        recording.finished(tally.now());
        let reports: Vec<(usize, usize)> = recording
            .reports
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, progress)| (progress.accounts_read, progress.controls_read))
            .collect();
        assert_eq!(reports, [(0, 0), (0, 1), (1, 2), (2, 3), (2, 3)]);
        let last = recording.reports.lock().expect("lock").last().copied().expect("last");
        assert!(last.0);
        assert_eq!((last.1.accounts, last.1.controls), (2, 3));
        assert!(last.1.to_string().starts_with("read 2/2 accounts, 3/3 controls"), "{}", last.1);
    }
}
