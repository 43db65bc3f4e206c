//! The WASM entry point: hydrates the islands of the server-rendered page (the components marked
//! `#[island]` in `app`). Nothing else lives here.

// the islands are exported by `app`: it must be linked even though nothing here names it
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
