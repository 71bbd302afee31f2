//! landing-zone: a declarative provisioner for AWS landing zones.
//!
//! The pipeline runs one way: `spec` (load + validate) and `live` (read AWS) feed the pure
//! `plan`ner, whose actions the `apply` executor carries out through `aws` clients. `cli` holds
//! the thin commands; `operations` joins the stages for them.

pub mod apply;
pub mod audit;
pub mod aws;
pub mod baseline;
pub mod cli;
pub mod import;
pub mod live;
pub mod operations;
pub mod plan;
pub mod spec;
