//! The live feed over a real WebSocket: tickets, `Origin`, who may follow what, replay after a
//! reconnect, slow clients, and fan-out between two instances through a real Redis.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, protocol::frame::coding::CloseCode},
};

use crate::{
    checkout::{Shop, add, checkout, checkout_body, customer_order, guest_cart, json_of, shop},
    helpers::{PASSWORD, Service, TestApp, send, spawn_app_beside, spawn_app_with},
    orders::mark_paid,
};

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Many orders from one test buyer must not hit the open-order limits.
pub const MANY_ORDERS: [(&str, &str); 2] = [
    ("TECHVERSE_MAX_OPEN_ORDERS_PER_BUYER", "1000"),
    ("TECHVERSE_MAX_OPEN_ORDERS_PER_ADDRESS", "1000"),
];

/// A guest order of one phone case (cash on delivery, pickup): `(id, order token)`.
pub async fn order_case(app: &TestApp, s: &Shop, key: &str) -> (String, String) {
    let (cart, token) = guest_cart(app, &s.store).await;
    add(app, &s.store, &cart, &token, &s.case, 1).await;
    let order = json_of(
        checkout(
            app,
            &s.store,
            Some(&token),
            None,
            key,
            &checkout_body(&cart, &s.pickup, "cash_on_delivery"),
        )
        .await,
        201,
    )
    .await;
    (
        order["id"].as_str().unwrap().to_owned(),
        order["token"].as_str().unwrap().to_owned(),
    )
}

/// `POST /api/v1/ws/tickets` answering 201: the ticket.
pub async fn ticket(
    app: &TestApp,
    bearer: Option<&str>,
    order_token: Option<&str>,
    body: Value,
) -> String {
    let mut request = app.client.post(app.url("/api/v1/ws/tickets")).json(&body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(token) = order_token {
        request = request.header("X-Order-Token", token);
    }
    let body = json_of(request.send().await.unwrap(), 201).await;
    assert_eq!(body["expires_in"], 30);
    body["ticket"].as_str().unwrap().to_owned()
}

/// Opens the socket with `ticket`, as a page of the app's own origin does.
pub async fn open(
    app: &TestApp,
    ticket: &str,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    open_from(app, ticket, &app.address).await
}

async fn open_from(
    app: &TestApp,
    ticket: &str,
    origin: &str,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = format!(
        "{}/api/v1/ws?ticket={ticket}",
        app.address.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    connect_async(request).await.map(|(socket, _)| socket)
}

/// A staff member's socket following `store` from `after`.
pub async fn staff_socket(app: &TestApp, bearer: &str, store: &str, after: Option<i64>) -> Socket {
    let ticket = ticket(app, Some(bearer), None, json!({})).await;
    let mut socket = open(app, &ticket).await.unwrap();
    let mut command = json!({ "type": "subscribe", "store": store });
    if let Some(after) = after {
        command["after"] = json!(after);
    }
    say(&mut socket, &command).await;
    let ack = frame(&mut socket).await;
    assert_eq!(ack["type"], "subscribed", "{ack}");
    socket
}

pub async fn say(socket: &mut Socket, command: &Value) {
    socket
        .send(Message::text(command.to_string()))
        .await
        .unwrap();
}

/// The next JSON frame (pings skipped), within 10 s.
pub async fn frame(socket: &mut Socket) -> Value {
    tokio::time::timeout(Duration::from_secs(10), next_json(socket))
        .await
        .expect("a frame within 10 s")
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Message::Close(close))) => {
                return json!({ "type": "closed", "close": format!("{close:?}") });
            }
            Some(Ok(_)) => {}
            other => return json!({ "type": "ended", "why": format!("{other:?}") }),
        }
    }
}

/// The next `count` event frames (other frames fail the test).
pub async fn events(socket: &mut Socket, count: usize) -> Vec<Value> {
    let mut events = Vec::new();
    while events.len() < count {
        let next = frame(socket).await;
        assert_eq!(next["type"], "event", "{next}");
        events.push(next);
    }
    events
}

