-- One version number per kind of data that service instances keep in memory (the program, tiers,
-- earning rules, surveys, API keys, staff, and which customers may still use their tokens).
-- Triggers bump it in the transaction of every write, so each instance, polling this small table,
-- learns that its copy is stale as soon as the write commits, whichever process made it.
CREATE TABLE cache_versions (
    name TEXT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL DEFAULT 0
);

INSERT INTO cache_versions (name) VALUES
    ('program'), ('tiers'), ('earning_rules'), ('surveys'), ('api_keys'), ('staff'), ('customers');

CREATE TRIGGER program_inserted_cache_version AFTER INSERT ON program
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'program';
END;

CREATE TRIGGER program_updated_cache_version AFTER UPDATE ON program
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'program';
END;

CREATE TRIGGER program_deleted_cache_version AFTER DELETE ON program
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'program';
END;

CREATE TRIGGER tiers_inserted_cache_version AFTER INSERT ON tiers
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'tiers';
END;

CREATE TRIGGER tiers_updated_cache_version AFTER UPDATE ON tiers
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'tiers';
END;

CREATE TRIGGER tiers_deleted_cache_version AFTER DELETE ON tiers
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'tiers';
END;

CREATE TRIGGER earning_rules_inserted_cache_version AFTER INSERT ON earning_rules
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'earning_rules';
END;

CREATE TRIGGER earning_rules_updated_cache_version AFTER UPDATE ON earning_rules
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'earning_rules';
END;

CREATE TRIGGER earning_rules_deleted_cache_version AFTER DELETE ON earning_rules
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'earning_rules';
END;

CREATE TRIGGER surveys_inserted_cache_version AFTER INSERT ON surveys
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'surveys';
END;

CREATE TRIGGER surveys_updated_cache_version AFTER UPDATE ON surveys
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'surveys';
END;

CREATE TRIGGER surveys_deleted_cache_version AFTER DELETE ON surveys
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'surveys';
END;

CREATE TRIGGER api_keys_inserted_cache_version AFTER INSERT ON api_keys
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'api_keys';
END;

CREATE TRIGGER api_keys_updated_cache_version AFTER UPDATE ON api_keys
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'api_keys';
END;

CREATE TRIGGER api_keys_deleted_cache_version AFTER DELETE ON api_keys
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'api_keys';
END;

CREATE TRIGGER staff_inserted_cache_version AFTER INSERT ON staff
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'staff';
END;

CREATE TRIGGER staff_updated_cache_version AFTER UPDATE ON staff
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'staff';
END;

CREATE TRIGGER staff_deleted_cache_version AFTER DELETE ON staff
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'staff';
END;

-- Customers change all the time; only an erasure or a merge ends their tokens.
CREATE TRIGGER customers_updated_cache_version AFTER UPDATE OF erased_at, merged_into ON customers
WHEN OLD.erased_at IS NOT NEW.erased_at OR OLD.merged_into IS NOT NEW.merged_into
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'customers';
END;
CREATE TRIGGER customers_deleted_cache_version AFTER DELETE ON customers
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'customers';
END;
