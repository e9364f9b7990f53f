//! Sign-up and sessions for both realms. Staff: `/api/v1/signup`, `/api/v1/auth/…`, `/me`,
//! `POST /stores`, `/invitations/accept`. Customers: `/api/v1/stores/{store}/auth/…`.
//!
//! Refresh tokens go to API clients in the JSON body, and to browsers (that ask with
//! `"cookie": true`) in an `HttpOnly; Secure; SameSite=Strict` cookie scoped to the realm's
//! auth path. A request authenticated by that cookie must carry the `X-TechVerse-CSRF` header
//! (which no cross-site form can send) and, when the browser sends `Origin`, come from an
//! allowed origin.

use actix_web::{
    HttpRequest, HttpResponse, HttpResponseBuilder,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    http::{StatusCode, header},
    web,
};
use serde::Deserialize;
use serde_json::json;
use techverse_shared::{
    ApiErrorBody, ErrorCode, MeResponse, StaffUserView, StoreProfile, TokenResponse,
};

use crate::{
    app::{
        accounts::{self, Realm, SignupInput},
        audit,
        sessions::{AuthError, IssuedTokens},
        team,
    },
    auth::{jwt::Audience, tokens},
    domain::{self, store::NewStoreInput},
    http::routes::table::resource,
    http::{
        AppState,
        auth::{CustomerAuth, StaffAuth, bearer},
        error::ApiError,
        json::{self, JsonBody},
        limits::client_ip,
        openapi::StorePath,
        tenant::CurrentStore,
    },
};

pub const CSRF_HEADER: &str = "x-techverse-csrf";
const COOKIE: &str = "tv_refresh";

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    signup,
    staff_login,
    staff_refresh,
    staff_logout,
    staff_logout_all,
    staff_request_verification,
    staff_verify_email,
    staff_request_reset,
    staff_reset_password,
    me,
    update_me,
    create_store,
    accept_invitation,
    customer_login,
    customer_refresh,
    customer_logout,
    customer_logout_all,
    customer_request_verification,
    customer_verify_email,
    customer_request_reset,
    customer_reset_password,
))]
pub struct Doc;

/// The `X-TechVerse-CSRF` header a cookie-authenticated request must carry.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct CsrfHeader {
    /// Any value; required when the refresh token comes from the `tv_refresh` cookie.
    #[param(rename = "X-TechVerse-CSRF")]
    csrf: Option<String>,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/signup").post(signup))
        .service(resource("/auth/login").post(staff_login))
        .service(resource("/auth/refresh").post(staff_refresh))
        .service(resource("/auth/logout").post(staff_logout))
        .service(resource("/auth/logout-all").post(staff_logout_all))
        .service(resource("/auth/verify-email/request").post(staff_request_verification))
        .service(resource("/auth/verify-email").post(staff_verify_email))
        .service(resource("/auth/password-reset/request").post(staff_request_reset))
        .service(resource("/auth/password-reset").post(staff_reset_password))
        .service(resource("/me").get(me).patch(update_me))
        .service(resource("/stores").post(create_store))
        .service(resource("/invitations/accept").post(accept_invitation))
        .service(resource("/stores/{store}/auth/login").post(customer_login))
        .service(resource("/stores/{store}/auth/refresh").post(customer_refresh))
        .service(resource("/stores/{store}/auth/logout").post(customer_logout))
        .service(resource("/stores/{store}/auth/logout-all").post(customer_logout_all))
        .service(
            resource("/stores/{store}/auth/verify-email/request")
                .post(customer_request_verification),
        )
        .service(resource("/stores/{store}/auth/verify-email").post(customer_verify_email))
        .service(
            resource("/stores/{store}/auth/password-reset/request").post(customer_request_reset),
        )
        .service(resource("/stores/{store}/auth/password-reset").post(customer_reset_password));
}

fn cookie_path(realm: &Realm) -> String {
    match realm {
        Realm::Staff => "/api/v1/auth".to_owned(),
        Realm::Customers(store) => format!("/api/v1/stores/{}/auth", store.slug),
    }
}

fn audience(realm: &Realm) -> Audience {
    match realm {
        Realm::Staff => Audience::Staff,
        Realm::Customers(store) => Audience::Customer(store.id),
    }
}

