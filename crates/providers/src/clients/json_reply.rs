//! Asking for JSON in the prompt and reading it back, for APIs without a structured-output mode.

use serde_json::Value;

use crate::{client::CallError, units::Units};

use super::openai_chat::strip_fences;

/// The instruction appended to the system prompt: the schema the reply must match.
pub(crate) fn schema_instruction(schema: &Value) -> String {
    format!("Reply with only a JSON object matching this JSON Schema: {schema}")
}

/// The system prompt followed by the schema instruction.
pub(crate) fn system_with_schema(system: &str, schema: &Value) -> String {
    let instruction = schema_instruction(schema);
    if system.trim().is_empty() {
        instruction
    } else {
        format!("{system}\n\n{instruction}")
    }
}

/// Parses model text as JSON (without a Markdown fence); a failure is invalid output that still
/// consumed `units`.
pub(crate) fn parse(content: &str, units: Units) -> Result<Value, CallError> {
    serde_json::from_str(strip_fences(content)).map_err(|e| CallError::InvalidOutput {
        detail: format!("the content is not JSON: {e}"),
        units,
    })
}
