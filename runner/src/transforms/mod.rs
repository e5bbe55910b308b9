//! Batched transforms on live tables: how big each batch is ([`BatchPolicy`] and the
//! controller that steers the size towards a target duration), when to hold off
//! ([`Throttle`], read from the database's own health signals) and which failures of a batch
//! are worth a retry (a lock or statement timeout, a deadlock, a serialization failure).

pub(crate) mod batch_loop;
mod controller;
mod error;
mod policy;
pub(crate) mod state;
mod throttle;
pub(crate) mod worker;

pub(crate) use self::controller::Controller;
pub use self::error::{Control, TransformError};
pub use self::policy::BatchPolicy;
pub use self::state::{TransformRow, TransformState};
pub(crate) use self::throttle::{Health, ProbeFailed};
pub use self::throttle::{Throttle, ThrottleReason};
