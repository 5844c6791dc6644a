-- The store whose API key redeemed a code: a store-bound key cancels only its own store's codes.
ALTER TABLE reward_codes ADD COLUMN redeemed_store_id TEXT;
