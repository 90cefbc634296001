//! The two tiers of errors: user errors whose text is the reply, and internal ones that are
//! logged with their cause and shown only as a reference.

use thiserror::Error;

use crate::engine::deal::DealStatus;
use crate::engine::ids::DealNumber;
use crate::engine::transition::Refusal;
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("There is no {0} in this workspace. `/deal list` shows the deals you can see.")]
    DealNotFound(DealNumber),
    /// Not allowed for this member; the text says who could do it.
    #[error("{0}")]
    Forbidden(String),
    #[error("There is no stage `{given}` in the playbook.{hint} Stages: {known}.")]
    UnknownStage {
        given: String,
        hint: String,
        known: String,
    },
    #[error("There is no activity `{given}` in the playbook.{hint}")]
    UnknownActivity { given: String, hint: String },
    #[error("There is no field `{given}`. Fields you can set: {known}.")]
    UnknownField { given: String, known: String },
    #[error("Nobody called `{given}` is in this workspace.{hint}")]
    UnknownUser { given: String, hint: String },
    #[error("{number} is closed ({}); a closed deal cannot change.", status.as_str())]
    DealClosed {
        number: DealNumber,
        status: DealStatus,
    },
    /// An approval that already stands for the deal in its stage; nothing was recorded.
    #[error(
        "{number} is already approved in {stage} by {by} on {on}; nothing was recorded. It \
         counts until the deal leaves the stage."
    )]
    AlreadyApproved {
        number: DealNumber,
        stage: String,
        by: String,
        on: chrono::NaiveDate,
    },
    /// A value that is well-formed but not acceptable here; the text says what would be.
    #[error("{0}")]
    Invalid(String),
    /// The playbook does not allow the move.
    #[error("{number} cannot move: {refusal}")]
    Move {
        number: DealNumber,
        stage: crate::engine::ids::StageId,
        refusal: Refusal,
    },
    /// The workspace's stored playbook no longer loads (hand edited?).
    #[error("This workspace's playbook does not load: {0}")]
    Playbook(String),
    #[error("That deal kept changing while your command ran; please try again.")]
    Busy,
    /// The command of this interaction was carried out by an earlier delivery of it.
    #[error(
        "This command was already carried out when it first arrived; it was not run again. \
         `/deal show` or `/deal list` shows where things stand now."
    )]
    AlreadyApplied,
    /// The database is open read-only; nothing was written.
    #[error(
        "dealgate has this database open read-only (`mode=ro` in DATABASE_URL), so nothing was \
         changed. To make changes, run it with a DATABASE_URL without `mode=ro`."
    )]
    ReadOnly,
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    /// Internal errors are logged with their cause and never shown to users verbatim.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Store(_) | Self::Internal(_))
    }
}

/// A value the parser let through that this workspace does not accept (an amount finer than its
/// currency): the value's own words are the reply.
impl From<crate::engine::ids::ValueError> for ServiceError {
    fn from(e: crate::engine::ids::ValueError) -> Self {
        Self::Invalid(format!("{e}."))
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        let applied = match &e {
            StoreError::AlreadyApplied => true,
            StoreError::Shared(shared) => matches!(**shared, StoreError::AlreadyApplied),
            _ => false,
        };
        if applied {
            Self::AlreadyApplied
        } else if e.is_read_only() {
            Self::ReadOnly
        } else {
            Self::Store(e)
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        Self::from(StoreError::Sqlx(e))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