/// Nothing arrives for a moment (a frame would be a leak).
async fn quiet(socket: &mut Socket) {
    if let Ok(frame) = tokio::time::timeout(Duration::from_millis(700), next_json(socket)).await {
        panic!("expected nothing, got {frame}");
    }
}

#[tokio::test]
async fn staff_follow_their_store_in_order_and_nobody_sees_what_is_not_theirs() {
    let app = spawn_app_with(&MANY_ORDERS).await;
    let a = shop(&app, "live-a").await;
    let b = app.signup("live-b").await;
    let mut owner = staff_socket(&app, &a.merchant.access, &a.store, None).await;
    let mut stranger = {
        let ticket = ticket(&app, Some(&b.access), None, json!({})).await;
        let mut socket = open(&app, &ticket).await.unwrap();
        say(
            &mut socket,
            &json!({ "type": "subscribe", "store": a.store }),
        )
        .await;
        let refused = frame(&mut socket).await;
        assert_eq!(refused["type"], "error");
        assert_eq!(
            refused["code"], "store_not_found",
            "another store's staff is told nothing"
        );
        say(&mut socket, &json!({ "type": "hello" })).await;
        assert_eq!(frame(&mut socket).await["code"], "bad_request");
        socket
    };
    let (first, _) = order_case(&app, &a, "live-1").await;
    let (second, _) = order_case(&app, &a, "live-2").await;
    let got = events(&mut owner, 2).await;
    assert_eq!(got[0]["kind"], "order.created");
    assert_eq!(got[0]["store"], "live-a");
    assert_eq!(got[0]["data"]["order_id"], first.as_str());
    assert_eq!(got[1]["data"]["order_id"], second.as_str());
    assert_eq!(
        got[1]["seq"].as_i64().unwrap(),
        got[0]["seq"].as_i64().unwrap() + 1
    );
    quiet(&mut owner).await;
    quiet(&mut stranger).await;
}

