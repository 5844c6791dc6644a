//! CX and loyalty reports (`/v1/reports/...`): NPS, CSAT, CES, comments, loyalty, retention and
//! recovery, computed with SQL aggregates over indexed columns; JSON or CSV (`Accept: text/csv`).

pub mod routes;
