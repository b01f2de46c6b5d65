//! A report-card batch's live progress bar: an island (staff bundle only, like the marks
//! grid) that follows the batch's server-sent events (`/admin/cards/batches/{id}/events`, a
//! JSON [`BatchView`] each time the counts move) until it is finished. Without JavaScript
//! the page shows the counts of when it was loaded.

use kilele::reporting::BatchView;
use serde::{Deserialize, Serialize};

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
    pub fn counts_of(&self, b: &BatchView) -> String {
        self.counts
            .replace("{done}", &b.done.to_string())
            .replace("{total}", &b.total.to_string())
            .replace("{failed}", &b.failed.to_string())
    }

    pub fn status_of(&self, b: &BatchView) -> String {
        let code = b.status.code();
        self.statuses.iter().find(|(k, _)| k == code).map_or_else(|| code.to_owned(), |(_, v)| v.clone())
    }
}

#[cfg(not(any(feature = "ssr", feature = "staff")))]
mod stub {
    use super::ProgressLabels;
    use kilele::reporting::BatchView;
    use leptos::prelude::*;

    #[component]
    pub fn BatchProgress(batch: BatchView, labels: ProgressLabels) -> impl IntoView {
        let _ = (batch, labels);
    }
}

#[cfg(any(feature = "ssr", feature = "staff"))]
mod live {
    use super::ProgressLabels;
    use kilele::reporting::BatchView;
    use leptos::prelude::*;

    /// The bar, its counts and status; kept current by the batch's events while it is open.
    #[island]
    pub fn BatchProgress(batch: BatchView, labels: ProgressLabels) -> impl IntoView {
        let id = batch.id;
        let open = batch.status.is_open();
        let state = RwSignal::new(batch);
        #[cfg(feature = "hydrate")]
        if open {
            follow(id, state);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (id, open);
        let counts_labels = labels.clone();
        view! {
            <div class="batch-progress" data-testid="batch-progress" data-status=move || state.with(|b| b.status.code().to_owned())>
                <progress max="100" value=move || state.with(|b| b.percent().to_string())></progress>
                " "<span data-testid="batch-counts">{move || state.with(|b| counts_labels.counts_of(b))}</span>
                " · "<span data-testid="batch-status">{move || state.with(|b| labels.status_of(b))}</span>
            </div>
        }
    }

    /// Listens to the batch's events; closes when it is finished (or the page goes away).
    #[cfg(feature = "hydrate")]
    fn follow(id: uuid::Uuid, state: RwSignal<BatchView>) {
        use leptos::wasm_bindgen::closure::Closure;
        use leptos::wasm_bindgen::JsCast;
        let Ok(source) = web_sys::EventSource::new(&format!("/admin/cards/batches/{id}/events")) else { return };
        let closer = source.clone();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let Some(text) = ev.data().as_string() else { return };
            if let Ok(view) = serde_json::from_str::<BatchView>(&text) {
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
