-- Each customer's own referral code, who referred them, and the one-time referral payouts.
ALTER TABLE customers ADD COLUMN referral_code TEXT;
ALTER TABLE customers ADD COLUMN referred_by TEXT REFERENCES customers (id);
UPDATE customers SET referral_code = upper(substr(md5(random()::text || id), 1, 10)) WHERE referral_code IS NULL;
CREATE UNIQUE INDEX customers_referral_code_idx ON customers (referral_code);
CREATE INDEX customers_referred_by_idx ON customers (referred_by);

CREATE TABLE referral_payouts (
    referred_customer_id TEXT PRIMARY KEY NOT NULL REFERENCES customers (id),
    referrer_customer_id TEXT NOT NULL REFERENCES customers (id),
    purchase_id          TEXT NOT NULL REFERENCES purchases (id),
    referrer_points      BIGINT NOT NULL,
    referred_points      BIGINT NOT NULL,
    paid_at              TIMESTAMP NOT NULL
);
CREATE INDEX referral_payouts_referrer_idx ON referral_payouts (referrer_customer_id);
CREATE INDEX referral_payouts_purchase_idx ON referral_payouts (purchase_id);
