//! The only parts of the UI that run in the browser. Kept tiny: parents load pages over 3G.

use leptos::prelude::*;

/// A submit button that, once pressed, shows a busy label and cannot be pressed again
/// (a second tap on a slow connection would otherwise post the form twice).
#[island]
pub fn SubmitOnce(label: String, busy_label: String) -> impl IntoView {
    let (busy, set_busy) = signal(false);
    view! {
        <button
            type="submit"
            class="btn btn-primary"
            aria-busy=move || busy.get().to_string()
            on:click=move |ev| {
                if busy.get_untracked() {
                    ev.prevent_default();
                } else {
                    // Let the click submit the form first, then mark the button busy.
                    set_timeout(move || set_busy.set(true), std::time::Duration::from_millis(0));
                }
            }
        >
            {move || if busy.get() { busy_label.clone() } else { label.clone() }}
        </button>
    }
}

/// The phone-width menu button: shows or hides the portal navigation.
#[island]
pub fn MenuToggle(label: String, children: Children) -> impl IntoView {
    let (open, set_open) = signal(false);
    view! {
        <button
            type="button"
            class="menu-toggle"
            aria-expanded=move || open.get().to_string()
            on:click=move |_| set_open.update(|o| *o = !*o)
        >
            {label}
        </button>
        <div class="menu" class:open=move || open.get()>
            {children()}
        </div>
    }
}

/// A "pay now" push's live status on the parent's page: what the wallet said, kept current by
/// the push's events (`events`, a path of this site) until it is paid, failed or abandoned;
/// once paid, a link to the receipt. `line` is the push as [`kilele::payments::PushView::line`]
/// writes it (plain text: this bundle parses no JSON); `labels` maps each status and reason
/// to its sentence in the reader's language (the receipt number follows "paid"'s).
#[island]
pub fn PushLive(line: String, events: String, labels: Vec<(String, String)>, receipt_label: String) -> impl IntoView {
    let state = RwSignal::new(line);
    #[cfg(feature = "hydrate")]
    follow_push(&events, state);
    #[cfg(not(feature = "hydrate"))]
    let _ = events;
    let say = move |line: &str| push_sentence(line, &labels);
    view! {
        <p class="push-status" role="status" aria-live="polite" data-testid="push-status"
            data-status=move || state.with(|l| l.split(' ').next().unwrap_or_default().to_owned())>
            {move || state.with(|l| say(l))}
        </p>
        {move || state.with(|l| {
            let mut parts = l.split(' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("paid"), Some(_), Some(payment)) if !payment.is_empty() => Some(view! {
                    <p><a class="btn" href=format!("/portal/receipts/{payment}/receipt.pdf") data-testid="push-receipt">{receipt_label.clone()}</a></p>
                }),
                _ => None,
            }
        })}
    }
}

/// The sentence for a push's line: its reason's when it has one, else its status's.
fn push_sentence(line: &str, labels: &[(String, String)]) -> String {
    let mut parts = line.split(' ');
    let status = parts.next().unwrap_or_default();
    let detail = parts.next().unwrap_or_default();
    let label = |key: &str| labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    match status {
        "paid" => format!("{} {detail}", label("paid").unwrap_or_default()),
        _ => label(detail).or_else(|| label(status)).unwrap_or_else(|| status.to_owned()),
    }
}

/// Listens to a push's events; closes once it is settled (or the page goes away).
#[cfg(feature = "hydrate")]
fn follow_push(events: &str, state: RwSignal<String>) {
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    // Only a path of this site, and only while the push waits.
    if !events.starts_with('/') || events.starts_with("//") || !state.get_untracked().starts_with("waiting") {
        return;
    }
    let Ok(source) = web_sys::EventSource::new(events) else { return };
    let closer = source.clone();
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
        let Some(line) = ev.data().as_string() else { return };
        let settled = !line.starts_with("waiting");
        state.set(line);
        if settled {
            closer.close();
        }
    });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The source lives as long as the page: the handler must too.
    on_message.forget();
}
