ALTER TABLE point_lots RESET (fillfactor);
ALTER TABLE customer_usage RESET (fillfactor);
ALTER TABLE qualifying_points RESET (fillfactor);
ALTER TABLE customer_stats RESET (fillfactor);
ALTER TABLE balances RESET (fillfactor);
