//! Accounts: email addresses, names, the password policy, and the staff user and customer
//! records. Hashing lives in `crate::auth::password`; this module only decides what is allowed.

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use techverse_shared::{CustomerId, CustomerView, StaffUserView, StoreId, UserId};

use super::address::Address;

/// A normalised email address: trimmed, lower-cased, one `@`, a dotted domain, at most 254
/// characters, no spaces or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("an email address is required")]
    Empty,
    #[error("an email address has at most 254 characters")]
    TooLong,
    #[error("this is not an email address")]
    Invalid,
}

impl EmailError {
    pub const fn code(self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::TooLong => "too_long",
            Self::Invalid => "invalid_email",
        }
    }
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError::Invalid)?;
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c));
        if !well_formed {
            return Err(EmailError::Invalid);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name: 1–100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("this field is required")]
    Empty,
    #[error("this field is too long")]
    TooLong,
    #[error("this field cannot contain control characters")]
    ControlCharacter,
}

impl TextError {
    pub const fn code(self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::TooLong => "too_long",
            Self::ControlCharacter => "invalid_character",
        }
    }
}

/// Trims `input` and checks it is 1..=`max` characters without control characters.
pub fn clean_text(input: &str, max: usize) -> Result<String, TextError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong);
    }
    if trimmed.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter);
    }
    Ok(trimmed.to_owned())
}

/// Optional text: absent or blank is `None`, otherwise cleaned like required text (failures
/// recorded under `field`).
pub fn optional_text(
    errors: &mut super::validation::ValidationErrors,
    field: &str,
    input: Option<&str>,
    max: usize,
) -> Option<String> {
    let text = input.map(str::trim).filter(|t| !t.is_empty())?;
    errors.check(field, clean_text(text, max), |e| e.code())
}

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        clean_text(input, 100).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = TextError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PersonName> for String {
    fn from(name: PersonName) -> Self {
        name.0
    }
}

/// A password that meets the policy: 10–128 characters, not one of the commonly used
/// passwords, and not the account's own email address. Kept secret; only its hash is stored.
#[derive(Debug)]
pub struct NewPassword(SecretString);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has at least 10 characters")]
    TooShort,
    #[error("a password has at most 128 characters")]
    TooLong,
    #[error("this password is too common; choose another")]
    TooCommon,
}

