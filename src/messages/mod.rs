//! Messages to customers: the outbox (written in the transaction of whatever caused a message),
//! templates in each locale, and delivery over SMTP by the `dispatch_outbox` job.

pub mod dispatch;
pub mod locale;
pub mod mailer;
pub mod outbox;
pub mod policy;
mod prepare;
pub mod render;
pub mod repo;
pub mod routes;
pub mod template_routes;
pub mod templates;
pub mod unsubscribe;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a message is about. Each kind has templates per locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MessageKind)]
pub enum Kind {
    /// The yearly birthday gift.
    BirthdayOffer,
    /// Thanks and a short survey after a support ticket was resolved.
    TicketFollowUp,
    /// An invitation to answer a survey.
    SurveyInvitation,
    /// A reminder of an unanswered survey.
    SurveyReminder,
    /// Points about to expire.
    PointsExpiring,
    /// The customer moved up a tier.
    TierChanged,
    /// Apology points after a bad experience.
    RecoveryApology,
}

impl Kind {
    /// Every kind, in the order the API documents them.
    pub const ALL: [Kind; 7] = [
        Kind::BirthdayOffer,
        Kind::TicketFollowUp,
        Kind::SurveyInvitation,
        Kind::SurveyReminder,
        Kind::PointsExpiring,
        Kind::TierChanged,
        Kind::RecoveryApology,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BirthdayOffer => "birthday_offer",
            Kind::TicketFollowUp => "ticket_follow_up",
            Kind::SurveyInvitation => "survey_invitation",
            Kind::SurveyReminder => "survey_reminder",
            Kind::PointsExpiring => "points_expiring",
            Kind::TierChanged => "tier_changed",
            Kind::RecoveryApology => "recovery_apology",
        }
    }

    /// The kind with this wire name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The consent a message of this kind needs, and the unsubscribe link it carries.
    pub fn category(self) -> Category {
        match self {
            Kind::BirthdayOffer | Kind::TierChanged => Category::Marketing,
            Kind::TicketFollowUp | Kind::SurveyInvitation | Kind::SurveyReminder => {
                Category::Survey
            }
            Kind::PointsExpiring | Kind::RecoveryApology => Category::Service,
        }
    }
}

/// Which consent a message needs: marketing (`consent_email_marketing`, weekly cap), survey
/// (`consent_surveys`, survey cooldown), or service (about the customer's own points; no consent
/// needed, but never to an erased customer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MessageCategory)]
pub enum Category {
    /// Offers and news; needs email-marketing consent; counts towards the weekly cap.
    Marketing,
    /// Follow-ups and surveys; needs survey consent; subject to the survey cooldown.
    Survey,
    /// About the customer's own account.
    Service,
}

impl Category {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Marketing => "marketing",
            Category::Survey => "survey",
            Category::Service => "service",
        }
    }

    /// The category with this wire name.
    pub fn parse(s: &str) -> Option<Category> {
        [Category::Marketing, Category::Survey, Category::Service]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MessageStatus)]
pub enum Status {
    /// Waiting for its due time (or its next attempt).
    Pending,
    /// Claimed by a dispatcher that is sending it now.
    Sending,
    /// Accepted by the SMTP server.
    Sent,
    /// Refused for good, or out of attempts.
    Failed,
    /// Not sent, with the reason: no consent, the contact policy, another open ticket…
    Suppressed,
    /// Withdrawn before it was sent (a reopened ticket, an erased customer).
    Cancelled,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::Sending,
        Status::Sent,
        Status::Failed,
        Status::Suppressed,
        Status::Cancelled,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Suppressed => "suppressed",
            Status::Cancelled => "cancelled",
        }
    }

    /// The status with this wire name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|k| k.as_str() == s)
    }
}
