//! A product description's Markdown editor with a live preview. The server renders the
//! preview (`POST …/products/description-preview`) with the rules a saved description gets,
//! so what the member sees is what shoppers will see.

use gloo_net::http::Method;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use techverse_frontend::api::Failure;

use crate::{
    auth::{TextArea, field_error},
    session::use_session,
    widgets::Failed,
};

/// How long typing must pause before the preview is asked for.
const PAUSE_MS: u32 = 300;

#[derive(serde::Deserialize)]
struct Preview {
    description_html: String,
}

#[component]
pub fn DescriptionEditor(
    value: RwSignal<String>,
    /// The HTML of the description as saved (empty for a new product).
    #[prop(optional)]
    saved_html: String,
    failure: RwSignal<Option<Failure>>,
) -> impl IntoView {
    let session = use_session();
    let html = RwSignal::new(saved_html);
    let trouble = RwSignal::new(None::<Failure>);
    // Each keystroke bumps the generation; only the last one, once typing pauses, asks.
    let generation = StoredValue::new(0_u64);
    let first = StoredValue::new(true);
    Effect::new(move |_| {
        let text = value.get();
        if std::mem::take(&mut *first.write_value()) && !html.get_untracked().is_empty() {
            return;
        }
        let mine = {
            let mut g = generation.write_value();
            *g += 1;
            *g
        };
        // The page may be gone when the pause ends or the answer comes (a saved product
        // navigates away): then its stored values are disposed and nothing is done.
        let current = move || generation.try_get_value() == Some(mine);
        leptos::task::spawn_local(async move {
            TimeoutFuture::new(PAUSE_MS).await;
            if !current() {
                return;
            }
            let body = serde_json::json!({ "description": text });
            let path = session.admin_path("/products/description-preview");
            let answer = session
                .request::<_, Preview>(Method::POST, &path, Some(&body))
                .await;
            if current() {
                match answer {
                    Ok(preview) => {
                        trouble.set(None);
                        html.set(preview.description_html);
                    }
                    Err(error) => trouble.set(Some(error)),
                }
            }
        });
    });
    view! {
        <div class="markdown-editor">
            <TextArea id="description" label="Description (Markdown)" value=value rows=8 error=field_error(failure, "description")/>
            <div class="preview-pane">
                <p class="hint">"Preview"</p>
                {move || trouble.get().map(|f| view! { <Failed failure=f/> })}
                <div class="preview" data-test="description-preview" aria-live="polite" inner_html=move || html.get()></div>
            </div>
        </div>
    }
}
