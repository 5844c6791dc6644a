-- Messages and the scheduler: the outbox with every delivery attempt, staff template overrides,
-- support tickets, personal offers (the birthday gift), the last run of each job, and the
-- birthday's month-day index.

-- Gift codes (the birthday offer) cost no points: a code's points_spent may be 0. SQLite changes a
-- CHECK only by rebuilding the table; nothing refers to reward_codes yet, and the rebuild keeps
-- every row and index.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE reward_codes_copy AS SELECT * FROM reward_codes;
DROP TABLE reward_codes;
CREATE TABLE reward_codes (
    code                      TEXT PRIMARY KEY NOT NULL,
    reward_id                 TEXT NOT NULL REFERENCES rewards (id),
    customer_id               TEXT NOT NULL REFERENCES customers (id),
    points_spent              BIGINT NOT NULL CHECK (points_spent >= 0),
    status                    TEXT NOT NULL CHECK (status IN ('issued', 'used', 'cancelled')),
    issued_at                 TIMESTAMP NOT NULL,
    expires_at                TIMESTAMP NOT NULL,
    used_at                   TIMESTAMP,
    used_store_id             TEXT,
    used_purchase_external_id TEXT,
    cancelled_at              TIMESTAMP,
    redeemed_store_id         TEXT
);
INSERT INTO reward_codes (code, reward_id, customer_id, points_spent, status, issued_at, expires_at, used_at, used_store_id, used_purchase_external_id, cancelled_at, redeemed_store_id)
SELECT code, reward_id, customer_id, points_spent, status, issued_at, expires_at, used_at, used_store_id, used_purchase_external_id, cancelled_at, redeemed_store_id FROM reward_codes_copy;
DROP TABLE reward_codes_copy;
CREATE INDEX reward_codes_customer_idx ON reward_codes (customer_id, issued_at);
CREATE INDEX reward_codes_reward_customer_idx ON reward_codes (reward_id, customer_id, status);

-- Birthday month and day as MMDD (e.g. 229 for 29 February), so the birthday job reads only the
-- customers whose day is due; and when the birthday was last entered or changed (anti-gaming).
ALTER TABLE customers ADD COLUMN birthday_md INTEGER;
ALTER TABLE customers ADD COLUMN birthday_set_at TIMESTAMP;
UPDATE customers
SET birthday_md = CAST(substr(birthday, length(birthday) - 4, 2) AS INTEGER) * 100
                + CAST(substr(birthday, length(birthday) - 1, 2) AS INTEGER),
    birthday_set_at = created_at
WHERE birthday IS NOT NULL;
CREATE INDEX customers_birthday_md_idx ON customers (birthday_md) WHERE birthday_md IS NOT NULL;

CREATE TABLE messages (
    id               TEXT PRIMARY KEY NOT NULL,
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    kind             TEXT NOT NULL CHECK (kind IN ('birthday_offer', 'ticket_follow_up',
                         'survey_invitation', 'survey_reminder', 'points_expiring',
                         'tier_changed', 'recovery_apology')),
    category         TEXT NOT NULL CHECK (category IN ('marketing', 'survey', 'service')),
    -- Never two messages with one key (a birthday offer per customer per year, one follow-up per
    -- resolution…).
    dedupe_key       TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed',
                         'suppressed', 'cancelled')),
    -- What caused the message (ticket, offer, tier change, lot batch…).
    cause_type       TEXT NOT NULL,
    cause_id         TEXT NOT NULL,
    -- Values fixed when the message was caused (offer code and expiry, resolution, points…), JSON.
    payload          TEXT NOT NULL,
    locale           TEXT,
    to_address       TEXT,
    subject          TEXT,
    -- The Message-ID header, fixed at the first attempt so a retry carries the same one.
    message_id       TEXT UNIQUE,
    due_at           TIMESTAMP NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    -- Why the message was suppressed, cancelled or deferred.
    reason           TEXT,
    claim_token      TEXT,
    claimed_until    TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP
);
-- The dispatcher's queue: due pending messages, and claims left behind by a stopped instance.
CREATE INDEX messages_due_idx ON messages (due_at, id) WHERE status IN ('pending', 'sending');
CREATE INDEX messages_customer_idx ON messages (customer_id, created_at, id);
CREATE INDEX messages_customer_sent_idx ON messages (customer_id, category, sent_at) WHERE status = 'sent';
CREATE INDEX messages_cause_idx ON messages (cause_type, cause_id);
CREATE INDEX messages_status_idx ON messages (status, created_at, id);
CREATE INDEX messages_kind_idx ON messages (kind, created_at, id);

CREATE TABLE message_attempts (
    id          TEXT PRIMARY KEY NOT NULL,
    message_id  TEXT NOT NULL REFERENCES messages (id),
    attempt     INTEGER NOT NULL,
    at          TIMESTAMP NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('sent', 'temporary_failure', 'permanent_failure')),
    smtp_code   INTEGER,
    detail      TEXT NOT NULL,
    UNIQUE (message_id, attempt)
);

CREATE TABLE message_templates (
    kind        TEXT NOT NULL,
    locale      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    html        TEXT NOT NULL,
    text        TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  TEXT,
    PRIMARY KEY (kind, locale)
);

CREATE TABLE tickets (
    id                  TEXT PRIMARY KEY NOT NULL,
    external_id         TEXT NOT NULL UNIQUE,
    customer_id         TEXT NOT NULL REFERENCES customers (id),
    channel             TEXT NOT NULL CHECK (channel IN ('chat', 'email', 'phone', 'store', 'social', 'web')),
    subject             TEXT NOT NULL,
    category            TEXT,
    status              TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    opened_at           TIMESTAMP NOT NULL,
    agent_id            TEXT,
    agent_name          TEXT,
    resolved_at         TIMESTAMP,
    resolved_agent_id   TEXT,
    resolved_agent_name TEXT,
    resolution_note     TEXT,
    -- How many times the ticket was resolved; each resolution earns at most one follow-up.
    resolutions         INTEGER NOT NULL DEFAULT 0,
    -- The follow-up of the latest resolution: none, scheduled (due at follow_up_due_at),
    -- enqueued (in the outbox), cancelled (reopened first).
    follow_up_status    TEXT NOT NULL DEFAULT 'none' CHECK (follow_up_status IN ('none', 'scheduled', 'enqueued', 'cancelled')),
    follow_up_due_at    TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX tickets_customer_idx ON tickets (customer_id, status, opened_at);
CREATE INDEX tickets_status_idx ON tickets (status, opened_at, id);
CREATE INDEX tickets_follow_up_idx ON tickets (follow_up_due_at) WHERE follow_up_status = 'scheduled';

-- Personal offers shown in the app (GET /v1/me/offers), such as the yearly birthday gift.
CREATE TABLE offers (
    id           TEXT PRIMARY KEY NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    kind         TEXT NOT NULL CHECK (kind IN ('birthday')),
    -- The occasion: the year of the birthday.
    occasion     TEXT NOT NULL,
    code         TEXT REFERENCES reward_codes (code),
    bonus_points BIGINT NOT NULL DEFAULT 0,
    valid_from   TIMESTAMP NOT NULL,
    valid_until  TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (customer_id, kind, occasion)
);

-- The last run of each job, whichever instance ran it.
CREATE TABLE job_runs (
    name        TEXT PRIMARY KEY NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    duration_ms BIGINT,
    items       BIGINT NOT NULL DEFAULT 0,
    skipped     BIGINT NOT NULL DEFAULT 0,
    error       TEXT,
    runs        BIGINT NOT NULL DEFAULT 0
);
