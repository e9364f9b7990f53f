//! Store staff: invitations, roles (built-in and custom), permission checks, the last-owner
//! rule, suspension making the admin read-only, and the audit log.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, admin, assert_error, get_json, send, spawn_app};

async fn audit_actions(app: &TestApp, store: &str, token: &str) -> Vec<String> {
    let page: Value = get_json(app, &admin(store, "/audit-log?limit=200"), token).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_invitation_creates_the_account_and_the_membership() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("team-shop").await;
    let invited = send(
        &app,
        Method::POST,
        &admin("team-shop", "/staff/invitations"),
        &owner.access,
        Some(json!({ "email": "clerk@example.com", "role": "staff" })),
    )
    .await;
    assert_eq!(invited.status(), 202);
    let mail = app
        .wait_mail("clerk@example.com", "/admin/accept-invitation")
        .await;
    assert!(mail.contains("Store team-shop"));
    assert!(mail.contains("Staff"));
    let token = crate::helpers::token_in(&mail, "/admin/accept-invitation").unwrap();

    let weak = app
        .post_json(
            "/api/v1/invitations/accept",
            &json!({ "token": token, "name": "Clerk", "password": "123" }),
        )
        .await;
    assert_error(weak, 422, "validation_failed").await;
    let accepted = app
        .post_json(
            "/api/v1/invitations/accept",
            &json!({ "token": token, "name": "Clerk", "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        accepted.status(),
        200,
        "the invitation survives a rejected attempt"
    );
    let body: Value = accepted.json().await.unwrap();
    assert_eq!(body["created_account"], true);
    assert_eq!(body["role"], "staff");
    let again = app
        .post_json(
            "/api/v1/invitations/accept",
            &json!({ "token": token, "name": "Clerk", "password": PASSWORD }),
        )
        .await;
    assert_error(again, 400, "invalid_token").await;

    let login: Value = app
        .login_staff("clerk@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let me: Value = get_json(&app, "/api/v1/me", login["access_token"].as_str().unwrap()).await;
    assert_eq!(
        me["user"]["email_verified"], true,
        "accepting proves the inbox"
    );
    assert_eq!(me["stores"][0]["role"], "staff");
    let members: Value = get_json(&app, &admin("team-shop", "/staff"), &owner.access).await;
    assert_eq!(members["items"].as_array().unwrap().len(), 2);
    let actions = audit_actions(&app, "team-shop", &owner.access).await;
    assert!(actions.contains(&"staff.invited".to_owned()), "{actions:?}");
    assert!(actions.contains(&"staff.joined".to_owned()), "{actions:?}");
}

#[tokio::test]
async fn an_existing_merchant_joins_another_store_with_their_own_password() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("big-shop").await;
    let other = app.signup("small-shop").await;
    let invited = send(
        &app,
        Method::POST,
        &admin("big-shop", "/staff/invitations"),
        &owner.access,
        Some(json!({ "email": other.email, "role": "admin" })),
    )
    .await;
    assert_eq!(invited.status(), 202);
    let token = app
        .mailed_token(&other.email, "/admin/accept-invitation")
        .await;
    let accepted: Value = app
        .post_json("/api/v1/invitations/accept", &json!({ "token": token }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(accepted["created_account"], false);
    let me: Value = get_json(&app, "/api/v1/me", &other.access).await;
    assert_eq!(me["stores"].as_array().unwrap().len(), 2);
    let already = send(
        &app,
        Method::POST,
        &admin("big-shop", "/staff/invitations"),
        &owner.access,
        Some(json!({ "email": other.email, "role": "staff" })),
    )
    .await;
    assert_error(already, 409, "already_member").await;
}

#[tokio::test]
async fn inviting_needs_a_verified_email_and_a_known_role() {
    let app = spawn_app().await;
    let owner = app.signup("unverified-shop").await;
    let path = admin("unverified-shop", "/staff/invitations");
    let refused = send(
        &app,
        Method::POST,
        &path,
        &owner.access,
        Some(json!({ "email": "x@example.com", "role": "staff" })),
    )
    .await;
    assert_error(refused, 403, "email_not_verified").await;
    app.verify_staff(&owner.email).await;
    let bad = send(
        &app,
        Method::POST,
        &path,
        &owner.access,
        Some(json!({ "email": "nope", "role": "superadmin" })),
    )
    .await;
    let body = assert_error(bad, 422, "validation_failed").await;
    assert_eq!(
        body["error"]["details"]["fields"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn a_missing_permission_is_403_and_checks_are_by_permission() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("perm-shop").await;
    let (clerk, _) = app.add_member(&owner, "clerk@example.com", "staff").await;
    let audit = send(
        &app,
        Method::GET,
        &admin("perm-shop", "/audit-log"),
        &clerk,
        None,
    )
    .await;
    let body = assert_error(audit, 403, "forbidden").await;
    assert_eq!(body["error"]["details"]["permission"], "audit.read");
    let invite = send(
        &app,
        Method::POST,
        &admin("perm-shop", "/staff/invitations"),
        &clerk,
        Some(json!({ "email": "x@example.com", "role": "staff" })),
    )
    .await;
    assert_error(invite, 403, "forbidden").await;

    // A custom role with audit.read opens exactly that door, whatever it is called.
    let role: Value = send(
        &app,
        Method::POST,
        &admin("perm-shop", "/roles"),
        &owner.access,
        Some(json!({ "name": "Auditor", "permissions": ["audit.read", "orders.read"] })),
    )
    .await
    .json()
    .await
    .unwrap();
    let members: Value = get_json(&app, &admin("perm-shop", "/staff"), &owner.access).await;
    let clerk_id = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "clerk@example.com")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let changed = send(
        &app,
        Method::PATCH,
        &admin("perm-shop", &format!("/staff/{clerk_id}")),
        &owner.access,
        Some(json!({ "role": role["key"] })),
    )
    .await;
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["role_name"], "Auditor");
    let audit = send(
        &app,
        Method::GET,
        &admin("perm-shop", "/audit-log"),
        &clerk,
        None,
    )
    .await;
    assert_eq!(audit.status(), 200);
}

#[tokio::test]
async fn nobody_grants_a_permission_they_lack_and_admins_cannot_make_owners() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("grant-shop").await;
    let managers: Value = send(
        &app,
        Method::POST,
        &admin("grant-shop", "/roles"),
        &owner.access,
        Some(json!({ "name": "Team lead", "permissions": ["staff.manage", "products.read"] })),
    )
    .await
    .json()
    .await
    .unwrap();
    let key = managers["key"].as_str().unwrap().to_owned();
    let (lead, _) = app.add_member(&owner, "lead@example.com", &key).await;
    // The lead manages staff but holds only products.read besides.
    let escalate = send(
        &app,
        Method::POST,
        &admin("grant-shop", "/roles"),
        &lead,
        Some(json!({ "name": "Sneaky", "permissions": ["orders.refund"] })),
    )
    .await;
    let body = assert_error(escalate, 403, "forbidden").await;
    assert_eq!(
        body["error"]["details"]["missing_permissions"],
        json!(["orders.refund"])
    );
    let widen = send(
        &app,
        Method::PATCH,
        &admin("grant-shop", &format!("/roles/{key}")),
        &lead,
        Some(json!({ "permissions": ["staff.manage", "products.read", "audit.read"] })),
    )
    .await;
    assert_error(widen, 403, "forbidden").await;
    let invite_admin = send(
        &app,
        Method::POST,
        &admin("grant-shop", "/staff/invitations"),
        &lead,
        Some(json!({ "email": "x@example.com", "role": "admin" })),
    )
    .await;
    assert_error(invite_admin, 403, "forbidden").await;

    let (admin_token, admin_id) = app.add_member(&owner, "admin@example.com", "admin").await;
    let make_owner = send(
        &app,
        Method::PATCH,
        &admin("grant-shop", &format!("/staff/{admin_id}")),
        &admin_token,
        Some(json!({ "role": "owner" })),
    )
    .await;
    assert_error(make_owner, 403, "forbidden").await;
    let remove_owner = send(
        &app,
        Method::DELETE,
        &admin("grant-shop", &format!("/staff/{}", owner.user_id)),
        &admin_token,
        None,
    )
    .await;
    assert_error(remove_owner, 403, "forbidden").await;
}

#[tokio::test]
async fn the_last_owner_cannot_be_removed_or_demoted() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("owner-shop").await;
    let own = admin("owner-shop", &format!("/staff/{}", owner.user_id));
    let demote = send(
        &app,
        Method::PATCH,
        &own,
        &owner.access,
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_error(demote, 409, "last_owner").await;
    let leave = send(&app, Method::DELETE, &own, &owner.access, None).await;
    assert_error(leave, 409, "last_owner").await;

    let (second, second_id) = app
        .add_member(&owner, "co-owner@example.com", "admin")
        .await;
    let promote = send(
        &app,
        Method::PATCH,
        &admin("owner-shop", &format!("/staff/{second_id}")),
        &owner.access,
        Some(json!({ "role": "owner" })),
    )
    .await;
    assert_eq!(promote.status(), 200);
    let leave = send(&app, Method::DELETE, &own, &owner.access, None).await;
    assert_eq!(
        leave.status(),
        204,
        "with a second owner the first may leave"
    );
    let gone = send(
        &app,
        Method::GET,
        &admin("owner-shop", "/staff"),
        &owner.access,
        None,
    )
    .await;
    assert_error(gone, 404, "store_not_found").await;
    let self_demote = send(
        &app,
        Method::PATCH,
        &admin("owner-shop", &format!("/staff/{second_id}")),
        &second,
        Some(json!({ "role": "staff" })),
    )
    .await;
    assert_error(self_demote, 409, "last_owner").await;
    let actions = audit_actions(&app, "owner-shop", &second).await;
    for expected in [
        "staff.role_changed",
        "staff.left",
        "staff.invited",
        "staff.joined",
    ] {
        assert!(
            actions.contains(&expected.to_owned()),
            "{expected} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn custom_roles_are_listed_renamed_and_deleted_when_unused() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("roles-shop").await;
    let roles = admin("roles-shop", "/roles");
    let created = send(
        &app,
        Method::POST,
        &roles,
        &owner.access,
        Some(json!({ "name": "Support", "permissions": ["orders.read", "customers.read"] })),
    )
    .await;
    assert_eq!(created.status(), 201);
    let role: Value = created.json().await.unwrap();
    let duplicate = send(
        &app,
        Method::POST,
        &roles,
        &owner.access,
        Some(json!({ "name": "support", "permissions": [] })),
    )
    .await;
    assert_error(duplicate, 409, "conflict").await;
    let unknown_permission = send(
        &app,
        Method::POST,
        &roles,
        &owner.access,
        Some(json!({ "name": "X", "permissions": ["god.mode"] })),
    )
    .await;
    let body = assert_error(unknown_permission, 422, "validation_failed").await;
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"],
        "permissions[0]"
    );
    let list: Value = get_json(&app, &roles, &owner.access).await;
    let keys: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(&keys[..3], ["owner", "admin", "staff"]);
    assert_eq!(keys.len(), 4);
    assert_eq!(list["catalogue"].as_array().unwrap().len(), 11);

    let one = admin(
        "roles-shop",
        &format!("/roles/{}", role["key"].as_str().unwrap()),
    );
    let renamed: Value = send(
        &app,
        Method::PATCH,
        &one,
        &owner.access,
        Some(json!({ "name": "Customer care" })),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(renamed["name"], "Customer care");
    let (_, member) = app
        .add_member(&owner, "care@example.com", role["key"].as_str().unwrap())
        .await;
    let in_use = send(&app, Method::DELETE, &one, &owner.access, None).await;
    assert_error(in_use, 409, "conflict").await;
    send(
        &app,
        Method::PATCH,
        &admin("roles-shop", &format!("/staff/{member}")),
        &owner.access,
        Some(json!({ "role": "staff" })),
    )
    .await;
    let deleted = send(&app, Method::DELETE, &one, &owner.access, None).await;
    assert_eq!(deleted.status(), 204);
    let missing = send(&app, Method::DELETE, &one, &owner.access, None).await;
    assert_error(missing, 404, "not_found").await;
    let actions = audit_actions(&app, "roles-shop", &owner.access).await;
    for expected in [
        "role.created",
        "role.updated",
        "role.deleted",
        "staff.role_changed",
    ] {
        assert!(
            actions.contains(&expected.to_owned()),
            "{expected} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_suspended_store_admin_is_read_only_and_its_storefront_is_gone() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("frozen-shop").await;
    app.platform_send(Method::POST, "/api/v1/platform/stores/frozen-shop/suspend")
        .await;
    let storefront = app.get("/api/v1/stores/frozen-shop").await;
    assert_error(storefront, 404, "store_not_found").await;
    let read: Value = get_json(&app, &admin("frozen-shop", ""), &owner.access).await;
    assert_eq!(read["status"], "suspended");
    let staff = send(
        &app,
        Method::GET,
        &admin("frozen-shop", "/staff"),
        &owner.access,
        None,
    )
    .await;
    assert_eq!(staff.status(), 200);
    let write = send(
        &app,
        Method::POST,
        &admin("frozen-shop", "/roles"),
        &owner.access,
        Some(json!({ "name": "X", "permissions": [] })),
    )
    .await;
    assert_error(write, 403, "store_suspended").await;
    let invite = send(
        &app,
        Method::POST,
        &admin("frozen-shop", "/staff/invitations"),
        &owner.access,
        Some(json!({ "email": "x@example.com", "role": "staff" })),
    )
    .await;
    assert_error(invite, 403, "store_suspended").await;
    app.platform_send(
        Method::POST,
        "/api/v1/platform/stores/frozen-shop/reactivate",
    )
    .await;
    let write = send(
        &app,
        Method::POST,
        &admin("frozen-shop", "/roles"),
        &owner.access,
        Some(json!({ "name": "X", "permissions": [] })),
    )
    .await;
    assert_eq!(write.status(), 201);
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_and_filters_by_actor_action_and_time() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("audit-shop").await;
    let started = jiff::Timestamp::now();
    for n in 0..5 {
        let response = send(
            &app,
            Method::POST,
            &admin("audit-shop", "/roles"),
            &owner.access,
            Some(json!({ "name": format!("Role {n}"), "permissions": [] })),
        )
        .await;
        assert_eq!(response.status(), 201);
    }
    let page: Value = get_json(
        &app,
        &admin("audit-shop", "/audit-log?limit=2&action=role.created"),
        &owner.access,
    )
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["summary"]["name"], "Role 4", "newest first");
    assert_eq!(items[0]["actor"]["email"], owner.email);
    assert!(items[0]["request_id"].is_string());
    assert_eq!(
        items[0]["target"].as_str().unwrap().split(':').next(),
        Some("role")
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value = send(
        &app,
        Method::GET,
        &admin(
            "audit-shop",
            &format!("/audit-log?limit=2&action=role.created&cursor={cursor}"),
        ),
        &owner.access,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(next["items"][0]["summary"]["name"], "Role 2");
    let by_actor: Value = send(
        &app,
        Method::GET,
        &admin("audit-shop", &format!("/audit-log?actor={}", owner.user_id)),
        &owner.access,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(by_actor["items"].as_array().unwrap().len(), 5);
    let nobody: Value = send(
        &app,
        Method::GET,
        &admin(
            "audit-shop",
            &format!("/audit-log?actor={}", uuid::Uuid::nil()),
        ),
        &owner.access,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(nobody["items"].as_array().unwrap().is_empty());
    let future = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let none: Value = send(
        &app,
        Method::GET,
        &admin("audit-shop", &format!("/audit-log?from={future}")),
        &owner.access,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(none["items"].as_array().unwrap().is_empty());
    let window: Value = send(
        &app,
        Method::GET,
        &admin(
            "audit-shop",
            &format!("/audit-log?from={started}&to={future}"),
        ),
        &owner.access,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(window["items"].as_array().unwrap().len(), 5);
    let bad = send(
        &app,
        Method::GET,
        &admin("audit-shop", "/audit-log?from=yesterday"),
        &owner.access,
        None,
    )
    .await;
    assert_error(bad, 400, "bad_request").await;
    // No API edits or deletes the log.
    let id = items[0]["id"].as_str().unwrap();
    for method in [Method::DELETE, Method::PATCH, Method::PUT] {
        let response = send(
            &app,
            method,
            &admin("audit-shop", &format!("/audit-log/{id}")),
            &owner.access,
            None,
        )
        .await;
        assert_eq!(response.status(), 404);
        let response = send(
            &app,
            Method::DELETE,
            &admin("audit-shop", "/audit-log"),
            &owner.access,
            None,
        )
        .await;
        assert_eq!(response.status(), 405);
    }
}

async fn invite(app: &TestApp, store: &str, token: &str, email: &str, role: &str) -> String {
    let sent = send(
        app,
        Method::POST,
        &admin(store, "/staff/invitations"),
        token,
        Some(json!({ "email": email, "role": role })),
    )
    .await;
    assert_eq!(sent.status(), 202, "invite {email}");
    app.mailed_token(email, "/admin/accept-invitation").await
}

async fn accept(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/invitations/accept",
        &json!({ "token": token, "name": "New Member", "password": PASSWORD }),
    )
    .await
}

async fn pending(app: &TestApp, store: &str, token: &str) -> Vec<Value> {
    let list: Value = get_json(app, &admin(store, "/staff/invitations"), token).await;
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn pending_invitations_are_listed_and_a_revoked_one_cannot_be_accepted() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("invites-shop").await;
    let first = invite(
        &app,
        "invites-shop",
        &owner.access,
        "ana@example.com",
        "staff",
    )
    .await;
    let second = invite(
        &app,
        "invites-shop",
        &owner.access,
        "ben@example.com",
        "admin",
    )
    .await;
    let list = pending(&app, "invites-shop", &owner.access).await;
    assert_eq!(list.len(), 2);
    let text = serde_json::to_string(&list).unwrap();
    assert!(
        !text.contains(&first) && !text.contains(&second),
        "no token is shown"
    );
    let ben = list
        .iter()
        .find(|i| i["email"] == "ben@example.com")
        .unwrap();
    assert_eq!(ben["role"], "admin");
    assert_eq!(ben["role_name"], "Admin");
    assert_eq!(ben["invited_by"], owner.user_id.as_str());

    let path = admin(
        "invites-shop",
        &format!("/staff/invitations/{}", ben["id"].as_str().unwrap()),
    );
    let revoked = send(&app, Method::DELETE, &path, &owner.access, None).await;
    assert_eq!(revoked.status(), 204);
    assert_error(accept(&app, &second).await, 400, "invalid_token").await;
    assert_error(
        send(&app, Method::DELETE, &path, &owner.access, None).await,
        404,
        "not_found",
    )
    .await;
    let list = pending(&app, "invites-shop", &owner.access).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["email"], "ana@example.com");
    assert!(
        audit_actions(&app, "invites-shop", &owner.access)
            .await
            .contains(&"staff.invitation_revoked".to_owned())
    );

    // Staff without staff.manage neither see nor revoke invitations.
    assert_eq!(accept(&app, &first).await.status(), 200);
    let ana: Value = app
        .login_staff("ana@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let ana = ana["access_token"].as_str().unwrap();
    let listed = send(
        &app,
        Method::GET,
        &admin("invites-shop", "/staff/invitations"),
        ana,
        None,
    )
    .await;
    assert_error(listed, 403, "forbidden").await;
    assert!(
        pending(&app, "invites-shop", &owner.access)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_invitation_is_withdrawn_while_its_sender_may_not_grant_the_role_and_is_not_spent() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("authority-shop").await;
    let (admin_token, admin_id) = app.add_member(&owner, "deputy@example.com", "admin").await;
    let token = invite(
        &app,
        "authority-shop",
        &admin_token,
        "newbie@example.com",
        "admin",
    )
    .await;

    // The deputy is demoted before the invitee accepts: the invitation no longer holds.
    let demoted = send(
        &app,
        Method::PATCH,
        &admin("authority-shop", &format!("/staff/{admin_id}")),
        &owner.access,
        Some(json!({ "role": "staff" })),
    )
    .await;
    assert_eq!(demoted.status(), 200);
    assert_error(accept(&app, &token).await, 409, "invitation_withdrawn").await;
    let members = send(
        &app,
        Method::GET,
        &admin("authority-shop", "/staff"),
        &owner.access,
        None,
    )
    .await;
    let members: Value = members.json().await.unwrap();
    assert!(
        !members.to_string().contains("newbie@example.com"),
        "not admitted: {members}"
    );
    // A refused acceptance does not spend the invitation: it is still listed, and accepted
    // once its sender may grant the role again.
    assert_eq!(
        pending(&app, "authority-shop", &owner.access).await.len(),
        1
    );
    let restored = send(
        &app,
        Method::PATCH,
        &admin("authority-shop", &format!("/staff/{admin_id}")),
        &owner.access,
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_eq!(restored.status(), 200);
    assert_eq!(accept(&app, &token).await.status(), 200);
    assert!(
        pending(&app, "authority-shop", &owner.access)
            .await
            .is_empty()
    );
}