fn refresh_cookie(realm: &Realm, value: String, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path(cookie_path(realm))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(max_age_secs))
        .finish()
}

/// Writes tokens: the refresh token in a cookie (browsers) or in the body (API clients).
pub fn issue(
    state: &AppState,
    realm: &Realm,
    tokens: IssuedTokens,
    cookie: bool,
    status: StatusCode,
    extra: Option<serde_json::Value>,
) -> HttpResponse {
    let mut response = HttpResponseBuilder::new(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    let refresh_token = if cookie {
        let max_age = i64::try_from(state.settings.refresh_ttl_secs).unwrap_or(i64::MAX);
        response.cookie(refresh_cookie(realm, tokens.refresh_token, max_age));
        None
    } else {
        Some(tokens.refresh_token)
    };
    let body = TokenResponse {
        access_token: tokens.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: tokens.expires_in,
        refresh_token,
    };
    match extra {
        None => response.json(body),
        Some(mut extra) => {
            if let Some(object) = extra.as_object_mut() {
                object.insert("session".to_owned(), json!(body));
            }
            response.json(extra)
        }
    }
}

/// The cookie was used: demand the CSRF header and, if present, an allowed `Origin`.
fn check_csrf(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let refused = || ApiError::from_code(ErrorCode::CsrfFailed);
    if !req.headers().contains_key(CSRF_HEADER) {
        return Err(refused());
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    else {
        return Ok(());
    };
    let info = req.connection_info();
    let same_host = format!("{}://{}", info.scheme(), info.host());
    let allowed = origin == same_host
        || origin == state.settings.public_url.trim_end_matches('/')
        || state.settings.cors_origins().iter().any(|o| o == origin);
    if allowed { Ok(()) } else { Err(refused()) }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The refresh token from the JSON body, else from the cookie (CSRF-checked). The flag says
/// whether it came from the cookie.
fn presented_refresh_token(
    req: &HttpRequest,
    state: &AppState,
    body: &[u8],
) -> Result<Option<(String, bool)>, ApiError> {
    let parsed: RefreshBody = if body.iter().all(u8::is_ascii_whitespace) {
        RefreshBody::default()
    } else {
        json::parse(body)?
    };
    if let Some(token) = parsed.refresh_token {
        return Ok(Some((token, false)));
    }
    match req.cookie(COOKIE) {
        Some(cookie) => {
            check_csrf(req, state)?;
            Ok(Some((cookie.value().to_owned(), true)))
        }
        None => Ok(None),
    }
}

fn cleared_cookie(realm: &Realm) -> Cookie<'static> {
    refresh_cookie(realm, String::new(), 0)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
    /// Browsers: put the refresh token in the HttpOnly cookie instead of the body.
    #[serde(default)]
    cookie: bool,
}

async fn login_in(
    state: &AppState,
    req: &HttpRequest,
    realm: Realm,
    body: LoginBody,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(req, &state.settings);
    let (tokens, _) = accounts::login(&state.ctx, &realm, &body.email, &body.password, &ip).await?;
    Ok(issue(
        state,
        &realm,
        tokens,
        body.cookie,
        StatusCode::OK,
        None,
    ))
}

async fn refresh_in(
    state: &AppState,
    req: &HttpRequest,
    realm: Realm,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let (token, from_cookie) = presented_refresh_token(req, state, body)?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "no refresh token presented"))?;
    match state.ctx.refresh(&token, audience(&realm)).await {
        Ok((tokens, _)) => Ok(issue(
            state,
            &realm,
            tokens,
            from_cookie,
            StatusCode::OK,
            None,
        )),
        Err(error @ (AuthError::SessionRevoked | AuthError::InvalidToken)) if from_cookie => {
            let mut response = actix_web::ResponseError::error_response(&ApiError::from(error));
            let _ = response.add_cookie(&cleared_cookie(&realm));
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}

/// Ends the session of the bearer token, or of the presented refresh token.
async fn logout_in(
    state: &AppState,
    req: &HttpRequest,
    realm: Realm,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let session_id = match bearer(req) {
        Some(token) => Some(state.ctx.authenticate(&token, audience(&realm)).await?.1.id),
        None => {
            let (token, _) = presented_refresh_token(req, state, body)?
                .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "no session presented"))?;
            let (id, secret) =
                tokens::split_refresh_token(&token).ok_or(AuthError::InvalidToken)?;
            state
                .ctx
                .sessions
                .get(id, domain::now())
                .await?
                .filter(|session| {
                    session.recognises(
                        &tokens::hash(secret),
                        domain::now(),
                        state.ctx.refresh_grace(),
                    )
                })
                .map(|session| session.id)
        }
    };
    if let Some(id) = session_id {
        state.ctx.end_session(&id).await?;
    }
    Ok(HttpResponse::NoContent()
        .cookie(cleared_cookie(&realm))
        .finish())
}

