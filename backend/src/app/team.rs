//! A store's staff: members, invitations, roles. Every change loads the team, applies a rule
//! from `domain::access`, and saves under a version check (retrying on a concurrent change).

use serde::Serialize;
use techverse_shared::{InvitationView, MemberView, Permission, RoleId, RoleView, StoreId, UserId};

use super::{
    Context,
    accounts::{self, issue_token},
    sessions::AuthError,
};
use crate::{
    auth::tokens,
    domain::{
        self,
        access::{AccessError, Permissions, Role, Team, custom_role_view},
        account::{Email, NewPassword, PersonName, StaffUser},
        store::Store,
        token::{OneTimeToken, TokenPurpose, TokenSubject},
        validation::ValidationErrors,
    },
    mail::templates::{self, Branding},
    storage::StorageError,
};

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the team changed concurrently too many times; try again")]
    Busy,
    #[error("no such store")]
    StoreNotFound,
    #[error("this invitation can no longer be accepted")]
    InvitationWithdrawn,
    #[error("no such pending invitation")]
    InvitationNotFound,
}

impl From<StorageError> for TeamError {
    fn from(error: StorageError) -> Self {
        Self::Auth(error.into())
    }
}

impl From<ValidationErrors> for TeamError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Auth(errors.into())
    }
}

pub async fn load(ctx: &Context, store: StoreId) -> Result<Team, TeamError> {
    ctx.storage
        .teams()
        .get(store)
        .await?
        .ok_or(TeamError::StoreNotFound)
}

/// Applies `change` to the current team and saves it, retrying if someone saved in between.
async fn change<T>(
    ctx: &Context,
    store: StoreId,
    mut change: impl FnMut(&mut Team) -> Result<T, AccessError>,
) -> Result<(Team, T), TeamError> {
    for _ in 0..5 {
        let mut team = load(ctx, store).await?;
        let outcome = change(&mut team)?;
        if ctx.storage.teams().save(&team).await? {
            team.version += 1;
            return Ok((team, outcome));
        }
    }
    Err(TeamError::Busy)
}

/// A role key from a request: a built-in name or the id of one of this store's roles.
pub fn resolve_role(team: &Team, key: &str) -> Result<Role, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    match Role::parse(key) {
        Some(Role::Custom(id)) if team.custom_role(id).is_none() => {
            errors.add("role", "unknown_role", "no such role in this store");
        }
        Some(role) => return Ok(role),
        None => errors.add(
            "role",
            "unknown_role",
            "use owner, admin, staff or a custom role id",
        ),
    }
    Err(errors)
}

pub async fn members(ctx: &Context, store: StoreId) -> Result<Vec<MemberView>, TeamError> {
    let team = load(ctx, store).await?;
    let mut views = Vec::with_capacity(team.members.len());
    for member in &team.members {
        let Some(user) = ctx.storage.users().by_id(member.user_id).await? else {
            continue;
        };
        views.push(member_view(&team, member.user_id, &user));
    }
    Ok(views)
}

