//! The reelforge fleet as a library: which services exist, for the command and its tests.

pub mod fleet;
