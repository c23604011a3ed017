//! The dated price table of text models (data in `config/prices.toml`) and exact cost in micro-dollars.

use std::path::Path;

use anyhow::Context as _;
use chrono::NaiveDate;
use figment::{
    providers::{Format, Toml},
    Figment,
};
use serde::Deserialize;

const BUILTIN: &str = include_str!("../../../config/prices.toml");

/// One price, valid from `effective` until a newer entry for the same model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Price {
    pub provider: String,
    pub model: String,
    pub effective: NaiveDate,
    pub input_per_mtok_micros: u64,
    pub cached_input_per_mtok_micros: u64,
    pub output_per_mtok_micros: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PriceTable {
    price: Vec<Price>,
}

/// Tokens a call used, as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenUsage {
    /// Prompt tokens, cached ones included.
    pub input: u64,
    pub cached_input: u64,
    pub output: u64,
}

impl PriceTable {
    pub fn builtin() -> anyhow::Result<PriceTable> {
        Self::parse(Figment::from(Toml::string(BUILTIN)))
    }

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

    /// The price in force on `day`: the newest entry for the model not after it.
    pub fn price(&self, provider: &str, model: &str, day: NaiveDate) -> Option<&Price> {
        self.price
            .iter()
            .filter(|p| p.provider == provider && p.model == model && p.effective <= day)
            .max_by_key(|p| p.effective)
    }
}

/// Cost in micro-dollars, rounded half up once at the end (never per token class).
pub fn cost_micros(price: &Price, usage: TokenUsage) -> u64 {
    let uncached = usage.input.saturating_sub(usage.cached_input);
    let scaled = uncached * price.input_per_mtok_micros
        + usage.cached_input * price.cached_input_per_mtok_micros
        + usage.output * price.output_per_mtok_micros;
    (scaled + 500_000) / 1_000_000
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
            .price("openai-compatible", "gpt-4o-mini", day("2026-11-23")?)
            .map(|p| p.input_per_mtok_micros);
        assert_eq!(price, Some(150_000));
        assert!(
            table
                .price("openai-compatible", "gpt-4o-mini", day("2024-01-01")?)
                .is_none(),
            "not yet priced"
        );
        assert!(table
            .price("openai-compatible", "unknown-model", day("2026-11-23")?)
            .is_none());
        Ok(())
    }

    #[test]
    fn cost_is_the_table_arithmetic_exactly() -> anyhow::Result<()> {
        let table = PriceTable::builtin()?;
        let price = table
            .price("openai-compatible", "gpt-4o-mini", day("2026-11-23")?)
            .ok_or_else(|| anyhow::anyhow!("no price"))?;
        // 100 uncached input × 0.15 + 20 cached × 0.075 + 380 output × 0.60 micro-dollars = 15 + 1.5 + 228 = 244.5 → 245.
        let usage = TokenUsage {
            input: 120,
            cached_input: 20,
            output: 380,
        };
        assert_eq!(cost_micros(price, usage), 245);
        assert_eq!(cost_micros(price, TokenUsage::default()), 0);
        assert_eq!(
            cost_micros(
                price,
                TokenUsage {
                    input: 1_000_000,
                    cached_input: 0,
                    output: 1_000_000
                }
            ),
            750_000
        );
        Ok(())
    }
}
