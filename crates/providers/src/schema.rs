//! JSON Schema validation of structured replies, with compiled validators kept per schema.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use serde_json::Value;

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

fn validators() -> &'static Validators {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    VALIDATORS.get_or_init(Validators::default)
}

/// `Ok` when `instance` matches `schema`; otherwise the first few violations with their paths.
pub fn validate(schema: &Value, instance: &Value) -> Result<(), String> {
    let key = schema.to_string();
    let cached = validators().lock().ok().and_then(|v| v.get(&key).cloned());
    let validator = match cached {
        Some(validator) => validator,
        None => {
            let compiled = Arc::new(
                jsonschema::validator_for(schema).map_err(|e| format!("invalid schema: {e}"))?,
            );
            if let Ok(mut map) = validators().lock() {
                map.insert(key, compiled.clone());
            }
            compiled
        }
    };
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .take(3)
        .map(|e| format!("{} at `{}`", e, e.instance_path))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the reply does not match the schema: {}",
            errors.join("; ")
        ))
    }
}
