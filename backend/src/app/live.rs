//! The live feed's rules: single-use socket tickets, who may follow what (staff a store's feed,
//! a buyer their own order), what each of them is shown of an event, and reading what a
//! reconnecting client missed from the log.

use jiff::SignedDuration;
use serde_json::Value;
use techverse_shared::{CustomerId, OrderId, Permission, StoreId, StoreSlug, UserId};

use super::Context;
use crate::{
    auth::tokens,
    domain::{
        self,
        access::Permissions,
        events::{StoreEvent, for_shopper, required_permission},
        store::Store,
        token::{OneTimeToken, TokenPurpose, TokenSubject},
    },
    storage::StorageError,
};

/// How long a ticket opens a socket.
pub const TICKET_TTL: SignedDuration = SignedDuration::from_secs(30);
/// More missed events than this and the client is told to reload instead.
pub const MAX_REPLAY: usize = 1000;
const REPLAY_BATCH: u32 = 200;

/// Who a socket belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Staff(UserId),
    Customer {
        store: StoreId,
        customer: CustomerId,
    },
    /// A guest holding one order's token.
    Guest {
        store: StoreId,
        order: OrderId,
    },
}

impl Holder {
    /// The key sockets are counted under, per account.
    pub fn account_key(&self) -> String {
        match self {
            Self::Staff(user) => format!("staff:{user}"),
            Self::Customer { store, customer } => format!("customer:{store}:{customer}"),
            Self::Guest { store, order } => format!("order:{store}:{order}"),
        }
    }

    fn subject(&self) -> TokenSubject {
        match *self {
            Self::Staff(user_id) => TokenSubject::Staff { user_id },
            Self::Customer { store, customer } => TokenSubject::Customer {
                store_id: store,
                customer_id: customer,
            },
            Self::Guest { store, order } => TokenSubject::Order {
                store_id: store,
                order_id: order,
            },
        }
    }

    fn from_subject(subject: TokenSubject) -> Option<Self> {
        match subject {
            TokenSubject::Staff { user_id } => Some(Self::Staff(user_id)),
            TokenSubject::Customer {
                store_id,
                customer_id,
            } => Some(Self::Customer {
                store: store_id,
                customer: customer_id,
            }),
            TokenSubject::Order { store_id, order_id } => Some(Self::Guest {
                store: store_id,
                order: order_id,
            }),
            TokenSubject::Invite { .. } => None,
        }
    }
}

/// A fresh ticket for `holder`: shown once, stored as a hash, good for one socket within
/// [`TICKET_TTL`].
pub async fn issue_ticket(ctx: &Context, holder: &Holder) -> anyhow::Result<(String, i64)> {
    let ticket = tokens::random_token()?;
    let now = domain::now();
    ctx.storage
        .tokens()
        .insert(&OneTimeToken {
            hash: tokens::hash(&ticket),
            purpose: TokenPurpose::SocketTicket,
            subject: holder.subject(),
            created_at: now,
            expires_at: now + TICKET_TTL,
        })
        .await?;
    Ok((ticket, TICKET_TTL.as_secs()))
}

/// The holder of `ticket`, using it up; `None` when unknown, used or expired.
pub async fn redeem_ticket(ctx: &Context, ticket: &str) -> Result<Option<Holder>, StorageError> {
    let token = ctx
        .storage
        .tokens()
        .consume(
            TokenPurpose::SocketTicket,
            &tokens::hash(ticket),
            domain::now(),
        )
        .await?;
    Ok(token.and_then(|token| Holder::from_subject(token.subject)))
}

/// Why a subscription is refused (sent as an error frame, never with data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The store does not exist, or the caller is not allowed to know it does.
    #[error("store not found")]
    StoreNotFound,
    #[error("order not found")]
    OrderNotFound,
    #[error("missing permission orders.read")]
    Forbidden,
    #[error("storage unavailable")]
    Unavailable,
}

impl From<StorageError> for Refused {
    fn from(_: StorageError) -> Self {
        Self::Unavailable
    }
}

impl Refused {
    pub const fn code(self) -> &'static str {
        match self {
            Self::StoreNotFound => "store_not_found",
            Self::OrderNotFound => "not_found",
            Self::Forbidden => "forbidden",
            Self::Unavailable => "service_unavailable",
        }
    }
}

