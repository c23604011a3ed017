//! Publishing's own metrics: publications by platform and outcome, and bytes uploaded (whose rate
//! is the upload throughput).

use std::sync::Arc;

use prometheus::{IntCounterVec, IntGaugeVec, Opts};
use shared::metrics::Metrics;

use crate::platform::Platform;

pub struct PublishingMetrics {
    publications: IntCounterVec,
    upload_bytes: IntCounterVec,
    quota_remaining: IntGaugeVec,
}

impl PublishingMetrics {
    /// The collectors in `metrics`' registry, registered once per process.
    pub fn new(metrics: &Metrics) -> anyhow::Result<Arc<PublishingMetrics>> {
        metrics.extension(|registry| {
            let publications = IntCounterVec::new(
                Opts::new(
                    "reelforge_publications_total",
                    "Publications settled, by platform and outcome (published, deferred, failed).",
                ),
                &["platform", "outcome"],
            )?;
            let upload_bytes = IntCounterVec::new(
                Opts::new(
                    "reelforge_upload_bytes_total",
                    "Video bytes sent to the platforms; its rate is the upload throughput.",
                ),
                &["platform"],
            )?;
            let quota_remaining = IntGaugeVec::new(
                Opts::new(
                    "reelforge_platform_quota_remaining",
                    "Uploads an account may still start in its platform's current quota window.",
                ),
                &["platform", "account_id"],
            )?;
            registry.register(Box::new(publications.clone()))?;
            registry.register(Box::new(upload_bytes.clone()))?;
            registry.register(Box::new(quota_remaining.clone()))?;
            Ok(PublishingMetrics {
                publications,
                upload_bytes,
                quota_remaining,
            })
        })
    }

    pub fn outcome(&self, platform: Platform, outcome: &str) {
        self.publications
            .with_label_values(&[platform.as_str(), outcome])
            .inc();
    }

    pub fn uploaded(&self, platform: Platform, bytes: u64) {
        self.upload_bytes
            .with_label_values(&[platform.as_str()])
            .inc_by(bytes);
    }

    pub fn quota_remaining(&self, platform: Platform, account_id: uuid::Uuid, remaining: u32) {
        self.quota_remaining
            .with_label_values(&[platform.as_str(), &account_id.to_string()])
            .set(i64::from(remaining));
    }
}
