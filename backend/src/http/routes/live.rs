//! The live feed over WebSocket: `POST /api/v1/ws/tickets` hands out single-use tickets (a
//! browser cannot put a bearer token on a socket, and long-lived tokens do not belong in
//! URLs); `GET /api/v1/ws?ticket=…` opens the socket when the `Origin` is ours.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use techverse_shared::{ErrorCode, StoreSlug};

use crate::{
    app::{
        Context,
        live::{self, Follow, Holder, Missed, Refused, Scope},
    },
    auth::jwt::Audience,
    domain::events::StoreEvent,
    http::routes::table::resource,
    http::{
        AppState,
        auth::{app_state, bearer},
        error::ApiError,
        limits::{client_ip, enforce},
    },
    ratelimit::Rule,
    realtime::hub::{Joined, Push, Refusal},
};

/// Incoming frames larger than this are refused (the socket closes with 1009).
const MAX_FRAME: usize = 64 * 1024;
const PING_EVERY: Duration = Duration::from_secs(15);
const SILENCE: Duration = Duration::from_secs(45);
/// How long a closing frame may wait behind data a slow client has not read yet.
const CLOSE_WAIT: Duration = Duration::from_secs(30);
/// Subscriptions one socket may hold.
const MAX_FOLLOWS: usize = 50;

#[derive(utoipa::OpenApi)]
#[openapi(paths(ticket, open))]
pub struct Doc;

/// `201` to a ticket request.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Ticket {
    ticket: String,
    /// Seconds until the ticket expires.
    expires_in: i64,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/ws/tickets").post(ticket))
        .service(resource("/ws").get(open));
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TicketRequest {
    /// The store, for a customer's bearer token or a guest's order token.
    store: Option<String>,
    /// The guest's order (with `X-Order-Token`).
    order: Option<String>,
}

/// A one-use ticket (30 s) to open the live feed socket: staff with their bearer token (no body), a customer with theirs and `store`, a guest with `X-Order-Token` and `store` and `order`.
#[utoipa::path(
    post,
    path = "/ws/tickets",
    tag = "live",
    request_body = Option<TicketRequest>,
    security(("staff" = []), ("customer" = []), ("order_token" = [])),
    responses(
        (status = 201, description = "The ticket.", body = Ticket),
    ),
)]
async fn ticket(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // The body is optional (a staff bearer needs none); when sent, it must be valid.
    let body: TicketRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TicketRequest::default()
    } else {
        crate::http::json::parse(&body)?
    };
    let holder = ticket_holder(&req, &state, &body).await?;
    let (ticket, expires_in) = live::issue_ticket(&state.ctx, &holder)
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Ticket { ticket, expires_in }))
}

/// Who is asking: a staff bearer token (no store named), a customer's (with the store), or a
/// guest's order token for one order.
async fn ticket_holder(
    req: &HttpRequest,
    state: &AppState,
    body: &TicketRequest,
) -> Result<Holder, ApiError> {
    let ctx = &state.ctx;
    if let Some(token) = bearer(req) {
        if body.store.is_none() {
            let (claims, _) = ctx.authenticate(&token, Audience::Staff).await?;
            enforce(req, state, Rule::User, &claims.sub).await?;
            let user = claims.sub.parse().map_err(|_| unauthorized())?;
            return Ok(Holder::Staff(user));
        }
        let store = named_store(ctx, body.store.as_deref()).await?;
        let (claims, _) = ctx
            .authenticate(&token, Audience::Customer(store.id))
            .await?;
        enforce(req, state, Rule::User, &claims.sub).await?;
        let customer = claims.sub.parse().map_err(|_| unauthorized())?;
        return Ok(Holder::Customer {
            store: store.id,
            customer,
        });
    }
    let order_token = req
        .headers()
        .get("x-order-token")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(unauthorized)?;
    enforce(req, state, Rule::Ip, &client_ip(req, &state.settings)).await?;
    let store = named_store(ctx, body.store.as_deref()).await?;
    let order = body
        .order
        .as_deref()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| ApiError::from_code(ErrorCode::NotFound))?;
    crate::app::checkout::buyer_order(ctx, &store, order, None, Some(order_token)).await?;
    Ok(Holder::Guest {
        store: store.id,
        order,
    })
}

