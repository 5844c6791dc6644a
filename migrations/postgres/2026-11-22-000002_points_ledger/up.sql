-- The loyalty program document, purchases, and the points ledger with lots and balances.
CREATE TABLE program (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    document   TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE purchases (
    id            TEXT PRIMARY KEY NOT NULL,
    external_id   TEXT NOT NULL UNIQUE,
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    store_id      TEXT,
    channel       TEXT NOT NULL CHECK (channel IN ('store', 'web', 'app', 'phone', 'marketplace')),
    occurred_at   TIMESTAMP NOT NULL,
    currency      TEXT NOT NULL,
    total_minor   BIGINT NOT NULL CHECK (total_minor >= 0),
    points_earned BIGINT NOT NULL CHECK (points_earned >= 0),
    breakdown     TEXT NOT NULL,
    -- Running totals of returns, so that returns never exceed the purchase.
    returned_minor  BIGINT NOT NULL DEFAULT 0 CHECK (returned_minor >= 0 AND returned_minor <= total_minor),
    points_reversed BIGINT NOT NULL DEFAULT 0 CHECK (points_reversed >= 0 AND points_reversed <= points_earned),
    request_hash  TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX purchases_customer_idx ON purchases (customer_id, occurred_at, id);

CREATE TABLE purchase_lines (
    purchase_id      TEXT NOT NULL REFERENCES purchases (id),
    line_no          INTEGER NOT NULL,
    sku              TEXT NOT NULL,
    name             TEXT,
    category         TEXT,
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_minor BIGINT NOT NULL CHECK (unit_price_minor >= 0),
    points           BIGINT NOT NULL CHECK (points >= 0),
    returned_quantity BIGINT NOT NULL DEFAULT 0 CHECK (returned_quantity >= 0 AND returned_quantity <= quantity),
    points_reversed   BIGINT NOT NULL DEFAULT 0 CHECK (points_reversed >= 0 AND points_reversed <= points),
    PRIMARY KEY (purchase_id, line_no)
);

CREATE TABLE purchase_returns (
    id              TEXT PRIMARY KEY NOT NULL,
    external_id     TEXT NOT NULL UNIQUE,
    purchase_id     TEXT NOT NULL REFERENCES purchases (id),
    amount_minor    BIGINT NOT NULL CHECK (amount_minor > 0),
    points_reversed BIGINT NOT NULL CHECK (points_reversed >= 0),
    points_uncovered BIGINT NOT NULL CHECK (points_uncovered >= 0 AND points_uncovered <= points_reversed),
    request_hash    TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX purchase_returns_purchase_idx ON purchase_returns (purchase_id);

CREATE TABLE balances (
    customer_id     TEXT PRIMARY KEY NOT NULL REFERENCES customers (id),
    available       BIGINT NOT NULL DEFAULT 0 CHECK (available >= 0),
    pending         BIGINT NOT NULL DEFAULT 0 CHECK (pending >= 0),
    negative        BIGINT NOT NULL DEFAULT 0 CHECK (negative >= 0),
    lifetime_earned BIGINT NOT NULL DEFAULT 0,
    redeemed        BIGINT NOT NULL DEFAULT 0,
    expired         BIGINT NOT NULL DEFAULT 0,
    updated_at      TIMESTAMP NOT NULL
);
INSERT INTO balances (customer_id, updated_at) SELECT id, created_at FROM customers;

CREATE TABLE point_lots (
    id           TEXT PRIMARY KEY NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    source_type  TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    points       BIGINT NOT NULL CHECK (points > 0),
    remaining    BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'available', 'expired')),
    earned_at    TIMESTAMP NOT NULL,
    available_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP
);
CREATE INDEX point_lots_customer_idx ON point_lots (customer_id, status, expires_at);
CREATE INDEX point_lots_release_idx ON point_lots (status, available_at);
CREATE INDEX point_lots_source_idx ON point_lots (source_type, source_id);

CREATE TABLE ledger_entries (
    id            TEXT PRIMARY KEY NOT NULL,
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    kind          TEXT NOT NULL CHECK (kind IN ('earn', 'bonus', 'release', 'redeem', 'reverse', 'expire', 'adjust', 'refund')),
    points        BIGINT NOT NULL,
    pending       BIGINT NOT NULL,
    negative      BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    pending_after BIGINT NOT NULL,
    source_type   TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    lot_id        TEXT REFERENCES point_lots (id),
    note          TEXT,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP
);
CREATE INDEX ledger_entries_customer_idx ON ledger_entries (customer_id, created_at, id);
CREATE INDEX ledger_entries_lot_idx ON ledger_entries (lot_id);
-- A lot is released and expired at most once each, whichever instance runs the jobs.
CREATE UNIQUE INDEX ledger_entries_lot_job_once ON ledger_entries (lot_id, kind) WHERE kind IN ('release', 'expire');

-- Posted entries are immutable: corrections are new entries.
CREATE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable();