fn revoked(realm: &Realm, count: u64) -> HttpResponse {
    HttpResponse::Ok()
        .cookie(cleared_cookie(realm))
        .json(Revoked {
            revoked_sessions: count,
        })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    token: String,
    password: String,
}

/// `202` to a mail request.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Accepted {
    /// Always `accepted`.
    status: &'static str,
    message: &'static str,
}

/// `200` to a verified address.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct EmailVerified {
    email_verified: bool,
}

/// `200` to a password reset: every session of the account was ended.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct PasswordChanged {
    password_changed: bool,
    sessions_revoked: bool,
}

/// `200` to logging out everywhere.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Revoked {
    revoked_sessions: u64,
}

/// `201` to a sign-up: the new account, its first store and a session.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SignedUp {
    user: StaffUserView,
    store: StoreProfile,
    session: TokenResponse,
}

/// `200` to an accepted invitation.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Joined {
    user: StaffUserView,
    store: Option<StoreProfile>,
    /// The role's key.
    role: String,
    /// Whether the invitation opened a new account (with the given name and password).
    created_account: bool,
}

/// The same answer whether or not the email has an account.
fn accepted_request() -> HttpResponse {
    HttpResponse::Accepted().json(Accepted {
        status: "accepted",
        message: "if an account exists for this address, a message is on its way",
    })
}

// ---- staff -------------------------------------------------------------------------------

/// Opens a staff account and its first store, and signs in.
#[utoipa::path(
    post,
    path = "/signup",
    tag = "auth",
    request_body = SignupInput,
    responses(
        (status = 201, description = "The account, the store and a session.", body = SignedUp),
        (status = 409, description = "The email or the store slug is taken (`email_taken`, `slug_taken`).", body = ApiErrorBody),
    ),
)]
async fn signup(
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<SignupInput>,
) -> Result<HttpResponse, ApiError> {
    let (user, store, tokens) = accounts::signup(&state.ctx, &input).await?;
    let extra = json!({ "user": user.view(), "store": store.profile() });
    Ok(issue(
        &state,
        &Realm::Staff,
        tokens,
        input.cookie,
        StatusCode::CREATED,
        Some(extra),
    ))
}

/// Signs a staff in with email and password.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "A session: the access token, and the refresh token unless `cookie` put it in the `tv_refresh` cookie.", body = TokenResponse, headers(("Set-Cookie" = String, description = "`tv_refresh`, when `cookie` was asked for."))),
        (status = 401, description = "The email or the password is wrong (`invalid_credentials`).", body = ApiErrorBody),
    ),
)]
async fn staff_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    login_in(&state, &req, Realm::Staff, body).await
}

/// Trades a refresh token (in the body, or the `tv_refresh` cookie with the `X-TechVerse-CSRF` header) for a new session; the old refresh token is spent.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    params(CsrfHeader),
    request_body = Option<RefreshBody>,
    responses(
        (status = 200, description = "A session: the access token, and the refresh token unless `cookie` put it in the `tv_refresh` cookie.", body = TokenResponse, headers(("Set-Cookie" = String, description = "`tv_refresh`, when `cookie` was asked for."))),
        (status = 401, description = "No session presented, or its token is invalid, expired or revoked (`unauthorized`, `invalid_token`, `token_expired`, `session_revoked`).", body = ApiErrorBody),
        (status = 403, description = "The cookie was used without the `X-TechVerse-CSRF` header, or from a foreign origin (`csrf_failed`).", body = ApiErrorBody),
    ),
)]
async fn staff_refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    refresh_in(&state, &req, Realm::Staff, &body).await
}