fn unauthorized() -> ApiError {
    ApiError::from_code(ErrorCode::Unauthorized)
}

async fn named_store(
    ctx: &Context,
    slug: Option<&str>,
) -> Result<crate::domain::store::Store, ApiError> {
    let slug = slug
        .and_then(|s| StoreSlug::parse(s).ok())
        .ok_or_else(ApiError::store_not_found)?;
    ctx.storage
        .stores()
        .by_slug(&slug)
        .await?
        .filter(crate::domain::store::Store::is_public)
        .ok_or_else(ApiError::store_not_found)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct OpenParams {
    /// The ticket from `POST /ws/tickets`.
    ticket: Option<String>,
}

/// Opens the live feed WebSocket with a ticket; events arrive as JSON frames, and `{"resume": seq}` replays what was missed.
#[utoipa::path(
    get,
    path = "/ws",
    tag = "live",
    params(OpenParams),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol."),
    ),
)]
async fn open(
    req: HttpRequest,
    body: web::Payload,
    params: web::Query<OpenParams>,
) -> Result<HttpResponse, ApiError> {
    let state = app_state(&req)?;
    if !origin_allowed(&req, &state) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this origin may not open the live feed",
        ));
    }
    let ticket = params.ticket.as_deref().unwrap_or_default();
    let holder = live::redeem_ticket(&state.ctx, ticket)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "unknown, used or expired ticket"))?;
    let address: IpAddr = client_ip(&req, &state.settings)
        .parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let joined = state
        .hub
        .join(holder.account_key(), address)
        .await
        .map_err(|refusal| match refusal {
            Refusal::ShuttingDown => ApiError::overloaded(5),
            Refusal::Full | Refusal::AccountFull | Refusal::AddressFull => {
                ApiError::rate_limited(30).with_details(json!({ "reason": refusal.to_string() }))
            }
        })?;
    let (response, session, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(error) => {
            state.hub.leave(joined.id).await;
            return Err(ApiError::new(ErrorCode::BadRequest, error.to_string()));
        }
    };
    let connection = Connection {
        ctx: state.ctx.clone(),
        hub: state.hub.clone(),
        holder,
        session,
        follows: Vec::new(),
        heard: Instant::now(),
    };
    actix_web::rt::spawn(connection.run(joined, stream.max_frame_size(MAX_FRAME)));
    Ok(response)
}

/// Same origin as the request, the public URL, or one of the CORS origins. A request without
/// `Origin` is not a browser's (browsers always send it on sockets), so it has no ambient
/// credentials to hijack: the ticket alone decides.
fn origin_allowed(req: &HttpRequest, state: &AppState) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    let info = req.connection_info();
    let same = format!("{}://{}", info.scheme(), info.host());
    origin == same
        || origin == state.settings.public_url.trim_end_matches('/')
        || state
            .settings
            .cors_origins()
            .iter()
            .any(|allowed| allowed.trim_end_matches('/') == origin)
}

/// Whether two subscriptions of one store show the same thing (the store feed, or one order).
fn same_scope(a: &Scope, b: &Scope) -> bool {
    match (a, b) {
        (Scope::Store(_), Scope::Store(_)) => true,
        (Scope::Order(x), Scope::Order(y)) => x == y,
        _ => false,
    }
}

/// One subscription and the last seq handed to it (`None`: none yet; the first live event
/// sets it).
struct Followed {
    follow: Follow,
    delivered: Option<i64>,
}

