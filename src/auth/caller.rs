//! The authenticated caller of a request: a staff member, an API key or a customer.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::tokens::Audience;
use super::{Permission, Role, Scope};
use crate::app::AppState;
use crate::customers::model::CustomerId;
use crate::error::ApiError;
use crate::{api_keys, db};

/// Whoever sent the request, after their credential was checked.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A logged-in, active staff member.
    Staff {
        /// Staff id.
        id: String,
        /// Their current role (read from the database on every request).
        role: Role,
    },
    /// A store backend using an API key.
    ApiKey {
        /// API key id.
        id: String,
        /// Scopes granted to the key.
        scopes: Vec<Scope>,
        /// The store the key is bound to, if any.
        store_id: Option<String>,
    },
    /// A customer using a customer token.
    Customer(CustomerCaller),
}

/// A customer acting on their own data through `/v1/me`.
#[derive(Debug, Clone)]
pub struct CustomerCaller {
    /// The customer the token was issued for.
    pub customer_id: CustomerId,
}

impl Caller {
    /// Checks that the caller may use a route needing `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        match self {
            Caller::Staff {
                role: Role::Admin, ..
            } => Ok(()),
            Caller::Staff { role, .. } if permission.roles.contains(role) => Ok(()),
            Caller::Staff { role, .. } => Err(ApiError::forbidden(
                "forbidden",
                format!("The {role} role may not use this operation"),
            )),
            Caller::ApiKey { scopes, .. } => match permission.scope {
                Some(scope) if scopes.contains(&scope) => Ok(()),
                Some(scope) => Err(ApiError::forbidden(
                    "missing_scope",
                    format!("This API key lacks the `{scope}` scope"),
                )),
                None => Err(ApiError::forbidden(
                    "forbidden",
                    "API keys may not use this operation",
                )),
            },
            Caller::Customer(_) => Err(ApiError::forbidden(
                "forbidden",
                "Customer tokens only reach /v1/me",
            )),
        }
    }

    /// The store the caller's API key is bound to; `None` for unbound keys, staff and customers.
    pub fn bound_store(&self) -> Option<&str> {
        match self {
            Caller::ApiKey { store_id, .. } => store_id.as_deref(),
            _ => None,
        }
    }

    /// The actor recorded in the audit log.
    pub fn actor(&self) -> crate::audit::Actor {
        match self {
            Caller::Staff { id, .. } => crate::audit::Actor::Staff(id.clone()),
            Caller::ApiKey { id, .. } => crate::audit::Actor::ApiKey(id.clone()),
            Caller::Customer(c) => crate::audit::Actor::Customer(c.customer_id.0.clone()),
        }
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let missing = || {
        ApiError::unauthorized(
            "missing_credentials",
            "Send `Authorization: Bearer <token>`",
        )
    };
    let value = req.headers().get(AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token.to_owned())
}

/// The client's address, the key of the failed-credential throttle.
fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

async fn resolve(
    state: web::Data<AppState>,
    token: String,
    address: String,
) -> Result<Caller, ApiError> {
    let throttle = &state.credential_throttle;
    if token.starts_with(api_keys::PREFIX) {
        let hash = api_keys::hash_key(&token);
        // Before the lookup, so a burst of guessed keys does not cost a query each.
        if !throttle.is_known(&hash) {
            throttle.check(&address)?;
        }
        let key = match state.pool.caches().peek_api_key(&hash) {
            Some(key) => Some(key),
            None => {
                let lookup = hash.clone();
                db::run(&state.pool, move |c| crate::cache::api_key(c, &lookup)).await?
            }
        };
        let Some(key) = key else {
            throttle.failed(&address);
            return Err(ApiError::unauthorized(
                "invalid_api_key",
                "The API key is not valid",
            ));
        };
        if key.revoked_at.is_some() {
            throttle.forget(&hash);
            throttle.failed(&address);
            return Err(ApiError::unauthorized(
                "api_key_revoked",
                "The API key has been revoked",
            ));
        }
        throttle.remember(&hash);
        state.api_key_limiter.check([key.id.as_str()])?;
        return Ok(Caller::ApiKey {
            scopes: key.scopes(),
            store_id: key.store_id,
            id: key.id,
        });
    }
    // Checking a signature costs no query, so valid tokens are never throttled; a bad one counts
    // against the address, and once it is used up the answer is 429 instead of 401.
    let (audience, claims) = match state.tokens.verify(&token, state.clock.now()) {
        Ok(verified) => verified,
        Err(e) => {
            throttle.check(&address)?;
            throttle.failed(&address);
            return Err(e);
        }
    };
    match audience {
        Audience::Customer => {
            // A token outlives neither an erasure nor a merge: checked against the database,
            // or a copy at most a second old (at once after one made through this instance).
            let id = claims.sub;
            let valid = match state.pool.caches().peek_token_holder(&id) {
                Some(valid) => valid,
                None => {
                    let lookup = id.clone();
                    db::run(&state.pool, move |c| crate::cache::token_holder(c, &lookup)).await?
                }
            };
            match valid {
                true => Ok(Caller::Customer(CustomerCaller {
                    customer_id: CustomerId(id),
                })),
                false => Err(ApiError::unauthorized(
                    "token_revoked",
                    "This customer token is no longer valid",
                )),
            }
        }
        Audience::Staff => {
            let id = claims.sub;
            let member = match state.pool.caches().peek_staff(&id) {
                Some(member) => member,
                None => {
                    let lookup = id.clone();
                    db::run(&state.pool, move |c| crate::cache::staff_member(c, &lookup)).await?
                }
            };
            match member {
                Some(m) if m.active => {
                    let role = m
                        .role
                        .parse()
                        .map_err(|e: String| ApiError::internal(anyhow::anyhow!(e)))?;
                    Ok(Caller::Staff { id, role })
                }
                Some(_) => {
                    throttle.failed(&address);
                    Err(ApiError::unauthorized(
                        "account_disabled",
                        "This staff account is disabled",
                    ))
                }
                None => {
                    throttle.failed(&address);
                    Err(ApiError::unauthorized(
                        "invalid_token",
                        "The token is invalid",
                    ))
                }
            }
        }
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let prepared = state_of(req).and_then(|s| bearer(req).map(|t| (s, t)));
        let address = client_address(req);
        Box::pin(async move {
            let (state, token) = prepared?;
            resolve(state, token, address).await
        })
    }
}

impl FromRequest for CustomerCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<CustomerCaller, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            match caller.await? {
                Caller::Customer(c) => Ok(c),
                _ => Err(ApiError::forbidden(
                    "forbidden",
                    "Only customer tokens reach /v1/me",
                )),
            }
        })
    }
}
