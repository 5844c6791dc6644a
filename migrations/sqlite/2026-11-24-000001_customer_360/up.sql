-- The customer 360: merge aliases and erasure, purchase statistics kept as purchases arrive,
-- segments, the timeline of interactions, and the word index behind name search.
ALTER TABLE customers ADD COLUMN merged_into TEXT REFERENCES customers (id);
ALTER TABLE customers ADD COLUMN merged_at TIMESTAMP;
ALTER TABLE customers ADD COLUMN erased_at TIMESTAMP;
CREATE INDEX customers_merged_into_idx ON customers (merged_into);

CREATE TABLE customer_stats (
    customer_id          TEXT PRIMARY KEY NOT NULL REFERENCES customers (id),
    purchase_count       BIGINT NOT NULL DEFAULT 0,
    spent_minor          BIGINT NOT NULL DEFAULT 0,
    returned_minor       BIGINT NOT NULL DEFAULT 0,
    first_purchase_at    TIMESTAMP,
    last_purchase_at     TIMESTAMP,
    referrals_successful BIGINT NOT NULL DEFAULT 0,
    segment              TEXT NOT NULL DEFAULT 'new',
    segment_since        TIMESTAMP NOT NULL,
    segment_review_at    TIMESTAMP,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX customer_stats_segment_idx ON customer_stats (segment, customer_id);
CREATE INDEX customer_stats_review_idx ON customer_stats (segment_review_at);

INSERT INTO customer_stats (customer_id, purchase_count, spent_minor, returned_minor,
                            first_purchase_at, last_purchase_at, referrals_successful,
                            segment, segment_since, segment_review_at, updated_at)
SELECT c.id,
       (SELECT count(*) FROM purchases p WHERE p.customer_id = c.id),
       (SELECT coalesce(sum(p.total_minor), 0) FROM purchases p WHERE p.customer_id = c.id),
       (SELECT coalesce(sum(p.returned_minor), 0) FROM purchases p WHERE p.customer_id = c.id),
       (SELECT min(p.occurred_at) FROM purchases p WHERE p.customer_id = c.id),
       (SELECT max(p.occurred_at) FROM purchases p WHERE p.customer_id = c.id),
       (SELECT count(*) FROM referral_payouts r WHERE r.referrer_customer_id = c.id),
       'new', c.created_at, c.created_at, c.updated_at
FROM customers c;

CREATE TABLE customer_usage (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    dimension   TEXT NOT NULL CHECK (dimension IN ('channel', 'store', 'category')),
    value       TEXT NOT NULL,
    purchases   BIGINT NOT NULL,
    spent_minor BIGINT NOT NULL,
    last_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (customer_id, dimension, value)
);

INSERT INTO customer_usage (customer_id, dimension, value, purchases, spent_minor, last_at)
SELECT customer_id, 'channel', channel, count(*), sum(total_minor - returned_minor), max(occurred_at)
FROM purchases GROUP BY customer_id, channel;
INSERT INTO customer_usage (customer_id, dimension, value, purchases, spent_minor, last_at)
SELECT customer_id, 'store', store_id, count(*), sum(total_minor - returned_minor), max(occurred_at)
FROM purchases WHERE store_id IS NOT NULL GROUP BY customer_id, store_id;
INSERT INTO customer_usage (customer_id, dimension, value, purchases, spent_minor, last_at)
SELECT p.customer_id, 'category', l.category, count(DISTINCT p.id),
       sum((l.quantity - l.returned_quantity) * l.unit_price_minor), max(p.occurred_at)
FROM purchase_lines l JOIN purchases p ON p.id = l.purchase_id
WHERE l.category IS NOT NULL GROUP BY p.customer_id, l.category;

CREATE TABLE timeline_events (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    summary     TEXT NOT NULL,
    ref_type    TEXT NOT NULL,
    ref_id      TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX timeline_events_customer_idx ON timeline_events (customer_id, occurred_at, id);
CREATE INDEX timeline_events_kind_idx ON timeline_events (customer_id, kind, occurred_at, id);
-- Points entries join the timeline by time.
CREATE INDEX ledger_entries_customer_time_idx ON ledger_entries (customer_id, created_at, id);

INSERT INTO timeline_events (id, customer_id, kind, channel, summary, ref_type, ref_id, occurred_at, recorded_at)
SELECT 'created-' || id, id, 'created', 'api', 'Joined the club', 'customer', id, created_at, created_at
FROM customers;
INSERT INTO timeline_events (id, customer_id, kind, channel, summary, ref_type, ref_id, occurred_at, recorded_at)
SELECT 'purchase-' || id, customer_id, 'purchase', channel,
       'Purchase ' || external_id || ': ' || total_minor || ' minor units ' || currency,
       'purchase', id, occurred_at, created_at
FROM purchases;
INSERT INTO timeline_events (id, customer_id, kind, channel, summary, ref_type, ref_id, occurred_at, recorded_at)
SELECT 'return-' || r.id, p.customer_id, 'return', p.channel,
       'Return ' || r.external_id || ' of purchase ' || p.external_id || ': ' || r.amount_minor || ' minor units ' || p.currency,
       'return', r.id, r.created_at, r.created_at
FROM purchase_returns r JOIN purchases p ON p.id = r.purchase_id;
INSERT INTO timeline_events (id, customer_id, kind, channel, summary, ref_type, ref_id, occurred_at, recorded_at)
SELECT 'redemption-' || code, customer_id, 'redemption', 'api',
       'Redeemed a reward for ' || points_spent || ' points', 'code', code, issued_at, issued_at
FROM reward_codes;
INSERT INTO timeline_events (id, customer_id, kind, channel, summary, ref_type, ref_id, occurred_at, recorded_at)
SELECT 'code_used-' || code, customer_id, 'code_used', 'store', 'Used a reward code', 'code', code, used_at, used_at
FROM reward_codes WHERE used_at IS NOT NULL;
INSERT INTO timeline_events (id, customer_id, kind, channel, summary, ref_type, ref_id, occurred_at, recorded_at)
SELECT 'tier_change-' || id, customer_id, 'tier_change', 'system', 'Tier ' || reason, 'tier_change', id, at, at
FROM tier_changes;
INSERT INTO timeline_events (id, customer_id, kind, channel, summary, ref_type, ref_id, occurred_at, recorded_at)
SELECT 'event-' || id, customer_id, 'event', 'api', 'Event ' || name, 'event', id, occurred_at, created_at
FROM customer_events;

-- Words of names, emails, phones and external ids, lower-cased; a name search is a prefix range
-- over this index. Rows written before this table existed get their whole fields as terms.
CREATE TABLE customer_search_terms (
    term        TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    PRIMARY KEY (term, customer_id)
);
CREATE INDEX customer_search_terms_customer_idx ON customer_search_terms (customer_id);
INSERT OR IGNORE INTO customer_search_terms (term, customer_id)
SELECT lower(first_name), id FROM customers WHERE first_name IS NOT NULL
UNION SELECT lower(last_name), id FROM customers WHERE last_name IS NOT NULL
UNION SELECT email, id FROM customers WHERE email IS NOT NULL
UNION SELECT phone, id FROM customers WHERE phone IS NOT NULL
UNION SELECT lower(external_id), id FROM customers WHERE external_id IS NOT NULL;
