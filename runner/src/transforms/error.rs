//! What can go wrong when transforms are run apart from the deploy and controlled from another
//! process.

use super::TransformState;
use std::fmt;

/// A change asked of a queued transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Control {
    /// Stop at the next batch boundary; `Resume` queues it again.
    Pause,
    Resume,
    /// Stop at the next batch boundary and leave it (the migration stays unfinished).
    Cancel,
    /// Queue a failed or cancelled transform again, to go on from its cursor.
    Retry,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Pause => "pause",
            Control::Resume => "resume",
            Control::Cancel => "cancel",
            Control::Retry => "retry",
        }
    }

    /// The states this change applies to, and the state it leaves.
    pub(crate) fn transition(self) -> (&'static [TransformState], TransformState) {
        use TransformState::*;
        match self {
            Control::Pause => (&[Queued, Running], Paused),
            Control::Resume => (&[Paused], Queued),
            Control::Cancel => (&[Queued, Running, Paused, Failed], Cancelled),
            Control::Retry => (&[Failed, Cancelled], Queued),
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// No migration has this version or file name.
    #[error("no migration `{0}` in this project")]
    Unknown(String),
    /// The migration is not a batched one.
    #[error("{label} is not a batched migration; only their transforms run apart from the deploy")]
    NotBatched { label: String },
    /// The migration's transform was never queued for a worker.
    #[error(
        "{label}'s transform is not queued for a worker: it was not deferred, or has not been applied"
    )]
    NotQueued { label: String },
    /// The change does not apply to the transform as it is.
    #[error("cannot {control} {label}: its transform is {state}")]
    Refused { label: String, control: Control, state: TransformState },
    /// The migration's file changed since its `up` was applied.
    #[error(
        "{label} changed since it was applied (history {recorded}, file {current}); its transform \
         will not run a different migration's batches"
    )]
    Modified { label: String, recorded: String, current: String },
    /// A migration requires (`-- godwit:requires`) a migration that is not a batched one of
    /// this project, or that comes after it.
    #[error("{label} requires `{required}`, {why}")]
    BadRequirement { label: String, required: String, why: String },
    /// The transform is queued, and a later migration needs it finished.
    #[error("{label} needs the transform of {required} finished first, and it is {state}")]
    Unfinished { label: String, required: String, state: TransformState },
    /// A revert met a transform a worker owns and has not stopped.
    #[error("{label} cannot be reverted while its transform is {state}")]
    NotStopped { label: String, state: TransformState },
}
