//! Console sessions: a random cookie (only its SHA-256 is stored), a CSRF token per session,
//! idle and absolute timeouts, and the staff member read again on every page load, so a role
//! change or a deactivation applies at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::api::Api;
use super::{ConsoleError, Form};
use crate::app::AppState;
use crate::auth::tokens::Audience;
use crate::auth::{Permission, Role};
use crate::db::schema::{console_preferences, console_sessions, staff};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::messages::locale::Locale;

/// The session cookie.
pub const COOKIE: &str = "patron_console";
/// The cookie that carries the sign-in form's CSRF token before there is a session.
pub const PRE_COOKIE: &str = "patron_console_pre";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// How often, at most, a session's last page load is written.
const TOUCH_EVERY_SECS: i64 = 60;

/// A random token for a cookie or a form.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What is stored for a cookie value.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The sign-in page, returning to `next` afterwards.
pub fn sign_in_url(next: &str) -> String {
    if next.is_empty() || next == "/admin/" {
        "/admin/sign-in".to_owned()
    } else {
        super::api::with_query("/admin/sign-in", &[("next", next)])
    }
}

/// `next` if it is a console page, else the dashboard (never another site).
pub fn safe_next(next: &str) -> &str {
    if next.starts_with("/admin/") && !next.contains('\\') && !next.chars().any(char::is_control) {
        next
    } else {
        "/admin/"
    }
}

/// A cookie scoped to the console: HttpOnly, SameSite=Strict, Secure behind HTTPS.
pub fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(
            state
                .jobs
                .settings
                .server
                .public_url
                .starts_with("https://"),
        )
        .finish()
}

/// A cookie that removes `name` from the browser.
pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new());
    c.make_removal();
    c
}

/// A signed-in staff member on a console request.
pub struct Console {
    /// The staff member's id.
    pub staff_id: String,
    /// Their email.
    pub email: String,
    /// Their role as of this request.
    pub role: Role,
    /// The console language they chose.
    pub lang: Locale,
    /// This session's CSRF token.
    pub csrf: String,
    /// The request path, with its query.
    pub path: String,
    /// Where to come back to after an action in the page's frame (the language menu): this page
    /// if it was a GET, else the console page the form was on (so a form shown again after a
    /// failed POST does not send the browser to a POST-only address).
    pub return_to: String,
    /// The stored session id (hash of the cookie).
    pub session_id: String,
    /// The application.
    pub state: web::Data<AppState>,
}

struct SessionRow {
    staff_id: String,
    csrf: String,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    email: String,
    role: String,
    active: bool,
    language: Option<String>,
}

type Loaded = (
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
    String,
    String,
    bool,
    Option<String>,
);

fn load(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SessionRow>> {
    let row: Option<Loaded> = console_sessions::table
        .inner_join(staff::table)
        .left_join(
            console_preferences::table
                .on(console_preferences::staff_id.eq(console_sessions::staff_id)),
        )
        .filter(console_sessions::id.eq(id))
        .select((
            console_sessions::staff_id,
            console_sessions::csrf_token,
            console_sessions::created_at,
            console_sessions::last_seen_at,
            staff::email,
            staff::role,
            staff::active,
            console_preferences::language.nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(staff_id, csrf, created_at, last_seen_at, email, role, active, language)| SessionRow {
            staff_id,
            csrf,
            created_at,
            last_seen_at,
            email,
            role,
            active,
            language,
        },
    ))
}

/// Ends a session.
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(console_sessions::table.filter(console_sessions::id.eq(id))).execute(conn)
}

/// Starts a session for `staff_id` (ending `replaced`, the one the browser had, and sessions past
/// the absolute timeout); returns the cookie value.
pub fn start(
    conn: &mut DbConnection,
    staff_id: &str,
    replaced: Option<&str>,
    now: NaiveDateTime,
    absolute_secs: i64,
) -> QueryResult<String> {
    let token = random_token();
    conn.transaction(|c| {
        if let Some(old) = replaced {
            delete(c, old)?;
        }
        diesel::delete(
            console_sessions::table
                .filter(console_sessions::created_at.lt(now - Duration::seconds(absolute_secs))),
        )
        .execute(c)?;
        diesel::insert_into(console_sessions::table)
            .values((
                console_sessions::id.eq(hash(&token)),
                console_sessions::staff_id.eq(staff_id),
                console_sessions::csrf_token.eq(random_token()),
                console_sessions::created_at.eq(now),
                console_sessions::last_seen_at.eq(now),
            ))
            .execute(c)
    })?;
    Ok(token)
}

