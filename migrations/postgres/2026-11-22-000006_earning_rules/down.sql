DROP TABLE customer_events;
DROP TABLE earning_rules;