/// Why a connection ends.
enum End {
    /// The client went away, or the socket failed: nothing more to send.
    Gone,
    Close(CloseCode, &'static str),
}

struct Connection {
    ctx: Context,
    hub: crate::realtime::hub::HubHandle,
    holder: Holder,
    session: Session,
    follows: Vec<Followed>,
    heard: Instant,
}

impl Connection {
    async fn run(mut self, joined: Joined, mut stream: MessageStream) {
        let Joined {
            id,
            mut pushes,
            too_slow,
        } = joined;
        let closing = self.hub.closing();
        let mut heartbeat = tokio::time::interval(PING_EVERY);
        heartbeat.tick().await;
        let end = loop {
            let step = tokio::select! {
                biased;
                () = closing.cancelled() => Err(End::Close(CloseCode::Away, "server shutting down")),
                () = too_slow.cancelled() => Err(End::Close(CloseCode::Again, "too slow: events arrived faster than they were read; reconnect with after")),
                message = stream.next() => self.on_message(message, id).await,
                push = pushes.recv() => match push {
                    Some(Push::Event(event)) => self.deliver(&event).await,
                    Some(Push::Recheck) => self.recheck().await,
                    None => Err(End::Close(CloseCode::Again, "dropped by the server")),
                },
                _ = heartbeat.tick() => self.beat().await,
            };
            if let Err(end) = step {
                break end;
            }
        };
        self.hub.leave(id).await;
        if let End::Close(code, reason) = end {
            let reason = CloseReason {
                code,
                description: Some(reason.to_owned()),
            };
            let _ = tokio::time::timeout(CLOSE_WAIT, self.session.close(Some(reason))).await;
        }
    }

    async fn on_message(
        &mut self,
        message: Option<Result<Message, actix_ws::ProtocolError>>,
        id: u64,
    ) -> Result<(), End> {
        self.heard = Instant::now();
        match message {
            Some(Ok(Message::Text(text))) => self.command(&text, id).await,
            Some(Ok(Message::Ping(bytes))) => {
                self.session.pong(&bytes).await.map_err(|_| End::Gone)
            }
            Some(Ok(Message::Pong(_) | Message::Nop | Message::Continuation(_))) => Ok(()),
            Some(Ok(Message::Binary(_))) => {
                self.error("bad_request", "send JSON text frames", None)
                    .await
            }
            Some(Ok(Message::Close(_))) => Err(End::Close(CloseCode::Normal, "bye")),
            Some(Err(actix_ws::ProtocolError::Overflow)) => {
                Err(End::Close(CloseCode::Size, "frames are limited to 64 KiB"))
            }
            Some(Err(_)) | None => Err(End::Gone),
        }
    }

    async fn command(&mut self, text: &str, id: u64) -> Result<(), End> {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
        enum Command {
            Subscribe {
                store: String,
                after: Option<i64>,
            },
            SubscribeOrder {
                store: String,
                order: String,
                after: Option<i64>,
            },
        }
        let Ok(command) = serde_json::from_str::<Command>(text) else {
            return self
                .error(
                    "bad_request",
                    "expected {\"type\":\"subscribe\",\"store\":…} or {\"type\":\"subscribe_order\",…}",
                    None,
                )
                .await;
        };
        if self.follows.len() >= MAX_FOLLOWS {
            return self
                .error("bad_request", "too many subscriptions on one socket", None)
                .await;
        }
        let (store, allowed, after) = match command {
            Command::Subscribe { store, after } => {
                let allowed = live::follow_store(&self.ctx, &self.holder, &store).await;
                (store, allowed, after)
            }
            Command::SubscribeOrder {
                store,
                order,
                after,
            } => {
                let allowed = live::follow_order(&self.ctx, &self.holder, &store, &order).await;
                (store, allowed, after)
            }
        };
        match allowed {
            Ok(follow) => self.start(follow, after, id).await,
            Err(refused) => self.refuse(refused, &store).await,
        }
    }

    /// Registers the subscription with the hub first, then replays what was missed: an event
    /// committed meanwhile arrives both ways and is handed over once. Subscribing again to what
    /// the socket already follows changes nothing.
    async fn start(&mut self, follow: Follow, after: Option<i64>, id: u64) -> Result<(), End> {
        if self
            .follows
            .iter()
            .any(|f| f.follow.store == follow.store && same_scope(&f.follow.scope, &follow.scope))
        {
            return self
                .error(
                    "bad_request",
                    "already subscribed",
                    Some(follow.slug.as_str()),
                )
                .await;
        }
        self.hub.follow(id, follow.store).await;
        let ack = json!({
            "type": "subscribed",
            "store": follow.slug.as_str(),
            "order": match &follow.scope { Scope::Order(order) => Some(order.to_string()), Scope::Store(_) => None },
        });
        self.send(ack).await?;
        self.follows.push(Followed {
            follow,
            delivered: after.map(|after| after.max(0)),
        });
        let index = self.follows.len() - 1;
        if self.follows[index].delivered.is_some() {
            self.catch_up(index, None).await?;
        }
        Ok(())
    }

