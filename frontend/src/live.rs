//! Live order updates: a single-use ticket from the API, then a WebSocket following one order.
//! Every update makes the page reload the order; when the socket cannot open (or drops), the
//! page polls instead.

use leptos::prelude::*;
use techverse_frontend::socket::Socket;

use crate::state::Shop;

/// How often the page asks for the order while the socket is not open.
const POLL: std::time::Duration = std::time::Duration::from_secs(10);

/// Follows order `id` of the current store while the calling component lives: `changed` runs
/// on every update. `connected` says whether the socket is open (the page shows it).
pub fn follow_order(
    shop: Shop,
    id: String,
    order_token: Option<String>,
    changed: Callback<()>,
    connected: RwSignal<bool>,
) {
    let socket: StoredValue<Option<Socket>, LocalStorage> = StoredValue::new_local(None);
    on_cleanup(move || {
        socket.try_update_value(|held| {
            if let Some(open) = held.take() {
                open.close();
            }
        });
    });
    leptos::task::spawn_local(async move {
        if let Some(opened) = open(shop, &id, order_token.as_deref(), changed, connected).await {
            socket.set_value(Some(opened));
        }
        // Polling whenever the socket is not open, until the page goes away.
        loop {
            gloo_timers::future::sleep(POLL).await;
            match connected.try_get_untracked() {
                None => break,
                Some(false) => changed.run(()),
                Some(true) => {}
            }
        }
    });
}

async fn open(
    shop: Shop,
    id: &str,
    order_token: Option<&str>,
    changed: Callback<()>,
    connected: RwSignal<bool>,
) -> Option<Socket> {
    let body = serde_json::json!({ "store": shop.slug(), "order": id });
    let headers: Vec<(&str, &str)> = order_token
        .map(|t| ("X-Order-Token", t))
        .into_iter()
        .collect();
    let access = shop.access.get_untracked();
    let subscribe =
        serde_json::json!({ "type": "subscribe_order", "store": shop.slug(), "order": id });
    Socket::open(
        &body,
        access.as_deref(),
        &headers,
        subscribe,
        move |open| {
            connected.try_set(open);
        },
        move |frame| {
            if matches!(frame["type"].as_str(), Some("event" | "resync")) {
                changed.run(());
            }
        },
    )
    .await
}
