//! The integration test suite, one binary (cargo's `testsuite` layout): every module links the
//! SDK crates once instead of once per file. `support` holds the emulator harness and the test proxy.

mod apply_at_scale;
mod apply_safety;
mod aws_today;
mod aws_today_bunker;
mod backup;
mod bad_inputs;
mod baseline_accounts;
mod baseline_detection;
mod baseline_log_archive;
mod baseline_log_archive_drift;
mod baseline_quick_wins;
mod completions;
mod detection_desired;
mod emulator_harness;
mod faults;
mod hostile_output;
mod identity;
mod identity_center;
mod init;
mod loader_fuzz;
mod lockout;
mod organization_apply;
mod permissions;
mod planner_aws_today;
mod planner_properties;
mod read_floor;
mod recorded_responses;
mod root_credentials;
mod schema;
mod secrets;
mod security_hub_central;
mod support;
mod targeting;
mod workflow;