/// Records that the form with one-time `key` was sent in session `id`; false if it was already
/// (a reload or a second click), so the caller does not do it twice.
pub fn use_form_key(conn: &mut DbConnection, id: &str, key: &str) -> QueryResult<bool> {
    let updated = diesel::update(
        console_sessions::table
            .filter(console_sessions::id.eq(id))
            .filter(
                console_sessions::last_form_key
                    .is_null()
                    .or(console_sessions::last_form_key.ne(key)),
            ),
    )
    .set(console_sessions::last_form_key.eq(key))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Ends every session of `staff_id` (after their password changed).
pub fn end_all(conn: &mut DbConnection, staff_id: &str) -> QueryResult<usize> {
    diesel::delete(console_sessions::table.filter(console_sessions::staff_id.eq(staff_id)))
        .execute(conn)
}

/// Remembers `staff_id`'s console language.
pub fn set_language(
    conn: &mut DbConnection,
    staff_id: &str,
    lang: Locale,
    now: NaiveDateTime,
) -> QueryResult<()> {
    crate::on_backend!(conn, |c| {
        diesel::insert_into(console_preferences::table)
            .values((
                console_preferences::staff_id.eq(staff_id),
                console_preferences::language.eq(lang.as_str()),
                console_preferences::updated_at.eq(now),
            ))
            .on_conflict(console_preferences::staff_id)
            .do_update()
            .set((
                console_preferences::language.eq(lang.as_str()),
                console_preferences::updated_at.eq(now),
            ))
            .execute(c)
    })?;
    Ok(())
}

/// Remembers `lang` for `staff_id` unless they already chose one.
pub fn default_language(
    conn: &mut DbConnection,
    staff_id: &str,
    lang: Locale,
    now: NaiveDateTime,
) -> QueryResult<()> {
    crate::on_backend!(conn, |c| {
        diesel::insert_into(console_preferences::table)
            .values((
                console_preferences::staff_id.eq(staff_id),
                console_preferences::language.eq(lang.as_str()),
                console_preferences::updated_at.eq(now),
            ))
            .on_conflict(console_preferences::staff_id)
            .do_nothing()
            .execute(c)
    })?;
    Ok(())
}

impl Console {
    /// The API as this staff member.
    pub fn api(&self) -> Result<Api, ConsoleError> {
        let issued = self
            .state
            .tokens
            .issue(Audience::Staff, &self.staff_id, self.state.clock.now())
            .map_err(|e| ConsoleError::internal(e.code()))?;
        Ok(self.state.console.with_token(issued.token))
    }

    /// Whether this staff member's role holds `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        super::nav::allows(self.role, permission)
    }

    /// Refuses the page unless the role holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ConsoleError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }

    /// Reads the posted form (after the session was checked) and checks its CSRF token.
    pub async fn form(&self, payload: web::Payload) -> Result<Form, ConsoleError> {
        let body = payload
            .to_bytes_limited(crate::app::MAX_BODY_BYTES)
            .await
            .map_err(|_| ConsoleError::BadForm("the form is too large".into()))?
            .map_err(|e| ConsoleError::BadForm(e.to_string()))?;
        let form = Form::parse(&body);
        if !same_secret(form.get(CSRF_FIELD), &self.csrf) || form.get(CSRF_FIELD).is_empty() {
            return Err(ConsoleError::Csrf);
        }
        Ok(form)
    }
}

async fn authenticate(req: HttpRequest) -> Result<Console, ConsoleError> {
    let next = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let sign_in = || ConsoleError::SignIn {
        next: if req.method() == actix_web::http::Method::GET {
            next.clone()
        } else {
            String::new()
        },
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ConsoleError::internal("no application state"))?;
    let Some(token) = req.cookie(COOKIE).map(|c| c.value().to_owned()) else {
        return Err(sign_in());
    };
    let id = hash(&token);
    let now = state.clock.now_naive();
    let settings = &state.jobs.settings.console;
    let (idle, absolute) = (settings.idle_timeout_secs, settings.absolute_timeout_secs);
    let lookup = id.clone();
    let row = db::run(&state.pool, move |c| -> Result<_, ApiError> {
        let Some(row) = load(c, &lookup)? else {
            return Ok(None);
        };
        let expired = now - row.last_seen_at > Duration::seconds(idle)
            || now - row.created_at > Duration::seconds(absolute);
        if expired || !row.active {
            delete(c, &lookup)?;
            return Ok(None);
        }
        // Often enough that a short idle timeout never ends a session in use.
        if now - row.last_seen_at > Duration::seconds(TOUCH_EVERY_SECS.min(idle / 2)) {
            diesel::update(console_sessions::table.filter(console_sessions::id.eq(&lookup)))
                .set(console_sessions::last_seen_at.eq(now))
                .execute(c)?;
        }
        Ok(Some(row))
    })
    .await
    .map_err(|e| ConsoleError::internal(e.code()))?;
    let Some(row) = row else {
        return Err(sign_in());
    };
    let role: Role = row.role.parse().map_err(ConsoleError::internal)?;
    let lang = row
        .language
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or(Locale::En);
    req.extensions_mut().insert(lang);
    let return_to = if req.method() == actix_web::http::Method::GET {
        next.clone()
    } else {
        req.headers()
            .get(actix_web::http::header::REFERER)
            .and_then(|r| r.to_str().ok())
            .and_then(|r| r.parse::<actix_web::http::Uri>().ok())
            .and_then(|u| u.path_and_query().map(|p| p.as_str().to_owned()))
            .map(|p| safe_next(&p).to_owned())
            .unwrap_or_else(|| "/admin/".to_owned())
    };
    Ok(Console {
        return_to,
        staff_id: row.staff_id,
        email: row.email,
        role,
        lang,
        csrf: row.csrf,
        path: next,
        session_id: id,
        state,
    })
}

impl FromRequest for Console {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}
