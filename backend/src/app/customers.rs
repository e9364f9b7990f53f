//! Customers of one store: registration, profile and saved addresses.

use serde::Deserialize;
use techverse_shared::{AddressId, CustomerDetail, CustomerId, CustomerPage};

use super::{
    Context,
    accounts::{self, Account, Realm, parse_credentials},
    sessions::{AuthError, IssuedTokens},
};
use crate::{
    domain::{
        self,
        account::{Customer, PersonName, parse_phone},
        address::{Address, AddressInput, settle_default},
        store::Store,
        validation::ValidationErrors,
    },
    mail::templates,
    storage::StorageError,
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// Browsers: put the refresh token in the HttpOnly cookie instead of the body.
    #[serde(default)]
    pub cookie: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("no such address")]
    AddressNotFound,
    #[error("at most {} addresses", Customer::MAX_ADDRESSES)]
    TooManyAddresses,
    #[error(transparent)]
    Orders(Box<super::commerce::CommerceError>),
}

impl From<StorageError> for CustomerError {
    fn from(error: StorageError) -> Self {
        Self::Auth(error.into())
    }
}

impl From<ValidationErrors> for CustomerError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Auth(errors.into())
    }
}

fn optional_phone(errors: &mut ValidationErrors, phone: Option<&str>) -> Option<String> {
    let phone = phone.map(str::trim).filter(|p| !p.is_empty())?;
    errors.check("phone", parse_phone(phone), |_| "invalid_phone")
}

/// Registers a customer of `store`, mails a welcome and a verification link, and signs them in.
pub async fn register(
    ctx: &Context,
    store: &Store,
    input: &RegisterInput,
) -> Result<(Customer, IssuedTokens), CustomerError> {
    let mut errors = ValidationErrors::default();
    let credentials = parse_credentials(&mut errors, &input.email, &input.password, &input.name);
    let phone = optional_phone(&mut errors, input.phone.as_deref());
    let (email, password, name) = errors.finish(credentials)?;
    if ctx
        .storage
        .customers()
        .by_email(store.id, &email)
        .await?
        .is_some()
    {
        return Err(AuthError::EmailTaken.into());
    }
    let now = domain::now();
    let customer = Customer {
        id: CustomerId::from_uuid(uuid::Uuid::now_v7()),
        store_id: store.id,
        email,
        name,
        phone,
        password_hash: ctx
            .passwords
            .hash(&password)
            .await
            .map_err(AuthError::from)?,
        email_verified: false,
        addresses: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    match ctx.storage.customers().insert(store.id, &customer).await {
        Err(StorageError::Conflict(_)) => return Err(AuthError::EmailTaken.into()),
        other => other?,
    }
    let realm = Realm::Customers(Box::new(store.clone()));
    ctx.mail
        .enqueue(
            customer.email.as_str(),
            templates::welcome(&realm.branding(), customer.name.as_str()),
        )
        .await
        .map_err(AuthError::from)?;
    let account = Account::Customer(customer.clone());
    accounts::send_verification(ctx, &realm, &account).await?;
    let tokens = ctx.start_session(account.account_ref()).await?;
    Ok((customer, tokens))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[serde(default)]
    pub name: Option<String>,
    /// `null` or `""` removes the phone number.
    #[serde(default, with = "double_option")]
    pub phone: Option<Option<String>>,
}

/// Distinguishes an absent field from an explicit `null`.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(deserializer).map(Some)
    }
}

