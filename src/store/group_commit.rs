//! Group commit: many callers' small writes of one kind go to the database as one statement.
//!
//! Every command that changes something writes two small rows besides its own work (the claim
//! of its interaction id, and later its answer). One statement each would put two more round
//! trips on SQLite's single writer per command, and under load the writer, not the CPU, sets
//! the pace. Here a caller queues its item and waits for its turn; whoever gets the turn takes
//! everything queued by then and starts writing it at once, so while one batch is in the
//! database the next one gathers. Nobody waits on a timer: an idle system writes a batch of one
//! at once.
//!
//! The batch itself is written by a task of its own, which holds the turn until every waiter
//! of the batch has its result. A caller that is dropped (its client hung up, a timeout fired)
//! therefore never interrupts other callers' writes: it only stops waiting for its own.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{Result, StoreError};

/// Items per statement, at most. Keeps the statement's bound parameters far below SQLite's
/// limit (32,766) with a few per item, and a batch's latency bounded.
pub const MAX_BATCH: usize = 128;

type Waiter<R> = oneshot::Sender<Result<R, Arc<StoreError>>>;

/// An item queued by [`GroupCommit::enqueue`], for [`GroupCommit::wait`].
pub struct Ticket<R>(oneshot::Receiver<Result<R, Arc<StoreError>>>);

pub struct GroupCommit<T, R> {
    queue: Mutex<Vec<(T, Waiter<R>)>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            turn: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

impl<T, R> std::fmt::Debug for GroupCommit<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queued = self.queue.lock().map_or(0, |q| q.len());
        f.debug_struct("GroupCommit")
            .field("queued", &queued)
            .finish()
    }
}

impl<T: Send + 'static, R: Send + 'static> GroupCommit<T, R> {
    /// Queues `item` and returns its result once a batch containing it was written.
    ///
    /// `write` gets a batch (in the order queued, at most [`MAX_BATCH`]) and must return one
    /// result per item, in the same order. Every caller of one `GroupCommit` passes the same
    /// kind of `write`; which caller's runs a given batch is not defined, and one caller's may
    /// run more than once when more than `MAX_BATCH` items were queued before its own.
    ///
    /// `queued` is called once the item is in the queue.
    pub async fn submit<F, Fut>(
        &self,
        item: T,
        queued: impl FnOnce(),
        write: F,
    ) -> Result<R, Arc<StoreError>>
    where
        F: Fn(Vec<T>) -> Fut,
        Fut: Future<Output = Result<Vec<R>>> + Send + 'static,
    {
        let ticket = self.enqueue(item);
        queued();
        self.wait(ticket, write).await
    }

    /// Queues `item` now, before anything queued after this call returns: [`GroupCommit::wait`]
    /// then gets its result. For a caller that must not wait but needs its item written before
    /// whatever it queues next.
    pub fn enqueue(&self, item: T) -> Ticket<R> {
        let (tx, rx) = oneshot::channel();
        self.lock_queue().push((item, tx));
        Ticket(rx)
    }