/// Ends the session of the bearer token or of the presented refresh token.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    params(CsrfHeader),
    request_body = Option<RefreshBody>,
    responses(
        (status = 204, description = "The session is ended and the cookie cleared."),
        (status = 401, description = "No session presented, or its token is invalid, expired or revoked (`unauthorized`, `invalid_token`, `token_expired`, `session_revoked`).", body = ApiErrorBody),
        (status = 403, description = "The cookie was used without the `X-TechVerse-CSRF` header, or from a foreign origin (`csrf_failed`).", body = ApiErrorBody),
    ),
)]
async fn staff_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    logout_in(&state, &req, Realm::Staff, &body).await
}

/// Ends every session of the signed-in account.
#[utoipa::path(
    post,
    path = "/auth/logout-all",
    tag = "auth",
    security(("staff" = [])),
    responses(
        (status = 200, description = "Every session of the account is ended.", body = Revoked),
    ),
)]
async fn staff_logout_all(
    state: web::Data<AppState>,
    auth: StaffAuth,
) -> Result<HttpResponse, ApiError> {
    let count = state
        .ctx
        .end_all_sessions(&crate::domain::session::AccountRef::Staff {
            user_id: auth.user.id,
        })
        .await?;
    Ok(revoked(&Realm::Staff, count))
}

/// Mails a new email-verification link.
#[utoipa::path(
    post,
    path = "/auth/verify-email/request",
    tag = "auth",
    request_body = EmailBody,
    responses(
        (status = 202, description = "Accepted: a mail is on its way if the address has an account (the same answer either way).", body = Accepted),
    ),
)]
async fn staff_request_verification(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::request_link(
        &state.ctx,
        &Realm::Staff,
        &body.email,
        accounts::LinkRequest::VerifyEmail,
    )?;
    Ok(accepted_request())
}

/// Verifies an email address with the mailed token.
#[utoipa::path(
    post,
    path = "/auth/verify-email",
    tag = "auth",
    request_body = TokenBody,
    responses(
        (status = 200, description = "The address is verified.", body = EmailVerified),
    ),
)]
async fn staff_verify_email(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::verify_email(&state.ctx, &Realm::Staff, &body.token).await?;
    Ok(HttpResponse::Ok().json(EmailVerified {
        email_verified: true,
    }))
}

/// Mails a password-reset link.
#[utoipa::path(
    post,
    path = "/auth/password-reset/request",
    tag = "auth",
    request_body = EmailBody,
    responses(
        (status = 202, description = "Accepted: a mail is on its way if the address has an account (the same answer either way).", body = Accepted),
    ),
)]
async fn staff_request_reset(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::request_link(
        &state.ctx,
        &Realm::Staff,
        &body.email,
        accounts::LinkRequest::PasswordReset,
    )?;
    Ok(accepted_request())
}

/// Sets a new password with the mailed token; every session ends.
#[utoipa::path(
    post,
    path = "/auth/password-reset",
    tag = "auth",
    request_body = ResetBody,
    responses(
        (status = 200, description = "The password is changed and every session ended.", body = PasswordChanged),
    ),
)]
async fn staff_reset_password(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<ResetBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::reset_password(&state.ctx, &Realm::Staff, &body.token, &body.password).await?;
    Ok(HttpResponse::Ok().json(PasswordChanged {
        password_changed: true,
        sessions_revoked: true,
    }))
}

/// The signed-in staff user and the stores they belong to, with their permissions.
#[utoipa::path(
    get,
    path = "/me",
    tag = "auth",
    security(("staff" = [])),
    responses(
        (status = 200, description = "The user and their stores.", body = MeResponse),
    ),
)]
async fn me(state: web::Data<AppState>, auth: StaffAuth) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(accounts::me(&state.ctx, &auth.user).await?))
}

/// Changes the signed-in staff user's name and per-store mail.
#[utoipa::path(
    patch,
    path = "/me",
    tag = "auth",
    request_body = accounts::MeChange,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The user and their stores after the change.", body = MeResponse),
    ),
)]
async fn update_me(
    state: web::Data<AppState>,
    auth: StaffAuth,
    JsonBody(change): JsonBody<accounts::MeChange>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(accounts::update_me(&state.ctx, &auth.user, &change).await?))
}

