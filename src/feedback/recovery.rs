//! Recovery cases: a bad answer opens one; apology points and message per the program's
//! `recovery` settings; `/v1/recovery-cases` for support.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    let _ = cfg;
}
