//! Errors of the domain layer. The web layer maps these to responses in one place.

use serde::{Deserialize, Serialize};

/// A value a person typed was not acceptable. `field` names the form field; `message` is an
/// i18n key (see app/locales) so that the UI can say it in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &str, message: &str) -> Self {
        Self { field: field.to_owned(), message: message.to_owned() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Several fields at once (a form is checked whole, so people fix everything in one go).
    #[error("{} invalid fields", .0.len())]
    InvalidFields(Vec<ValidationError>),
    /// The change clashes with what is stored (the same admission number twice, overlapping
    /// terms, a row someone else changed meanwhile): shown like a field error, answered 409.
    #[error("conflict on {field}: {message}")]
    Conflict { field: String, message: String },
    #[cfg(feature = "ssr")]
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[cfg(feature = "ssr")]
    #[error("personal data protection: {0}")]
    Pii(#[from] crate::audit::pii::PiiError),
    #[error("internal: {0}")]
    Internal(String),
}

impl DomainError {
    /// A [`DomainError::Conflict`] on `field` with the i18n `message`.
    pub fn conflict(field: &str, message: &str) -> Self {
        Self::Conflict { field: field.to_owned(), message: message.to_owned() }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
