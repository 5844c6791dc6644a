DROP TABLE job_runs;
DROP TABLE offers;
DROP TABLE tickets;
DROP TABLE message_templates;
DROP TABLE message_attempts;
DROP TABLE messages;
DROP INDEX customers_birthday_md_idx;
ALTER TABLE customers DROP COLUMN birthday_set_at;
ALTER TABLE customers DROP COLUMN birthday_md;