    /// The result of the item `ticket` stands for, once a batch containing it was written;
    /// `write` as for [`GroupCommit::submit`].
    pub async fn wait<F, Fut>(&self, ticket: Ticket<R>, write: F) -> Result<R, Arc<StoreError>>
    where
        F: Fn(Vec<T>) -> Fut,
        Fut: Future<Output = Result<Vec<R>>> + Send + 'static,
    {
        let Ticket(mut rx) = ticket;
        loop {
            let turn = tokio::select! {
                biased;
                done = &mut rx => return done.unwrap_or_else(|_| Err(lost())),
                turn = Arc::clone(&self.turn).lock_owned() => turn,
            };
            // Whoever had the turn before has handed out every result of its batch, so the
            // item is either answered or still queued.
            match rx.try_recv() {
                Ok(done) => return done,
                Err(oneshot::error::TryRecvError::Closed) => return Err(lost()),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch: Vec<(T, Waiter<R>)> = {
                let mut queue = self.lock_queue();
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            let (items, waiters): (Vec<T>, Vec<Waiter<R>>) = batch.into_iter().unzip();
            let written = write(items);
            tokio::spawn(async move {
                let expected = waiters.len();
                let results: Vec<Result<R, Arc<StoreError>>> = match written.await {
                    Ok(results) if results.len() == expected => {
                        results.into_iter().map(Ok).collect()
                    }
                    Ok(results) => {
                        let e = Arc::new(StoreError::Corrupt {
                            table: "group commit",
                            detail: format!("{} results for {expected} items", results.len()),
                        });
                        (0..expected).map(|_| Err(Arc::clone(&e))).collect()
                    }
                    Err(e) => {
                        let e = Arc::new(e);
                        (0..expected).map(|_| Err(Arc::clone(&e))).collect()
                    }
                };
                for (waiter, result) in waiters.into_iter().zip(results) {
                    // A waiter that went away no longer needs its result.
                    let _ = waiter.send(result);
                }
                drop(turn);
            });
            // Our own item was in that batch unless MAX_BATCH items were queued before it;
            // then it goes with a later turn, ours or another waiter's.
        }
    }
}

impl<T, R> GroupCommit<T, R> {
    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<(T, Waiter<R>)>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn lost() -> Arc<StoreError> {
    Arc::new(StoreError::BatchLost)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Semaphore;

    use super::*;

    /// A write that doubles each item and notes the size of every batch; batch `hold` waits
    /// for a permit of `gate` first.
    struct Probe {
        batches: Mutex<Vec<usize>>,
        gate: Semaphore,
        hold: usize,
        started: AtomicUsize,
    }

    impl Probe {
        fn new(hold: usize) -> Arc<Self> {
            Arc::new(Self {
                batches: Mutex::new(Vec::new()),
                gate: Semaphore::new(0),
                hold,
                started: AtomicUsize::new(0),
            })
        }

        async fn write(self: Arc<Self>, items: Vec<u32>) -> Result<Vec<u32>> {
            if self.started.fetch_add(1, Ordering::SeqCst) == self.hold {
                self.gate.acquire().await.expect("gate open").forget();
            }
            self.batches.lock().unwrap().push(items.len());
            Ok(items.into_iter().map(|i| i * 2).collect())
        }
    }

    /// What the n-th batch's write does.
    #[derive(Clone, Copy)]
    enum Step {
        /// Waits for a permit of the gate, then writes.
        Wait,
        Fail,
        Write,
    }

    /// A write that follows `steps` batch by batch (then writes), returning the items as they
    /// came; the counter of batches started and the gate of `Step::Wait`.
    #[allow(clippy::type_complexity)]
    fn scripted(
        steps: &'static [Step],
    ) -> (
        impl Fn(Vec<u32>) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<u32>>> + Send>>
        + Clone
        + Send
        + 'static,
        Arc<AtomicUsize>,
        Arc<Semaphore>,
    ) {
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Semaphore::new(0));
        let write = {
            let (calls, gate) = (Arc::clone(&calls), Arc::clone(&gate));
            move |items: Vec<u32>| {
                let (calls, gate) = (Arc::clone(&calls), Arc::clone(&gate));
                let step = steps
                    .get(calls.fetch_add(1, Ordering::SeqCst))
                    .copied()
                    .unwrap_or(Step::Write);
                Box::pin(async move {
                    match step {
                        Step::Wait => gate.acquire().await.expect("gate open").forget(),
                        Step::Fail => return Err(StoreError::Conflict),
                        Step::Write => {}
                    }
                    Ok(items)
                })
                    as std::pin::Pin<Box<dyn Future<Output = Result<Vec<u32>>> + Send>>
            }
        };
        (write, calls, gate)
    }

    fn queued<T, R>(group: &GroupCommit<T, R>) -> usize {
        group.lock_queue().len()
    }

    async fn until_queued<T, R>(group: &GroupCommit<T, R>, n: usize) {
        while queued(group) < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn callers_queued_behind_a_write_go_together_and_each_gets_its_own_result() {
        let group = Arc::new(GroupCommit::<u32, u32>::default());
        let probe = Probe::new(0);
        let mut callers = Vec::new();
        for i in 0..10u32 {
            let (group, probe) = (Arc::clone(&group), Arc::clone(&probe));
            callers.push(tokio::spawn(async move {
                group
                    .submit(i, || {}, |items| Arc::clone(&probe).write(items))
                    .await
            }));
        }
        // The first caller's write holds the turn while the other nine queue.
        until_queued(&group, 9).await;
        probe.gate.add_permits(1);
        for (i, caller) in callers.into_iter().enumerate() {
            assert_eq!(caller.await.unwrap().unwrap(), i as u32 * 2);
        }
        assert_eq!(*probe.batches.lock().unwrap(), vec![1, 9]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_idle_group_writes_a_single_item_at_once() {
        let group = GroupCommit::<u32, u32>::default();
        let probe = Probe::new(usize::MAX);
        assert_eq!(
            group
                .submit(21, || {}, |items| Arc::clone(&probe).write(items))
                .await
                .unwrap(),
            42
        );
        assert_eq!(
            group
                .submit(5, || {}, |items| Arc::clone(&probe).write(items))
                .await
                .unwrap(),
            10
        );
        assert_eq!(*probe.batches.lock().unwrap(), vec![1, 1]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn more_than_a_batch_is_split_and_nobody_is_left_waiting() {
        let group = Arc::new(GroupCommit::<u32, u32>::default());
        let probe = Probe::new(0);
        let total = MAX_BATCH + 6;
        let mut callers = Vec::new();
        for i in 0..total as u32 {
            let (group, probe) = (Arc::clone(&group), Arc::clone(&probe));
            callers.push(tokio::spawn(async move {
                group
                    .submit(i, || {}, |items| Arc::clone(&probe).write(items))
                    .await
            }));
        }
        until_queued(&group, total - 1).await;
        probe.gate.add_permits(1);
        for (i, caller) in callers.into_iter().enumerate() {
            assert_eq!(caller.await.unwrap().unwrap(), i as u32 * 2);
        }
        assert_eq!(*probe.batches.lock().unwrap(), vec![1, MAX_BATCH, 5]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_write_fails_every_item_of_its_batch_and_only_those() {
        let group = Arc::new(GroupCommit::<u32, u32>::default());
        let (write, _, gate) = scripted(&[Step::Wait, Step::Fail]);
        let mut callers = Vec::new();
        for i in 0..4u32 {
            let (group, write) = (Arc::clone(&group), write.clone());
            callers.push(tokio::spawn(
                async move { group.submit(i, || {}, write).await },
            ));
        }
        until_queued(&group, 3).await;
        gate.add_permits(1);
        let results: Vec<_> = futures_results(callers).await;
        assert_eq!(results[0].as_ref().ok(), Some(&0));
        for failed in &results[1..] {
            let e = failed.as_ref().expect_err("the second batch failed");
            assert!(matches!(**e, StoreError::Conflict), "{e:?}");
        }
        // The group still works after a failed batch.
        assert_eq!(group.submit(7, || {}, write).await.unwrap(), 7);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_caller_dropped_mid_batch_does_not_stop_the_others_writes() {
        let group = Arc::new(GroupCommit::<u32, u32>::default());
        // The first batch and the second wait for the test.
        let (write, calls, gate) = scripted(&[Step::Wait, Step::Wait]);
        let spawn = |i: u32| {
            let (group, write) = (Arc::clone(&group), write.clone());
            tokio::spawn(async move { group.submit(i, || {}, write).await })
        };
        let first = spawn(0);
        tokio::task::yield_now().await;
        // 1 and 2 queue behind the first write; 1 will take the next turn with both.
        let carrier = spawn(1);
        let rider = spawn(2);
        until_queued(&group, 2).await;
        gate.add_permits(1);
        assert_eq!(first.await.unwrap().unwrap(), 0);
        while calls.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        // The caller whose turn started the second batch hangs up while it is written.
        carrier.abort();
        assert!(carrier.await.unwrap_err().is_cancelled());
        gate.add_permits(1);
        assert_eq!(rider.await.unwrap().unwrap(), 2);
        assert_eq!(spawn(3).await.unwrap().unwrap(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    async fn futures_results<R>(
        callers: Vec<tokio::task::JoinHandle<Result<R, Arc<StoreError>>>>,
    ) -> Vec<Result<R, Arc<StoreError>>> {
        let mut out = Vec::new();
        for c in callers {
            out.push(c.await.expect("caller did not panic"));
        }
        out
    }
}
