//! A store's staff: members, invitations, roles. Every change loads the team, applies a rule
//! from `domain::access`, and saves under a version check (retrying on a concurrent change).

use serde::Serialize;
use techverse_shared::{MemberView, Permission, RoleId, RoleView, StoreId, UserId};

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
        token::{TokenPurpose, TokenSubject},
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

#[derive(Debug, Clone, Serialize)]
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

pub async fn accept(
    ctx: &Context,
    token: &str,
    name: Option<&str>,
    password: Option<&str>,
) -> Result<Accepted, TeamError> {
    let hash = tokens::hash(token);
    let consumed = ctx
        .storage
        .tokens()
        .consume(TokenPurpose::Invitation, &hash, domain::now())
        .await?
        .ok_or(AuthError::InvalidToken)?;
    let TokenSubject::Invite {
        store_id,
        email,
        role,
        ..
    } = consumed.subject.clone()
    else {
        return Err(AuthError::InvalidToken.into());
    };
    let existing = ctx.storage.users().by_email(&email).await?;
    let (user, created_account) = match existing {
        Some(mut user) => {
            if !user.email_verified {
                user.email_verified = true;
                user.updated_at = domain::now();
                ctx.storage.users().update(&user).await?;
            }
            (user, false)
        }
        None => {
            let mut errors = ValidationErrors::default();
            let name = errors.check("name", PersonName::parse(name.unwrap_or_default()), |e| {
                e.code()
            });
            let password = errors.check(
                "password",
                NewPassword::parse(password.unwrap_or_default(), Some(&email)),
                |e| e.code(),
            );
            let (name, password) = match errors.finish(name.zip(password)) {
                Ok(parsed) => parsed,
                Err(errors) => {
                    // Give the invitation back so the invitee can try again.
                    ctx.storage.tokens().insert(&consumed).await?;
                    return Err(errors.into());
                }
            };
            let user = accounts::new_staff_user(ctx, email, &password, name, true).await?;
            match ctx.storage.users().insert(&user).await {
                Err(StorageError::Conflict(_)) => return Err(AuthError::EmailTaken.into()),
                other => other?,
            }
            (user, true)
        }
    };
    change(ctx, store_id, |team| {
        team.admit(user.id, role, domain::now())
    })
    .await?;
    Ok(Accepted {
        user,
        store_id,
        role,
        created_account,
    })
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
