//! The one error type of the HTTP surface, rendered as `{code, detail}` JSON.

use std::fmt;

use axum::{
    extract::rejection::{PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

/// Body of every error response (also read back by services calling one another).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable error code.
    pub code: String,
    /// Human-readable reason.
    pub detail: String,
    /// The offending request field, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error a handler returns; 5xx errors are logged with their cause and rendered opaque.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    field: Option<String>,
    cause: Option<anyhow::Error>,
    /// Seconds a client should wait before retrying, sent as `Retry-After`.
    retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
            cause: None,
            retry_after: None,
        }
    }

    /// Tells the client when to retry (`Retry-After`, in seconds).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 422 naming the field that failed validation.
    /// 422 `validation_failed` with `detail` as given, naming `field`.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                detail,
            )
        }
    }

    pub fn validation(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        let field = field.into();
        Self {
            detail: format!("{field}: {reason}"),
            field: Some(field),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "")
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 500 whose cause is logged but never sent to the client.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; see the server log for this request id",
            )
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human-readable reason.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The request field a validation error is about.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause:#})")?;
        }
        Ok(())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(
                error = format!("{cause:#}"),
                code = self.code,
                "request failed"
            );
        }
        let body = ErrorBody {
            code: self.code.to_owned(),
            detail: self.detail,
            field: self.field,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// Whether Postgres refused a value as text it cannot store (a NUL character, `\u0000` in JSON):
/// the caller's input, whatever route it came through, not a fault of the service.
fn unstorable_text(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database)
        if matches!(database.code().as_deref(), Some("22021" | "22P05")))
}

fn unstorable_text_error() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "text must not contain NUL characters",
    )
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => Self::not_found("no such resource"),
            other if unstorable_text(&other) => unstorable_text_error(),
            other => Self::internal(other),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        if error
            .downcast_ref::<sqlx::Error>()
            .is_some_and(unstorable_text)
        {
            return unstorable_text_error();
        }
        Self::internal(error)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self {
            field: Some("query".to_owned()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                rejection.body_text(),
            )
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            rejection.body_text(),
        )
    }
}

/// Fallback for unknown routes: a JSON 404 instead of an empty body.
pub async fn route_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// Fallback for a known route called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}
