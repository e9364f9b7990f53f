//! Accounts of both realms — the platform's staff users and each store's customers — and the
//! flows they share: login, email verification and password reset. Staff-only flows (sign-up
//! with a first store, more stores, `me`) are at the end.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use techverse_shared::{MeResponse, MyStore, UserId};

use super::{
    Context,
    sessions::{AuthError, IssuedTokens},
    stores::{self, StoreError},
};
use crate::{
    auth::tokens,
    domain::{
        self,
        access::Team,
        account::{Customer, Email, NewPassword, PersonName, StaffUser},
        session::AccountRef,
        store::{NewStoreInput, Store},
        token::{OneTimeToken, TokenPurpose, TokenSubject},
        validation::ValidationErrors,
    },
    mail::{
        outbox::Rendered,
        templates::{self, Branding},
    },
    ratelimit::Rule,
    storage::StorageError,
};

/// Which book of accounts: the platform's staff, or one store's customers.
#[derive(Debug, Clone)]
pub enum Realm {
    Staff,
    Customers(Box<Store>),
}

/// One account of either realm.
#[derive(Debug, Clone)]
pub enum Account {
    Staff(StaffUser),
    Customer(Customer),
}

impl Account {
    pub fn name(&self) -> &str {
        match self {
            Self::Staff(user) => user.name.as_str(),
            Self::Customer(customer) => customer.name.as_str(),
        }
    }

    pub fn email(&self) -> &Email {
        match self {
            Self::Staff(user) => &user.email,
            Self::Customer(customer) => &customer.email,
        }
    }

    fn password_hash(&self) -> &str {
        match self {
            Self::Staff(user) => &user.password_hash,
            Self::Customer(customer) => &customer.password_hash,
        }
    }

    fn verified(&self) -> bool {
        match self {
            Self::Staff(user) => user.email_verified,
            Self::Customer(customer) => customer.email_verified,
        }
    }

    pub fn account_ref(&self) -> AccountRef {
        match self {
            Self::Staff(user) => AccountRef::Staff { user_id: user.id },
            Self::Customer(customer) => AccountRef::Customer {
                store_id: customer.store_id,
                customer_id: customer.id,
            },
        }
    }

    fn token_subject(&self) -> TokenSubject {
        match self {
            Self::Staff(user) => TokenSubject::Staff { user_id: user.id },
            Self::Customer(customer) => TokenSubject::Customer {
                store_id: customer.store_id,
                customer_id: customer.id,
            },
        }
    }

    /// After a save: the stored version moved on.
    fn saved(&mut self) {
        match self {
            Self::Staff(user) => user.version += 1,
            Self::Customer(customer) => customer.version += 1,
        }
    }

    fn update(&mut self, verified: Option<bool>, password_hash: Option<String>) {
        let now = domain::now();
        let (flag, hash, updated) = match self {
            Self::Staff(user) => (
                &mut user.email_verified,
                &mut user.password_hash,
                &mut user.updated_at,
            ),
            Self::Customer(customer) => (
                &mut customer.email_verified,
                &mut customer.password_hash,
                &mut customer.updated_at,
            ),
        };
        if let Some(verified) = verified {
            *flag = verified;
        }
        if let Some(password_hash) = password_hash {
            *hash = password_hash;
        }
        *updated = now;
    }
}

impl Realm {
    pub fn branding(&self) -> Branding {
        match self {
            Self::Staff => Branding::platform(),
            Self::Customers(store) => Branding::store(store),
        }
    }

    /// A link into the app for a single-use token (`verify-email`, `reset-password`, …).
    fn link(&self, ctx: &Context, page: &str, token: &str) -> String {
        let base = ctx.settings.public_url.trim_end_matches('/');
        match self {
            Self::Staff => format!("{base}/admin/{page}?token={token}"),
            Self::Customers(store) => format!("{base}/s/{}/{page}?token={token}", store.slug),
        }
    }