/// Applies `change` to the customer and saves it under its version, reloading and applying it
/// again when the customer was saved meanwhile (a password reset in between is kept, not
/// overwritten with the hash this copy was read with).
async fn change<T>(
    ctx: &Context,
    mut customer: Customer,
    change: impl Fn(&mut Customer) -> Result<T, CustomerError>,
) -> Result<(Customer, T), CustomerError> {
    let repo = ctx.storage.customers();
    for _ in 0..5 {
        let outcome = change(&mut customer)?;
        customer.updated_at = domain::now();
        if repo.update(customer.store_id, &customer).await? {
            customer.version += 1;
            return Ok((customer, outcome));
        }
        customer = repo
            .by_id(customer.store_id, customer.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
    }
    Err(super::accounts::kept_changing().into())
}

pub async fn update_profile(
    ctx: &Context,
    customer: Customer,
    patch: &ProfilePatch,
) -> Result<Customer, CustomerError> {
    let mut errors = ValidationErrors::default();
    let name = patch
        .name
        .as_ref()
        .and_then(|name| errors.check("name", PersonName::parse(name), |e| e.code()));
    let phone = patch
        .phone
        .as_ref()
        .map(|phone| optional_phone(&mut errors, phone.as_deref()));
    errors.finish(Some(()))?;
    let (customer, ()) = change(ctx, customer, |customer| {
        if let Some(name) = &name {
            customer.name = name.clone();
        }
        if let Some(phone) = &phone {
            customer.phone.clone_from(phone);
        }
        Ok(())
    })
    .await?;
    Ok(customer)
}

pub async fn add_address(
    ctx: &Context,
    customer: Customer,
    input: &AddressInput,
) -> Result<(Customer, AddressId), CustomerError> {
    let address = Address::parse(AddressId::from_uuid(uuid::Uuid::now_v7()), input)?;
    change(ctx, customer, |customer| {
        if customer.addresses.len() >= Customer::MAX_ADDRESSES {
            return Err(CustomerError::TooManyAddresses);
        }
        let preferred = address.is_default.then_some(address.id);
        customer.addresses.push(address.clone());
        settle_default(&mut customer.addresses, preferred);
        Ok(address.id)
    })
    .await
}

pub async fn replace_address(
    ctx: &Context,
    customer: Customer,
    id: AddressId,
    input: &AddressInput,
) -> Result<Customer, CustomerError> {
    let address = Address::parse(id, input)?;
    let (customer, ()) = change(ctx, customer, |customer| {
        let slot = customer
            .addresses
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or(CustomerError::AddressNotFound)?;
        *slot = address.clone();
        settle_default(&mut customer.addresses, address.is_default.then_some(id));
        Ok(())
    })
    .await?;
    Ok(customer)
}

pub async fn remove_address(
    ctx: &Context,
    customer: Customer,
    id: AddressId,
) -> Result<Customer, CustomerError> {
    let (customer, ()) = change(ctx, customer, |customer| {
        let before = customer.addresses.len();
        customer.addresses.retain(|a| a.id != id);
        if customer.addresses.len() == before {
            return Err(CustomerError::AddressNotFound);
        }
        settle_default(&mut customer.addresses, None);
        Ok(())
    })
    .await?;
    Ok(customer)
}

/// `GET …/admin/stores/{store}/customers`: `q` (the start of an email), `cursor`, `limit`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerListParams {
    /// The start of the customer's email.
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 25)]
    pub limit: Option<u32>,
}

/// A page of the store's customers by email; the cursor is the last email shown.
pub async fn list(
    ctx: &Context,
    store: &Store,
    params: &CustomerListParams,
) -> Result<CustomerPage, CustomerError> {
    let limit = params.limit.unwrap_or(25);
    if !(1..=100).contains(&limit) {
        let mut errors = ValidationErrors::default();
        errors.add("limit", "out_of_range", "1 to 100");
        return Err(errors.into());
    }
    let prefix = params
        .q
        .as_deref()
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty());
    let mut customers = ctx
        .storage
        .customers()
        .list(
            store.id,
            prefix.as_deref(),
            params.cursor.as_deref(),
            limit + 1,
        )
        .await?;
    let more = customers.len() > limit as usize;
    customers.truncate(limit as usize);
    Ok(CustomerPage {
        next_cursor: more
            .then(|| customers.last().map(|c| c.email.as_str().to_owned()))
            .flatten(),
        items: customers.iter().map(Customer::view).collect(),
    })
}

/// One customer of the store with their addresses and newest orders.
pub async fn detail(
    ctx: &Context,
    store: &Store,
    id: CustomerId,
) -> Result<Option<CustomerDetail>, CustomerError> {
    let Some(customer) = ctx.storage.customers().by_id(store.id, id).await? else {
        return Ok(None);
    };
    let params = super::orders::ListParams {
        limit: Some(10),
        ..Default::default()
    };
    let orders = super::orders::list(ctx, store, &params, Some(id))
        .await
        .map_err(|e| CustomerError::Orders(Box::new(e)))?;
    Ok(Some(CustomerDetail {
        customer: customer.view(),
        addresses: customer.addresses.iter().map(Address::view).collect(),
        orders,
    }))
}
