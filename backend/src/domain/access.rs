//! Per-store access control: roles are named sets of permissions, and every check is by
//! permission. The rules that keep a store governable live here as plain functions on
//! [`Team`]: nobody grants what they lack, only owners touch owners, a store keeps an owner.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{Permission, RoleId, RoleView, StoreId, UserId};

use super::account::{TextError, clean_text};

/// A member's role: one of the three built in, or one of the store's custom roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Role {
    /// Every permission, plus ownership: only owners make or unmake owners.
    Owner,
    /// Every permission, but cannot act on owners.
    Admin,
    /// Day-to-day work: catalogue, orders, customers.
    Staff,
    Custom(RoleId),
}

impl Role {
    /// The wire key: `owner`, `admin`, `staff` or the custom role's id.
    pub fn key(self) -> String {
        match self {
            Self::Owner => "owner".to_owned(),
            Self::Admin => "admin".to_owned(),
            Self::Staff => "staff".to_owned(),
            Self::Custom(id) => id.to_string(),
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        match key {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "staff" => Some(Self::Staff),
            other => other.parse().ok().map(Self::Custom),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(value)
    }
}

impl From<Role> for String {
    fn from(role: Role) -> Self {
        role.key()
    }
}

const STAFF_PERMISSIONS: [Permission; 5] = [
    Permission::ProductsRead,
    Permission::ProductsWrite,
    Permission::OrdersRead,
    Permission::OrdersWrite,
    Permission::CustomersRead,
];

pub type Permissions = BTreeSet<Permission>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomRole {
    pub id: RoleId,
    pub name: String,
    pub permissions: Permissions,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: UserId,
    pub role: Role,
    #[serde(with = "super::millis")]
    pub joined_at: Timestamp,
}

/// A store's staff and custom roles: one record, changed as a whole under a version check so
/// concurrent changes cannot together remove the last owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub store_id: StoreId,
    pub members: Vec<Member>,
    pub roles: Vec<CustomRole>,
    /// Bumped by every saved change; storage refuses a save based on an older version.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("this needs the `{0}` permission")]
    MissingPermission(Permission),
    #[error("you cannot grant permissions you do not have")]
    CannotGrant(Vec<Permission>),
    #[error("only an owner can do this to an owner")]
    OwnerOnly,
    #[error("a store must keep at least one owner")]
    LastOwner,
    #[error("no such member")]
    NotMember,
    #[error("already a member of this store")]
    AlreadyMember,
    #[error("the invitation's sender may no longer grant its role")]
    InvitationWithdrawn,
    #[error("no such role")]
    UnknownRole,
    #[error("the role is still assigned to members")]
    RoleInUse,
    #[error("a role with this name already exists")]
    RoleNameTaken,
    #[error("invalid role name: {0}")]
    BadRoleName(TextError),
}

impl Team {
    /// A new store's team: its creator as the only owner.
    pub fn founded(store_id: StoreId, owner: UserId, now: Timestamp) -> Self {
        Self {
            store_id,
            members: vec![Member {
                user_id: owner,
                role: Role::Owner,
                joined_at: now,
            }],
            roles: Vec::new(),
            version: 0,
        }
    }

    pub fn member(&self, user: UserId) -> Option<&Member> {
        self.members.iter().find(|m| m.user_id == user)
    }

    pub fn custom_role(&self, id: RoleId) -> Option<&CustomRole> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// The permissions a role carries (an unknown custom role carries none).
    pub fn role_permissions(&self, role: Role) -> Permissions {
        match role {
            Role::Owner | Role::Admin => Permission::ALL.into_iter().collect(),
            Role::Staff => STAFF_PERMISSIONS.into_iter().collect(),
            Role::Custom(id) => self
                .custom_role(id)
                .map(|r| r.permissions.clone())
                .unwrap_or_default(),
        }
    }

    pub fn role_name(&self, role: Role) -> String {
        match role {
            Role::Owner => "Owner".to_owned(),
            Role::Admin => "Admin".to_owned(),
            Role::Staff => "Staff".to_owned(),
            Role::Custom(id) => self
                .custom_role(id)
                .map_or_else(|| "Unknown role".to_owned(), |r| r.name.clone()),
        }
    }

