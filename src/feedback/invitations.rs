//! Invitations: created one per trigger event (a purchase, a ticket resolution, staff), sent as
//! `survey_invitation` messages by the `survey_invitations` job (or inside a ticket follow-up),
//! reminded once by the `survey_reminders` job, and answered once.
