DROP TABLE audit_log;
DROP TABLE customer_tags;
DROP TABLE customers;
DROP TABLE api_keys;
DROP TABLE staff;
