DROP TABLE reward_codes;
DROP TABLE rewards;
