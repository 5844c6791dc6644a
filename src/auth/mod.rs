//! Authentication and authorisation: passwords, tokens, API keys, roles, scopes and the caller.

pub mod caller;
pub mod passwords;
pub mod rate_limit;
pub mod routes;
pub mod tokens;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use caller::{Caller, CustomerCaller};

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including staff and API keys.
    Admin,
    /// Program configuration, reports, customers read.
    Marketer,
    /// Customers read/write, tickets, adjustments, recovery cases.
    Support,
    /// Read-only reports and customers.
    Analyst,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Marketer => "marketer",
            Role::Support => "support",
            Role::Analyst => "analyst",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "marketer" => Ok(Role::Marketer),
            "support" => Ok(Role::Support),
            "analyst" => Ok(Role::Analyst),
            other => Err(format!(
                "unknown role `{other}` (admin, marketer, support, analyst)"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! scopes {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// An API key scope.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Scope {
            $(#[doc = $name] #[serde(rename = $name)] $variant,)+
        }

        impl Scope {
            /// Every scope.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant),+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self { $(Scope::$variant => $name,)+ }
            }
        }

        impl FromStr for Scope {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($name => Ok(Scope::$variant),)+
                    other => Err(format!("unknown scope `{other}`")),
                }
            }
        }
    };
}

scopes! {
    CustomersRead => "customers:read",
    CustomersWrite => "customers:write",
    PurchasesWrite => "purchases:write",
    PointsRead => "points:read",
    PointsWrite => "points:write",
    RewardsRedeem => "rewards:redeem",
    CodesUse => "codes:use",
    TicketsWrite => "tickets:write",
    FeedbackWrite => "feedback:write",
    EventsWrite => "events:write",
    TokensIssue => "tokens:issue",
}

// Written by hand: the derive cannot see the serde renames made inside `scopes!`, and would list
// the Rust variant names instead of the wire names.
impl utoipa::PartialSchema for Scope {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("An API key scope."))
            .enum_values(Some(Scope::ALL.iter().map(|s| s.as_str())))
            .into()
    }
}

impl ToSchema for Scope {}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a route needs: the API key scope that grants it and the staff roles that may use it.
#[derive(Debug, Clone, Copy)]
pub struct Permission {
    /// The scope an API key needs; `None` if API keys may not use the route.
    pub scope: Option<Scope>,
    /// The staff roles allowed (admin is always allowed).
    pub roles: &'static [Role],
}

impl Permission {
    /// Read customers.
    pub const CUSTOMERS_READ: Permission = Permission {
        scope: Some(Scope::CustomersRead),
        roles: &[Role::Marketer, Role::Support, Role::Analyst],
    };
    /// Create and change customers.
    pub const CUSTOMERS_WRITE: Permission = Permission {
        scope: Some(Scope::CustomersWrite),
        roles: &[Role::Support],
    };
    /// Erase a customer's personal data (right to erasure): staff only, never an API key.
    pub const CUSTOMERS_ERASE: Permission = Permission {
        scope: None,
        roles: &[Role::Support],
    };
    /// Mint customer tokens.
    pub const TOKENS_ISSUE: Permission = Permission {
        scope: Some(Scope::TokensIssue),
        roles: &[],
    };
    /// Read the program settings.
    pub const PROGRAM_READ: Permission = Permission {
        scope: None,
        roles: &[Role::Marketer, Role::Support, Role::Analyst],
    };
    /// Change the program settings.
    pub const PROGRAM_WRITE: Permission = Permission {
        scope: None,
        roles: &[Role::Marketer],
    };
    /// Record purchases and returns.
    pub const PURCHASES_WRITE: Permission = Permission {
        scope: Some(Scope::PurchasesWrite),
        roles: &[],
    };
    /// Compute what a basket would earn without recording it (`POST /v1/purchases/preview`):
    /// store backends with `purchases:write`; marketers and support, to try the earning rules.
    pub const PURCHASES_PREVIEW: Permission = Permission {
        scope: Some(Scope::PurchasesWrite),
        roles: &[Role::Marketer, Role::Support],
    };
    /// Read balances, history and purchases.
    pub const POINTS_READ: Permission = Permission {
        scope: Some(Scope::PointsRead),
        roles: &[Role::Marketer, Role::Support, Role::Analyst],
    };
    /// Adjust points by hand.
    pub const POINTS_WRITE: Permission = Permission {
        scope: Some(Scope::PointsWrite),
        roles: &[Role::Support],
    };
    /// Read the reward catalogue.
    pub const REWARDS_READ: Permission = Permission {
        scope: Some(Scope::RewardsRedeem),
        roles: &[Role::Marketer, Role::Support, Role::Analyst],
    };
    /// Configure rewards.
    pub const REWARDS_WRITE: Permission = Permission {
        scope: None,
        roles: &[Role::Marketer],
    };
    /// Redeem a reward for a customer.
    pub const REWARDS_REDEEM: Permission = Permission {
        scope: Some(Scope::RewardsRedeem),
        roles: &[Role::Support],
    };
    /// Validate, use and cancel codes.
    pub const CODES_USE: Permission = Permission {
        scope: Some(Scope::CodesUse),
        roles: &[Role::Support],
    };
    /// Report custom events.
    pub const EVENTS_WRITE: Permission = Permission {
        scope: Some(Scope::EventsWrite),
        roles: &[Role::Support],
    };
    /// Read support tickets.
    pub const TICKETS_READ: Permission = Permission {
        scope: Some(Scope::TicketsWrite),
        roles: &[Role::Support, Role::Marketer, Role::Analyst],
    };
    /// Open, resolve and reopen support tickets.
    pub const TICKETS_WRITE: Permission = Permission {
        scope: Some(Scope::TicketsWrite),
        roles: &[Role::Support],
    };
    /// Read the outbox (messages, attempts, errors).
    pub const MESSAGES_READ: Permission = Permission {
        scope: None,
        roles: &[Role::Marketer, Role::Support, Role::Analyst],
    };
    /// Read message templates and preview them.
    pub const TEMPLATES_READ: Permission = Permission {
        scope: None,
        roles: &[Role::Marketer, Role::Support],
    };
    /// Change message templates.
    pub const TEMPLATES_WRITE: Permission = Permission {
        scope: None,
        roles: &[Role::Marketer],
    };
    /// Record feedback collected elsewhere (`POST /v1/feedback`).
    pub const FEEDBACK_WRITE: Permission = Permission {
        scope: Some(Scope::FeedbackWrite),
        roles: &[Role::Support],
    };
    /// Manage staff accounts and API keys; see the jobs.
    pub const ADMIN: Permission = Permission {
        scope: None,
        roles: &[],
    };
    /// Read the CX and loyalty reports (`/v1/reports/...`): staff only, never an API key.
    pub const REPORTS_READ: Permission = Permission {
        scope: None,
        roles: &[Role::Marketer, Role::Analyst],
    };
    /// Read recovery cases (the bad answers being followed up).
    pub const RECOVERY_READ: Permission = Permission {
        scope: None,
        roles: &[Role::Support, Role::Marketer, Role::Analyst],
    };
    /// Resolve recovery cases.
    pub const RECOVERY_WRITE: Permission = Permission {
        scope: None,
        roles: &[Role::Support],
    };
    /// Read surveys.
    pub const SURVEYS_READ: Permission = Permission {
        scope: None,
        roles: &[Role::Marketer, Role::Support, Role::Analyst],
    };
    /// Create and change surveys; invite customers to answer one.
    pub const SURVEYS_WRITE: Permission = Permission {
        scope: None,
        roles: &[Role::Marketer],
    };
}
