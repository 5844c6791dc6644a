//! Operations: health, readiness, metrics, the OpenAPI document and the API reference page.

pub mod metrics;
pub mod openapi;

use actix_web::http::header::{ALLOW, ContentType};
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, http::StatusCode, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::app::AppState;
use crate::db;
use crate::error::{ApiError, Problem};

pub use openapi::OpenApiJson;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(healthz)
        .service(readyz)
        .service(metrics_text)
        .service(openapi_json)
        .service(docs);
}

/// Health status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database is reachable.
#[utoipa::path(tag = "operations",
    responses((status = 200, body = Health), (status = 503, description = "`database_unavailable`", body = Problem)))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    db::run(&state.pool, |c| {
        use diesel::connection::SimpleConnection;
        c.batch_execute("SELECT 1")
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "The database is unreachable",
        )
    })?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}

/// Prometheus metrics: request counts and latencies by route and status, and the SQL statements
/// sent to the database (`patron_db_statements_total`).
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
async fn metrics_text(metrics: web::Data<metrics::Metrics>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render()?))
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "application/json", body = Object)))]
#[get("/openapi.json")]
async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(doc.json().to_owned())
}

/// The API reference page.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/html", body = String)))]
#[get("/docs")]
async fn docs(doc: web::Data<OpenApiJson>) -> HttpResponse {
    let spec: serde_json::Value = serde_json::from_str(doc.json()).unwrap_or_default();
    let html = utoipa_redoc::Redoc::new(spec).to_html();
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(html)
}

/// Unknown paths get 404 `not_found`; known paths with another method get 405
/// `method_not_allowed` with `Allow` listing the methods the path has (RFC 9110), taken from the
/// OpenAPI document, which lists every route.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let allowed = req
        .app_data::<web::Data<OpenApiJson>>()
        .map(|doc| doc.allowed_methods(req.path()).join(", "))
        .unwrap_or_default();
    if allowed.is_empty() {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No route for {}", req.path()),
        )
        .error_response();
    }
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.path()),
    )
    .error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allowed) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}