#[tokio::test]
async fn a_buyer_follows_only_their_own_order_without_its_token_or_email() {
    let app = spawn_app_with(&MANY_ORDERS).await;
    let s = shop(&app, "live-buyer").await;
    let (mine, token) = order_case(&app, &s, "buyer-1").await;
    let (theirs, _) = order_case(&app, &s, "buyer-2").await;
    let ticket = ticket(
        &app,
        None,
        Some(&token),
        json!({ "store": s.store, "order": mine }),
    )
    .await;
    let mut socket = open(&app, &ticket).await.unwrap();
    say(
        &mut socket,
        &json!({ "type": "subscribe", "store": s.store }),
    )
    .await;
    assert_eq!(
        frame(&mut socket).await["code"],
        "store_not_found",
        "no store feed for a guest"
    );
    say(
        &mut socket,
        &json!({ "type": "subscribe_order", "store": s.store, "order": theirs }),
    )
    .await;
    assert_eq!(frame(&mut socket).await["code"], "not_found");
    say(
        &mut socket,
        &json!({ "type": "subscribe_order", "store": s.store, "order": mine, "after": 0 }),
    )
    .await;
    assert_eq!(frame(&mut socket).await["type"], "subscribed");
    mark_paid(&app, &s, &theirs).await;
    mark_paid(&app, &s, &mine).await;
    // Marking it paid is two events: the payment and the status move.
    let got = events(&mut socket, 2).await;
    let kinds: Vec<&str> = got.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["order.paid", "order.status_changed"],
        "only my order: {got:?}"
    );
    for event in &got {
        assert_eq!(event["data"]["order_id"], mine.as_str());
        let text = event.to_string();
        for secret in [token.as_str(), "ada@example.com", "email"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
    assert_eq!(got[1]["data"]["to"], "paid");
    quiet(&mut socket).await;
    // A wrong order token buys no ticket.
    let refused = app
        .client
        .post(app.url("/api/v1/ws/tickets"))
        .header("X-Order-Token", "not-the-token")
        .json(&json!({ "store": s.store, "order": mine }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
}

#[tokio::test]
async fn a_client_reconnecting_with_after_gets_exactly_what_it_missed_then_live_events() {
    let app = spawn_app_with(&MANY_ORDERS).await;
    let s = shop(&app, "live-resume").await;
    let mut socket = staff_socket(&app, &s.merchant.access, &s.store, None).await;
    order_case(&app, &s, "resume-0").await;
    let last = events(&mut socket, 1).await[0]["seq"].as_i64().unwrap();
    socket.close(None).await.unwrap();
    let mut missed = Vec::new();
    for n in 1..=3 {
        missed.push(order_case(&app, &s, &format!("resume-{n}")).await.0);
    }
    let mut socket = staff_socket(&app, &s.merchant.access, &s.store, Some(last)).await;
    let replayed = events(&mut socket, 3).await;
    let ids: Vec<&str> = replayed
        .iter()
        .map(|e| e["data"]["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, missed.iter().map(String::as_str).collect::<Vec<_>>());
    let seqs: Vec<i64> = replayed
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [last + 1, last + 2, last + 3]);
    let (live, _) = order_case(&app, &s, "resume-live").await;
    let next = events(&mut socket, 1).await;
    assert_eq!(next[0]["seq"], last + 4, "no gap, no duplicate");
    assert_eq!(next[0]["data"]["order_id"], live.as_str());
    quiet(&mut socket).await;
}

#[tokio::test]
async fn a_ticket_opens_one_socket_once_and_never_after_it_expires_or_from_another_origin() {
    let app = spawn_app_with(&[]).await;
    let merchant = app.signup("live-tickets").await;
    let once = ticket(&app, Some(&merchant.access), None, json!({})).await;
    let stolen = ticket(&app, Some(&merchant.access), None, json!({})).await;
    let refused = open_from(&app, &stolen, "https://evil.example").await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 403),
        "cross-site socket: {refused:?}"
    );
    assert!(open(&app, &once).await.is_ok());
    let again = open(&app, &once).await;
    assert!(
        matches!(&again, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 400),
        "used: {again:?}"
    );
    // A ticket past its 30 seconds.
    let expired = "expired-ticket-0123456789";
    let now = techverse::domain::now();
    app.ctx
        .storage
        .tokens()
        .insert(&techverse::domain::token::OneTimeToken {
            hash: techverse::auth::tokens::hash(expired),
            purpose: techverse::domain::token::TokenPurpose::SocketTicket,
            subject: techverse::domain::token::TokenSubject::Staff {
                user_id: merchant.user_id.parse().unwrap(),
            },
            created_at: now - jiff::SignedDuration::from_secs(31),
            expires_at: now - jiff::SignedDuration::from_secs(1),
        })
        .await
        .unwrap();
    let late = open(&app, expired).await;
    assert!(
        matches!(&late, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 400),
        "expired: {late:?}"
    );
    let anonymous = app
        .client
        .post(app.url("/api/v1/ws/tickets"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_with_1013_and_the_others_keep_receiving() {
    let app = spawn_app_with(&[("TECHVERSE_WS_QUEUE", "8")]).await;
    let merchant = app.signup("live-slow").await;
    let mut slow = staff_socket(&app, &merchant.access, "live-slow", None).await;
    let mut quick = staff_socket(&app, &merchant.access, "live-slow", None).await;
    let store = app.store("live-slow").await;
    // Big events fill the socket buffers quickly; the slow client reads none of them.
    let filler = "x".repeat(60 * 1024);
    let total = 300;
    for n in 0..total {
        let event = techverse::domain::events::StoreEvent::new(
            store.id,
            "order.note_added",
            json!({ "n": n, "filler": filler }),
            techverse::domain::now(),
        );
        app.ctx
            .storage
            .catalog()
            .append_event(store.id, &event)
            .await
            .unwrap();
        app.ctx.events.committed();
        let got = events(&mut quick, 1).await;
        assert_eq!(got[0]["data"]["n"], n, "the quick client is never held up");
    }
    // Now read the slow one: what was queued, then the close frame.
    let close = loop {
        let next = frame(&mut slow).await;
        if next["type"] != "event" {
            break next;
        }
    };
    assert_eq!(close["type"], "closed", "{close}");
    let text = close["close"].as_str().unwrap();
    assert!(
        text.contains(&format!("{:?}", CloseCode::Again)) && text.contains("too slow"),
        "{text}"
    );
    let page = send(&app, Method::GET, "/metrics", &merchant.access, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("techverse_ws_sockets_open 1"), "{page}");
}

#[tokio::test]
async fn two_instances_on_one_redis_share_the_feed_and_the_log_covers_a_redis_outage() {
    let mut redis = Service::redis().await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let prefix = format!("tv-fanout-{}:", uuid::Uuid::new_v4().simple());
    let extra = [
        MANY_ORDERS[0],
        MANY_ORDERS[1],
        ("TECHVERSE_REDIS_URL", url.as_str()),
        ("TECHVERSE_REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let one = spawn_app_with(&extra).await;
    let two = spawn_app_beside(&one, &extra).await;
    let s = shop(&one, "fan-out").await;
    let mut watching = staff_socket(&two, &s.merchant.access, &s.store, None).await;
    let (first, _) = order_case(&one, &s, "fan-1").await;
    let got = events(&mut watching, 1).await;
    assert_eq!(
        got[0]["data"]["order_id"],
        first.as_str(),
        "placed on 1, seen on 2"
    );
    let last = got[0]["seq"].as_i64().unwrap();

    redis.stop();
    let mut missed = Vec::new();
    for n in 0..2 {
        missed.push(order_case(&one, &s, &format!("fan-down-{n}")).await.0);
    }
    redis.start_redis().await;
    // The old socket catches up from the log once instance 2 is subscribed again.
    let caught = events(&mut watching, 2).await;
    let ids: Vec<&str> = caught
        .iter()
        .map(|e| e["data"]["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, missed.iter().map(String::as_str).collect::<Vec<_>>());
    // Redis kept no sessions: sign in again, reconnect with `after`.
    let login = json_of(one.login_staff(&s.merchant.email, PASSWORD).await, 200).await;
    let access = login["access_token"].as_str().unwrap().to_owned();
    let mut back = staff_socket(&two, &access, &s.store, Some(last)).await;
    let replayed = events(&mut back, 2).await;
    let seqs: Vec<i64> = replayed
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [last + 1, last + 2]);
    let (live, _) = order_case(&one, &s, "fan-after").await;
    for socket in [&mut back, &mut watching] {
        let next = events(socket, 1).await;
        assert_eq!(next[0]["seq"], last + 3, "no duplicate");
        assert_eq!(next[0]["data"]["order_id"], live.as_str());
        quiet(socket).await;
    }
}

#[tokio::test]
async fn a_signed_in_customer_follows_their_own_orders_and_no_one_elses() {
    let app = spawn_app_with(&MANY_ORDERS).await;
    let s = shop(&app, "live-customer").await;
    let customer = app
        .register_customer("live-customer", "bola@example.com", PASSWORD)
        .await;
    let mine = customer_order(&app, &s, &customer.access, &s.case, "customer-1").await;
    let mine = mine["id"].as_str().unwrap().to_owned();
    let (guests, _) = order_case(&app, &s, "someone-else").await;
    let ticket = ticket(
        &app,
        Some(&customer.access),
        None,
        json!({ "store": s.store }),
    )
    .await;
    let mut socket = open(&app, &ticket).await.unwrap();
    say(
        &mut socket,
        &json!({ "type": "subscribe_order", "store": s.store, "order": guests }),
    )
    .await;
    assert_eq!(frame(&mut socket).await["code"], "not_found");
    say(
        &mut socket,
        &json!({ "type": "subscribe", "store": s.store }),
    )
    .await;
    assert_eq!(frame(&mut socket).await["code"], "store_not_found");
    say(
        &mut socket,
        &json!({ "type": "subscribe_order", "store": s.store, "order": mine }),
    )
    .await;
    assert_eq!(frame(&mut socket).await["type"], "subscribed");
    mark_paid(&app, &s, &guests).await;
    mark_paid(&app, &s, &mine).await;
    let got = events(&mut socket, 2).await;
    assert!(
        got.iter().all(|e| e["data"]["order_id"] == mine.as_str()),
        "{got:?}"
    );
    quiet(&mut socket).await;
}
