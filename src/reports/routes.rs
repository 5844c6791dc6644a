//! `/v1/reports/...` (marketers, analysts, admins).

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    let _ = cfg;
}
