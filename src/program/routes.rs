//! `GET/PUT /v1/program`: marketers and admins configure the program; every change is audited.

use actix_web::{HttpResponse, get, put, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{ProgramSettings, repo};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::error::{ApiError, FieldError, Problem};
use crate::{audit, db};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(get_program).service(put_program);
}

/// The program settings.
#[utoipa::path(tag = "program", security(("bearer" = [])),
    responses((status = 200, body = ProgramSettings), (status = 403, body = Problem)))]
#[get("/program")]
async fn get_program(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PROGRAM_READ)?;
    let settings = db::run(&state.pool, repo::load).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// Replace the program settings (validated as a whole).
#[utoipa::path(tag = "program", request_body = ProgramSettings, security(("bearer" = [])),
    responses((status = 200, body = ProgramSettings), (status = 400, body = Problem), (status = 403, body = Problem)))]
#[put("/program")]
async fn put_program(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<ProgramSettings>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PROGRAM_WRITE)?;
    let settings = body.read().await?;
    let errors = settings.check();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let saved = settings.clone();
    db::run(&state.pool, move |c| {
        db::write(c, |c| -> Result<(), ApiError> {
            if let Some(reward_id) = &saved.birthday.reward_id
                && crate::rewards::repo::find(c, reward_id)?.is_none()
            {
                return Err(ApiError::validation(vec![FieldError::new(
                    "birthday.reward_id",
                    "no reward has this id",
                )]));
            }
            if let Some(survey_id) = &saved.follow_up.survey_id
                && crate::feedback::survey_repo::find(c, survey_id)?.is_none()
            {
                return Err(ApiError::validation(vec![FieldError::new(
                    "follow_up.survey_id",
                    "no survey has this id",
                )]));
            }
            let before = repo::load(c)?;
            repo::save(c, &saved, now)?;
            if before.segments != saved.segments {
                // New thresholds: every segment is due; `recompute_segments` works through them.
                crate::customers::stats::review_all_now(c, now)?;
            }
            audit::record(c, &actor, "program.update", "program", "1", now)?;
            Ok(())
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(settings))
}
