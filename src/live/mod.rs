//! The live organization: its model and the readers that fill it from AWS.

pub mod model;
pub mod organization;

pub use model::LiveOrganization;
pub use organization::{read_organization, ReadScope};
