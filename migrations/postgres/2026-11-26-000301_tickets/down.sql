DROP INDEX tickets_opened_idx;
DROP INDEX tickets_customer_opened_idx;
