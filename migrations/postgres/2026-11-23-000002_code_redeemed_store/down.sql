ALTER TABLE reward_codes DROP COLUMN redeemed_store_id;
