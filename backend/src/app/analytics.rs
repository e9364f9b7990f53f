//! The merchant dashboard's figures: the window parsed in the store's time zone, the sums
//! done by storage, the low-stock list from the catalogue.

use techverse_shared::{Analytics, ProductStatus};

use super::Context;
use crate::{
    domain::{
        self,
        analytics::{self, TOP_PRODUCTS, Window, WindowInput},
        store::Store,
        validation::ValidationErrors,
    },
    storage::StorageError,
};

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("invalid window")]
    Invalid(#[from] ValidationErrors),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub async fn report(
    ctx: &Context,
    store: &Store,
    input: &WindowInput,
) -> Result<Analytics, AnalyticsError> {
    let window = Window::parse(input, store.timezone.as_str(), domain::now())?;
    let figures = ctx
        .storage
        .commerce()
        .order_figures(store.id, &window.boundaries, TOP_PRODUCTS)
        .await?;
    let products = ctx
        .storage
        .catalog()
        .products(store.id, Some(ProductStatus::Active))
        .await?;
    Ok(analytics::report(
        &window,
        figures,
        analytics::low_stock(&products),
        store.currency,
    ))
}