    /// What `user` may do in this store; `None` when not a member.
    pub fn permissions_of(&self, user: UserId) -> Option<Permissions> {
        self.member(user).map(|m| self.role_permissions(m.role))
    }

    fn owners(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.role == Role::Owner)
            .count()
    }

    fn actor(
        &self,
        actor: UserId,
        needs: Permission,
    ) -> Result<(&Member, Permissions), AccessError> {
        let member = self.member(actor).ok_or(AccessError::NotMember)?;
        let permissions = self.role_permissions(member.role);
        if !permissions.contains(&needs) {
            return Err(AccessError::MissingPermission(needs));
        }
        Ok((member, permissions))
    }

    /// Whether `actor` may hand out `role`: owners only for owner, else a subset of their own.
    fn check_grant(
        &self,
        actor: &Member,
        held: &Permissions,
        role: Role,
    ) -> Result<(), AccessError> {
        if let Role::Custom(id) = role {
            self.custom_role(id).ok_or(AccessError::UnknownRole)?;
        }
        if role == Role::Owner && actor.role != Role::Owner {
            return Err(AccessError::OwnerOnly);
        }
        let missing: Vec<Permission> = self
            .role_permissions(role)
            .difference(held)
            .copied()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AccessError::CannotGrant(missing))
        }
    }

    /// Whether `actor` may act on `target`: nobody acts on someone with more permissions, and
    /// only owners act on owners.
    fn check_over(
        &self,
        actor: &Member,
        held: &Permissions,
        target: &Member,
    ) -> Result<(), AccessError> {
        if target.role == Role::Owner && actor.role != Role::Owner {
            return Err(AccessError::OwnerOnly);
        }
        let missing: Vec<Permission> = self
            .role_permissions(target.role)
            .difference(held)
            .copied()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AccessError::CannotGrant(missing))
        }
    }

    /// Checks that `actor` may invite someone with `role` (they need `staff.manage`).
    pub fn check_invite(&self, actor: UserId, role: Role) -> Result<(), AccessError> {
        let (member, held) = self.actor(actor, Permission::StaffManage)?;
        self.check_grant(member, &held, role)
    }

    /// Adds a member whose invitation (checked by [`Self::check_invite`] when sent) was accepted.
    pub fn admit(&mut self, user: UserId, role: Role, now: Timestamp) -> Result<(), AccessError> {
        if self.member(user).is_some() {
            return Err(AccessError::AlreadyMember);
        }
        if let Role::Custom(id) = role {
            self.custom_role(id).ok_or(AccessError::UnknownRole)?;
        }
        self.members.push(Member {
            user_id: user,
            role,
            joined_at: now,
        });
        Ok(())
    }

    pub fn change_role(
        &mut self,
        actor: UserId,
        target: UserId,
        role: Role,
    ) -> Result<(), AccessError> {
        let (actor_member, held) = self.actor(actor, Permission::StaffManage)?;
        let target_member = self.member(target).ok_or(AccessError::NotMember)?;
        self.check_over(actor_member, &held, target_member)?;
        self.check_grant(actor_member, &held, role)?;
        if target_member.role == Role::Owner && role != Role::Owner && self.owners() == 1 {
            return Err(AccessError::LastOwner);
        }
        if let Some(member) = self.members.iter_mut().find(|m| m.user_id == target) {
            member.role = role;
        }
        Ok(())
    }

    /// Removes `target`. Anyone may leave (unless they are the last owner); removing someone
    /// else needs `staff.manage` and power over them.
    pub fn remove(&mut self, actor: UserId, target: UserId) -> Result<(), AccessError> {
        let target_member = self.member(target).ok_or(AccessError::NotMember)?;
        if actor != target {
            let (actor_member, held) = self.actor(actor, Permission::StaffManage)?;
            self.check_over(actor_member, &held, target_member)?;
        }
        if target_member.role == Role::Owner && self.owners() == 1 {
            return Err(AccessError::LastOwner);
        }
        self.members.retain(|m| m.user_id != target);
        Ok(())
    }

    fn check_role_name(&self, name: &str, except: Option<RoleId>) -> Result<String, AccessError> {
        let name = clean_text(name, 60).map_err(AccessError::BadRoleName)?;
        let builtin = ["owner", "admin", "staff"].contains(&name.to_lowercase().as_str());
        let taken = self
            .roles
            .iter()
            .any(|r| Some(r.id) != except && r.name.eq_ignore_ascii_case(&name));
        if builtin || taken {
            return Err(AccessError::RoleNameTaken);
        }
        Ok(name)
    }

    fn check_subset(held: &Permissions, wanted: &Permissions) -> Result<(), AccessError> {
        let missing: Vec<Permission> = wanted.difference(held).copied().collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AccessError::CannotGrant(missing))
        }
    }

    pub fn create_role(
        &mut self,
        actor: UserId,
        id: RoleId,
        name: &str,
        permissions: Permissions,
    ) -> Result<&CustomRole, AccessError> {
        let (_, held) = self.actor(actor, Permission::StaffManage)?;
        Self::check_subset(&held, &permissions)?;
        let name = self.check_role_name(name, None)?;
        self.roles.push(CustomRole {
            id,
            name,
            permissions,
        });
        self.roles.last().ok_or(AccessError::UnknownRole)
    }

    pub fn update_role(
        &mut self,
        actor: UserId,
        id: RoleId,
        name: Option<&str>,
        permissions: Option<Permissions>,
    ) -> Result<&CustomRole, AccessError> {
        let (_, held) = self.actor(actor, Permission::StaffManage)?;
        let current = self.custom_role(id).ok_or(AccessError::UnknownRole)?;
        Self::check_subset(&held, &current.permissions)?;
        if let Some(wanted) = &permissions {
            Self::check_subset(&held, wanted)?;
        }
        let name = name
            .map(|n| self.check_role_name(n, Some(id)))
            .transpose()?;
        let role = self
            .roles
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or(AccessError::UnknownRole)?;
        if let Some(name) = name {
            role.name = name;
        }
        if let Some(permissions) = permissions {
            role.permissions = permissions;
        }
        Ok(role)
    }

    pub fn delete_role(&mut self, actor: UserId, id: RoleId) -> Result<(), AccessError> {
        let (_, held) = self.actor(actor, Permission::StaffManage)?;
        let current = self.custom_role(id).ok_or(AccessError::UnknownRole)?;
        Self::check_subset(&held, &current.permissions)?;
        if self.members.iter().any(|m| m.role == Role::Custom(id)) {
            return Err(AccessError::RoleInUse);
        }
        self.roles.retain(|r| r.id != id);
        Ok(())
    }

    /// Built-in roles first, then the store's own.
    pub fn role_views(&self) -> Vec<RoleView> {
        let builtin = [Role::Owner, Role::Admin, Role::Staff].map(|role| RoleView {
            key: role.key(),
            id: None,
            name: self.role_name(role),
            built_in: true,
            permissions: self.role_permissions(role).into_iter().collect(),
        });
        builtin
            .into_iter()
            .chain(self.roles.iter().map(custom_role_view))
            .collect()
    }
}

