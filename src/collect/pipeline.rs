//! Page mapping off the paging loop. A listing's pages form a serial chain of page tokens,
//! so the loop that fetches and parses them cannot go faster; what it can do is hand each
//! parsed page to the blocking pool for mapping (our documents, canonical JSON, digests)
//! and go straight on to the next page. At most [`IN_FLIGHT`] pages wait to be mapped, so
//! memory stays bounded by a few pages whatever the listing's length.

use std::collections::VecDeque;

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

    /// Every mapped item, in page order.
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
