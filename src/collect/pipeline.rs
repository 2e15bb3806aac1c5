//! Concurrency of collection: calls and listings on tasks of their own ([`Task`],
//! [`Prefetch`]), and page mapping off the paging loop ([`Mapped`], [`off_loop`]).
//!
//! A listing's pages form a serial chain of page tokens,
//! so the loop that fetches and parses them cannot go faster; what it can do is hand each
//! parsed page to the blocking pool for mapping (our documents, canonical JSON, digests)
//! and go straight on to the next page. At most [`IN_FLIGHT`] pages wait to be mapped, so
//! memory stays bounded by a few pages whatever the listing's length.

use std::collections::VecDeque;
use std::future::Future;

use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use tokio::task::JoinHandle;

use super::CallError;

/// Pages handed off and not yet collected.
const IN_FLIGHT: usize = 2;

/// The mapped items of one listing, in page order.
pub struct Mapped<T> {
    operation: &'static str,
    pending: VecDeque<JoinHandle<Result<Vec<T>, CallError>>>,
    done: Vec<T>,
}

impl<T: Send + 'static> Mapped<T> {
    /// `operation` names the listing in an error (`service:Operation`).
    pub fn new(operation: &'static str) -> Mapped<T> {
        Mapped {
            operation,
            pending: VecDeque::new(),
            done: Vec::new(),
        }
    }

    /// Map `page` on the blocking pool; wait for the oldest page first when
    /// [`IN_FLIGHT`] are already waiting.
    pub async fn push<P: Send + 'static>(
        &mut self,
        page: P,
        map: fn(P) -> Result<Vec<T>, CallError>,
    ) -> Result<(), CallError> {
        while self.pending.len() >= IN_FLIGHT {
            self.collect_oldest().await?;
        }
        self.pending
            .push_back(tokio::task::spawn_blocking(move || map(page)));
        Ok(())
    }

    /// The items mapped so far (in page order) that have not been taken yet.
    pub fn take_done(&mut self) -> Vec<T> {
        std::mem::take(&mut self.done)
    }

    /// Every mapped item not yet taken, in page order.
    pub async fn finish(mut self) -> Result<Vec<T>, CallError> {
        while !self.pending.is_empty() {
            self.collect_oldest().await?;
        }
        Ok(self.done)
    }

    async fn collect_oldest(&mut self) -> Result<(), CallError> {
        if let Some(h) = self.pending.pop_front() {
            let items = h.await.map_err(|e| CallError {
                operation: self.operation.to_string(),
                code: None,
                message: format!("mapping a page failed: {e}"),
            })??;
            self.done.extend(items);
        }
        Ok(())
    }
}

/// Run `map` on the blocking pool and wait for it (one response's mapping, while other
/// requests of the same collector proceed).
pub async fn off_loop<P: Send + 'static, T: Send + 'static>(
    operation: &'static str,
    page: P,
    map: impl FnOnce(P) -> T + Send + 'static,
) -> Result<T, CallError> {
    tokio::task::spawn_blocking(move || map(page))
        .await
        .map_err(|e| CallError {
            operation: operation.to_string(),
            code: None,
            message: format!("mapping a response failed: {e}"),
        })
}

/// A spawned task that is aborted if its owner is dropped first (a run abandoned at
/// shutdown leaves no request behind).
pub(super) struct Task<T>(tokio::task::JoinHandle<T>);

