//! Support tickets reported by store backends and support staff (`/v1/tickets`), and the one
//! follow-up message each resolution schedules (the `ticket_follow_ups` job).

pub mod follow_up;
pub mod repo;
pub mod routes;
pub mod service;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::tickets;

/// A ticket row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    pub id: String,
    /// The helpdesk's id: a ticket is opened once per `external_id`.
    pub external_id: String,
    pub customer_id: String,
    pub channel: String,
    pub subject: String,
    pub category: Option<String>,
    pub status: String,
    pub opened_at: NaiveDateTime,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_agent_id: Option<String>,
    pub resolved_agent_name: Option<String>,
    pub resolution_note: Option<String>,
    /// How many times the ticket was resolved; each resolution earns at most one follow-up.
    pub resolutions: i32,
    pub follow_up_status: String,
    pub follow_up_due_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Where the customer reached support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TicketChannel)]
pub enum Channel {
    Chat,
    Email,
    Phone,
    Store,
    Social,
    Web,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 6] = [
        Channel::Chat,
        Channel::Email,
        Channel::Phone,
        Channel::Store,
        Channel::Social,
        Channel::Web,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Phone => "phone",
            Channel::Store => "store",
            Channel::Social => "social",
            Channel::Web => "web",
        }
    }

    /// The channel with this wire name.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Whether a ticket is being worked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TicketStatus)]
pub enum Status {
    Open,
    Resolved,
}

impl Status {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
        }
    }

    /// The status with this wire name.
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::Resolved]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// The follow-up of a ticket's latest resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpStatus {
    /// Never resolved, follow-ups off, or the customer's data was erased before the resolution.
    None,
    /// Waiting for `follow_up.due_at`.
    Scheduled,
    /// Written to the outbox (as a pending or a suppressed message).
    Enqueued,
    /// Withdrawn: the ticket was reopened first, or the customer's data was erased.
    Cancelled,
}

impl FollowUpStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FollowUpStatus::None => "none",
            FollowUpStatus::Scheduled => "scheduled",
            FollowUpStatus::Enqueued => "enqueued",
            FollowUpStatus::Cancelled => "cancelled",
        }
    }

    /// The status with this stored name.
    pub fn parse(s: &str) -> Option<FollowUpStatus> {
        [
            FollowUpStatus::None,
            FollowUpStatus::Scheduled,
            FollowUpStatus::Enqueued,
            FollowUpStatus::Cancelled,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// What erasure writes over a ticket's subject (the column requires text).
pub const ERASED_SUBJECT: &str = "[erased]";