    /// Key naming an account in the login throttle.
    fn throttle_key(&self, email: &str) -> String {
        match self {
            Self::Staff => format!("staff:{email}"),
            Self::Customers(store) => format!("customer:{}:{email}", store.id),
        }
    }

    async fn find(&self, ctx: &Context, email: &Email) -> Result<Option<Account>, StorageError> {
        Ok(match self {
            Self::Staff => ctx
                .storage
                .users()
                .by_email(email)
                .await?
                .map(Account::Staff),
            Self::Customers(store) => ctx
                .storage
                .customers()
                .by_email(store.id, email)
                .await?
                .map(Account::Customer),
        })
    }

    /// The account a token's subject names, if it belongs to this realm.
    async fn load(
        &self,
        ctx: &Context,
        subject: &TokenSubject,
    ) -> Result<Option<Account>, StorageError> {
        Ok(match (self, subject) {
            (Self::Staff, TokenSubject::Staff { user_id }) => ctx
                .storage
                .users()
                .by_id(*user_id)
                .await?
                .map(Account::Staff),
            (
                Self::Customers(store),
                TokenSubject::Customer {
                    store_id,
                    customer_id,
                },
            ) if *store_id == store.id => ctx
                .storage
                .customers()
                .by_id(store.id, *customer_id)
                .await?
                .map(Account::Customer),
            _ => None,
        })
    }

    /// Saves the account under its version; `false` when it was saved meanwhile.
    async fn save(&self, ctx: &Context, account: &Account) -> Result<bool, StorageError> {
        match account {
            Account::Staff(user) => ctx.storage.users().update(user).await,
            Account::Customer(customer) => {
                ctx.storage
                    .customers()
                    .update(customer.store_id, customer)
                    .await
            }
        }
    }

    /// The account as stored now.
    async fn reload(&self, ctx: &Context, account: &Account) -> Result<Account, AuthError> {
        let found = match account {
            Account::Staff(user) => ctx
                .storage
                .users()
                .by_id(user.id)
                .await?
                .map(Account::Staff),
            Account::Customer(customer) => ctx
                .storage
                .customers()
                .by_id(customer.store_id, customer.id)
                .await?
                .map(Account::Customer),
        };
        found.ok_or(AuthError::InvalidToken)
    }

    /// Applies `change` and saves the account under its version, reloading and applying it
    /// again when someone saved the account meanwhile — so a password reset racing a profile
    /// edit keeps both, and neither writes the other's old values back.
    async fn change(
        &self,
        ctx: &Context,
        mut account: Account,
        change: impl Fn(&mut Account),
    ) -> Result<Account, AuthError> {
        for _ in 0..5 {
            change(&mut account);
            if self.save(ctx, &account).await? {
                account.saved();
                return Ok(account);
            }
            account = self.reload(ctx, &account).await?;
        }
        Err(kept_changing().into())
    }
}

/// A record that changed on every attempt to save it.
pub fn kept_changing() -> StorageError {
    StorageError::Unavailable(anyhow::anyhow!("the record kept changing while saving"))
}

/// Applies `change` to a staff user and saves it under its version, reloading and applying it
/// again when the user was saved meanwhile. Returns the user as saved.
pub async fn change_user(
    ctx: &Context,
    mut user: StaffUser,
    change: impl Fn(&mut StaffUser),
) -> Result<StaffUser, StorageError> {
    for _ in 0..5 {
        change(&mut user);
        user.updated_at = domain::now();
        if ctx.storage.users().update(&user).await? {
            user.version += 1;
            return Ok(user);
        }
        user = ctx
            .storage
            .users()
            .by_id(user.id)
            .await?
            .ok_or_else(kept_changing)?;
    }
    Err(kept_changing())
}

