//! The console's state, provided as context: the staff access token (memory only; the
//! refresh token lives in the HttpOnly cookie), who is signed in with their stores, and the
//! store being run.

use gloo_net::http::Method;
use leptos::prelude::*;
use serde::{Serialize, de::DeserializeOwned};
use techverse_frontend::api::{self, ApiResult, Failure};
use techverse_shared::{ErrorCode, MeResponse, MyStore, Permission, TokenResponse};

const STORE_KEY: &str = "techverse-admin-store";

#[derive(Clone, Copy)]
pub struct Session {
    pub access: RwSignal<Option<String>>,
    pub me: RwSignal<Option<MeResponse>>,
    /// The slug of the store being run.
    pub store: RwSignal<Option<String>>,
    /// The session has been looked for (through the cookie) once.
    pub ready: RwSignal<bool>,
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

impl Session {
    pub fn new() -> Self {
        Self {
            access: RwSignal::new(None),
            me: RwSignal::new(None),
            store: RwSignal::new(local_storage().and_then(|s| s.get_item(STORE_KEY).ok()?)),
            ready: RwSignal::new(false),
        }
    }

    /// The membership of the store being run.
    pub fn current(&self) -> Option<MyStore> {
        let slug = self.store.get()?;
        self.me.with(|me| {
            me.as_ref()?
                .stores
                .iter()
                .find(|s| s.store.slug.as_str() == slug)
                .cloned()
        })
    }

    /// Whether the signed-in member holds `permission` in the store being run.
    pub fn can(&self, permission: Permission) -> bool {
        self.current()
            .is_some_and(|store| store.permissions.contains(&permission))
    }

    /// Decimals of the store's currency (2 until the member is known).
    pub fn currency_exponent(&self) -> u8 {
        self.current().map_or(2, |s| s.store.currency_exponent)
    }

    /// `GET /api/v1/admin/stores/{store}{rest}`, fetched again whenever `version` changes (a
    /// page bumps it after each change it makes).
    pub fn reloading<T: DeserializeOwned + 'static>(
        self,
        version: RwSignal<u32>,
        rest: &'static str,
    ) -> LocalResource<ApiResult<T>> {
        LocalResource::new(move || {
            let _ = version.get();
            async move { self.get::<T>(&self.admin_path(rest)).await }
        })
    }

    pub fn permissions(&self) -> Vec<Permission> {
        self.current().map(|s| s.permissions).unwrap_or_default()
    }

    pub fn choose(&self, slug: &str) {
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(STORE_KEY, slug);
        }
        self.store.set(Some(slug.to_owned()));
    }

    /// `/api/v1/admin/stores/{store}{rest}` for the store being run.
    pub fn admin_path(&self, rest: &str) -> String {
        format!(
            "/api/v1/admin/stores/{}{rest}",
            self.store.get_untracked().unwrap_or_default()
        )
    }

    /// Calls the API with the staff token, refreshing it once through the cookie.
    pub async fn request<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> ApiResult<T> {
        let body = api::encode(body)?;
        api::parse(&self.send(method, path, body).await?)
    }

    /// A `GET`'s raw text (a CSV export), with the same token handling.
    pub async fn request_text(&self, method: Method, path: &str) -> ApiResult<String> {
        self.send(method, path, None).await
    }

    /// [`Self::request`] without the serde: one copy of the token handling for every type.
    async fn send(&self, method: Method, path: &str, body: Option<String>) -> ApiResult<String> {
        let access = self.access.get_untracked();
        match api::send(method.clone(), path, body.clone(), access.as_deref(), &[]).await {
            Err(Failure {
                code: Some(ErrorCode::TokenExpired | ErrorCode::Unauthorized),
                ..
            }) if access.is_some() && self.refresh().await => {
                let access = self.access.get_untracked();
                api::send(method, path, body, access.as_deref(), &[]).await
            }
            other => other,
        }
    }

    /// The shape of every console button: sends a change in the background, then clears
    /// `failure` and hands the answer to `done`, or shows in `failure` why it was refused.
    /// When the page that asked has gone meanwhile (its `failure` disposed), nothing runs: its
    /// signals are gone too.
    pub fn act<T: DeserializeOwned + 'static>(
        self,
        method: Method,
        path: String,
        body: Option<serde_json::Value>,
        failure: RwSignal<Option<Failure>>,
        done: impl FnOnce(T) + 'static,
    ) {
        leptos::task::spawn_local(async move {
            let answer = self.request(method, &path, body.as_ref()).await;
            if failure.is_disposed() {
                return;
            }
            match answer {
                Ok(answer) => {
                    failure.set(None);
                    done(answer);
                }
                Err(error) => failure.set(Some(error)),
            }
        });
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        self.request::<(), T>(Method::GET, path, None).await
    }

    /// Trades the refresh cookie for an access token and loads the member; `false` without a
    /// session.
    pub async fn refresh(&self) -> bool {
        let tokens: ApiResult<TokenResponse> = api::call(
            Method::POST,
            "/api/v1/auth/refresh",
            Some(&serde_json::json!({})),
            None,
            &[("X-TechVerse-CSRF", "1")],
        )
        .await;
        match tokens {
            Ok(tokens) => {
                self.access.set(Some(tokens.access_token));
                self.load_me().await.is_ok()
            }
            Err(_) => {
                self.access.set(None);
                self.me.set(None);
                false
            }
        }
    }

    pub async fn load_me(&self) -> ApiResult<()> {
        let access = self.access.get_untracked();
        let me: MeResponse =
            api::call::<(), _>(Method::GET, "/api/v1/me", None, access.as_deref(), &[]).await?;
        let known = self.store.get_untracked();
        let member = me
            .stores
            .iter()
            .any(|s| Some(s.store.slug.as_str()) == known.as_deref());
        if !member && let Some(first) = me.stores.first() {
            self.choose(first.store.slug.as_str());
        }
        self.me.set(Some(me));
        Ok(())
    }

    /// Signs in with the refresh token in the cookie.
    pub async fn sign_in(&self, email: &str, password: &str) -> ApiResult<()> {
        let body = serde_json::json!({ "email": email, "password": password, "cookie": true });
        let tokens: TokenResponse =
            api::call(Method::POST, "/api/v1/auth/login", Some(&body), None, &[]).await?;
        self.access.set(Some(tokens.access_token));
        self.load_me().await
    }

    /// Opens an account and its first store.
    pub async fn sign_up(&self, body: &serde_json::Value) -> ApiResult<()> {
        // `{user, store, session: {access_token, …}}`.
        #[derive(serde::Deserialize)]
        struct Opened {
            session: TokenResponse,
        }
        let opened: Opened =
            api::call(Method::POST, "/api/v1/signup", Some(body), None, &[]).await?;
        self.access.set(Some(opened.session.access_token));
        self.load_me().await
    }

    pub async fn sign_out(&self) {
        let _: ApiResult<serde_json::Value> = api::call(
            Method::POST,
            "/api/v1/auth/logout",
            Some(&serde_json::json!({})),
            None,
            &[("X-TechVerse-CSRF", "1")],
        )
        .await;
        self.access.set(None);
        self.me.set(None);
    }
}
