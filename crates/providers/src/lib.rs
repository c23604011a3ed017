//! The provider layer: every paid AI call goes through a chain of clients with retries, circuit
//! breakers, a response cache, and one usage entry with exact cost per call.

pub mod admin;
pub mod budget;
pub mod cache;
pub mod capability;
pub mod catalogue;
pub mod chain;
pub mod client;
pub mod clients;
pub mod config;
pub mod http;
pub mod metrics;
pub mod pricing;
pub mod registry;
pub mod schema;
pub mod setup;
pub mod units;
pub mod usage;

pub use capability::{Capability, Image, Moderation, Music, Speech, Text};
pub use chain::{CallOptions, Chain, ChainError, Completed, Layer};
pub use client::{Answer, CallError, Client};
pub use setup::Setup;
pub use units::Units;
pub use usage::{CallContext, UsageEntry};