/// Stores a new single-use token and returns it with its expiry.
pub async fn issue_token(
    ctx: &Context,
    purpose: TokenPurpose,
    subject: TokenSubject,
    ttl_secs: u64,
) -> Result<(String, Timestamp), AuthError> {
    let token = tokens::random_token()?;
    let now = domain::now();
    let expires_at = now
        .saturating_add(SignedDuration::from_secs(
            i64::try_from(ttl_secs).unwrap_or(i64::MAX),
        ))
        .unwrap_or(Timestamp::MAX);
    ctx.storage
        .tokens()
        .insert(&OneTimeToken {
            hash: tokens::hash(&token),
            purpose,
            subject,
            created_at: now,
            expires_at,
        })
        .await?;
    Ok((token, expires_at))
}

fn parse_email(field: &str, input: &str) -> Result<Email, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let email = errors.check(field, Email::parse(input), |e| e.code());
    errors.finish(email)
}

/// Signs an account in, subject to the login throttle. Unknown email and wrong password are
/// the same answer and take the same time.
pub async fn login(
    ctx: &Context,
    realm: &Realm,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<(IssuedTokens, Account), AuthError> {
    let normalised = email.trim().to_lowercase();
    let key = realm.throttle_key(&normalised);
    ctx.check_login_allowed(ip, &key).await?;
    let account = match Email::parse(&normalised) {
        Ok(email) => realm.find(ctx, &email).await?,
        Err(_) => None,
    };
    let matches = ctx
        .passwords
        .verify(password, account.as_ref().map(Account::password_hash))
        .await?;
    match account {
        Some(account) if matches => {
            ctx.login_succeeded(ip, &key).await;
            let tokens = ctx.start_session(account.account_ref()).await?;
            Ok((tokens, account))
        }
        _ => {
            ctx.login_failed(ip, &key).await;
            Err(AuthError::InvalidCredentials)
        }
    }
}

/// The message of a single-use link: (brand, name, link, expiry phrase) -> mail.
type LinkTemplate = fn(&Branding, &str, &str, &str) -> Rendered;

/// Issues a single-use token for `account` and mails the link to `page` carrying it, stating
/// the token's true expiry in the realm's time zone.
async fn mail_link(
    ctx: &Context,
    realm: &Realm,
    account: &Account,
    purpose: TokenPurpose,
    ttl_secs: u64,
    page: &str,
    template: LinkTemplate,
) -> Result<(), AuthError> {
    let (token, expires_at) = issue_token(ctx, purpose, account.token_subject(), ttl_secs).await?;
    let brand = realm.branding();
    let expiry = templates::expiry_phrase(expires_at, domain::now(), &brand.timezone);
    let message = template(
        &brand,
        account.name(),
        &realm.link(ctx, page, &token),
        &expiry,
    );
    ctx.mail.enqueue(account.email().as_str(), message).await?;
    Ok(())
}

/// Redeems a single-use token of this realm: the account it was issued for.
async fn redeem(
    ctx: &Context,
    realm: &Realm,
    purpose: TokenPurpose,
    token: &str,
) -> Result<Account, AuthError> {
    let consumed = ctx
        .storage
        .tokens()
        .consume(purpose, &tokens::hash(token), domain::now())
        .await?
        .ok_or(AuthError::InvalidToken)?;
    realm
        .load(ctx, &consumed.subject)
        .await?
        .ok_or(AuthError::InvalidToken)
}

/// Mails a verification link to an account whose email is not verified yet.
pub async fn send_verification(
    ctx: &Context,
    realm: &Realm,
    account: &Account,
) -> Result<(), AuthError> {
    if account.verified() {
        return Ok(());
    }
    mail_link(
        ctx,
        realm,
        account,
        TokenPurpose::VerifyEmail,
        ctx.settings.verify_email_ttl_secs,
        "verify-email",
        templates::verify_email,
    )
    .await
}

/// Which emailed link an account asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRequest {
    VerifyEmail,
    PasswordReset,
}

impl LinkRequest {
    fn name(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify-email",
            Self::PasswordReset => "password-reset",
        }
    }
}

