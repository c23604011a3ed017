//! The billing service against real Postgres and Redis: ledger ingestion and rollups, quotas and
//! plans, budgets under concurrency, the cost API and estimates.

mod budgets;
mod costs;
mod ledger;
mod support;
