//! The executor: the only code that writes to AWS. It runs exactly the actions of a `Plan`.

mod admission;
pub mod executor;
pub mod lock;
pub mod progress;
pub mod steps;

pub use executor::{execute, ApplyOptions, ApplyReport, Outcome, Reporter, SilentReporter, Skipped};
