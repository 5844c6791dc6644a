//! The response page `GET/POST /s/{token}`: a small localized HTML form that works without
//! JavaScript.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    let _ = cfg;
}
