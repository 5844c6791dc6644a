-- Feedback and CX metrics: surveys, the invitations that ask customers to answer them, the
-- responses (from an invitation or sent by a store backend), and the recovery cases that bad
-- answers open.

CREATE TABLE surveys (
    id                   TEXT PRIMARY KEY NOT NULL,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    -- The top of the scale: NPS 10 (0–10), CSAT 5 (1–5), CES 5 or 7 (1–scale).
    scale                INTEGER NOT NULL CHECK (
                             (kind = 'nps' AND scale = 10) OR (kind = 'csat' AND scale = 5)
                             OR (kind = 'ces' AND scale IN (5, 7))),
    -- The question and the open question per locale, JSON objects {"en": "...", "fa": "..."}.
    question             TEXT NOT NULL,
    open_question        TEXT NOT NULL,
    trigger_type         TEXT NOT NULL CHECK (trigger_type IN ('post_purchase', 'post_resolution', 'manual')),
    delay_hours          INTEGER NOT NULL CHECK (delay_hours BETWEEN 0 AND 8760),
    reminder_after_hours INTEGER NOT NULL CHECK (reminder_after_hours BETWEEN 1 AND 8760),
    max_reminders        INTEGER NOT NULL CHECK (max_reminders IN (0, 1)),
    -- Days an invitation may be answered after it was sent.
    expires_after_days   INTEGER NOT NULL CHECK (expires_after_days BETWEEN 1 AND 365),
    active               BOOLEAN NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX surveys_trigger_idx ON surveys (trigger_type, id) WHERE active;
CREATE INDEX surveys_created_idx ON surveys (created_at, id);

CREATE TABLE survey_invitations (
    id              TEXT PRIMARY KEY NOT NULL,
    survey_id       TEXT NOT NULL REFERENCES surveys (id),
    customer_id     TEXT NOT NULL REFERENCES customers (id),
    -- The survey's kind and scale, copied so that response rates group without a join.
    kind            TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    scale           INTEGER NOT NULL,
    -- One invitation per trigger event: post_purchase:<survey>:<purchase>,
    -- ticket:<ticket>:<resolution>, manual:<survey>:<key>.
    dedupe_key      TEXT NOT NULL UNIQUE,
    cause_type      TEXT NOT NULL,
    cause_id        TEXT NOT NULL,
    -- scheduled (waiting for due_at), sent, suppressed (reason says why), answered, cancelled.
    status          TEXT NOT NULL CHECK (status IN ('scheduled', 'sent', 'suppressed', 'answered', 'cancelled')),
    reason          TEXT,
    -- Where the experience happened, copied onto the response.
    channel         TEXT,
    touchpoint      TEXT,
    store_id        TEXT,
    agent_id        TEXT,
    due_at          TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    reminder_due_at TIMESTAMP,
    reminders_sent  INTEGER NOT NULL DEFAULT 0 CHECK (reminders_sent BETWEEN 0 AND 1),
    expires_at      TIMESTAMP,
    answered_at     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX survey_invitations_due_idx ON survey_invitations (due_at, id) WHERE status = 'scheduled';
CREATE INDEX survey_invitations_reminder_idx ON survey_invitations (reminder_due_at, id)
    WHERE status = 'sent' AND reminders_sent = 0;
CREATE INDEX survey_invitations_customer_idx ON survey_invitations (customer_id, created_at, id);
CREATE INDEX survey_invitations_survey_idx ON survey_invitations (survey_id);
-- Response rates: invitations sent in a range, by kind.
CREATE INDEX survey_invitations_sent_idx ON survey_invitations (kind, sent_at, status) WHERE sent_at IS NOT NULL;

CREATE TABLE feedback_responses (
    id            TEXT PRIMARY KEY NOT NULL,
    -- NULL: anonymous feedback sent by a store backend.
    customer_id   TEXT REFERENCES customers (id),
    -- One response per invitation.
    invitation_id TEXT UNIQUE REFERENCES survey_invitations (id),
    survey_id     TEXT REFERENCES surveys (id),
    kind          TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    scale         INTEGER NOT NULL,
    -- NULL: the customer skipped the question (reported apart).
    score         INTEGER,
    comment       TEXT,
    channel       TEXT NOT NULL,
    touchpoint    TEXT,
    store_id      TEXT,
    agent_id      TEXT,
    -- survey (answered through an invitation) or api (POST /v1/feedback).
    source        TEXT NOT NULL CHECK (source IN ('survey', 'api')),
    occurred_at   TIMESTAMP NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    CHECK ((kind = 'nps' AND scale = 10) OR (kind = 'csat' AND scale = 5)
           OR (kind = 'ces' AND scale IN (5, 7))),
    CHECK (score IS NULL OR (score BETWEEN (CASE WHEN kind = 'nps' THEN 0 ELSE 1 END) AND scale))
);
CREATE INDEX feedback_responses_kind_idx ON feedback_responses (kind, occurred_at, scale, score);
CREATE INDEX feedback_responses_customer_idx ON feedback_responses (customer_id, kind, occurred_at);
CREATE INDEX feedback_responses_comments_idx ON feedback_responses (kind, occurred_at, id) WHERE comment IS NOT NULL;

CREATE TABLE recovery_cases (
    id              TEXT PRIMARY KEY NOT NULL,
    -- NULL for anonymous feedback.
    customer_id     TEXT REFERENCES customers (id),
    -- One case per response.
    response_id     TEXT NOT NULL UNIQUE REFERENCES feedback_responses (id),
    kind            TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    scale           INTEGER NOT NULL,
    score           INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    touchpoint      TEXT,
    store_id        TEXT,
    agent_id        TEXT,
    status          TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    -- Apology points credited for this case (0: none).
    apology_points  BIGINT NOT NULL DEFAULT 0 CHECK (apology_points >= 0),
    -- Whether the customer was given an apology (points, message or both): counts towards
    -- recovery.max_apologies.
    apologized      BOOLEAN NOT NULL DEFAULT FALSE,
    opened_at       TIMESTAMP NOT NULL,
    resolved_at     TIMESTAMP,
    resolved_by     TEXT,
    resolution_note TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX recovery_cases_status_idx ON recovery_cases (status, opened_at, id);
CREATE INDEX recovery_cases_opened_idx ON recovery_cases (opened_at, id);
CREATE INDEX recovery_cases_customer_idx ON recovery_cases (customer_id, opened_at);