    async fn refuse(&mut self, refused: Refused, store: &str) -> Result<(), End> {
        let store = (store.len() <= 64).then_some(store);
        self.error(refused.code(), &refused.to_string(), store)
            .await
    }

    /// Hands `event` to every subscription of its store, reading the log first for any gap.
    async fn deliver(&mut self, event: &StoreEvent) -> Result<(), End> {
        for index in 0..self.follows.len() {
            if self.follows[index].follow.store != event.store_id {
                continue;
            }
            match self.follows[index].delivered {
                Some(delivered) if event.seq <= delivered => continue,
                Some(delivered) if event.seq > delivered + 1 => {
                    self.catch_up(index, Some(event.seq - 1)).await?;
                }
                _ => {}
            }
            self.hand(index, event).await?;
        }
        Ok(())
    }

    /// Reads the log after what subscription `index` was handed (up to `until`) and hands it
    /// over; more than the replay limit and the client is told to reload.
    async fn catch_up(&mut self, index: usize, until: Option<i64>) -> Result<(), End> {
        let Some(after) = self.follows[index].delivered else {
            return Ok(());
        };
        let store = self.follows[index].follow.store;
        match live::missed(&self.ctx, store, after, until).await {
            Ok(Missed::Events(events)) => {
                for event in &events {
                    self.hand(index, event).await?;
                }
                Ok(())
            }
            Ok(Missed::TooMany) => {
                let slug = self.follows[index].follow.slug.as_str().to_owned();
                self.follows[index].delivered = None;
                self.send(json!({ "type": "resync", "store": slug })).await
            }
            Err(error) => {
                tracing::warn!(error = %error, "live feed could not read the log");
                Err(End::Close(
                    CloseCode::Again,
                    "the event log is unavailable; reconnect with after",
                ))
            }
        }
    }

    async fn hand(&mut self, index: usize, event: &StoreEvent) -> Result<(), End> {
        let followed = &mut self.follows[index];
        if followed.delivered.is_some_and(|d| event.seq <= d) {
            return Ok(());
        }
        followed.delivered = Some(event.seq);
        let Some(data) = live::shown(&followed.follow, event) else {
            return Ok(());
        };
        let frame = json!({
            "type": "event",
            "store": followed.follow.slug.as_str(),
            "seq": event.seq,
            "kind": event.kind,
            "at": event.at.to_string(),
            "data": data,
        });
        self.send(frame).await
    }

    async fn recheck(&mut self) -> Result<(), End> {
        for index in 0..self.follows.len() {
            self.catch_up(index, None).await?;
        }
        Ok(())
    }

    /// Pings, closes a silent client, and re-checks staff members' permissions (someone
    /// removed from the team stops receiving within a heartbeat).
    async fn beat(&mut self) -> Result<(), End> {
        if self.heard.elapsed() > SILENCE {
            return Err(End::Close(CloseCode::Policy, "no answer to pings"));
        }
        self.session.ping(b"").await.map_err(|_| End::Gone)?;
        let Holder::Staff(user) = self.holder else {
            return Ok(());
        };
        let mut index = 0;
        while index < self.follows.len() {
            let store = self.follows[index].follow.store;
            let permissions = live::staff_permissions(&self.ctx, store, user)
                .await
                .unwrap_or(None);
            match permissions {
                Some(permissions)
                    if permissions.contains(&techverse_shared::Permission::OrdersRead) =>
                {
                    self.follows[index].follow.scope = Scope::Store(permissions);
                    index += 1;
                }
                _ => {
                    let followed = self.follows.remove(index);
                    self.refuse(Refused::Forbidden, followed.follow.slug.as_str())
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn error(&mut self, code: &str, message: &str, store: Option<&str>) -> Result<(), End> {
        self.send(json!({ "type": "error", "code": code, "message": message, "store": store }))
            .await
    }

    async fn send(&mut self, frame: serde_json::Value) -> Result<(), End> {
        self.session
            .text(frame.to_string())
            .await
            .map_err(|_| End::Gone)
    }
}
