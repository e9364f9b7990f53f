//! The store admin's access control: `/api/v1/admin/stores/{store}` (the store as its staff see
//! it; `PATCH` its profile with settings.write), `…/staff` (members), `…/staff/invitations`, `…/roles` and `…/audit-log`. Every change
//! is checked by permission in the domain and appended to the audit log.

use actix_web::{HttpResponse, web};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use techverse_shared::{AuditEntryId, ErrorCode, Permission, RoleId, UserId};

use crate::{
    app::{audit, stores, team},
    domain::{audit::AuditQuery, store::StorePatch},
    http::{AppState, auth::StoreStaff, error::ApiError, json::JsonBody},
};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/stores/{store}")
            .route(web::get().to(store))
            .route(web::patch().to(update_store)),
    )
    .service(web::resource("/admin/stores/{store}/staff").route(web::get().to(members)))
    .service(
        web::resource("/admin/stores/{store}/staff/invitations")
            .route(web::get().to(invitations))
            .route(web::post().to(invite)),
    )
    .service(
        web::resource("/admin/stores/{store}/staff/invitations/{invitation}")
            .route(web::delete().to(revoke_invitation)),
    )
    .service(
        web::resource("/admin/stores/{store}/staff/{user}")
            .route(web::patch().to(change_role))
            .route(web::delete().to(remove)),
    )
    .service(
        web::resource("/admin/stores/{store}/roles")
            .route(web::get().to(roles))
            .route(web::post().to(create_role)),
    )
    .service(
        web::resource("/admin/stores/{store}/roles/{role}")
            .route(web::patch().to(update_role))
            .route(web::delete().to(delete_role)),
    )
    .service(web::resource("/admin/stores/{store}/audit-log").route(web::get().to(audit_log)));
}

/// The second path segment as an id; anything else finds nothing.
fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, format!("no such {what}")))
}

async fn store(staff: StoreStaff) -> HttpResponse {
    let member = staff.team.member(staff.user.id).map(|m| m.role);
    HttpResponse::Ok().json(json!({
        "store": staff.store.profile(),
        "status": staff.store.status,
        "role": member.map(|r| r.key()),
        "permissions": staff.permissions,
    }))
}

/// `PATCH …`: the store's profile (settings.write).
async fn update_store(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(patch): JsonBody<StorePatch>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::SettingsWrite)?;
    let saved = stores::update_profile(&state.ctx, &staff.store, staff.actor(), &patch).await?;
    Ok(HttpResponse::Ok().json(saved.profile()))
}

/// The team with every member's email: for those who manage it.
async fn members(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::StaffManage)?;
    let items = team::members(&state.ctx, staff.store.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: String,
    role: String,
}

async fn invite(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(body): JsonBody<InviteBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::StaffManage)?;
    let sent = team::invite(
        &state.ctx,
        &staff.store,
        &staff.user,
        &body.email,
        &body.role,
    )
    .await?;
    audit::record(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        "staff.invited",
        format!("email:{}", sent.email),
        json!({ "role": sent.role, "expires_at": sent.expires_at }),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(sent))
}

async fn invitations(
    state: web::Data<AppState>,
    staff: StoreStaff,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::StaffManage)?;
    let items = team::invitations(&state.ctx, staff.store.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn revoke_invitation(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::StaffManage)?;
    let id = path_id(&path.1, "pending invitation")?;
    let (email, role) =
        team::revoke_invitation(&state.ctx, staff.store.id, staff.user.id, id).await?;
    audit::record(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        "staff.invitation_revoked",
        format!("email:{email}"),
        json!({ "role": role.key() }),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: String,
}

async fn change_role(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<RoleChange>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::StaffManage)?;
    let target: UserId = path_id(&path.1, "member")?;
    let (view, previous, role) = team::change_role(
        &state.ctx,
        staff.store.id,
        staff.user.id,
        target,
        &body.role,
    )
    .await?;
    audit::record(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        "staff.role_changed",
        format!("user:{target}"),
        json!({ "role": { "from": previous.key(), "to": role.key() } }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn remove(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    // Leaving needs no permission, removing others needs staff.manage (checked in the domain).
    staff.require_active()?;
    let target: UserId = path_id(&path.1, "member")?;
    let previous = team::remove(&state.ctx, staff.store.id, staff.user.id, target).await?;
    let action = if target == staff.user.id {
        "staff.left"
    } else {
        "staff.removed"
    };
    audit::record(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        action,
        format!("user:{target}"),
        json!({ "role": previous.key() }),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn roles(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    let items = team::roles(&state.ctx, staff.store.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "catalogue": Permission::ALL })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRole {
    name: String,
    permissions: Vec<Permission>,
}

async fn create_role(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(body): JsonBody<NewRole>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::StaffManage)?;
    let role = team::create_role(
        &state.ctx,
        staff.store.id,
        staff.user.id,
        &body.name,
        &body.permissions,
    )
    .await?;
    audit::record(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        "role.created",
        format!("role:{}", role.key),
        json!({ "name": role.name, "permissions": role.permissions }),
    )
    .await?;
    Ok(HttpResponse::Created().json(role))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolePatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permissions: Option<Vec<Permission>>,
}

async fn update_role(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<RolePatch>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::StaffManage)?;
    let id: RoleId = path_id(&path.1, "role")?;
    let before = staff.team.custom_role(id).cloned();
    let role = team::update_role(
        &state.ctx,
        staff.store.id,
        staff.user.id,
        id,
        body.name.as_deref(),
        body.permissions.as_deref(),
    )
    .await?;
    audit::record(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        "role.updated",
        format!("role:{id}"),
        json!({
            "name": { "from": before.as_ref().map(|r| r.name.clone()), "to": role.name },
            "permissions": { "from": before.map(|r| r.permissions), "to": role.permissions },
        }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(role))
}

async fn delete_role(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::StaffManage)?;
    let id: RoleId = path_id(&path.1, "role")?;
    let name = staff.team.custom_role(id).map(|r| r.name.clone());
    team::delete_role(&state.ctx, staff.store.id, staff.user.id, id).await?;
    audit::record(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        "role.deleted",
        format!("role:{id}"),
        json!({ "name": name }),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

fn bad_param(name: &str, expected: &str) -> ApiError {
    ApiError::new(
        ErrorCode::BadRequest,
        format!("`{name}` must be {expected}"),
    )
    .with_details(json!({ "parameter": name }))
}

fn parse_param<T: std::str::FromStr>(
    value: Option<&str>,
    name: &str,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    value
        .map(|raw| raw.parse::<T>().map_err(|_| bad_param(name, expected)))
        .transpose()
}

async fn audit_log(
    state: web::Data<AppState>,
    staff: StoreStaff,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::AuditRead)?;
    let query = AuditQuery {
        actor: parse_param::<UserId>(params.actor.as_deref(), "actor", "a user id")?,
        action: params.action.clone(),
        from: parse_param::<Timestamp>(params.from.as_deref(), "from", "an RFC 3339 time")?,
        to: parse_param::<Timestamp>(params.to.as_deref(), "to", "an RFC 3339 time")?,
        before: parse_param::<AuditEntryId>(
            params.cursor.as_deref(),
            "cursor",
            "a cursor from a previous page",
        )?,
        limit: params.limit.unwrap_or(50),
    };
    Ok(HttpResponse::Ok().json(audit::page(&state.ctx, staff.store.id, query).await?))
}