impl<T: Send + 'static> Task<T> {
    pub(super) fn spawn(fut: impl Future<Output = T> + Send + 'static) -> Task<T> {
        Task(tokio::spawn(fut))
    }

    pub(super) async fn join(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A paginator driven by a task of its own, up to [`PREFETCH`] pages ahead of the
/// consumer: the next pages are fetched and parsed on another worker thread while the
/// current one is being used. `next` has the paginator's signature, so
/// `log.page(op, pages.next())` reads a prefetched listing as it reads a plain one.
pub struct Prefetch<O, E> {
    /// `Some(page)` per page, then `None` once the paginator has ended.
    rx: tokio::sync::mpsc::Receiver<Option<Result<O, SdkError<E, Response>>>>,
    ended: bool,
    _task: Task<()>,
}

/// Pages parsed ahead of the consumer (each page is held parsed, so this bounds memory).
const PREFETCH: usize = 2;

impl<O: Send + 'static, E: Send + 'static> Prefetch<O, E> {
    pub fn new(mut pages: PaginationStream<Result<O, SdkError<E, Response>>>) -> Prefetch<O, E> {
        let (tx, rx) = tokio::sync::mpsc::channel(PREFETCH);
        let task = Task::spawn(async move {
            while let Some(page) = pages.next().await {
                if tx.send(Some(page)).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(None).await;
        });
        Prefetch {
            rx,
            ended: false,
            _task: task,
        }
    }

    /// The next page, or `None` after the last. A listing whose task ended without
    /// reaching the last page (it panicked) ends with an error, never as if complete.
    pub async fn next(&mut self) -> Option<Result<O, SdkError<E, Response>>> {
        if self.ended {
            return None;
        }
        match self.rx.recv().await {
            Some(Some(page)) => Some(page),
            Some(None) => {
                self.ended = true;
                None
            }
            None => Some(Err(SdkError::construction_failure(
                "the listing's task ended before the last page",
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(page: Vec<u32>) -> Result<Vec<u32>, CallError> {
        Ok(page.into_iter().map(|x| x * 2).collect())
    }

    fn refuse(_: Vec<u32>) -> Result<Vec<u32>, CallError> {
        Err(CallError {
            operation: "x:Y".into(),
            code: None,
            message: "bad page".into(),
        })
    }

    #[tokio::test]
    async fn pages_come_back_in_order_whatever_finishes_first() {
        let mut m = Mapped::new("x:List");
        for p in 0..10u32 {
            m.push((p * 100..p * 100 + 100).collect(), double)
                .await
                .unwrap();
        }
        let out = m.finish().await.unwrap();
        assert_eq!(out, (0..1000u32).map(|x| x * 2).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_failed_page_fails_the_listing() {
        let mut m = Mapped::new("x:List");
        m.push(vec![1], double).await.unwrap();
        m.push(vec![2], refuse).await.unwrap();
        let e = m.finish().await.unwrap_err();
        assert_eq!(e.message, "bad page");
    }
}

#[cfg(test)]
mod prefetch_tests {
    use aws_smithy_async::future::pagination_stream::fn_stream::FnStream;

    use super::*;

    #[derive(Debug)]
    struct NoError;
    impl std::fmt::Display for NoError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("no error")
        }
    }
    impl std::error::Error for NoError {}

    type Page = Result<u32, SdkError<NoError, Response>>;

    fn listing(pages: u32, then_panic: bool) -> PaginationStream<Page> {
        PaginationStream::new(FnStream::new(move |tx| {
            Box::pin(async move {
                for p in 0..pages {
                    if tx.send(Ok(p)).await.is_err() {
                        return;
                    }
                }
                if then_panic {
                    panic!("listing task fails");
                }
            })
        }))
    }

    #[tokio::test]
    async fn prefetched_pages_arrive_in_order_and_end() {
        let mut pages = Prefetch::new(listing(7, false));
        let mut got = Vec::new();
        while let Some(p) = pages.next().await {
            got.push(p.unwrap());
        }
        assert_eq!(got, (0..7).collect::<Vec<_>>());
        assert!(pages.next().await.is_none(), "an ended listing stays ended");
    }

    #[tokio::test]
    async fn a_listing_whose_task_dies_ends_with_an_error_not_silently() {
        let mut pages = Prefetch::new(listing(3, true));
        let mut got = Vec::new();
        let mut failed = false;
        while let Some(p) = pages.next().await {
            match p {
                Ok(p) => got.push(p),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert_eq!(got, [0, 1, 2]);
        assert!(failed, "the listing ended as if complete");
    }
}
