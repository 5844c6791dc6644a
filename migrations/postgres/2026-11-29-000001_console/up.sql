-- The staff console: signed-in sessions (only a hash of the cookie is stored) and each staff
-- member's language.
CREATE TABLE console_sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    staff_id     TEXT NOT NULL REFERENCES staff (id),
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    -- The one-time key of the last form that must not take effect twice (a new API key).
    last_form_key TEXT
);
CREATE INDEX console_sessions_staff_idx ON console_sessions (staff_id);
CREATE INDEX console_sessions_created_at_idx ON console_sessions (created_at);

CREATE TABLE console_preferences (
    staff_id   TEXT PRIMARY KEY NOT NULL REFERENCES staff (id),
    language   TEXT NOT NULL CHECK (language IN ('en', 'fa', 'ar')),
    updated_at TIMESTAMP NOT NULL
);
