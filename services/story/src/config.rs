//! `[services.story]`: no settings yet. Reading the table at start still refuses any key in it, so
//! a misplaced or misspelt setting is an error instead of being silently ignored.

/// `[services.story]` configuration.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct StoryConfig {}
