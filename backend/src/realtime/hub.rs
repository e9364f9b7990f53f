//! The hub: one task owning every open socket's place (who follows which store, how many
//! sockets each account and address holds), reached through a [`HubHandle`]. It never awaits a
//! socket: it offers each event to a connection's bounded queue and, when the queue is full,
//! tells that connection to close (1013) instead of slowing anyone else down.

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use techverse_shared::StoreId;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::domain::events::StoreEvent;

pub type ConnId = u64;

/// What a connection is handed.
#[derive(Debug, Clone)]
pub enum Push {
    /// An event of a store it follows.
    Event(Arc<StoreEvent>),
    /// Events may have been missed (the fan-out reconnected): read the log after what was
    /// delivered.
    Recheck,
}

/// Bounds on what sockets may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub total: usize,
    pub per_account: usize,
    pub per_address: usize,
    /// Pushes waiting for one connection before it counts as too slow.
    pub queue: usize,
}

/// Why a socket may not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("too many sockets on this server")]
    Full,
    #[error("too many sockets for this account")]
    AccountFull,
    #[error("too many sockets from this address")]
    AddressFull,
    #[error("the server is shutting down")]
    ShuttingDown,
}

/// A connection's place in the hub.
pub struct Joined {
    pub id: ConnId,
    pub pushes: mpsc::Receiver<Push>,
    /// Cancelled when the connection could not keep up: close it with 1013.
    pub too_slow: CancellationToken,
}

enum Command {
    Join {
        account: String,
        address: IpAddr,
        reply: oneshot::Sender<Result<Joined, Refusal>>,
    },
    Leave(ConnId),
    Follow(ConnId, StoreId),
    Publish(Arc<StoreEvent>),
    Recheck,
}

/// Reaches the hub task. Cheap to clone.
#[derive(Clone)]
pub struct HubHandle {
    commands: mpsc::Sender<Command>,
    /// Cancelled at shutdown: every socket closes with 1001.
    closing: CancellationToken,
    open: Arc<AtomicUsize>,
}

impl HubHandle {
    /// Starts the hub task.
    pub fn start(limits: Limits) -> Self {
        let (commands, inbox) = mpsc::channel(4096);
        let open = Arc::new(AtomicUsize::new(0));
        let hub = Hub {
            limits,
            next_id: 0,
            conns: HashMap::new(),
            followers: HashMap::new(),
            per_account: HashMap::new(),
            per_address: HashMap::new(),
            open: Arc::clone(&open),
        };
        tokio::spawn(hub.run(inbox));
        Self {
            commands,
            closing: CancellationToken::new(),
            open,
        }
    }

    pub async fn join(&self, account: String, address: IpAddr) -> Result<Joined, Refusal> {
        if self.closing.is_cancelled() {
            return Err(Refusal::ShuttingDown);
        }
        let (reply, answer) = oneshot::channel();
        self.send(Command::Join {
            account,
            address,
            reply,
        })
        .await;
        answer.await.unwrap_or(Err(Refusal::ShuttingDown))
    }

    pub async fn leave(&self, id: ConnId) {
        self.send(Command::Leave(id)).await;
    }

    pub async fn follow(&self, id: ConnId, store: StoreId) {
        self.send(Command::Follow(id, store)).await;
    }

    /// Hands an event to every socket following its store on this instance.
    pub async fn publish(&self, event: Arc<StoreEvent>) {
        self.send(Command::Publish(event)).await;
    }

    /// Asks every socket to read the log for what it may have missed.
    pub async fn recheck(&self) {
        self.send(Command::Recheck).await;
    }

    /// Sockets open on this instance.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Resolves when the server shuts down.
    pub fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    /// Closes every socket (1001) and refuses new ones.
    pub fn close_all(&self) {
        self.closing.cancel();
    }

    async fn send(&self, command: Command) {
        // The hub only stops when every handle is gone, so this cannot fail while we hold one.
        let _ = self.commands.send(command).await;
    }
}

struct Conn {
    account: String,
    address: IpAddr,
    pushes: mpsc::Sender<Push>,
    too_slow: CancellationToken,
    stores: HashSet<StoreId>,
}

struct Hub {
    limits: Limits,
    next_id: ConnId,
    conns: HashMap<ConnId, Conn>,
    followers: HashMap<StoreId, HashSet<ConnId>>,
    per_account: HashMap<String, usize>,
    per_address: HashMap<IpAddr, usize>,
    open: Arc<AtomicUsize>,
}

