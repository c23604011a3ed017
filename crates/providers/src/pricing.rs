//! The dated price table (data in `config/prices.toml`) and exact cost in integer micro-dollars.

use std::path::Path;

use anyhow::Context as _;
use chrono::NaiveDate;
use figment::{
    providers::{Format, Toml},
    Figment,
};
use serde::Deserialize;

use crate::units::Units;

const BUILTIN: &str = include_str!("../../../config/prices.toml");

/// One model's prices, valid from `effective` until a newer entry for the same provider and model.
/// Every rate is in micro-dollars; absent rates are zero.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Price {
    pub provider: String,
    pub model: String,
    pub effective: NaiveDate,
    #[serde(default)]
    pub input_per_mtok_micros: u64,
    #[serde(default)]
    pub cached_input_per_mtok_micros: u64,
    #[serde(default)]
    pub output_per_mtok_micros: u64,
    #[serde(default)]
    pub per_mchar_micros: u64,
    #[serde(default)]
    pub per_image_micros: u64,
    #[serde(default)]
    pub per_second_micros: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PriceTable {
    price: Vec<Price>,
}

impl PriceTable {
    /// The table shipped in the repository.
    pub fn builtin() -> anyhow::Result<PriceTable> {
        Self::parse(Figment::from(Toml::string(BUILTIN)))
    }

    /// A table from a file, replacing the built-in one.
    pub fn load(path: &Path) -> anyhow::Result<PriceTable> {
        anyhow::ensure!(
            path.exists(),
            "price table {} does not exist",
            path.display()
        );
        Self::parse(Figment::from(Toml::file(path)))
            .with_context(|| format!("price table {}", path.display()))
    }

    fn parse(figment: Figment) -> anyhow::Result<PriceTable> {
        figment.extract().context("the price table is malformed")
    }

    /// The price in force on `day`: the newest entry for the provider and model not after it.
    pub fn price(&self, provider: &str, model: &str, day: NaiveDate) -> Option<&Price> {
        self.price
            .iter()
            .filter(|p| p.provider == provider && p.model == model && p.effective <= day)
            .max_by_key(|p| p.effective)
    }
}

/// Cost in micro-dollars, summed exactly at one-millionth of a micro-dollar and rounded half up once.
pub fn cost_micros(price: &Price, units: &Units) -> u64 {
    let wide = |v: u64| u128::from(v);
    let uncached = units.input_tokens.saturating_sub(units.cached_tokens);
    // Everything is scaled by 10^6: per-million rates as they are, per-unit rates × 10^6, per-second × 10^3 per ms.
    let scaled = wide(uncached) * wide(price.input_per_mtok_micros)
        + wide(units.cached_tokens) * wide(price.cached_input_per_mtok_micros)
        + wide(units.output_tokens) * wide(price.output_per_mtok_micros)
        + wide(units.characters) * wide(price.per_mchar_micros)
        + wide(units.images) * wide(price.per_image_micros) * 1_000_000
        + wide(units.millis) * wide(price.per_second_micros) * 1_000;
    u64::try_from((scaled + 500_000) / 1_000_000).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> anyhow::Result<NaiveDate> {
        Ok(NaiveDate::parse_from_str(text, "%Y-%m-%d")?)
    }

    #[test]
    fn the_price_in_force_is_the_newest_not_after_the_day() -> anyhow::Result<()> {
        let table = PriceTable::builtin()?;
        let price = table
            .price("openai", "gpt-4o-mini", day("2026-11-23")?)
            .map(|p| p.input_per_mtok_micros);
        assert_eq!(price, Some(150_000));
        assert!(
            table
                .price("openai", "gpt-4o-mini", day("2024-01-01")?)
                .is_none(),
            "not yet priced"
        );
        assert!(table
            .price("openai", "unknown-model", day("2026-11-23")?)
            .is_none());
        Ok(())
    }

    #[test]
    fn cost_is_the_table_arithmetic_exactly() -> anyhow::Result<()> {
        let table = PriceTable::builtin()?;
        let price = table
            .price("openai", "gpt-4o-mini", day("2026-11-23")?)
            .ok_or_else(|| anyhow::anyhow!("no price"))?;
        // 100 uncached input × 0.15 + 20 cached × 0.075 + 380 output × 0.60 micro-dollars = 15 + 1.5 + 228 = 244.5 → 245.
        let units = Units {
            input_tokens: 120,
            cached_tokens: 20,
            output_tokens: 380,
            ..Units::default()
        };
        assert_eq!(cost_micros(price, &units), 245);
        assert_eq!(cost_micros(price, &Units::default()), 0);
        let million = Units {
            input_tokens: 1_000_000,
            output_tokens: 1_000_000,
            ..Units::default()
        };
        assert_eq!(cost_micros(price, &million), 750_000);
        Ok(())
    }

    #[test]
    fn characters_images_and_seconds_are_priced_too() {
        let price = Price {
            provider: "p".into(),
            model: "m".into(),
            effective: NaiveDate::MIN,
            input_per_mtok_micros: 0,
            cached_input_per_mtok_micros: 0,
            output_per_mtok_micros: 0,
            per_mchar_micros: 15_000_000,
            per_image_micros: 40_000,
            per_second_micros: 1_400,
        };
        // 1,234 chars × $15/M = 18,510 µ$; 2 images × 40,000; 3,217 ms × 1,400 µ$/s = 4,503.8 → total 102,513.8 → 102,514.
        let units = Units {
            characters: 1_234,
            images: 2,
            millis: 3_217,
            ..Units::default()
        };
        assert_eq!(cost_micros(&price, &units), 18_510 + 80_000 + 4_504);
    }
}
