//! The learning loop's maths: A/B bucketing, Thompson-sampling bandits and confidence decay.

pub mod bandit;
pub mod bucketing;
pub mod decay;
