//! Browser entry point: hydrates the islands (and only the islands) of a server-rendered page.

// The islands are registered by the app crate; referencing it keeps them in the bundle.
#[allow(unused_imports)]
use app::*;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
