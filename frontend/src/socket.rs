//! The live socket both apps use: a single-use ticket from the API, then a WebSocket sending
//! one subscribe frame once open and handing each JSON frame to the page.

use gloo_net::http::Method;
use serde::Deserialize;
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{MessageEvent, WebSocket};

use crate::api;

#[derive(Deserialize)]
struct Ticket {
    ticket: String,
}

/// The open, message and close handlers (dropped with the socket).
type Handlers = (
    Closure<dyn FnMut()>,
    Closure<dyn FnMut(MessageEvent)>,
    Closure<dyn FnMut()>,
);

pub struct Socket {
    socket: WebSocket,
    _handlers: Handlers,
}

impl Socket {
    /// Asks for a ticket (`ticket_body` with the bearer and headers given), opens the socket
    /// and sends `subscribe` when it opens. `opened(true)` runs then, `opened(false)` when it
    /// closes; every frame that parses as JSON goes to `frame`.
    pub async fn open(
        ticket_body: &serde_json::Value,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
        subscribe: serde_json::Value,
        opened: impl Fn(bool) + Clone + 'static,
        mut frame: impl FnMut(serde_json::Value) + 'static,
    ) -> Option<Self> {
        let ticket: Ticket = api::call(
            Method::POST,
            "/api/v1/ws/tickets",
            Some(ticket_body),
            bearer,
            headers,
        )
        .await
        .ok()?;
        let socket = WebSocket::new(&api::socket_url(&ticket.ticket)?).ok()?;
        let subscribe = subscribe.to_string();
        let on_open = {
            let (socket, opened) = (socket.clone(), opened.clone());
            Closure::<dyn FnMut()>::new(move || {
                let _ = socket.send_with_str(&subscribe);
                opened(true);
            })
        };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(parsed) = event
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str(&text).ok())
            {
                frame(parsed);
            }
        });
        let on_close = Closure::<dyn FnMut()>::new(move || opened(false));
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Some(Self {
            socket,
            _handlers: (on_open, on_message, on_close),
        })
    }

    /// Still connecting or open.
    pub fn is_alive(&self) -> bool {
        matches!(
            self.socket.ready_state(),
            WebSocket::CONNECTING | WebSocket::OPEN
        )
    }

    pub fn close(self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}