pub fn custom_role_view(role: &CustomRole) -> RoleView {
    RoleView {
        key: role.id.to_string(),
        id: Some(role.id),
        name: role.name.clone(),
        built_in: false,
        permissions: role.permissions.iter().copied().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u128) -> UserId {
        UserId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn team() -> Team {
        let now = crate::domain::now();
        let mut team = Team::founded(StoreId::from_uuid(uuid::Uuid::nil()), user(1), now);
        team.admit(user(2), Role::Admin, now).unwrap();
        team.admit(user(3), Role::Staff, now).unwrap();
        team
    }

    #[test]
    fn built_in_roles_carry_the_documented_permissions() {
        let team = team();
        assert_eq!(
            team.permissions_of(user(1)).unwrap().len(),
            Permission::ALL.len()
        );
        let staff = team.permissions_of(user(3)).unwrap();
        assert!(staff.contains(&Permission::ProductsWrite));
        assert!(!staff.contains(&Permission::StaffManage));
        assert!(!staff.contains(&Permission::AuditRead));
        assert_eq!(team.permissions_of(user(9)), None);
    }

    #[test]
    fn the_last_owner_cannot_leave_be_removed_or_demoted() {
        let mut team = team();
        assert_eq!(team.remove(user(1), user(1)), Err(AccessError::LastOwner));
        assert_eq!(
            team.change_role(user(1), user(1), Role::Admin),
            Err(AccessError::LastOwner)
        );
        team.change_role(user(1), user(2), Role::Owner).unwrap();
        team.change_role(user(2), user(1), Role::Admin).unwrap();
        assert_eq!(team.remove(user(2), user(2)), Err(AccessError::LastOwner));
    }

    #[test]
    fn admins_cannot_touch_owners_or_make_owners() {
        let mut team = team();
        assert_eq!(
            team.change_role(user(2), user(3), Role::Owner),
            Err(AccessError::OwnerOnly)
        );
        assert_eq!(team.remove(user(2), user(1)), Err(AccessError::OwnerOnly));
        team.change_role(user(2), user(3), Role::Admin).unwrap();
    }

    #[test]
    fn nobody_grants_a_permission_they_lack() {
        let mut team = team();
        let id = RoleId::from_uuid(uuid::Uuid::from_u128(77));
        let managers: Permissions = [Permission::StaffManage, Permission::ProductsRead].into();
        team.create_role(user(1), id, "Managers", managers).unwrap();
        team.change_role(user(1), user(3), Role::Custom(id))
            .unwrap();
        // user 3 may manage staff now, but holds only products.read besides.
        let with_orders: Permissions = [Permission::OrdersRead].into();
        assert_eq!(
            team.create_role(
                user(3),
                RoleId::from_uuid(uuid::Uuid::from_u128(78)),
                "X",
                with_orders
            )
            .unwrap_err(),
            AccessError::CannotGrant(vec![Permission::OrdersRead])
        );
        assert!(matches!(
            team.check_invite(user(3), Role::Staff),
            Err(AccessError::CannotGrant(_))
        ));
        assert!(matches!(
            team.update_role(
                user(3),
                id,
                None,
                Some([Permission::AuditRead, Permission::StaffManage].into())
            ),
            Err(AccessError::CannotGrant(_))
        ));
        assert!(team.check_invite(user(3), Role::Custom(id)).is_ok());
        assert_eq!(
            team.remove(user(3), user(2)),
            Err(AccessError::CannotGrant(
                team.role_permissions(Role::Admin)
                    .difference(&team.role_permissions(Role::Custom(id)))
                    .copied()
                    .collect()
            ))
        );
    }

    #[test]
    fn a_member_without_staff_manage_cannot_change_anyone() {
        let mut team = team();
        assert_eq!(
            team.change_role(user(3), user(3), Role::Admin),
            Err(AccessError::MissingPermission(Permission::StaffManage))
        );
        // but may leave
        team.remove(user(3), user(3)).unwrap();
        assert!(team.member(user(3)).is_none());
    }

    #[test]
    fn roles_in_use_cannot_be_deleted_and_names_are_unique() {
        let mut team = team();
        let id = RoleId::from_uuid(uuid::Uuid::from_u128(5));
        team.create_role(user(1), id, "Support", [Permission::OrdersRead].into())
            .unwrap();
        assert_eq!(
            team.create_role(
                user(1),
                RoleId::from_uuid(uuid::Uuid::from_u128(6)),
                "support",
                Permissions::new()
            )
            .unwrap_err(),
            AccessError::RoleNameTaken
        );
        assert_eq!(
            team.create_role(
                user(1),
                RoleId::from_uuid(uuid::Uuid::from_u128(6)),
                "Admin",
                Permissions::new()
            )
            .unwrap_err(),
            AccessError::RoleNameTaken
        );
        team.change_role(user(1), user(3), Role::Custom(id))
            .unwrap();
        assert_eq!(team.delete_role(user(1), id), Err(AccessError::RoleInUse));
        team.change_role(user(1), user(3), Role::Staff).unwrap();
        team.delete_role(user(1), id).unwrap();
        assert!(team.custom_role(id).is_none());
    }

    #[test]
    fn role_keys_round_trip() {
        for role in [
            Role::Owner,
            Role::Admin,
            Role::Staff,
            Role::Custom(RoleId::from_uuid(uuid::Uuid::from_u128(9))),
        ] {
            assert_eq!(Role::parse(&role.key()), Some(role));
        }
        assert_eq!(Role::parse("superadmin"), None);
    }
}
