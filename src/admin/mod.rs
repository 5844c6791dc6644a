//! The staff console at `/admin/`: server-rendered pages in English, Persian and Arabic.
//!
//! The console is a client of the API. A page handler signs the staff member in through their
//! session ([`session::Console`]), then reads and changes data by calling `/v1` on this same
//! instance with a short-lived staff token of theirs ([`api::Api`]): authorisation, validation,
//! idempotency and the audit log are the API's own, so the console can do nothing `/v1` does not
//! allow. Only signing in and out, and the language choice, are the console's own.

pub mod api;
pub mod charts;
pub mod error;
pub mod form;
pub mod i18n;
pub mod nav;
pub mod pages;
pub mod render;
pub mod security;
pub mod session;

use actix_web::middleware::from_fn;
use actix_web::web;

pub use error::{ConsoleError, ConsoleResult};
pub use form::Form;
pub use session::Console;

/// Registers `/admin` and everything under it (kept out of the OpenAPI document).
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .wrap(from_fn(security::console_layer))
            .configure(pages::config),
    );
}
