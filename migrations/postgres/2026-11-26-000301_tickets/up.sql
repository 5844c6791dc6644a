-- Ticket lists read newest first through an index: a customer's tickets whatever their status
-- (GET /v1/tickets?customer_id=, the export), and all tickets (GET /v1/tickets).
CREATE INDEX tickets_customer_opened_idx ON tickets (customer_id, opened_at, id);
CREATE INDEX tickets_opened_idx ON tickets (opened_at, id);
