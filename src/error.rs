//! Error types. Every message says what was wrong, where (file, key path or line), and what to do.
//!
//! Library code returns these typed errors; only `main.rs` turns them into `anyhow` reports and exit
//! codes (2 for bad input, 1 for runs that failed).

use std::path::PathBuf;

/// A spec that cannot run: refused before anything runs.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {message}")]
pub struct SpecError {
    /// The experiment file (or `--set` for an override given on the command line).
    pub file: String,
    /// The dotted key path, for example `methods[2].sampler.lr`.
    pub key: String,
    /// What was wrong and what is allowed.
    pub message: String,
}

impl SpecError {
    pub fn new(
        file: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Missing or malformed data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: cannot read: {source}. {hint}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
        hint: String,
    },
    #[error("{path}:{line}: {message}")]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: column '{column}': {message}")]
    Column {
        path: PathBuf,
        column: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Reading or writing results.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Polars {
        path: PathBuf,
        source: polars::error::PolarsError,
    },
}

/// The error of any bayeslab operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Report(String),
    /// Bad command-line input that clap cannot check (an option's value, a missing tool the
    /// command needs): the message names the option and the fix. Exit code 2.
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The process exit code for this error: 2 for bad input (spec, data, command line), 1
    /// otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Spec(_) | Error::Data(_) | Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