/// Opens another store, owned by the signed-in staff user.
#[utoipa::path(
    post,
    path = "/stores",
    tag = "auth",
    request_body = NewStoreInput,
    security(("staff" = [])),
    responses(
        (status = 201, description = "The new store.", body = StoreProfile),
        (status = 409, description = "The slug is taken (`slug_taken`).", body = ApiErrorBody),
    ),
)]
async fn create_store(
    state: web::Data<AppState>,
    auth: StaffAuth,
    JsonBody(input): JsonBody<NewStoreInput>,
) -> Result<HttpResponse, ApiError> {
    let store = accounts::create_store(&state.ctx, &auth.user, &input).await?;
    tracing::info!(store = %store.slug, user_id = %auth.user.id, "store opened by merchant");
    Ok(HttpResponse::Created().json(store.profile()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    token: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Accepts a staff invitation with its mailed token; a new account needs a name and password.
#[utoipa::path(
    post,
    path = "/invitations/accept",
    tag = "auth",
    request_body = AcceptBody,
    responses(
        (status = 200, description = "The member has joined the store.", body = Joined),
        (status = 409, description = "Already a member, or the invitation was withdrawn (`already_member`, `invitation_withdrawn`).", body = ApiErrorBody),
    ),
)]
async fn accept_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<AcceptBody>,
) -> Result<HttpResponse, ApiError> {
    let accepted = team::accept(
        &state.ctx,
        &body.token,
        body.name.as_deref(),
        body.password.as_deref(),
    )
    .await?;
    let request_id = actix_web::HttpMessage::extensions(&req)
        .get::<crate::http::observe::RequestId>()
        .map(|id| id.0.clone());
    audit::record(
        &state.ctx,
        accepted.store_id,
        audit::Actor::staff(&accepted.user, request_id.as_deref()),
        "staff.joined",
        format!("user:{}", accepted.user.id),
        json!({ "role": accepted.role.key(), "created_account": accepted.created_account }),
    )
    .await?;
    let store = state.ctx.storage.stores().by_id(accepted.store_id).await?;
    Ok(HttpResponse::Ok().json(Joined {
        user: accepted.user.view(),
        store: store.map(|s| s.profile()),
        role: accepted.role.key().to_owned(),
        created_account: accepted.created_account,
    }))
}

// ---- customers ---------------------------------------------------------------------------

/// Signs a customer in with email and password.
#[utoipa::path(
    post,
    path = "/stores/{store}/auth/login",
    tag = "customers",
    params(StorePath),
    request_body = LoginBody,
    responses(
        (status = 200, description = "A session: the access token, and the refresh token unless `cookie` put it in the `tv_refresh` cookie.", body = TokenResponse, headers(("Set-Cookie" = String, description = "`tv_refresh`, when `cookie` was asked for."))),
        (status = 401, description = "The email or the password is wrong (`invalid_credentials`).", body = ApiErrorBody),
    ),
)]
async fn customer_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentStore(store): CurrentStore,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    login_in(&state, &req, Realm::Customers(Box::new(store)), body).await
}

/// Trades a refresh token (in the body, or the `tv_refresh` cookie with the `X-TechVerse-CSRF` header) for a new session; the old refresh token is spent.
#[utoipa::path(
    post,
    path = "/stores/{store}/auth/refresh",
    tag = "customers",
    params(StorePath, CsrfHeader),
    request_body = Option<RefreshBody>,
    responses(
        (status = 200, description = "A session: the access token, and the refresh token unless `cookie` put it in the `tv_refresh` cookie.", body = TokenResponse, headers(("Set-Cookie" = String, description = "`tv_refresh`, when `cookie` was asked for."))),
        (status = 401, description = "No session presented, or its token is invalid, expired or revoked (`unauthorized`, `invalid_token`, `token_expired`, `session_revoked`).", body = ApiErrorBody),
        (status = 403, description = "The cookie was used without the `X-TechVerse-CSRF` header, or from a foreign origin (`csrf_failed`).", body = ApiErrorBody),
    ),
)]
async fn customer_refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentStore(store): CurrentStore,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    refresh_in(&state, &req, Realm::Customers(Box::new(store)), &body).await
}