/// Answers at once and the same whatever the email: the lookup and the mail happen after the
/// answer (so a known address is not told apart by a slower one, nor by a refusal).
pub fn request_link(
    ctx: &Context,
    realm: &Realm,
    email: &str,
    kind: LinkRequest,
) -> Result<(), AuthError> {
    let email = parse_email("email", email)?;
    let (ctx, realm) = (ctx.clone(), realm.clone());
    ctx.background.clone().spawn(async move {
        if let Err(error) = send_link(&ctx, &realm, &email, kind).await {
            tracing::warn!(error = %error, link = kind.name(), "a requested link was not sent");
        }
    });
    Ok(())
}

/// Mails the link `kind` to the account with `email`, if there is one and it has not asked
/// for that link too often this hour (`TECHVERSE_RATE_LIMIT_ACCOUNT_MAIL_PER_HOUR`: nobody can
/// bomb an inbox through the request endpoints). Silent either way.
pub async fn send_link(
    ctx: &Context,
    realm: &Realm,
    email: &Email,
    kind: LinkRequest,
) -> Result<(), AuthError> {
    let Some(account) = realm.find(ctx, email).await? else {
        return Ok(());
    };
    let key = format!("{}|{}", kind.name(), realm.throttle_key(email.as_str()));
    if !ctx.limiter.hit(Rule::AccountMail, &key).await.allowed {
        tracing::info!(
            link = kind.name(),
            "link requests for this account throttled"
        );
        return Ok(());
    }
    match kind {
        LinkRequest::VerifyEmail => send_verification(ctx, realm, &account).await,
        LinkRequest::PasswordReset => {
            mail_link(
                ctx,
                realm,
                &account,
                TokenPurpose::PasswordReset,
                ctx.settings.password_reset_ttl_secs,
                "reset-password",
                templates::password_reset,
            )
            .await
        }
    }
}

pub async fn verify_email(ctx: &Context, realm: &Realm, token: &str) -> Result<Account, AuthError> {
    let account = redeem(ctx, realm, TokenPurpose::VerifyEmail, token).await?;
    realm
        .change(ctx, account, |a| a.update(Some(true), None))
        .await
}

/// Sets a new password with a reset token, then revokes every session of the account.
pub async fn reset_password(
    ctx: &Context,
    realm: &Realm,
    token: &str,
    password: &str,
) -> Result<Account, AuthError> {
    // The account first, so the new password is checked against its email (the same policy
    // as at sign-up) before the link is spent: a refused password leaves the link usable.
    let token_hash = tokens::hash(token);
    let found = ctx
        .storage
        .tokens()
        .find(TokenPurpose::PasswordReset, &token_hash, domain::now())
        .await?
        .ok_or(AuthError::InvalidToken)?;
    let account = realm
        .load(ctx, &found.subject)
        .await?
        .ok_or(AuthError::InvalidToken)?;
    let mut errors = ValidationErrors::default();
    let password = errors.check(
        "password",
        NewPassword::parse(password, Some(account.email())),
        |e| e.code(),
    );
    let password = errors.finish(password)?;
    let hash = ctx.passwords.hash(&password).await?;
    let account = redeem(ctx, realm, TokenPurpose::PasswordReset, token).await?;
    // Following the link proves the inbox is theirs.
    let account = realm
        .change(ctx, account, |a| a.update(Some(true), Some(hash.clone())))
        .await?;
    let revoked = ctx.end_all_sessions(&account.account_ref()).await?;
    tracing::info!(account = %account.account_ref().key(), revoked, "password reset; sessions revoked");
    Ok(account)
}

