-- One version number per kind of data that service instances keep in memory (the program, tiers,
-- earning rules, surveys, API keys, staff, and which customers may still use their tokens).
-- Triggers bump it in the transaction of every write, so each instance, polling this small table,
-- learns that its copy is stale as soon as the write commits, whichever instance or tool made it.
CREATE TABLE cache_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 0
);

INSERT INTO cache_versions (name) VALUES
    ('program'), ('tiers'), ('earning_rules'), ('surveys'), ('api_keys'), ('staff'), ('customers');

CREATE FUNCTION patron_bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END
$$;

CREATE TRIGGER program_cache_version AFTER INSERT OR UPDATE OR DELETE ON program
    FOR EACH STATEMENT EXECUTE FUNCTION patron_bump_cache_version('program');
CREATE TRIGGER tiers_cache_version AFTER INSERT OR UPDATE OR DELETE ON tiers
    FOR EACH STATEMENT EXECUTE FUNCTION patron_bump_cache_version('tiers');
CREATE TRIGGER earning_rules_cache_version AFTER INSERT OR UPDATE OR DELETE ON earning_rules
    FOR EACH STATEMENT EXECUTE FUNCTION patron_bump_cache_version('earning_rules');
CREATE TRIGGER surveys_cache_version AFTER INSERT OR UPDATE OR DELETE ON surveys
    FOR EACH STATEMENT EXECUTE FUNCTION patron_bump_cache_version('surveys');
CREATE TRIGGER api_keys_cache_version AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION patron_bump_cache_version('api_keys');
CREATE TRIGGER staff_cache_version AFTER INSERT OR UPDATE OR DELETE ON staff
    FOR EACH STATEMENT EXECUTE FUNCTION patron_bump_cache_version('staff');
-- Customers change all the time; only an erasure or a merge ends their tokens.
CREATE TRIGGER customers_cache_version AFTER UPDATE ON customers
    FOR EACH ROW
    WHEN (OLD.erased_at IS DISTINCT FROM NEW.erased_at OR OLD.merged_into IS DISTINCT FROM NEW.merged_into)
    EXECUTE FUNCTION patron_bump_cache_version('customers');
CREATE TRIGGER customers_deleted_cache_version AFTER DELETE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION patron_bump_cache_version('customers');