fn member_view(team: &Team, user_id: UserId, user: &StaffUser) -> MemberView {
    let role = team.member(user_id).map_or(Role::Staff, |m| m.role);
    MemberView {
        user_id,
        email: user.email.to_string(),
        name: user.name.as_str().to_owned(),
        role: role.key(),
        role_name: team.role_name(role),
        permissions: team.role_permissions(role).into_iter().collect(),
        joined_at: team
            .member(user_id)
            .map_or(user.created_at, |m| m.joined_at),
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvitationSent {
    pub email: String,
    pub role: String,
    pub expires_at: jiff::Timestamp,
}

/// Mails an invitation to join `store` with `role_key`, after checking the inviter may grant it.
pub async fn invite(
    ctx: &Context,
    store: &Store,
    inviter: &StaffUser,
    email: &str,
    role_key: &str,
) -> Result<InvitationSent, TeamError> {
    if ctx.settings.require_verified_email && !inviter.email_verified {
        return Err(AuthError::EmailNotVerified.into());
    }
    let team = load(ctx, store.id).await?;
    let mut errors = ValidationErrors::default();
    let email = errors.check("email", Email::parse(email), |e| e.code());
    let role = match resolve_role(&team, role_key) {
        Ok(role) => Some(role),
        Err(role_errors) => {
            errors.0.extend(role_errors.0);
            None
        }
    };
    let (email, role) = errors.finish(email.zip(role))?;
    team.check_invite(inviter.id, role)?;
    if let Some(existing) = ctx.storage.users().by_email(&email).await?
        && team.member(existing.id).is_some()
    {
        return Err(AccessError::AlreadyMember.into());
    }
    let (token, expires_at) = issue_token(
        ctx,
        TokenPurpose::Invitation,
        TokenSubject::Invite {
            store_id: store.id,
            email: email.clone(),
            role,
            invited_by: inviter.id,
        },
        ctx.settings.invitation_ttl_secs,
    )
    .await?;
    let brand = Branding {
        name: store.name.as_str().to_owned(),
        timezone: jiff::tz::TimeZone::UTC,
    };
    let expiry = templates::expiry_phrase(expires_at, domain::now(), &brand.timezone);
    let link = format!(
        "{}/admin/accept-invitation?token={token}",
        ctx.settings.public_url.trim_end_matches('/')
    );
    let message = templates::staff_invitation(
        &brand,
        inviter.name.as_str(),
        &team.role_name(role),
        &link,
        &expiry,
    );
    ctx.mail
        .enqueue(email.as_str(), message)
        .await
        .map_err(AuthError::from)?;
    Ok(InvitationSent {
        email: email.to_string(),
        role: role.key(),
        expires_at,
    })
}

/// Accepting an invitation: joins the store, creating the staff account (with `name` and
/// `password`) when the invited email has none.
pub struct Accepted {
    pub user: StaffUser,
    pub store_id: StoreId,
    pub role: Role,
    pub created_account: bool,
}

/// The invitation's terms.
struct Invite {
    store_id: StoreId,
    email: Email,
    role: Role,
    invited_by: UserId,
}

fn invite_of(token: &OneTimeToken) -> Result<Invite, TeamError> {
    match &token.subject {
        TokenSubject::Invite {
            store_id,
            email,
            role,
            invited_by,
        } => Ok(Invite {
            store_id: *store_id,
            email: email.clone(),
            role: *role,
            invited_by: *invited_by,
        }),
        _ => Err(AuthError::InvalidToken.into()),
    }
}

/// Whether the team still lets the inviter hand out the invited role: they are still a member
/// with `staff.manage` and every permission of the role (which must still exist).
fn still_grantable(team: &Team, invite: &Invite) -> Result<(), TeamError> {
    team.check_invite(invite.invited_by, invite.role)
        .map_err(|_| TeamError::InvitationWithdrawn)
}

/// Joins the invited store. Everything is checked before the token is spent — the inviter's
/// authority now, not only when it was sent; the new account's name and password — and the
/// token is spent only together with a successful admission (given back if admission fails).
pub async fn accept(
    ctx: &Context,
    token: &str,
    name: Option<&str>,
    password: Option<&str>,
) -> Result<Accepted, TeamError> {
    let hash = tokens::hash(token);
    let tokens_repo = ctx.storage.tokens();
    let found = tokens_repo
        .find(TokenPurpose::Invitation, &hash, domain::now())
        .await?
        .ok_or(AuthError::InvalidToken)?;
    let invite = invite_of(&found)?;
    let team = load(ctx, invite.store_id).await?;
    still_grantable(&team, &invite)?;
    let existing = ctx.storage.users().by_email(&invite.email).await?;
    if let Some(user) = &existing
        && team.member(user.id).is_some()
    {
        return Err(AccessError::AlreadyMember.into());
    }
    let new_account = match existing {
        Some(_) => None,
        None => Some(new_account_terms(&invite.email, name, password)?),
    };
    let consumed = tokens_repo
        .consume(TokenPurpose::Invitation, &hash, domain::now())
        .await?
        .ok_or(AuthError::InvalidToken)?;
    match admit(ctx, &invite, existing, new_account).await {
        Ok(accepted) => Ok(accepted),
        Err(error) => {
            // Not admitted: the invitation stays usable (or revocable).
            tokens_repo.insert(&consumed).await?;
            Err(error)
        }
    }
}

/// The name and password of the account an invitation creates, checked.
fn new_account_terms(
    email: &Email,
    name: Option<&str>,
    password: Option<&str>,
) -> Result<(PersonName, NewPassword), TeamError> {
    let mut errors = ValidationErrors::default();
    let name = errors.check("name", PersonName::parse(name.unwrap_or_default()), |e| {
        e.code()
    });
    let password = errors.check(
        "password",
        NewPassword::parse(password.unwrap_or_default(), Some(email)),
        |e| e.code(),
    );
    Ok(errors.finish(name.zip(password))?)
}

/// Creates the account when needed and adds the member, re-checking the inviter's authority
/// on the team as saved.
async fn admit(
    ctx: &Context,
    invite: &Invite,
    existing: Option<StaffUser>,
    new_account: Option<(PersonName, NewPassword)>,
) -> Result<Accepted, TeamError> {
    let (user, created_account) = match (existing, new_account) {
        (Some(user), _) if user.email_verified => (user, false),
        (Some(user), _) => (
            accounts::change_user(ctx, user, |u| u.email_verified = true).await?,
            false,
        ),
        (None, Some((name, password))) => {
            let user =
                accounts::new_staff_user(ctx, invite.email.clone(), &password, name, true).await?;
            match ctx.storage.users().insert(&user).await {
                Err(StorageError::Conflict(_)) => return Err(AuthError::EmailTaken.into()),
                other => other?,
            }
            (user, true)
        }
        (None, None) => return Err(AuthError::InvalidToken.into()),
    };
    let admitted = change(ctx, invite.store_id, |team| {
        team.check_invite(invite.invited_by, invite.role)
            .map_err(|_| AccessError::InvitationWithdrawn)?;
        team.admit(user.id, invite.role, domain::now())
    })
    .await;
    match admitted {
        Err(TeamError::Access(AccessError::InvitationWithdrawn)) => {
            Err(TeamError::InvitationWithdrawn)
        }
        Err(other) => Err(other),
        Ok(_) => Ok(Accepted {
            user,
            store_id: invite.store_id,
            role: invite.role,
            created_account,
        }),
    }
}

/// Invitations into the store not accepted yet (and not expired), newest first.
pub async fn invitations(ctx: &Context, store: StoreId) -> Result<Vec<InvitationView>, TeamError> {
    let (team, pending) = pending_invitations(ctx, store).await?;
    Ok(pending
        .iter()
        .filter_map(|token| {
            let invite = invite_of(token).ok()?;
            Some(InvitationView {
                id: token.public_id(),
                email: invite.email.to_string(),
                role: invite.role.key(),
                role_name: team.role_name(invite.role),
                invited_by: invite.invited_by,
                created_at: token.created_at,
                expires_at: token.expires_at,
            })
        })
        .collect())
}

/// The most pending invitations a store lists.
pub const MAX_PENDING_INVITATIONS: u32 = 500;

async fn pending_invitations(
    ctx: &Context,
    store: StoreId,
) -> Result<(Team, Vec<OneTimeToken>), TeamError> {
    let team = load(ctx, store).await?;
    let pending = ctx
        .storage
        .tokens()
        .invitations(store, domain::now(), MAX_PENDING_INVITATIONS)
        .await?;
    Ok((team, pending))
}

/// Withdraws a pending invitation. The revoker needs `staff.manage` and the right to grant the
/// invited role themselves (an admin cannot withdraw an owner's invitation to be an owner).
/// Returns the withdrawn invitation's email and role.
pub async fn revoke_invitation(
    ctx: &Context,
    store: StoreId,
    actor: UserId,
    id: techverse_shared::InvitationId,
) -> Result<(String, Role), TeamError> {
    let (team, pending) = pending_invitations(ctx, store).await?;
    let token = pending
        .iter()
        .find(|t| t.public_id() == id)
        .ok_or(TeamError::InvitationNotFound)?;
    let invite = invite_of(token)?;
    team.check_invite(actor, invite.role)?;
    if !ctx.storage.tokens().delete(&token.hash).await? {
        return Err(TeamError::InvitationNotFound);
    }
    Ok((invite.email.to_string(), invite.role))
}

pub async fn change_role(
    ctx: &Context,
    store: StoreId,
    actor: UserId,
    target: UserId,
    role_key: &str,
) -> Result<(MemberView, Role, Role), TeamError> {
    let role = resolve_role(&load(ctx, store).await?, role_key)?;
    let (team, previous) = change(ctx, store, |team| {
        let previous = team
            .member(target)
            .map(|m| m.role)
            .ok_or(AccessError::NotMember)?;
        team.change_role(actor, target, role)?;
        Ok(previous)
    })
    .await?;
    let user = ctx
        .storage
        .users()
        .by_id(target)
        .await?
        .ok_or(AccessError::NotMember)?;
    Ok((member_view(&team, target, &user), previous, role))
}

pub async fn remove(
    ctx: &Context,
    store: StoreId,
    actor: UserId,
    target: UserId,
) -> Result<Role, TeamError> {
    let (_, previous) = change(ctx, store, |team| {
        let previous = team
            .member(target)
            .map(|m| m.role)
            .ok_or(AccessError::NotMember)?;
        team.remove(actor, target)?;
        Ok(previous)
    })
    .await?;
    Ok(previous)
}

pub async fn roles(ctx: &Context, store: StoreId) -> Result<Vec<RoleView>, TeamError> {
    Ok(load(ctx, store).await?.role_views())
}

pub async fn create_role(
    ctx: &Context,
    store: StoreId,
    actor: UserId,
    name: &str,
    permissions: &[Permission],
) -> Result<RoleView, TeamError> {
    let id = RoleId::from_uuid(uuid::Uuid::now_v7());
    let permissions: Permissions = permissions.iter().copied().collect();
    let (_, role) = change(ctx, store, |team| {
        team.create_role(actor, id, name, permissions.clone())
            .cloned()
    })
    .await?;
    Ok(custom_role_view(&role))
}

pub async fn update_role(
    ctx: &Context,
    store: StoreId,
    actor: UserId,
    id: RoleId,
    name: Option<&str>,
    permissions: Option<&[Permission]>,
) -> Result<RoleView, TeamError> {
    let permissions: Option<Permissions> = permissions.map(|p| p.iter().copied().collect());
    let (_, role) = change(ctx, store, |team| {
        team.update_role(actor, id, name, permissions.clone())
            .cloned()
    })
    .await?;
    Ok(custom_role_view(&role))
}

pub async fn delete_role(
    ctx: &Context,
    store: StoreId,
    actor: UserId,
    id: RoleId,
) -> Result<(), TeamError> {
    change(ctx, store, |team| team.delete_role(actor, id)).await?;
    Ok(())
}
