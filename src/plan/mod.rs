//! Planning: the action vocabulary, the desired model, the pure planner, and the renderers.
//!
//! Nothing in this module performs I/O or names an `aws_sdk_*` type; it is tested without tokio or
//! an emulator. The executor (`apply`) carries out exactly the actions a `Plan` lists.

pub mod action;
pub mod control;
pub mod desired;
pub mod escape;
pub mod graph;
pub mod group;
pub mod markdown;
pub mod planner;
pub mod policy_evaluator;
pub mod render;
pub mod saved;
pub mod state;
pub mod target;
pub mod touched;

pub use action::{Action, Plan, PlannedAction, Summary};
pub use desired::DesiredOrganization;
pub use planner::{plan, PlanError, PlanOptions};
