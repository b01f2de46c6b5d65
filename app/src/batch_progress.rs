//! A background run's live progress bar (a report-card batch, an invoicing run): an island
//! (staff bundle only, like the marks grid) that follows the run's server-sent events (its
//! `events` URL sends the run as JSON each time the counts move) until it is finished.
//! Without JavaScript the page shows the counts of when it was loaded.

use kilele::reporting::{BatchStatus, BatchView};
use serde::{Deserialize, Serialize};

/// What the bar shows of a run: any run's JSON with these fields (a report-card batch, an
/// invoicing run) reads as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub status: BatchStatus,
    pub total: u32,
    pub done: u32,
    pub failed: u32,
}

impl Progress {
    /// Percent done (made or failed, of the total), 0–100.
    pub fn percent(&self) -> u32 {
        if self.total == 0 {
            return if self.status.is_open() { 0 } else { 100 };
        }
        ((self.done + self.failed).min(self.total) * 100) / self.total
    }
}

impl From<&BatchView> for Progress {
    fn from(b: &BatchView) -> Self {
        Self { status: b.status, total: b.total, done: b.done, failed: b.failed }
    }
}

impl From<&kilele::finance::views::InvoiceRunView> for Progress {
    fn from(r: &kilele::finance::views::InvoiceRunView) -> Self {
        Self { status: r.status, total: r.total, done: r.done, failed: r.failed }
    }
}

#[cfg(any(feature = "ssr", feature = "staff"))]
pub use live::BatchProgress;
#[cfg(not(any(feature = "ssr", feature = "staff")))]
pub use stub::BatchProgress;

/// What the bar says, in the reader's language (translated on the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressLabels {
    /// `{done}`, `{total}`, `{failed}`.
    pub counts: String,
    /// Status code → its name.
    pub statuses: Vec<(String, String)>,
}

impl ProgressLabels {
    /// The counts line of `b`.
    pub fn counts_of(&self, b: &Progress) -> String {
        self.counts
            .replace("{done}", &b.done.to_string())
            .replace("{total}", &b.total.to_string())
            .replace("{failed}", &b.failed.to_string())
    }

    pub fn status_of(&self, b: &Progress) -> String {
        let code = b.status.code();
        self.statuses.iter().find(|(k, _)| k == code).map_or_else(|| code.to_owned(), |(_, v)| v.clone())
    }
}

#[cfg(not(any(feature = "ssr", feature = "staff")))]
mod stub {
    use super::{Progress, ProgressLabels};
    use leptos::prelude::*;

    #[component]
    pub fn BatchProgress(progress: Progress, events: String, labels: ProgressLabels) -> impl IntoView {
        let _ = (progress, events, labels);
    }
}

#[cfg(any(feature = "ssr", feature = "staff"))]
mod live {
    use super::{Progress, ProgressLabels};
    use leptos::prelude::*;

    /// The bar, its counts and status; kept current by the run's events (`events`, a URL of
    /// this site) while it is open.
    #[island]
    pub fn BatchProgress(progress: Progress, events: String, labels: ProgressLabels) -> impl IntoView {
        let open = progress.status.is_open();
        let state = RwSignal::new(progress);
        #[cfg(feature = "hydrate")]
        if open {
            follow(&events, state);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (events, open);
        let counts_labels = labels.clone();
        view! {
            <div class="batch-progress" data-testid="batch-progress" data-status=move || state.with(|b| b.status.code().to_owned())>
                <progress max="100" value=move || state.with(|b| b.percent().to_string())></progress>
                " "<span data-testid="batch-counts">{move || state.with(|b| counts_labels.counts_of(b))}</span>
                " · "<span data-testid="batch-status">{move || state.with(|b| labels.status_of(b))}</span>
            </div>
        }
    }

    /// Listens to the run's events; closes when it is finished (or the page goes away).
    #[cfg(feature = "hydrate")]
    fn follow(events: &str, state: RwSignal<Progress>) {
        use leptos::wasm_bindgen::closure::Closure;
        use leptos::wasm_bindgen::JsCast;
        // Only a path of this site: the island's props come from the page, but never trust
        // a URL to another origin.
        if !events.starts_with('/') || events.starts_with("//") {
            return;
        }
        let Ok(source) = web_sys::EventSource::new(events) else { return };
        let closer = source.clone();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let Some(text) = ev.data().as_string() else { return };
            if let Ok(view) = serde_json::from_str::<Progress>(&text) {
                let finished = !view.status.is_open();
                state.set(view);
                if finished {
                    closer.close();
                }
            }
        });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The source lives as long as the page: the handler must too.
        on_message.forget();
    }
}