/// What one subscription is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A staff member's store feed: the events their permissions cover, whole.
    Store(Permissions),
    /// A buyer's own order: its status, payment and tracking, shopper-safe fields only.
    Order(OrderId),
}

/// A subscription the holder was allowed.
#[derive(Debug, Clone)]
pub struct Follow {
    pub store: StoreId,
    pub slug: StoreSlug,
    pub scope: Scope,
}

async fn store_by_slug(ctx: &Context, slug: &str) -> Result<Store, Refused> {
    let slug = StoreSlug::parse(slug).map_err(|_| Refused::StoreNotFound)?;
    ctx.storage
        .stores()
        .by_slug(&slug)
        .await?
        .ok_or(Refused::StoreNotFound)
}

/// A store's feed, for staff of that store with `orders.read`.
pub async fn follow_store(ctx: &Context, holder: &Holder, slug: &str) -> Result<Follow, Refused> {
    let Holder::Staff(user) = holder else {
        return Err(Refused::StoreNotFound);
    };
    let store = store_by_slug(ctx, slug).await?;
    let permissions = staff_permissions(ctx, store.id, *user)
        .await?
        .ok_or(Refused::StoreNotFound)?;
    if !permissions.contains(&Permission::OrdersRead) {
        return Err(Refused::Forbidden);
    }
    Ok(Follow {
        store: store.id,
        slug: store.slug,
        scope: Scope::Store(permissions),
    })
}

/// What the member may see in the store now (`None`: no longer a member).
pub async fn staff_permissions(
    ctx: &Context,
    store: StoreId,
    user: UserId,
) -> Result<Option<Permissions>, StorageError> {
    Ok(ctx
        .storage
        .teams()
        .get(store)
        .await?
        .and_then(|team| team.permissions_of(user)))
}

/// One order's updates, for the customer who placed it or the guest holding its ticket.
pub async fn follow_order(
    ctx: &Context,
    holder: &Holder,
    slug: &str,
    order: &str,
) -> Result<Follow, Refused> {
    let store = store_by_slug(ctx, slug).await?;
    let order: OrderId = order.parse().map_err(|_| Refused::OrderNotFound)?;
    let allowed = match *holder {
        Holder::Guest {
            store: of,
            order: id,
        } => of == store.id && id == order,
        Holder::Customer {
            store: of,
            customer,
        } if of == store.id => ctx
            .storage
            .commerce()
            .order(store.id, order)
            .await?
            .is_some_and(|found| found.customer_id == Some(customer)),
        Holder::Customer { .. } | Holder::Staff(_) => false,
    };
    if !allowed {
        return Err(Refused::OrderNotFound);
    }
    Ok(Follow {
        store: store.id,
        slug: store.slug,
        scope: Scope::Order(order),
    })
}

/// What `follow` shows of `event`, or `None` when it shows nothing of it.
pub fn shown(follow: &Follow, event: &StoreEvent) -> Option<Value> {
    if event.store_id != follow.store {
        return None;
    }
    match &follow.scope {
        Scope::Store(permissions) => permissions
            .contains(&required_permission(&event.kind))
            .then(|| event.payload.clone()),
        Scope::Order(order) => for_shopper(event, *order),
    }
}

/// The events of `store` after `after` up to `until` (inclusive; the newest when `None`).
pub enum Missed {
    Events(Vec<StoreEvent>),
    /// More than [`MAX_REPLAY`]: the client should reload and follow from the head.
    TooMany,
}

pub async fn missed(
    ctx: &Context,
    store: StoreId,
    after: i64,
    until: Option<i64>,
) -> Result<Missed, StorageError> {
    if until.is_some_and(|until| until - after > MAX_REPLAY as i64) {
        return Ok(Missed::TooMany);
    }
    let mut events = Vec::new();
    let mut from = after;
    loop {
        let batch = ctx
            .storage
            .catalog()
            .events(store, from, REPLAY_BATCH)
            .await?;
        let full = batch.len() == REPLAY_BATCH as usize;
        for event in batch {
            if until.is_some_and(|until| event.seq > until) {
                return Ok(Missed::Events(events));
            }
            from = event.seq;
            events.push(event);
            if events.len() > MAX_REPLAY {
                return Ok(Missed::TooMany);
            }
        }
        if !full {
            return Ok(Missed::Events(events));
        }
    }
}
