-- PostgreSQL's migration of this name adds a function that locks a customer's balance and reads
-- what a redemption needs in one round trip; on SQLite a statement is a function call, and the
-- service reads one table at a time. Kept so that both backends have the same migrations.
SELECT 1;
