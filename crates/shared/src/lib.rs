//! Mechanisms shared by every reelforge service; no business rules live here.

pub mod audit;
pub mod auth;
pub mod breaker;
pub mod bus;
pub mod child;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod ffmpeg;
pub mod fleet;
pub mod health;
pub mod housekeeping;
pub mod idempotency;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod page;
pub mod peer;
pub mod privacy;
pub mod process;
pub mod queue_admin;
pub mod rate_limit;
pub mod secrets;
pub mod shutdown;
pub mod storage;
pub mod supervise;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{ApiError, ApiResult};
pub use fleet::{Context, Service};
pub use supervise::Worker;
