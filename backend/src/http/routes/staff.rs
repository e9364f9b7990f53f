//! The store admin's access control: `/api/v1/admin/stores/{store}` (the store as its staff see
//! it; `PATCH` its profile with settings.write), `…/staff` (members), `…/staff/invitations`, `…/roles` and `…/audit-log`. Every change
//! is checked by permission in the domain and appended to the audit log.

use actix_web::{HttpResponse, web};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use techverse_shared::{
    ApiErrorBody, AuditEntryId, AuditPage, ErrorCode, InvitationView, MemberView, Permission,
    RoleId, RoleView, StoreProfile, StoreStatus, UserId,
};

use crate::{
    app::{
        audit, stores,
        team::{self, InvitationSent},
    },
    domain::{audit::AuditQuery, store::StorePatch},
    http::routes::table::resource,
    http::{
        AppState,
        auth::StoreStaff,
        error::ApiError,
        json::JsonBody,
        openapi::{Items, StorePath},
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    store,
    update_store,
    members,
    invitations,
    invite,
    revoke_invitation,
    change_role,
    remove,
    roles,
    create_role,
    update_role,
    delete_role,
    audit_log
))]
pub struct Doc;

/// The store as a member sees it.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct StoreAccess {
    store: StoreProfile,
    status: StoreStatus,
    /// The member's role key (none for a platform administrator who is not a member).
    role: Option<String>,
    permissions: Vec<Permission>,
}

/// The roles and every permission a role can hold.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Roles {
    items: Vec<RoleView>,
    catalogue: Vec<Permission>,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/admin/stores/{store}")
            .get(store)
            .patch(update_store),
    )
    .service(resource("/admin/stores/{store}/staff").get(members))
    .service(
        resource("/admin/stores/{store}/staff/invitations")
            .get(invitations)
            .post(invite),
    )
    .service(
        resource("/admin/stores/{store}/staff/invitations/{invitation}").delete(revoke_invitation),
    )
    .service(
        resource("/admin/stores/{store}/staff/{user}")
            .patch(change_role)
            .delete(remove),
    )
    .service(
        resource("/admin/stores/{store}/roles")
            .get(roles)
            .post(create_role),
    )
    .service(
        resource("/admin/stores/{store}/roles/{role}")
            .patch(update_role)
            .delete(delete_role),
    )
    .service(resource("/admin/stores/{store}/audit-log").get(audit_log));
}

/// The second path segment as an id; anything else finds nothing.
fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, format!("no such {what}")))
}

/// The store as the signed-in member sees it: profile, status, their role and permissions.
#[utoipa::path(
    get,
    path = "/admin/stores/{store}",
    tag = "admin-staff",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The store and the member's access.", body = StoreAccess),
    ),
)]
async fn store(staff: StoreStaff) -> HttpResponse {
    let member = staff.team.member(staff.user.id).map(|m| m.role);
    HttpResponse::Ok().json(StoreAccess {
        store: staff.store.profile(),
        status: staff.store.status,
        role: member.map(|r| r.key().to_owned()),
        permissions: staff.permissions.iter().copied().collect(),
    })
}

/// `PATCH …`: the store's profile (settings.write).
/// Changes the store's profile; the currency only while no order exists (`settings.write`).
#[utoipa::path(
    patch,
    path = "/admin/stores/{store}",
    tag = "admin-staff",
    params(StorePath),
    request_body = StorePatch,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The profile.", body = StoreProfile),
    ),
)]
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
/// The store's staff.
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/staff",
    tag = "admin-staff",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The members.", body = Items<MemberView>),
    ),
)]
async fn members(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::StaffManage)?;
    let items = team::members(&state.ctx, staff.store.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: String,
    role: String,
}

/// Mails an invitation to join with a role the inviter may grant (`staff.manage`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/staff/invitations",
    tag = "admin-staff",
    params(StorePath),
    request_body = InviteBody,
    security(("staff" = [])),
    responses(
        (status = 202, description = "The invitation is on its way.", body = InvitationSent),
        (status = 409, description = "Already a member (`already_member`).", body = ApiErrorBody),
    ),
)]
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

