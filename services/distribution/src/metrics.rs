//! Publishing's own metrics: publications by platform and outcome, and bytes uploaded (whose rate
//! is the upload throughput).

use std::sync::Arc;

use prometheus::{IntCounterVec, Opts};
use shared::metrics::Metrics;

use crate::platform::Platform;

pub struct PublishingMetrics {
    publications: IntCounterVec,
    upload_bytes: IntCounterVec,
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
                    "Video bytes the platforms accepted; its rate is the upload throughput.",
                ),
                &["platform"],
            )?;
            registry.register(Box::new(publications.clone()))?;
            registry.register(Box::new(upload_bytes.clone()))?;
            Ok(PublishingMetrics {
                publications,
                upload_bytes,
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
}