/// Validated name, email and password of a new account; every bad field is reported.
pub fn parse_credentials(
    errors: &mut ValidationErrors,
    email: &str,
    password: &str,
    name: &str,
) -> Option<(Email, NewPassword, PersonName)> {
    let email = errors.check("email", Email::parse(email), |e| e.code());
    let password = errors.check(
        "password",
        NewPassword::parse(password, email.as_ref()),
        |e| e.code(),
    );
    let name = errors.check("name", PersonName::parse(name), |e| e.code());
    Some((email?, password?, name?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub name: String,
    pub store: NewStoreInput,
    /// Browsers: put the refresh token in the HttpOnly cookie instead of the body.
    #[serde(default)]
    pub cookie: bool,
}

/// A new staff account, not yet saved.
pub async fn new_staff_user(
    ctx: &Context,
    email: Email,
    password: &NewPassword,
    name: PersonName,
    verified: bool,
) -> Result<StaffUser, AuthError> {
    let now = domain::now();
    Ok(StaffUser {
        id: UserId::from_uuid(uuid::Uuid::now_v7()),
        email,
        name,
        password_hash: ctx.passwords.hash(password).await?,
        email_verified: verified,
        platform_admin: false,
        created_at: now,
        updated_at: now,
        version: 0,
        notifications: Vec::new(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ValidationErrors> for SignupError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Auth(AuthError::Invalid(errors))
    }
}

impl From<StorageError> for SignupError {
    fn from(error: StorageError) -> Self {
        Self::Auth(AuthError::Storage(error))
    }
}

/// Merchant sign-up: a staff account and its first store, the user as owner; mails a welcome
/// and a verification link, and signs the user in.
pub async fn signup(
    ctx: &Context,
    input: &SignupInput,
) -> Result<(StaffUser, Store, IssuedTokens), SignupError> {
    let mut errors = ValidationErrors::default();
    let credentials = parse_credentials(&mut errors, &input.email, &input.password, &input.name);
    let store = match domain::store::NewStore::parse(&input.store) {
        Ok(store) => Some(store),
        Err(store_errors) => {
            for mut error in store_errors.0 {
                error.field = format!("store.{}", error.field);
                errors.0.push(error);
            }
            None
        }
    };
    let (email, password, name) = errors.finish(credentials.zip(store).map(|(c, _)| c))?;
    if ctx.storage.users().by_email(&email).await?.is_some() {
        return Err(AuthError::EmailTaken.into());
    }
    if let Ok(slug) = techverse_shared::StoreSlug::parse(&input.store.slug)
        && ctx.storage.stores().by_slug(&slug).await?.is_some()
    {
        return Err(StoreError::SlugTaken(slug).into());
    }
    let user = new_staff_user(ctx, email, &password, name, false).await?;
    match ctx.storage.users().insert(&user).await {
        Err(StorageError::Conflict(_)) => return Err(AuthError::EmailTaken.into()),
        other => other?,
    }
    let store = open_store_for(ctx, &user, &input.store).await?;
    let realm = Realm::Staff;
    let account = Account::Staff(user.clone());
    ctx.mail
        .enqueue(
            user.email.as_str(),
            templates::welcome(&realm.branding(), user.name.as_str()),
        )
        .await
        .map_err(AuthError::from)?;
    send_verification(ctx, &realm, &account).await?;
    let tokens = ctx.start_session(account.account_ref()).await?;
    tracing::info!(user_id = %user.id, store = %store.slug, "merchant signed up");
    Ok((user, store, tokens))
}

/// Opens a store with `user` as its only owner.
async fn open_store_for(
    ctx: &Context,
    user: &StaffUser,
    input: &NewStoreInput,
) -> Result<Store, StoreError> {
    let store = stores::open(ctx.storage.as_ref(), input).await?;
    ctx.storage
        .teams()
        .create(&Team::founded(store.id, user.id, domain::now()))
        .await?;
    Ok(store)
}

/// `POST /api/v1/stores`: another store for a signed-in merchant (verified email required when
/// configured).
pub async fn create_store(
    ctx: &Context,
    user: &StaffUser,
    input: &NewStoreInput,
) -> Result<Store, SignupError> {
    if ctx.settings.require_verified_email && !user.email_verified {
        return Err(AuthError::EmailNotVerified.into());
    }
    Ok(open_store_for(ctx, user, input).await?)
}

/// The signed-in merchant and every store they belong to, with their permissions there.
pub async fn me(ctx: &Context, user: &StaffUser) -> Result<MeResponse, StorageError> {
    let mut stores = Vec::new();
    for store_id in ctx.storage.teams().stores_of(user.id).await? {
        let (Some(store), Some(team)) = (
            ctx.storage.stores().by_id(store_id).await?,
            ctx.storage.teams().get(store_id).await?,
        ) else {
            continue;
        };
        let Some(member) = team.member(user.id) else {
            continue;
        };
        stores.push(MyStore {
            store: store.profile(),
            status: store.status,
            role: member.role.key(),
            permissions: team.role_permissions(member.role).into_iter().collect(),
            notifications: user.notifications_in(store.id),
        });
    }
    Ok(MeResponse {
        user: user.view(),
        stores,
    })
}

/// `PATCH /api/v1/me`: the staff member's own settings.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeChange {
    pub name: Option<String>,
    /// Per store (by slug): which staff mail to receive; an omitted kind stays as it is.
    #[serde(default)]
    pub notifications: Vec<NotificationChange>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationChange {
    pub store: String,
    pub new_order: Option<bool>,
    pub low_stock: Option<bool>,
}

/// Stores one change may set notifications for.
const MAX_NOTIFICATION_CHANGES: usize = 100;

/// Applies `change` to the member's own account (their name, their mail per store) and answers
/// what `GET /me` would. A store they are not staff of is a field error, as if unknown.
pub async fn update_me(
    ctx: &Context,
    user: &StaffUser,
    change: &MeChange,
) -> Result<MeResponse, AuthError> {
    let mut next = user.clone();
    let mut errors = ValidationErrors::default();
    if let Some(name) = change
        .name
        .as_ref()
        .and_then(|name| errors.check("name", PersonName::parse(name), |e| e.code()))
    {
        next.name = name;
    }
    if change.notifications.len() > MAX_NOTIFICATION_CHANGES {
        errors.add(
            "notifications",
            "too_many",
            format!("at most {MAX_NOTIFICATION_CHANGES} stores at once"),
        );
    }
    let mine = ctx.storage.teams().stores_of(user.id).await?;
    for (index, wanted) in change.notifications.iter().enumerate() {
        let field = format!("notifications[{index}].store");
        let store = match techverse_shared::StoreSlug::parse(&wanted.store) {
            Ok(slug) => ctx.storage.stores().by_slug(&slug).await?,
            Err(_) => None,
        };
        let Some(store) = store.filter(|store| mine.contains(&store.id)) else {
            errors.add(&field, "unknown_store", "you are not staff of this store");
            continue;
        };
        let mut setting = next.notifications_in(store.id);
        setting.new_order = wanted.new_order.unwrap_or(setting.new_order);
        setting.low_stock = wanted.low_stock.unwrap_or(setting.low_stock);
        next.set_notifications(store.id, setting);
    }
    errors.finish(Some(()))?;
    next.updated_at = domain::now();
    if !ctx.storage.users().update(&next).await? {
        return Err(AuthError::Internal(anyhow::anyhow!(
            "the account changed meanwhile; try again"
        )));
    }
    next.version += 1;
    Ok(me(ctx, &next).await?)
}

/// Makes a platform administrator: a new verified staff account, or an existing one promoted.
/// Returns the user and whether it was created.
pub async fn create_platform_admin(
    ctx: &Context,
    email: &str,
    name: &str,
    password: &str,
) -> Result<(StaffUser, bool), AuthError> {
    let mut errors = ValidationErrors::default();
    let credentials = parse_credentials(&mut errors, email, password, name);
    let existing = match Email::parse(email) {
        Ok(email) => ctx.storage.users().by_email(&email).await?,
        Err(_) => None,
    };
    if let Some(user) = existing {
        let user = change_user(ctx, user, |u| u.platform_admin = true).await?;
        return Ok((user, false));
    }
    let (email, password, name) = errors.finish(credentials)?;
    let mut user = new_staff_user(ctx, email, &password, name, true).await?;
    user.platform_admin = true;
    match ctx.storage.users().insert(&user).await {
        Err(StorageError::Conflict(_)) => Err(AuthError::EmailTaken),
        Err(other) => Err(other.into()),
        Ok(()) => Ok((user, true)),
    }
}
