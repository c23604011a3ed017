//! Spend anomalies: a tenant's spend today over a threshold, or its provider error rate today over a
//! ratio; stored and emitted once per day and kind, and exported as gauges for alert rules.

use std::sync::Arc;

use chrono::Utc;
use prometheus::{IntGaugeVec, Opts};
use shared::metrics::Metrics;
use sqlx::PgConnection;

use crate::{
    config::BillingConfig,
    quota::{self, dollars, Notice},
};

/// Today's figures per tenant, and the thresholds that raise a notification.
#[derive(Clone)]
pub struct Alerts {
    config: BillingConfig,
    gauges: Arc<Gauges>,
}

struct Gauges {
    daily_spend: IntGaugeVec,
    error_permille: IntGaugeVec,
}

impl Alerts {
    pub fn new(config: BillingConfig, metrics: &Metrics) -> anyhow::Result<Self> {
        let gauges = metrics.extension(|registry| {
            let daily_spend = IntGaugeVec::new(
                Opts::new(
                    "reelforge_billing_daily_spend_micros",
                    "A tenant's spend today (UTC), in micro-dollars.",
                ),
                &["tenant"],
            )?;
            let error_permille = IntGaugeVec::new(
                Opts::new(
                    "reelforge_billing_error_permille",
                    "A tenant's failed provider calls today, per thousand calls.",
                ),
                &["tenant"],
            )?;
            registry.register(Box::new(daily_spend.clone()))?;
            registry.register(Box::new(error_permille.clone()))?;
            Ok(Gauges {
                daily_spend,
                error_permille,
            })
        })?;
        Ok(Self { config, gauges })
    }

    /// Updates the gauges of `tenants` and raises the anomalies not raised yet today.
    pub async fn check(
        &self,
        tx: &mut PgConnection,
        tenants: &[String],
    ) -> anyhow::Result<Vec<Notice>> {
        let today = Utc::now().date_naive();
        let mut notices = Vec::new();
        let figures = sqlx::query!(
            r#"SELECT tenant, sum(cost_micros)::int8 AS "spent!", sum(calls)::int8 AS "calls!",
                      sum(failures)::int8 AS "failures!"
               FROM billing.daily_rollups WHERE period = $1 AND tenant = ANY($2) GROUP BY tenant"#,
            today,
            tenants
        )
        .fetch_all(&mut *tx)
        .await?;
        for figure in figures {
            let (tenant, spent, calls, failures) =
                (figure.tenant, figure.spent, figure.calls, figure.failures);
            let tenant = &tenant;
            let permille = if calls > 0 {
                failures * 1000 / calls
            } else {
                0
            };
            self.gauges
                .daily_spend
                .with_label_values(&[tenant])
                .set(spent);
            self.gauges
                .error_permille
                .with_label_values(&[tenant])
                .set(permille);
            let mut raised = Vec::new();
            if spent > self.config.daily_spend_alert_micros {
                raised.push(Notice {
                    tenant: tenant.clone(),
                    kind: format!("daily_spend:{today}"),
                    detail: format!(
                        "tenant `{tenant}` spent {} today, over the alert threshold of {}",
                        dollars(spent),
                        dollars(self.config.daily_spend_alert_micros)
                    ),
                });
            }
            if calls >= self.config.error_rate_min_calls
                && permille > self.config.error_rate_alert_permille
            {
                raised.push(Notice {
                    tenant: tenant.clone(),
                    kind: format!("error_rate:{today}"),
                    detail: format!(
                        "tenant `{tenant}`: {failures} of {calls} provider calls failed today ({}.{} %), over the alert threshold of {}.{} %",
                        permille / 10,
                        permille % 10,
                        self.config.error_rate_alert_permille / 10,
                        self.config.error_rate_alert_permille % 10
                    ),
                });
            }
            for notice in raised {
                if quota::store(tx, quota::this_month(), &notice).await? {
                    notices.push(notice);
                }
            }
        }
        Ok(notices)
    }
}
