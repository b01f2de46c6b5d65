//! A background run's live progress as server-sent events (a report-card batch, an invoicing
//! run): the run as JSON each time it changes, until it is finished, then the stream ends.

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::time::Duration;

/// How often an open page's stream reads the run.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Streams `first`, then whatever `read` returns when it differs from what was sent last,
/// every [`PROGRESS_EVERY`], until `finished` says so (or a read fails: the page keeps what it
/// showed). The caller made `first` itself, so another school's run is refused before any
/// stream starts.
pub fn stream<T, F, Fut, E>(first: T, read: F, finished: fn(&T) -> bool) -> Response
where
    T: serde::Serialize + PartialEq + Clone + Send + 'static,
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send,
{
    stream_as(first, read, finished, |view| Event::default().json_data(view).unwrap_or_else(|_| Event::default().data("{}")))
}

/// [`stream`], each event's data written by `encode` (a plain line for the parents' pages,
/// whose bundle parses no JSON).
pub fn stream_as<T, F, Fut, E>(first: T, read: F, finished: fn(&T) -> bool, encode: fn(&T) -> Event) -> Response
where
    T: PartialEq + Clone + Send + 'static,
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send,
{
    // (last sent, ended, next to send).
    let events = futures_util::stream::unfold((None::<T>, false, Some(first)), move |(last, ended, mut next)| {
        let read = read.clone();
        async move {
            if ended {
                return None;
            }
            loop {
                let view = match next.take() {
                    Some(v) => v,
                    None => {
                        tokio::time::sleep(PROGRESS_EVERY).await;
                        match read().await {
                            Ok(v) => v,
                            Err(_) => return None,
                        }
                    }
                };
                if last.as_ref() == Some(&view) {
                    continue;
                }
                let done = finished(&view);
                let event = encode(&view);
                return Some((Ok::<_, std::convert::Infallible>(event), (Some(view), done, None)));
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}