/// Ends the session of the bearer token or of the presented refresh token.
#[utoipa::path(
    post,
    path = "/stores/{store}/auth/logout",
    tag = "customers",
    params(StorePath, CsrfHeader),
    request_body = Option<RefreshBody>,
    responses(
        (status = 204, description = "The session is ended and the cookie cleared."),
        (status = 401, description = "No session presented, or its token is invalid, expired or revoked (`unauthorized`, `invalid_token`, `token_expired`, `session_revoked`).", body = ApiErrorBody),
        (status = 403, description = "The cookie was used without the `X-TechVerse-CSRF` header, or from a foreign origin (`csrf_failed`).", body = ApiErrorBody),
    ),
)]
async fn customer_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentStore(store): CurrentStore,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    logout_in(&state, &req, Realm::Customers(Box::new(store)), &body).await
}

/// Ends every session of the signed-in account.
#[utoipa::path(
    post,
    path = "/stores/{store}/auth/logout-all",
    tag = "customers",
    params(StorePath),
    security(("customer" = [])),
    responses(
        (status = 200, description = "Every session of the account is ended.", body = Revoked),
    ),
)]
async fn customer_logout_all(
    state: web::Data<AppState>,
    auth: CustomerAuth,
) -> Result<HttpResponse, ApiError> {
    let account = accounts::Account::Customer(auth.customer).account_ref();
    let count = state.ctx.end_all_sessions(&account).await?;
    Ok(revoked(&Realm::Customers(Box::new(auth.store)), count))
}

/// Mails a new email-verification link.
#[utoipa::path(
    post,
    path = "/stores/{store}/auth/verify-email/request",
    tag = "customers",
    params(StorePath),
    request_body = EmailBody,
    responses(
        (status = 202, description = "Accepted: a mail is on its way if the address has an account (the same answer either way).", body = Accepted),
    ),
)]
async fn customer_request_verification(
    state: web::Data<AppState>,
    CurrentStore(store): CurrentStore,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::request_link(
        &state.ctx,
        &Realm::Customers(Box::new(store)),
        &body.email,
        accounts::LinkRequest::VerifyEmail,
    )?;
    Ok(accepted_request())
}

/// Verifies an email address with the mailed token.
#[utoipa::path(
    post,
    path = "/stores/{store}/auth/verify-email",
    tag = "customers",
    params(StorePath),
    request_body = TokenBody,
    responses(
        (status = 200, description = "The address is verified.", body = EmailVerified),
    ),
)]
async fn customer_verify_email(
    state: web::Data<AppState>,
    CurrentStore(store): CurrentStore,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::verify_email(&state.ctx, &Realm::Customers(Box::new(store)), &body.token).await?;
    Ok(HttpResponse::Ok().json(EmailVerified {
        email_verified: true,
    }))
}

/// Mails a password-reset link.
#[utoipa::path(
    post,
    path = "/stores/{store}/auth/password-reset/request",
    tag = "customers",
    params(StorePath),
    request_body = EmailBody,
    responses(
        (status = 202, description = "Accepted: a mail is on its way if the address has an account (the same answer either way).", body = Accepted),
    ),
)]
async fn customer_request_reset(
    state: web::Data<AppState>,
    CurrentStore(store): CurrentStore,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::request_link(
        &state.ctx,
        &Realm::Customers(Box::new(store)),
        &body.email,
        accounts::LinkRequest::PasswordReset,
    )?;
    Ok(accepted_request())
}

/// Sets a new password with the mailed token; every session ends.
#[utoipa::path(
    post,
    path = "/stores/{store}/auth/password-reset",
    tag = "customers",
    params(StorePath),
    request_body = ResetBody,
    responses(
        (status = 200, description = "The password is changed and every session ended.", body = PasswordChanged),
    ),
)]
async fn customer_reset_password(
    state: web::Data<AppState>,
    CurrentStore(store): CurrentStore,
    JsonBody(body): JsonBody<ResetBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::reset_password(
        &state.ctx,
        &Realm::Customers(Box::new(store)),
        &body.token,
        &body.password,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PasswordChanged {
        password_changed: true,
        sessions_revoked: true,
    }))
}
