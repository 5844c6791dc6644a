//! Small value types parsed once at the edge and shared by several domains.

use email_address::EmailAddress;

/// Longest accepted email address (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// A syntactically valid, trimmed, lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims, lower-cases and checks the syntax.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let normalised = raw.trim().to_lowercase();
        if normalised.len() > MAX_EMAIL_LEN {
            return Err(format!("must be at most {MAX_EMAIL_LEN} characters"));
        }
        if !EmailAddress::is_valid(&normalised) || !normalised.contains('@') {
            return Err("must be a valid email address".to_owned());
        }
        Ok(Self(normalised))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised address, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Digits after the decimal point of an ISO 4217 currency's minor unit (2 for EUR, 0 for JPY, 3
/// for BHD); 2 for a code the standard does not know.
pub fn minor_digits(currency: &str) -> u32 {
    iso_currency::Currency::from_code(currency)
        .map_or(Some(2), iso_currency::Currency::exponent)
        .map_or(0, u32::from)
}
