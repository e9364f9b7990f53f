//! Live order updates: a single-use ticket from the API, then a WebSocket following one order.
//! Every update makes the page reload the order; when the socket cannot open (or drops), the
//! page polls instead.

use gloo_net::http::Method;
use leptos::prelude::*;
use serde::Deserialize;
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{MessageEvent, WebSocket};

use crate::{api, state::Shop};

/// How often the page asks for the order while the socket is not open.
const POLL: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Deserialize)]
struct Ticket {
    ticket: String,
}

/// The socket URL of the API (`wss://…/api/v1/ws`), same origin unless the page names another.
fn socket_url(ticket: &str) -> Option<String> {
    let base = api::api_base();
    let base = if base.is_empty() {
        let location = web_sys::window()?.location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}", location.host().ok()?)
    } else {
        base.replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    };
    Some(format!("{base}/api/v1/ws?ticket={ticket}"))
}

/// Follows order `id` of the current store while the calling component lives: `changed` runs
/// on every update. `connected` says whether the socket is open (the page shows it).
pub fn follow_order(
    shop: Shop,
    id: String,
    order_token: Option<String>,
    changed: Callback<()>,
    connected: RwSignal<bool>,
) {
    let socket: StoredValue<Option<Open>, LocalStorage> = StoredValue::new_local(None);
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

/// An open socket and its handlers (dropped with it).
struct Open {
    socket: WebSocket,
    _handlers: Handlers,
}

/// The open, message and close handlers.
type Handlers = (
    Closure<dyn FnMut()>,
    Closure<dyn FnMut(MessageEvent)>,
    Closure<dyn FnMut()>,
);

impl Open {
    fn close(self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

async fn open(
    shop: Shop,
    id: &str,
    order_token: Option<&str>,
    changed: Callback<()>,
    connected: RwSignal<bool>,
) -> Option<Open> {
    let body = serde_json::json!({ "store": shop.slug(), "order": id });
    let headers: Vec<(&str, &str)> = order_token
        .map(|t| ("X-Order-Token", t))
        .into_iter()
        .collect();
    let access = shop.access.get_untracked();
    let ticket: Ticket = api::call(
        Method::POST,
        "/api/v1/ws/tickets",
        Some(&body),
        access.as_deref(),
        &headers,
    )
    .await
    .ok()?;
    let socket = WebSocket::new(&socket_url(&ticket.ticket)?).ok()?;
    let subscribe =
        serde_json::json!({ "type": "subscribe_order", "store": shop.slug(), "order": id })
            .to_string();
    let opened = {
        let socket = socket.clone();
        Closure::<dyn FnMut()>::new(move || {
            let _ = socket.send_with_str(&subscribe);
            connected.try_set(true);
        })
    };
    let message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else {
            return;
        };
        let kind = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|frame| frame["type"].as_str().map(str::to_owned));
        if matches!(kind.as_deref(), Some("event" | "resync")) {
            changed.run(());
        }
    });
    let closed = Closure::<dyn FnMut()>::new(move || {
        connected.try_set(false);
    });
    socket.set_onopen(Some(opened.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(closed.as_ref().unchecked_ref()));
    Some(Open {
        socket,
        _handlers: (opened, message, closed),
    })
}
