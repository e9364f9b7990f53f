//! Loading and error states, shared by every page.

use leptos::prelude::*;
use techverse_frontend::api::Failure;
use techverse_shared::ErrorCode;

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" role="status" aria-live="polite">"Loading…"</p> }
}

/// An API failure as a member should read it: a refusal says what is missing.
#[component]
pub fn Failed(failure: Failure) -> impl IntoView {
    let text = match failure.code {
        Some(ErrorCode::Forbidden) => {
            "Your role does not allow this. Ask the store's owner.".to_owned()
        }
        Some(ErrorCode::NotFound | ErrorCode::StoreNotFound) => {
            "Not found in this store.".to_owned()
        }
        // The server's own words are written for people and say more than a generic line
        // (`webhook_target_forbidden`, `invalid_transition`, …); these codes read better
        // from the shared texts.
        Some(
            ErrorCode::ValidationFailed
            | ErrorCode::Unauthorized
            | ErrorCode::TokenExpired
            | ErrorCode::SessionRevoked
            | ErrorCode::RateLimited
            | ErrorCode::StorageUnavailable
            | ErrorCode::ServiceUnavailable
            | ErrorCode::InternalError,
        )
        | None => failure.text(),
        Some(_) => failure.message.clone(),
    };
    view! { <p class="error" role="alert">{text}</p> }
}

/// Asks the member to confirm a destructive action (the browser's own dialog).
pub fn confirmed(question: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false)
}
