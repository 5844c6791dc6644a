//! The console's pages, by area. Each area registers its routes and lists its templates.

pub mod access;
pub mod catalog;
pub mod customers;
pub mod insight;
pub mod sign_in;

use actix_web::{HttpResponse, web};

use super::{ConsoleError, security};

/// Every area's templates (the shared ones are listed in `render`).
pub const TEMPLATES: &[&[(&str, &str)]] = &[
    catalog::TEMPLATES,
    customers::TEMPLATES,
    insight::TEMPLATES,
    access::TEMPLATES,
];

/// Registers every console route under `/admin`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("Location", "/admin/"))
                .finish()
        }),
    )
    .route("/static/console.css", web::get().to(security::stylesheet))
    .route("/static/console.js", web::get().to(security::script))
    .configure(sign_in::config)
    .configure(insight::config)
    .configure(catalog::config)
    .configure(customers::config)
    .configure(access::config)
    .default_service(web::to(|_: super::Console| async {
        Err::<HttpResponse, _>(ConsoleError::NotFound)
    }));
}
