//! Typed, user-safe errors returned by resolvers and handlers (mirrors `handlers.app-error`).
//! `code` is stable and machine-readable; `message` is for people and never holds secrets.

use crate::host::HostError;
use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Invalid,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    TooLarge,
    Unavailable,
    Internal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
    pub retry_after_s: Option<u32>,
    pub details: Option<Value>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: ErrorKind, code: &str, message: impl Into<String>) -> Self {
        AppError {
            kind,
            code: code.to_string(),
            message: message.into(),
            retry_after_s: None,
            details: None,
        }
    }
    pub fn invalid(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }
    pub fn internal(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, code, message)
    }
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A host failure surfaced to a caller. Messages name the service, never payloads or secrets.
impl From<HostError> for AppError {
    fn from(e: HostError) -> Self {
        match e {
            HostError::NotFound => AppError::not_found("NOT_FOUND", "not found"),
            HostError::Conflict(m) => AppError::conflict("CONFLICT", m),
            HostError::RateLimited { retry_after_s } => AppError {
                retry_after_s: Some(retry_after_s),
                ..AppError::new(
                    ErrorKind::RateLimited,
                    "RATE_LIMITED",
                    "the platform is throttling this app; retry later",
                )
            },
            HostError::Forbidden(m) => AppError::forbidden("FORBIDDEN", m),
            HostError::Invalid(m) => AppError::invalid("INVALID", m),
            HostError::TooLarge(m) => AppError::new(ErrorKind::TooLarge, "TOO_LARGE", m),
            HostError::Timeout => AppError::new(
                ErrorKind::Unavailable,
                "TIMEOUT",
                "a platform call timed out",
            ),
            HostError::Unavailable(m) => AppError::new(ErrorKind::Unavailable, "UNAVAILABLE", m),
        }
    }
}
