//! The live order feed: a staff ticket, a WebSocket subscribed to the store, each event handed
//! to the page; after a drop it reconnects and resumes after the last seq it saw.

use leptos::prelude::*;
use serde::Deserialize;
use techverse_frontend::socket::Socket;

use crate::session::Session;

/// Wait before reconnecting after the socket closed.
const RECONNECT: std::time::Duration = std::time::Duration::from_secs(2);

/// One event of the store's log as the socket sends it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LiveEvent {
    pub seq: i64,
    pub kind: String,
    pub at: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

/// What the socket tells the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    Event(LiveEvent),
    /// Events were missed (too far behind): reload everything.
    Resync,
}

/// Follows `store` while the calling component lives; `connected` shows the socket's state.
pub fn follow_store(
    session: Session,
    store: String,
    on_signal: Callback<Signal>,
    connected: RwSignal<bool>,
) {
    let held: StoredValue<Option<Socket>, LocalStorage> = StoredValue::new_local(None);
    let last_seq: StoredValue<Option<i64>> = StoredValue::new(None);
    on_cleanup(move || {
        held.try_update_value(|open| {
            if let Some(open) = open.take() {
                open.close();
            }
        });
    });
    leptos::task::spawn_local(async move {
        loop {
            // Stop once the page has gone.
            if connected.try_get_untracked().is_none() {
                break;
            }
            let alive = held
                .try_with_value(|open| open.as_ref().is_some_and(Socket::is_alive))
                .unwrap_or(false);
            if !alive {
                if let Some(open) = held.try_update_value(|open| open.take()).flatten() {
                    open.close();
                }
                let after = last_seq.try_get_value().flatten();
                if let Some(open) =
                    open(session, &store, after, on_signal, connected, last_seq).await
                {
                    held.try_set_value(Some(open));
                }
            }
            gloo_timers::future::sleep(RECONNECT).await;
        }
    });
}

async fn open(
    session: Session,
    store: &str,
    after: Option<i64>,
    on_signal: Callback<Signal>,
    connected: RwSignal<bool>,
    last_seq: StoredValue<Option<i64>>,
) -> Option<Socket> {
    let access = session.access.get_untracked()?;
    let mut subscribe = serde_json::json!({ "type": "subscribe", "store": store });
    if let Some(after) = after {
        subscribe["after"] = after.into();
    }
    let frame = move |frame: serde_json::Value| match frame["type"].as_str() {
        Some("event") => {
            if let Ok(event) = serde_json::from_value::<LiveEvent>(frame) {
                last_seq.try_set_value(Some(event.seq));
                on_signal.run(Signal::Event(event));
            }
        }
        Some("resync") => on_signal.run(Signal::Resync),
        _ => {}
    };
    Socket::open(
        &serde_json::json!({}),
        Some(&access),
        &[],
        subscribe,
        move |open| {
            connected.try_set(open);
        },
        frame,
    )
    .await
}
