//! `[services.billing]` configuration: ingestion batch size, alert thresholds, reservation leases.

use providers::{config::ProvidersConfig, pricing::PriceTable};
use serde::Deserialize;
use shared::Context;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillingConfig {
    /// Usage entries read from the stream and written per database round trip.
    pub ingest_batch: usize,
    /// Consumers of the `usage` stream in this process: one reads while another writes.
    pub ingest_consumers: usize,
    /// A tenant's spend in one UTC day above this raises a `daily_spend` notification.
    pub daily_spend_alert_micros: i64,
    /// Failed provider calls per thousand above this raise an `error_rate` notification…
    pub error_rate_alert_permille: i64,
    /// …once the tenant made at least this many calls that day.
    pub error_rate_min_calls: i64,
    /// A reservation's lease unless the caller asks for another.
    pub reservation_ttl_secs: u64,
    /// The longest lease a caller may ask for.
    pub max_reservation_ttl_secs: u64,
    /// How often expired leases are released.
    pub sweep_interval_ms: u64,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            ingest_batch: 5000,
            ingest_consumers: 2,
            daily_spend_alert_micros: 200_000_000,
            error_rate_alert_permille: 50,
            error_rate_min_calls: 20,
            reservation_ttl_secs: 300,
            max_reservation_ttl_secs: 3600,
            sweep_interval_ms: 1000,
        }
    }
}

impl BillingConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.ingest_batch >= 1,
            "configuration key `services.billing.ingest_batch`: must be at least 1"
        );
        anyhow::ensure!(
            (1..=16).contains(&self.ingest_consumers),
            "configuration key `services.billing.ingest_consumers`: must be between 1 and 16"
        );
        anyhow::ensure!(
            self.reservation_ttl_secs >= 1
                && self.reservation_ttl_secs <= self.max_reservation_ttl_secs,
            "configuration key `services.billing.reservation_ttl_secs`: must be between 1 and max_reservation_ttl_secs"
        );
        anyhow::ensure!(
            self.sweep_interval_ms >= 10,
            "configuration key `services.billing.sweep_interval_ms`: must be at least 10"
        );
        Ok(())
    }
}

/// `[services.billing]`, validated.
pub(crate) fn settings(ctx: &Context) -> anyhow::Result<BillingConfig> {
    let config: BillingConfig = ctx.settings.service("billing")?;
    config.validate()?;
    Ok(config)
}

/// The price table the provider layer bills with (its `providers.prices_file` when set).
pub(crate) fn prices(ctx: &Context) -> anyhow::Result<PriceTable> {
    ctx.settings
        .section::<ProvidersConfig>("providers")?
        .price_table()
}
