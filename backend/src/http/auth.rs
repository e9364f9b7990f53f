//! Authentication extractors. `StaffAuth` and `CustomerAuth` check a bearer access token and
//! that its session is still live; `StoreStaff` adds the store in the path and the caller's
//! membership there. A store the caller is not a member of is a 404, as if it did not exist.

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use futures_util::future::LocalBoxFuture;
use techverse_shared::{ErrorCode, Permission, StoreSlug};

use super::{AppState, error::ApiError, limits::enforce, observe::RequestId, tenant::public_store};
use crate::{
    app::{audit::Actor, sessions::AuthError},
    auth::jwt::{Audience, Claims},
    domain::{
        access::{Permissions, Team},
        account::{Customer, StaffUser},
        store::Store,
    },
    ratelimit::Rule,
};

pub fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))
}

/// The bearer token of the `Authorization` header.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
        .filter(|token| !token.is_empty())
}

async fn authenticate(
    req: &HttpRequest,
    state: &AppState,
    audience: Audience,
) -> Result<Claims, ApiError> {
    let token = bearer(req).ok_or_else(|| ApiError::from_code(ErrorCode::Unauthorized))?;
    let (claims, _) = state.ctx.authenticate(&token, audience).await?;
    enforce(req, state, Rule::User, &claims.sub).await?;
    Ok(claims)
}

/// A signed-in staff user.
pub struct StaffAuth {
    pub user: StaffUser,
    pub claims: Claims,
}

impl StaffAuth {
    pub async fn from_http(req: &HttpRequest) -> Result<Self, ApiError> {
        let state = app_state(req)?;
        let claims = authenticate(req, &state, Audience::Staff).await?;
        let user_id = claims
            .sub
            .parse()
            .map_err(|_| ApiError::from(AuthError::Unauthenticated))?;
        let user = state
            .ctx
            .storage
            .users()
            .by_id(user_id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        Ok(Self { user, claims })
    }
}

impl FromRequest for StaffAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Self::from_http(&req).await })
    }
}

/// A signed-in customer of the (public) store in the path.
pub struct CustomerAuth {
    pub store: Store,
    pub customer: Customer,
    pub claims: Claims,
}

impl FromRequest for CustomerAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Self::from_http(&req).await })
    }
}

impl CustomerAuth {
    pub async fn from_http(req: &HttpRequest) -> Result<Self, ApiError> {
        {
            let req = req.clone();
            let state = app_state(&req)?;
            let store = public_store(&req, &state).await?;
            let claims = authenticate(&req, &state, Audience::Customer(store.id)).await?;
            let customer_id = claims
                .sub
                .parse()
                .map_err(|_| ApiError::from(AuthError::Unauthenticated))?;
            let customer = state
                .ctx
                .storage
                .customers()
                .by_id(store.id, customer_id)
                .await?
                .ok_or(AuthError::Unauthenticated)?;
            Ok(Self {
                store,
                customer,
                claims,
            })
        }
    }
}

/// A staff member of the store in the path (`/admin/stores/{store}/…`), with their permissions.
pub struct StoreStaff {
    pub store: Store,
    pub user: StaffUser,
    pub team: Team,
    pub permissions: Permissions,
    pub request_id: Option<String>,
}

impl StoreStaff {
    /// Refuses with 403 unless the member holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.permissions.contains(&permission) {
            Ok(())
        } else {
            Err(crate::domain::access::AccessError::MissingPermission(permission).into())
        }
    }

    /// Like [`Self::require`], for changes: a suspended store's admin is read-only.
    pub fn require_write(&self, permission: Permission) -> Result<(), ApiError> {
        self.require(permission)?;
        self.require_active()
    }

    /// A suspended store's admin is read-only.
    pub fn require_active(&self) -> Result<(), ApiError> {
        if self.store.is_public() {
            Ok(())
        } else {
            Err(ApiError::from_code(ErrorCode::StoreSuspended))
        }
    }

    pub fn actor(&self) -> Actor<'_> {
        Actor::staff(&self.user, self.request_id.as_deref())
    }
}

impl FromRequest for StoreStaff {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            let StaffAuth { user, .. } = StaffAuth::from_http(&req).await?;
            let Some(Ok(slug)) = req.match_info().get("store").map(StoreSlug::parse) else {
                return Err(ApiError::store_not_found());
            };
            tracing::Span::current().record("store", slug.as_str());
            let store = state
                .ctx
                .storage
                .stores()
                .by_slug(&slug)
                .await?
                .ok_or_else(ApiError::store_not_found)?;
            let team = state
                .ctx
                .storage
                .teams()
                .get(store.id)
                .await?
                .ok_or_else(ApiError::store_not_found)?;
            let permissions = team
                .permissions_of(user.id)
                .ok_or_else(ApiError::store_not_found)?;
            enforce(&req, &state, Rule::StoreStaff, &store.id.to_string()).await?;
            let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
            Ok(Self {
                store,
                user,
                team,
                permissions,
                request_id,
            })
        })
    }
}

/// A shopper in the (public) store in the path: signed in (a valid customer bearer token, or
/// 401) or a guest, with the guest cart token (`X-Cart-Token`) and order token
/// (`X-Order-Token`) they sent, if any.
pub struct Shopper {
    pub store: Store,
    pub customer: Option<Customer>,
    pub cart_token: Option<String>,
    pub order_token: Option<String>,
}

fn header_text(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty() && value.len() <= 200)
        .map(str::to_owned)
}

impl Shopper {
    pub fn cart_access(&self) -> crate::app::carts::CartAccess {
        crate::app::carts::CartAccess {
            customer: self.customer.as_ref().map(|c| c.id),
            token: self.cart_token.clone(),
        }
    }
}

impl FromRequest for Shopper {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            let (store, customer) = if bearer(&req).is_some() {
                let CustomerAuth {
                    store, customer, ..
                } = CustomerAuth::from_http(&req).await?;
                (store, Some(customer))
            } else {
                (public_store(&req, &state).await?, None)
            };
            Ok(Self {
                store,
                customer,
                cart_token: header_text(&req, "x-cart-token"),
                order_token: header_text(&req, "x-order-token"),
            })
        })
    }
}
