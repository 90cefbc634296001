//! The request bracket, written once for every platform: a command that changes something is
//! claimed by its delivery key, run, and its answer recorded, so a duplicated or retried
//! delivery gets the first answer instead of running the command again.
//!
//! What it promises (README, "When a client hangs up, retries or replays"):
//! - The adapter runs the bracket in a task of its own, so a client that hangs up does not stop
//!   it: the command runs to completion and its answer is recorded.
//! - A retry of a delivery that finished gets the recorded answer.
//! - A retry of a delivery whose process died before it answered takes the claim over once the
//!   lease lapses; the command runs then, unless its work had committed (its transaction wrote
//!   the delivery's effect row), in which case the retry is told so and nothing runs again.
//!
//! Answers are stored as the adapter renders them (platform JSON), so a duplicate gets exactly
//! the bytes the first delivery got.

use std::future::Future;
use std::time::Duration;

use super::replies;
use super::reply::Reply;
use crate::service::{Claim, Delivery, Service, ServiceError};

use super::execute::error_reply;

/// How long a duplicate waits for the first delivery's answer: inside the 3 seconds Discord and
/// Slack give an answer.
pub const DUPLICATE_WAIT: Duration = Duration::from_secs(2);

/// An answer, and whether this delivery is the one that produced it (a duplicate's answer was
/// already given once; an adapter that posts answers elsewhere posts only fresh ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub fresh: bool,
    pub answer: String,
}

/// Runs `work` at most once for `delivery` and returns its answer, rendered by the adapter;
/// `render` turns the bracket's own replies (a duplicate still running, an error) into the same
/// form. `work` gets the delivery to hand to `execute::execute_for`.
pub async fn once<W, Fut>(
    service: &Service,
    delivery: &Delivery,
    render: impl Fn(&Reply) -> String,
    work: W,
) -> Answered
where
    W: FnOnce(Delivery) -> Fut,
    Fut: Future<Output = String>,
{
    let claim = service
        .claim_interaction(&delivery.platform, &delivery.key, DUPLICATE_WAIT)
        .await;
    let (fresh, answer) = match claim {
        Ok(Claim::New) => (true, work(delivery.clone()).await),
        Ok(Claim::Applied) => (
            true,
            render(&replies::user_error(
                &ServiceError::AlreadyApplied.to_string(),
            )),
        ),
        Ok(Claim::Answered(answer)) => {
            return Answered {
                fresh: false,
                answer,
            };
        }
        Ok(Claim::InFlight) => {
            return Answered {
                fresh: false,
                answer: render(&replies::user_error(
                    "This command arrived twice and the first one is still being handled; it \
                     was not run a second time.",
                )),
            };
        }
        Err(e) => {
            return Answered {
                fresh: false,
                answer: render(&error_reply(&e, None)),
            };
        }
    };
    if let Err(e) = service
        .record_interaction(&delivery.platform, &delivery.key, &answer)
        .await
    {
        // The command's work is committed; a retry after the lease will find its effect row.
        tracing::error!(
            platform = %delivery.platform, interaction = %delivery.key, error = ?e,
            "answer not recorded"
        );
    }
    Answered { fresh, answer }
}
