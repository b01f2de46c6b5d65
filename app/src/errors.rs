//! The one place where failures become what a user or client sees. Internal errors are
//! logged with detail and shown only as a generic message.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    /// Not signed in (or the session ended).
    Unauthenticated,
    /// Signed in, but this needs a permission the user does not have.
    Forbidden,
    NotFound,
    /// A value was not acceptable: field and i18n message key.
    Invalid {
        field: String,
        message: String,
    },
    /// Several fields at once.
    InvalidFields(Vec<(String, String)>),
    /// The change clashes with what is stored (a duplicate, an overlap, a concurrent edit):
    /// shown next to its field like a validation error, answered 409.
    Conflict {
        field: String,
        message: String,
    },
    /// Something broke on our side; details are in the server log only.
    Internal,
    /// Transport-level failure of the server-function call itself.
    Transport(String),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.i18n_key())
    }
}

impl std::error::Error for AppError {}

impl AppError {
    pub fn i18n_key(&self) -> &str {
        match self {
            Self::Unauthenticated => "error-unauthenticated",
            Self::Forbidden => "error-forbidden",
            Self::NotFound => "error-not-found",
            Self::Invalid { message, .. } | Self::Conflict { message, .. } => message,
            Self::InvalidFields(fields) => fields.first().map(|(_, m)| m.as_str()).unwrap_or("error-internal"),
            Self::Internal | Self::Transport(_) => "error-internal",
        }
    }

    /// The HTTP status that says what happened.
    #[cfg(feature = "ssr")]
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::Unauthenticated => S::UNAUTHORIZED,
            Self::Forbidden => S::FORBIDDEN,
            Self::NotFound => S::NOT_FOUND,
            Self::Invalid { .. } | Self::InvalidFields(_) => S::UNPROCESSABLE_ENTITY,
            Self::Conflict { .. } => S::CONFLICT,
            Self::Transport(_) => S::BAD_REQUEST,
            Self::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<kilele::DomainError> for AppError {
    fn from(err: kilele::DomainError) -> Self {
        use kilele::DomainError as D;
        match err {
            D::NotFound => Self::NotFound,
            D::Forbidden => Self::Forbidden,
            D::Invalid(v) => Self::Invalid { field: v.field, message: v.message },
            D::InvalidFields(vs) => Self::InvalidFields(vs.into_iter().map(|v| (v.field, v.message)).collect()),
            D::Conflict { field, message } => Self::Conflict { field, message },
            other => {
                tracing::error!(error = %other, "domain error");
                Self::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<kilele::db::DbError> for AppError {
    fn from(err: kilele::db::DbError) -> Self {
        Self::from(kilele::DomainError::from(err))
    }
}

#[cfg(feature = "ssr")]
impl From<kilele::ValidationError> for AppError {
    fn from(err: kilele::ValidationError) -> Self {
        Self::Invalid { field: err.field, message: err.message }
    }
}
