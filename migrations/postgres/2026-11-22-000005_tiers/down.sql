DROP TABLE tier_changes;
DROP TABLE qualifying_points;
DROP TABLE customer_tiers;
DROP TABLE tiers;
