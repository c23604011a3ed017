//! The learning loop against real Postgres and Redis: every platform analytics client against a
//! fake speaking its documented wire format (faults included); collection on the cadence with an
//! injected clock; reports, configs, experiments, insights and recommendations through the API;
//! and a simulated audience the loop must serve better than chance.

mod collection;
mod configs;
mod experiments;
mod fake_fleet;
mod fake_meta;
mod fake_reporting;
mod fake_server;
mod fake_tiktok;
mod fake_youtube;
mod harness;
mod insights;
mod meta;
mod reporting;
mod reports;
mod simulation;
mod tiktok;
mod youtube;

use std::fmt::Debug;

use analytics::collect::PullError;
use chrono::NaiveDate;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

pub fn day(year: i32, month: u32, day: u32) -> Result<NaiveDate, Box<dyn std::error::Error>> {
    Ok(NaiveDate::from_ymd_opt(year, month, day).ok_or("no such day")?)
}

/// The error a call ended in, or a test failure when it succeeded.
pub fn failure<T: Debug>(
    result: Result<T, PullError>,
) -> Result<PullError, Box<dyn std::error::Error>> {
    match result {
        Err(error) => Ok(error),
        Ok(value) => Err(format!("expected an error, got {value:?}").into()),
    }
}

/// A base URL nothing listens at.
pub async fn dead_base_url() -> Result<String, Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    drop(listener);
    Ok(url)
}

pub fn ids(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i:04}")).collect()
}
