DROP TABLE referral_payouts;
DROP INDEX customers_referred_by_idx;
DROP INDEX customers_referral_code_idx;
ALTER TABLE customers DROP COLUMN referred_by;
ALTER TABLE customers DROP COLUMN referral_code;
