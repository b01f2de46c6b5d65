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
