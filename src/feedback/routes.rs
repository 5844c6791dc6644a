//! `POST /v1/feedback`: feedback collected elsewhere (a till, a kiosk, a helpdesk), sent by a
//! store backend with an API key that has `feedback:write`.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    let _ = cfg;
}
