//! Failures the binary itself reports (configuration, usage, refused prompts), with an exit
//! code and a hint, and how any error chain gets its code and hint.

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub message: String,
    pub code: u8,
    pub hint: Option<String>,
}

impl Failure {
    /// A configuration or usage problem: exit code 2.
    pub fn config(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: 2, hint: None }
    }

    /// A check that failed: exit code 1.
    pub fn check(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: 1, hint: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
}

/// The exit code and hint for an error chain, from the first error in it that has them.
pub fn classify(error: &anyhow::Error) -> (u8, Option<String>) {
    for cause in error.chain() {
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return (failure.code, failure.hint.clone());
        }
        if let Some(error) = cause.downcast_ref::<godwit::Error>() {
            return (crate::hints::exit_code(error), crate::hints::hint(error));
        }
    }
    (1, None)
}
