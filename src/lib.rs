//! landing-zone: a declarative provisioner for AWS landing zones.
//!
//! The pipeline runs one way: `spec` (load + validate) and `live` (read AWS) feed the pure
//! `plan`ner, whose actions the `apply` executor carries out through `aws` clients. `cli` holds
//! the thin commands; `ops` joins the stages for each of them and returns data.

pub mod apply;
pub mod aws;
pub mod baseline;
pub mod cli;
pub mod live;
pub mod ops;
pub mod plan;
pub mod spec;

#[cfg(test)]
mod layers;
