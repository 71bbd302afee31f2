//! Operations: each joins the pipeline's stages for one command and returns data; none prints.
//! `cli/` parses arguments, calls one of these and renders what it returns.

pub mod apply;
pub mod audit;
pub mod history;
pub mod import;
pub mod permissions;
pub mod plan;
