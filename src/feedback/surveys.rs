//! `/v1/surveys`: survey CRUD (marketers and admins; support and analysts read).

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    let _ = cfg;
}
