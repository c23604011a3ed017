//! Request extractors whose rejections are `{code, detail}` errors instead of plain text.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, HeaderMap, StatusCode},
};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::ApiError;

/// JSON body: malformed JSON is a 400, a well-formed body of the wrong shape a 422 naming the
/// field (its path, from `serde_path_to_error`), a body of another type 415, too large 413.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected `Content-Type: application/json`",
            ));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "request body too large",
                    )
                } else {
                    ApiError::bad_request(rejection.body_text())
                }
            })?;
        decode(&body).map(Json)
    }
}

/// `application/json`, or any `application/…+json`, parameters aside.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(essence) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
    else {
        return false;
    };
    let essence = essence.trim().to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The body as `T`; the error names the path of the value that did not fit.
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer);
    if value.is_ok() {
        // Only whitespace may follow the value.
        deserializer.end().map_err(|error| {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", error.to_string())
        })?;
    }
    value.map_err(|error: serde_path_to_error::Error<serde_json::Error>| {
        let detail = error.to_string();
        match error.inner().classify() {
            Category::Data => {
                let path = error.path().to_string();
                // At the top (or in a body that is a list), the field is the one reported missing.
                let field = if path != "." && !path.starts_with('[') {
                    path
                } else {
                    error
                        .inner()
                        .to_string()
                        .split_once("missing field `")
                        .and_then(|(_, rest)| rest.split_once('`'))
                        .map_or_else(|| "body".to_owned(), |(name, _)| name.to_owned())
                };
                ApiError::invalid_field(field, detail)
            }
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", detail)
            }
        }
    })
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Query string: an invalid parameter is a 422.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters: an unparseable id is a 400.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn rejected(body: &str) -> (StatusCode, &'static str, Option<String>) {
        let error = decode::<Outer>(body.as_bytes())
            .err()
            .map(|e| (e.status(), e.code(), e.field().map(str::to_owned)));
        error.unwrap_or((StatusCode::OK, "", None))
    }

    #[test]
    fn a_body_that_does_not_fit_names_the_path_of_the_value() {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        let field = |f: &str| Some(f.to_owned());
        assert_eq!(
            rejected(r#"{"name": "a", "inner": {"count": -1}}"#),
            (unprocessable, "validation_failed", field("inner.count"))
        );
        assert_eq!(
            rejected(r#"{"inner": {"count": 1}}"#),
            (unprocessable, "validation_failed", field("name"))
        );
        assert_eq!(
            rejected(r#"{"name": "a", "inner": {}}"#),
            (unprocessable, "validation_failed", field("inner"))
        );
        assert_eq!(rejected("[1]").2, field("body"));
        let bad_request = StatusCode::BAD_REQUEST;
        assert_eq!(rejected(r#"{"name": "#).1, "malformed_json");
        assert_eq!(
            rejected(r#"{"name": "a", "inner": {"count": 1}} trailing"#),
            (bad_request, "malformed_json", None)
        );
        assert!(decode::<Outer>(br#" {"name": "a", "inner": {"count": 1}} "#).is_ok());
    }

    #[test]
    fn json_media_types_are_recognised_with_parameters() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            if let Ok(value) = value.parse() {
                headers.insert(header::CONTENT_TYPE, value);
            }
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonl"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