impl PasswordError {
    pub const fn code(self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::TooCommon => "too_common",
        }
    }
}

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(input: &str, email: Option<&Email>) -> Result<Self, PasswordError> {
        let length = input.chars().count();
        if length < Self::MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if length > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        let lowered = input.to_lowercase();
        let own_email = email.is_some_and(|email| {
            lowered == email.as_str()
                || email
                    .as_str()
                    .split('@')
                    .next()
                    .is_some_and(|local| local.len() >= 4 && lowered == local)
        });
        if own_email || is_common_password(&lowered) {
            return Err(PasswordError::TooCommon);
        }
        Ok(Self(SecretString::from(input.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Commonly used passwords of at least ten characters (from public breach frequency lists),
/// lower-cased. Shorter ones are already refused by the length rule.
const COMMON_PASSWORDS: &[&str] = &[
    "0123456789",
    "1234567890",
    "12345678910",
    "123456789a",
    "1234qwerasdf",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "abcdefghij",
    "administrator",
    "asdfghjkl;",
    "asdfghjkl1",
    "baseball123",
    "changeme123",
    "football123",
    "iloveyou123",
    "letmein123",
    "password01",
    "password1!",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "princess123",
    "q1w2e3r4t5",
    "q1w2e3r4t5y6",
    "qwerty1234",
    "qwerty12345",
    "qwerty123456",
    "qwertyuiop",
    "qwertyuiop123",
    "starwars123",
    "sunshine123",
    "superman123",
    "welcome123",
    "welcome1234",
    "zaq12wsxcde",
    "zxcvbnm123",
    "1111111111",
    "0000000000",
    "9876543210",
    "aaaaaaaaaa",
    "passwordpassword",
    "techverse123",
    "letmeinplease",
    "trustno1234",
    "dragon12345",
    "monkey12345",
    "master12345",
    "shadow12345",
];

fn is_common_password(lowered: &str) -> bool {
    let all_one_char = lowered
        .chars()
        .next()
        .is_some_and(|first| lowered.chars().all(|c| c == first));
    all_one_char || COMMON_PASSWORDS.contains(&lowered)
}

/// A staff (merchant) account. Platform-level: memberships tie it to stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffUser {
    pub id: UserId,
    pub email: Email,
    pub name: PersonName,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
    pub email_verified: bool,
    pub platform_admin: bool,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[serde(with = "super::millis")]
    pub updated_at: Timestamp,
    /// Bumped by every save; storage refuses a save based on an older version.
    #[serde(default)]
    pub version: i64,
    /// Stores whose staff mail this member changed from the default (everything on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<StoreNotifications>,
}

/// A staff member's mail choices in one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreNotifications {
    pub store_id: StoreId,
    pub new_order: bool,
    pub low_stock: bool,
}

impl StaffUser {
    /// What this member receives from `store`.
    pub fn notifications_in(&self, store: StoreId) -> techverse_shared::StaffNotifications {
        self.notifications
            .iter()
            .find(|n| n.store_id == store)
            .map_or_else(Default::default, |n| techverse_shared::StaffNotifications {
                new_order: n.new_order,
                low_stock: n.low_stock,
            })
    }

    /// Sets what this member receives from `store`.
    pub fn set_notifications(
        &mut self,
        store: StoreId,
        wanted: techverse_shared::StaffNotifications,
    ) {
        self.notifications.retain(|n| n.store_id != store);
        if wanted != techverse_shared::StaffNotifications::default() {
            self.notifications.push(StoreNotifications {
                store_id: store,
                new_order: wanted.new_order,
                low_stock: wanted.low_stock,
            });
        }
    }

    pub fn view(&self) -> StaffUserView {
        StaffUserView {
            id: self.id,
            email: self.email.to_string(),
            name: self.name.as_str().to_owned(),
            email_verified: self.email_verified,
            platform_admin: self.platform_admin,
            created_at: self.created_at,
        }
    }
}

/// A shopper account of one store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub store_id: StoreId,
    pub email: Email,
    pub name: PersonName,
    pub phone: Option<String>,
    pub password_hash: String,
    pub email_verified: bool,
    pub addresses: Vec<Address>,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[serde(with = "super::millis")]
    pub updated_at: Timestamp,
    /// Bumped by every save; storage refuses a save based on an older version.
    #[serde(default)]
    pub version: i64,
}

impl Customer {
    /// The most addresses one customer keeps.
    pub const MAX_ADDRESSES: usize = 20;

    pub fn view(&self) -> CustomerView {
        CustomerView {
            id: self.id,
            email: self.email.to_string(),
            name: self.name.as_str().to_owned(),
            phone: self.phone.clone(),
            email_verified: self.email_verified,
            created_at: self.created_at,
        }
    }
}

/// A phone number as people write it: 4–32 characters of digits, spaces, `+`, `-`, `(`, `)`,
/// with at least four digits. Stored as given (trimmed).
pub fn parse_phone(input: &str) -> Result<String, TextError> {
    let phone = clean_text(input, 32)?;
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if digits < 4 || !allowed {
        return Err(TextError::ControlCharacter);
    }
    Ok(phone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@example..com",
            "<ada>@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn the_password_policy_counts_characters_and_refuses_common_ones() {
        let email = Email::parse("grace@example.com").unwrap();
        assert_eq!(
            NewPassword::parse("short", None).unwrap_err(),
            PasswordError::TooShort
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(129), None).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(
            NewPassword::parse("Password123", None).unwrap_err(),
            PasswordError::TooCommon
        );
        assert_eq!(
            NewPassword::parse("zzzzzzzzzzzz", None).unwrap_err(),
            PasswordError::TooCommon
        );
        assert_eq!(
            NewPassword::parse("Grace@Example.com", Some(&email)).unwrap_err(),
            PasswordError::TooCommon
        );
        // Ten characters, multi-byte ones counted as one each.
        assert!(NewPassword::parse("ñandú-vuela", None).is_ok());
        assert!(NewPassword::parse("correct horse battery", Some(&email)).is_ok());
    }

    #[test]
    fn phones_allow_international_formats() {
        assert!(parse_phone("+234 803 123 4567").is_ok());
        assert!(parse_phone("(020) 7946-0958").is_ok());
        assert!(parse_phone("call me").is_err());
    }
}
