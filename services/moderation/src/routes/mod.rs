//! Moderation's HTTP surface: the decisions each round made, and the reviews a human settles.

pub(crate) mod decisions;
pub(crate) mod reviews;
