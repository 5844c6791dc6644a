//! `/v1/me/surveys`: the customer's open invitations and answering one from the app.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    let _ = cfg;
}
