//! Console pages: catalog.

use actix_web::web;

/// This area's templates.
pub const TEMPLATES: &[(&str, &str)] = &[];

/// Registers the routes.
pub fn config(_cfg: &mut web::ServiceConfig) {}