/// Open invitations (`staff.manage`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/staff/invitations",
    tag = "admin-staff",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The invitations.", body = Items<InvitationView>),
    ),
)]
async fn invitations(
    state: web::Data<AppState>,
    staff: StoreStaff,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::StaffManage)?;
    let items = team::invitations(&state.ctx, staff.store.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// Withdraws an invitation (`staff.manage`).
#[utoipa::path(
    delete,
    path = "/admin/stores/{store}/staff/invitations/{invitation}",
    tag = "admin-staff",
    params(StorePath, ("invitation" = String, Path, description = "The invitation id.")),
    security(("staff" = [])),
    responses(
        (status = 204, description = "The invitation is withdrawn."),
    ),
)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: String,
}

/// Gives a member another role (`staff.manage`).
#[utoipa::path(
    patch,
    path = "/admin/stores/{store}/staff/{user}",
    tag = "admin-staff",
    params(StorePath, ("user" = String, Path, description = "The member's user id.")),
    request_body = RoleChange,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The member.", body = MemberView),
        (status = 409, description = "The store's last owner cannot be demoted (`last_owner`).", body = ApiErrorBody),
    ),
)]
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

/// Removes a member (`staff.manage`).
#[utoipa::path(
    delete,
    path = "/admin/stores/{store}/staff/{user}",
    tag = "admin-staff",
    params(StorePath, ("user" = String, Path, description = "The member's user id.")),
    security(("staff" = [])),
    responses(
        (status = 204, description = "The member is removed."),
        (status = 409, description = "The store's last owner cannot be removed (`last_owner`).", body = ApiErrorBody),
    ),
)]
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

/// The store's roles and the permission catalogue.
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/roles",
    tag = "admin-staff",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The roles.", body = Roles),
    ),
)]
async fn roles(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    let items = team::roles(&state.ctx, staff.store.id).await?;
    Ok(HttpResponse::Ok().json(Roles {
        items,
        catalogue: Permission::ALL.to_vec(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewRole {
    name: String,
    permissions: Vec<Permission>,
}

/// Creates a custom role from the permission catalogue (`staff.manage`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/roles",
    tag = "admin-staff",
    params(StorePath),
    request_body = NewRole,
    security(("staff" = [])),
    responses(
        (status = 201, description = "The role.", body = RoleView),
        (status = 409, description = "The name is taken (`conflict`).", body = ApiErrorBody),
    ),
)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RolePatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permissions: Option<Vec<Permission>>,
}

/// Renames a custom role or changes its permissions (`staff.manage`).
#[utoipa::path(
    patch,
    path = "/admin/stores/{store}/roles/{role}",
    tag = "admin-staff",
    params(StorePath, ("role" = String, Path, description = "The role id.")),
    request_body = RolePatch,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The role.", body = RoleView),
        (status = 409, description = "The name is taken (`conflict`).", body = ApiErrorBody),
    ),
)]
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

/// Deletes a custom role no member holds (`staff.manage`).
#[utoipa::path(
    delete,
    path = "/admin/stores/{store}/roles/{role}",
    tag = "admin-staff",
    params(StorePath, ("role" = String, Path, description = "The role id.")),
    security(("staff" = [])),
    responses(
        (status = 204, description = "The role is deleted."),
        (status = 409, description = "A member still holds it (`conflict`).", body = ApiErrorBody),
    ),
)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    /// A member's user id.
    #[param(format = Uuid)]
    actor: Option<String>,
    /// An action, e.g. `product.updated`.
    action: Option<String>,
    /// The first day, `YYYY-MM-DD` (UTC).
    #[param(format = Date)]
    from: Option<String>,
    /// The last day, `YYYY-MM-DD` (UTC).
    #[param(format = Date)]
    to: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 50)]
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

/// The audit log, newest first, by member, action and day (`audit.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/audit-log",
    tag = "admin-staff",
    params(StorePath, AuditParams),
    security(("staff" = [])),
    responses(
        (status = 200, description = "A page of entries.", body = AuditPage),
    ),
)]
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