impl Hub {
    async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        while let Some(command) = inbox.recv().await {
            match command {
                Command::Join {
                    account,
                    address,
                    reply,
                } => {
                    let _ = reply.send(self.join(account, address));
                }
                Command::Leave(id) => self.leave(id),
                Command::Follow(id, store) => {
                    if let Some(conn) = self.conns.get_mut(&id) {
                        conn.stores.insert(store);
                        self.followers.entry(store).or_default().insert(id);
                    }
                }
                Command::Publish(event) => self.publish(&event),
                Command::Recheck => {
                    let ids: Vec<ConnId> = self.conns.keys().copied().collect();
                    for id in ids {
                        self.offer(id, Push::Recheck);
                    }
                }
            }
        }
    }

    fn join(&mut self, account: String, address: IpAddr) -> Result<Joined, Refusal> {
        if self.conns.len() >= self.limits.total {
            return Err(Refusal::Full);
        }
        if self.per_account.get(&account).copied().unwrap_or(0) >= self.limits.per_account {
            return Err(Refusal::AccountFull);
        }
        if self.per_address.get(&address).copied().unwrap_or(0) >= self.limits.per_address {
            return Err(Refusal::AddressFull);
        }
        self.next_id += 1;
        let id = self.next_id;
        let (pushes, receiver) = mpsc::channel(self.limits.queue.max(1));
        let too_slow = CancellationToken::new();
        *self.per_account.entry(account.clone()).or_default() += 1;
        *self.per_address.entry(address).or_default() += 1;
        self.conns.insert(
            id,
            Conn {
                account,
                address,
                pushes,
                too_slow: too_slow.clone(),
                stores: HashSet::new(),
            },
        );
        self.open.store(self.conns.len(), Ordering::Relaxed);
        Ok(Joined {
            id,
            pushes: receiver,
            too_slow,
        })
    }

    fn leave(&mut self, id: ConnId) {
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        for store in &conn.stores {
            if let Some(followers) = self.followers.get_mut(store) {
                followers.remove(&id);
                if followers.is_empty() {
                    self.followers.remove(store);
                }
            }
        }
        decrement(&mut self.per_account, &conn.account);
        decrement(&mut self.per_address, &conn.address);
        self.open.store(self.conns.len(), Ordering::Relaxed);
    }

    fn publish(&mut self, event: &Arc<StoreEvent>) {
        let Some(followers) = self.followers.get(&event.store_id) else {
            return;
        };
        let followers: Vec<ConnId> = followers.iter().copied().collect();
        for id in followers {
            self.offer(id, Push::Event(Arc::clone(event)));
        }
    }

    /// Offers a push without waiting: a full queue means the connection is too slow.
    fn offer(&mut self, id: ConnId, push: Push) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        match conn.pushes.try_send(push) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                conn.too_slow.cancel();
                self.leave(id);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.leave(id),
        }
    }
}

fn decrement<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            total: 10,
            per_account: 2,
            per_address: 3,
            queue: 2,
        }
    }

    fn event(store: StoreId, seq: i64) -> Arc<StoreEvent> {
        let mut event = StoreEvent::new(
            store,
            "order.created",
            serde_json::json!({}),
            jiff::Timestamp::UNIX_EPOCH,
        );
        event.seq = seq;
        Arc::new(event)
    }

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn sockets_are_capped_per_account_and_per_address_and_freed_on_leave() {
        let hub = HubHandle::start(limits());
        let first = hub.join("a".into(), HERE).await.unwrap();
        let _second = hub.join("a".into(), HERE).await.unwrap();
        assert_eq!(
            hub.join("a".into(), HERE).await.err(),
            Some(Refusal::AccountFull)
        );
        let _third = hub.join("b".into(), HERE).await.unwrap();
        assert_eq!(
            hub.join("c".into(), HERE).await.err(),
            Some(Refusal::AddressFull)
        );
        hub.leave(first.id).await;
        assert!(hub.join("a".into(), HERE).await.is_ok());
        hub.close_all();
        assert_eq!(
            hub.join("d".into(), HERE).await.err(),
            Some(Refusal::ShuttingDown)
        );
    }

    #[tokio::test]
    async fn a_connection_that_cannot_keep_up_is_told_so_and_others_keep_receiving() {
        let hub = HubHandle::start(limits());
        let store = StoreId::from_uuid(uuid::Uuid::now_v7());
        let slow = hub.join("slow".into(), HERE).await.unwrap();
        let mut quick = hub.join("quick".into(), HERE).await.unwrap();
        hub.follow(slow.id, store).await;
        hub.follow(quick.id, store).await;
        for seq in 1..=5 {
            hub.publish(event(store, seq)).await;
            let Some(Push::Event(got)) = quick.pushes.recv().await else {
                panic!("quick missed {seq}");
            };
            assert_eq!(got.seq, seq);
        }
        assert!(slow.too_slow.is_cancelled(), "queue of 2 overflowed");
        assert_eq!(hub.open(), 1);
    }

    #[tokio::test]
    async fn only_followers_of_the_store_receive_its_events() {
        let hub = HubHandle::start(limits());
        let (a, b) = (
            StoreId::from_uuid(uuid::Uuid::now_v7()),
            StoreId::from_uuid(uuid::Uuid::now_v7()),
        );
        let mut of_a = hub.join("x".into(), HERE).await.unwrap();
        let mut of_b = hub.join("y".into(), HERE).await.unwrap();
        hub.follow(of_a.id, a).await;
        hub.follow(of_b.id, b).await;
        hub.publish(event(a, 1)).await;
        hub.recheck().await;
        assert!(matches!(of_a.pushes.recv().await, Some(Push::Event(e)) if e.store_id == a));
        assert!(matches!(of_b.pushes.recv().await, Some(Push::Recheck)));
    }
}
