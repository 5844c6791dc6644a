//! Staff and customer access tokens: HS256 JWTs with required `exp/iat/iss/aud/sub`.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Who a token is for; each kind has its own `aud`, so one never works as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Staff members.
    Staff,
    /// Customers (mobile apps).
    Customer,
}

impl Audience {
    /// The `aud` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Staff => "patron:staff",
            Audience::Customer => "patron:customer",
        }
    }
}

/// The claims Patron issues and requires.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Staff or customer id.
    pub sub: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
}

/// Issues and checks tokens with one pinned algorithm.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    staff_ttl: i64,
    customer_ttl: i64,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// A freshly issued token.
#[derive(Debug)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

impl TokenService {
    /// A token service signing with `secret`.
    pub fn new(secret: &[u8], issuer: String, staff_ttl: i64, customer_ttl: i64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer,
            staff_ttl,
            customer_ttl,
        }
    }

    /// Issues a token for `sub` with the given audience, valid from `now`.
    pub fn issue(
        &self,
        audience: Audience,
        sub: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        let ttl = match audience {
            Audience::Staff => self.staff_ttl,
            Audience::Customer => self.customer_ttl,
        };
        let claims = Claims {
            sub: sub.to_owned(),
            iss: self.issuer.clone(),
            aud: audience.as_str().to_owned(),
            iat: now.timestamp(),
            exp: now.timestamp() + ttl,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("signing a token failed: {e}")))?;
        Ok(IssuedToken {
            token,
            expires_in: ttl,
        })
    }

    /// Checks signature, algorithm, issuer, audience and expiry (against `now`, the app clock).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<(Audience, Claims), ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[Audience::Staff.as_str(), Audience::Customer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked below against the application clock, so tests can move time.
        validation.validate_exp = false;
        let data = decode::<Claims>(token, &self.decoding, &validation).map_err(|e| {
            tracing::debug!(error = %e, "token rejected");
            ApiError::unauthorized("invalid_token", "The token is invalid")
        })?;
        let claims = data.claims;
        if claims.exp <= now.timestamp() {
            return Err(ApiError::unauthorized(
                "token_expired",
                "The token has expired",
            ));
        }
        let audience = if claims.aud == Audience::Staff.as_str() {
            Audience::Staff
        } else {
            Audience::Customer
        };
        Ok((audience, claims))
    }
}
