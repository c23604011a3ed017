//! The whole fleet: every service's auth, OpenAPI and metrics in one process, and the binary's lifecycle.

mod binary;
mod budgets;
mod creator;
mod hardening;
mod learning;
mod pipeline;
mod privacy;
mod publishing;
mod schedules;
mod surface;
