-- What redeeming a reward reads under the customer's balance lock, in one call: the lock, then
-- (in a statement of its own, so with a snapshot taken once the lock is held, which sees what the
-- lock's previous holder committed) the balance, whether the customer was erased, the reward
-- `p_reward` (NULL columns when there is none) and the first `p_lots` available lots in the order
-- spending takes them (soonest expiry first, lots that never expire last): one row per lot, or one
-- row with NULL lot columns when there are none. No row when the customer has no balance row (an
-- unknown id, or a merged record's). One round trip instead of two.
CREATE FUNCTION redemption_standing(p_customer TEXT, p_reward TEXT, p_lots BIGINT)
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
    erased_at            TIMESTAMP,
    r_id                 TEXT,
    r_name               TEXT,
    r_description        TEXT,
    r_kind               TEXT,
    r_percent_off        BIGINT,
    r_amount_off_minor   BIGINT,
    r_sku                TEXT,
    r_cost_points        BIGINT,
    r_min_tier_id        TEXT,
    r_stock              BIGINT,
    r_per_customer_limit BIGINT,
    r_valid_from         TIMESTAMP,
    r_valid_until        TIMESTAMP,
    r_code_validity_days BIGINT,
    r_active             BOOLEAN,
    r_created_at         TIMESTAMP,
    r_updated_at         TIMESTAMP,
    lot_id               TEXT,
    lot_remaining        BIGINT,
    lot_expires_at       TIMESTAMP
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
           b.expired, b.updated_at, b.last_seq, c.erased_at,
           r.id, r.name, r.description, r.kind, r.percent_off, r.amount_off_minor, r.sku,
           r.cost_points, r.min_tier_id, r.stock, r.per_customer_limit, r.valid_from,
           r.valid_until, r.code_validity_days, r.active, r.created_at, r.updated_at,
           l.id, l.remaining, l.expires_at
    FROM balances b
    JOIN customers c ON c.id = b.customer_id
    LEFT JOIN rewards r ON r.id = p_reward
    LEFT JOIN LATERAL (
        SELECT m.id, m.remaining, m.expires_at
        FROM point_lots m
        WHERE m.customer_id = b.customer_id AND m.status = 'available' AND m.remaining > 0
        ORDER BY m.expires_at IS NULL, m.expires_at, m.id
        LIMIT p_lots
    ) l ON true
    WHERE b.customer_id = p_customer
    ORDER BY l.expires_at IS NULL, l.expires_at, l.id;
END
$$;
