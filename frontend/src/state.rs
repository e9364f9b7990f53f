//! The app's shared state, provided as context: which store, the signed-in customer (access
//! token in memory only; the refresh token lives in an HttpOnly cookie), and the cart.

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_net::http::Method;
use leptos::{lazy, prelude::*};
use serde::{Serialize, de::DeserializeOwned};
use techverse_shared::{CartView, CustomerView, ErrorCode, StoreProfile, TokenResponse};

use crate::api::{self, ApiResult, Failure};

/// The store this page belongs to and the router base for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub slug: String,
    /// `/s/{slug}` in single-machine mode, empty on a store's own host name.
    pub base: String,
}

/// Finds the store: `{store}.<domain>` when `<meta name="techverse-domain">` names the domain
/// and the host is under it, else the `/s/{store}` path prefix. `None`: neither.
pub fn detect() -> Option<Place> {
    let location = web_sys::window()?.location();
    let host = location.hostname().ok()?;
    if let Some(domain) = api::meta("techverse-domain")
        && let Some(slug) = host.strip_suffix(&format!(".{domain}"))
        && !slug.is_empty()
        && !slug.contains('.')
    {
        return Some(Place {
            slug: slug.to_owned(),
            base: String::new(),
        });
    }
    let path = location.pathname().ok()?;
    let rest = path.strip_prefix("/s/")?;
    let slug = rest.split('/').next().filter(|s| !s.is_empty())?;
    Some(Place {
        slug: slug.to_owned(),
        base: format!("/s/{slug}"),
    })
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// A value kept in `localStorage` (the cart reference, guest order tokens: never credentials).
pub fn remember(key: &str, value: Option<&str>) {
    if let Some(storage) = storage() {
        let _ = match value {
            Some(value) => storage.set_item(key, value),
            None => storage.remove_item(key),
        };
    }
}

pub fn recall(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

#[derive(Clone, Copy)]
pub struct Shop {
    pub place: StoredValue<Place>,
    pub profile: RwSignal<Option<StoreProfile>>,
    /// The customer's access token: memory only, restored after a reload through the cookie.
    pub access: RwSignal<Option<String>>,
    pub customer: RwSignal<Option<CustomerView>>,
    pub cart: RwSignal<Option<CartView>>,
    /// Set once the first session restore has finished.
    pub ready: RwSignal<bool>,
    /// The refresh in flight, if any: every request that finds its access token expired waits
    /// for this one instead of starting its own (single flight).
    refreshing: StoredValue<Option<Shared<LocalBoxFuture<'static, bool>>>, LocalStorage>,
}

pub fn use_shop() -> Shop {
    expect_context::<Shop>()
}

impl Shop {
    pub fn new(place: Place) -> Self {
        Self {
            place: StoredValue::new(place),
            profile: RwSignal::new(None),
            access: RwSignal::new(None),
            customer: RwSignal::new(None),
            cart: RwSignal::new(None),
            ready: RwSignal::new(false),
            refreshing: StoredValue::new_local(None),
        }
    }

    pub fn slug(&self) -> String {
        self.place.with_value(|p| p.slug.clone())
    }

    /// A link inside the storefront.
    pub fn link(&self, path: &str) -> String {
        self.place.with_value(|p| format!("{}{path}", p.base))
    }

    fn api_path(&self, path: &str) -> String {
        format!("/api/v1/stores/{}{path}", self.slug())
    }

    fn cart_key(&self) -> String {
        format!("techverse:{}:cart", self.slug())
    }

    /// The remembered cart: `(id, guest token)`.
    pub fn cart_ref(&self) -> Option<(String, Option<String>)> {
        let raw = recall(&self.cart_key())?;
        let (id, token) = raw.split_once('|').unwrap_or((&raw, ""));
        Some((id.to_owned(), (!token.is_empty()).then(|| token.to_owned())))
    }

    fn set_cart_ref(&self, id: &str, token: Option<&str>) {
        remember(
            &self.cart_key(),
            Some(&format!("{id}|{}", token.unwrap_or(""))),
        );
    }

    pub fn forget_cart(&self) {
        remember(&self.cart_key(), None);
        self.cart.set(None);
    }

    /// Calls the store's API with the customer's token and the guest cart token; an expired
    /// access token is refreshed once through the cookie.
    pub async fn request<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        extra: &[(&str, &str)],
    ) -> ApiResult<T> {
        let body = api::encode(body)?;
        api::parse(&self.send(method, path, body, extra).await?)
    }

    /// [`Self::request`] without the serde: one copy of the token handling for every type.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> ApiResult<String> {
        let url = self.api_path(path);
        let cart_token = self.cart_ref().and_then(|(_, token)| token);
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if let Some(token) = &cart_token {
            headers.push(("X-Cart-Token", token));
        }
        let access = self.access.get_untracked();
        let first = api::send(
            method.clone(),
            &url,
            body.clone(),
            access.as_deref(),
            &headers,
        )
        .await;
        match first {
            Err(Failure {
                code:
                    Some(
                        ErrorCode::TokenExpired
                        | ErrorCode::SessionRevoked
                        | ErrorCode::Unauthorized,
                    ),
                ..
            }) if access.is_some() => {
                // Another request may have refreshed meanwhile: use its token, else refresh
                // (joining a refresh already in flight).
                let current = self.access.get_untracked();
                let renewed = current.is_some() && current != access;
                if renewed || self.refresh().await {
                    let access = self.access.get_untracked();
                    api::send(method, &url, body, access.as_deref(), &headers).await
                } else {
                    api::send(method, &url, body, None, &headers).await
                }
            }
            other => other,
        }
    }

    /// A `GET`'s body unparsed, for a caller that parses it elsewhere (a lazily loaded page).
    pub async fn get_text(&self, path: &str) -> ApiResult<String> {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        self.request::<(), T>(Method::GET, path, None, &[]).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> ApiResult<T> {
        self.request(Method::POST, path, Some(body), &[]).await
    }

    /// Trades the refresh cookie for a new access token; `false` when there is no session.
    /// Concurrent callers share one request: the server rotates the cookie on each refresh, so
    /// parallel refreshes would race each other.
    pub async fn refresh(&self) -> bool {
        if let Some(in_flight) = self.refreshing.get_value() {
            return in_flight.await;
        }
        let shared = restore_session(*self).boxed_local().shared();
        self.refreshing.set_value(Some(shared.clone()));
        let outcome = shared.await;
        self.refreshing.set_value(None);
        outcome
    }

    /// Signs in (the refresh token goes to the HttpOnly cookie) and merges the guest cart.
    pub async fn sign_in(&self, email: &str, password: &str) -> ApiResult<()> {
        let tokens: TokenResponse = api::call(
            Method::POST,
            &self.api_path("/auth/login"),
            Some(&serde_json::json!({ "email": email, "password": password, "cookie": true })),
            None,
            &[],
        )
        .await?;
        self.after_sign_in(tokens.access_token).await
    }

    pub async fn sign_up(&self, name: &str, email: &str, password: &str) -> ApiResult<()> {
        let body: serde_json::Value = api::call(
            Method::POST,
            &self.api_path("/customers"),
            Some(&serde_json::json!({ "name": name, "email": email, "password": password, "cookie": true })),
            None,
            &[],
        )
        .await?;
        let token = body["session"]["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.after_sign_in(token).await
    }

    async fn after_sign_in(&self, access: String) -> ApiResult<()> {
        self.access.set(Some(access));
        let me: CustomerView = self.get("/customers/me").await?;
        self.customer.set(Some(me));
        // The guest cart (if any) merges into the customer's.
        let cart: CartView = self
            .request::<(), _>(Method::POST, "/carts", None, &[])
            .await?;
        self.set_cart_ref(&cart.id.to_string(), None);
        self.cart.set(Some(cart));
        Ok(())
    }

    pub async fn sign_out(&self) {
        let _: ApiResult<serde_json::Value> = api::call(
            Method::POST,
            &self.api_path("/auth/logout"),
            Some(&serde_json::json!({})),
            self.access.get_untracked().as_deref(),
            &[("X-TechVerse-CSRF", "1")],
        )
        .await;
        self.access.set(None);
        self.customer.set(None);
        self.forget_cart();
    }

    /// The cart, created on first use.
    pub async fn ensure_cart(&self) -> ApiResult<CartView> {
        if let Some(cart) = self.load_cart().await? {
            return Ok(cart);
        }
        let cart: CartView = self
            .request::<(), _>(Method::POST, "/carts", None, &[])
            .await?;
        self.set_cart_ref(&cart.id.to_string(), cart.token.as_deref());
        self.cart.set(Some(cart.clone()));
        Ok(cart)
    }

    /// Loads the remembered cart, if any, without creating one; a cart the server no longer
    /// has is forgotten.
    pub async fn load_cart(&self) -> ApiResult<Option<CartView>> {
        load_remembered_cart(*self).await
    }

    pub fn cart_count(&self) -> i64 {
        self.cart.with(|cart| {
            cart.as_ref()
                .map_or(0, |c| c.lines.iter().map(|l| l.quantity).sum())
        })
    }
}

// The session restore and the cart load run on every first page, but after it has drawn: each is
// a leptos `#[lazy]` function, split by scripts/build-frontend into a wasm chunk of its own with
// the serde of the tokens, the customer and the cart, so the first page's wasm carries none of it.

/// Trades the refresh cookie for a new access token (then loads the customer); `false` when
/// there is no session.
#[lazy]
async fn restore_session(shop: Shop) -> bool {
    let url = shop.api_path("/auth/refresh");
    let result: ApiResult<TokenResponse> = api::call(
        Method::POST,
        &url,
        Some(&serde_json::json!({})),
        None,
        &[("X-TechVerse-CSRF", "1")],
    )
    .await;
    match result {
        Ok(tokens) => {
            shop.access.set(Some(tokens.access_token));
            let me: ApiResult<CustomerView> = api::call::<(), _>(
                Method::GET,
                &shop.api_path("/customers/me"),
                None,
                shop.access.get_untracked().as_deref(),
                &[],
            )
            .await;
            shop.customer.set(me.ok());
            true
        }
        Err(_) => {
            shop.access.set(None);
            shop.customer.set(None);
            false
        }
    }
}

#[lazy]
async fn load_remembered_cart(shop: Shop) -> ApiResult<Option<CartView>> {
    let Some((id, _)) = shop.cart_ref() else {
        return Ok(None);
    };
    match shop.get::<CartView>(&format!("/carts/{id}")).await {
        Ok(cart) => {
            shop.cart.set(Some(cart.clone()));
            Ok(Some(cart))
        }
        Err(Failure {
            code: Some(ErrorCode::NotFound),
            ..
        }) => {
            shop.forget_cart();
            Ok(None)
        }
        Err(other) => Err(other),
    }
}
