-- What recording a purchase reads under the customer's balance lock, in one call: the lock, then
-- (in a statement of its own, so with a snapshot taken once the lock is held, which sees what the
-- lock's previous holder committed) the balance, the customer, their tier, statistics, qualifying
-- points since `window_start` (comma-separated) and soonest expiry. No row when the customer has
-- no balance row (an unknown id, or a merged record's). One round trip instead of two.
CREATE FUNCTION purchase_standing(p_customer TEXT, p_window_start TEXT)
RETURNS TABLE (
    customer_id          TEXT,
    available            BIGINT,
    pending              BIGINT,
    negative             BIGINT,
    lifetime_earned      BIGINT,
    redeemed             BIGINT,
    expired              BIGINT,
    updated_at           TIMESTAMP,
    last_seq             BIGINT,
    created_at           TIMESTAMP,
    referred_by          TEXT,
    birthday             TEXT,
    time_zone            TEXT,
    erased_at            TIMESTAMP,
    tier_id              TEXT,
    tier_since           TIMESTAMP,
    below_since          TIMESTAMP,
    purchase_count       BIGINT,
    spent_minor          BIGINT,
    returned_minor       BIGINT,
    first_purchase_at    TIMESTAMP,
    last_purchase_at     TIMESTAMP,
    referrals_successful BIGINT,
    segment              TEXT,
    segment_since        TIMESTAMP,
    segment_review_at    TIMESTAMP,
    stats_updated_at     TIMESTAMP,
    qualifying           TEXT,
    expiry_at            TIMESTAMP,
    expiry_points        BIGINT
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    -- The row lock an UPDATE takes, without writing a row version.
    PERFORM 1 FROM balances WHERE balances.customer_id = p_customer FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT b.customer_id, b.available, b.pending, b.negative, b.lifetime_earned, b.redeemed,
           b.expired, b.updated_at, b.last_seq,
           c.created_at, c.referred_by, c.birthday, c.time_zone, c.erased_at,
           ct.tier_id, ct.since, ct.below_since,
           s.purchase_count, s.spent_minor, s.returned_minor, s.first_purchase_at,
           s.last_purchase_at, s.referrals_successful, s.segment, s.segment_since,
           s.segment_review_at, s.updated_at,
           (SELECT string_agg(q.points::text, ',') FROM qualifying_points q
             WHERE q.customer_id = b.customer_id AND q.month >= p_window_start),
           e.expiry_at, e.expiry_points
    FROM balances b
    JOIN customers c ON c.id = b.customer_id
    LEFT JOIN customer_tiers ct ON ct.customer_id = b.customer_id
    LEFT JOIN customer_stats s ON s.customer_id = b.customer_id
    -- The soonest expiry and its points: one pass over the available lots in expiry order.
    LEFT JOIN LATERAL (
        SELECT m.expires_at AS expiry_at, CAST(sum(m.remaining) AS BIGINT) AS expiry_points
        FROM point_lots m
        WHERE m.customer_id = b.customer_id AND m.status = 'available' AND m.remaining > 0
          AND m.expires_at IS NOT NULL
        GROUP BY m.expires_at ORDER BY m.expires_at LIMIT 1
    ) e ON true
    WHERE b.customer_id = p_customer;
END
$$;
