//! Reviews: customers write them (verified when they have a paid order with the product),
//! staff moderate them, the public sees approved ones, and the product's rating counts
//! approved ones only.

use serde_json::json;
use techverse_shared::{ProductStatus, ReviewId, ReviewPage, ReviewStatus, ReviewView};

use super::{Context, audit, commerce::CommerceError};
use crate::{
    domain::{
        self,
        account::Customer,
        catalog::Product,
        events::StoreEvent,
        review::{self, Author, Moderation, Review, ReviewInput},
        store::Store,
    },
    storage::{OrderQuery, StorageError},
};

async fn active_product(
    ctx: &Context,
    store: &Store,
    slug: &str,
) -> Result<Product, CommerceError> {
    ctx.storage
        .catalog()
        .product_by_slug(store.id, slug)
        .await?
        .filter(|p| p.status == ProductStatus::Active)
        .ok_or(CommerceError::ProductNotFound)
}

/// Whether the customer has an order, paid at some point, containing the product.
async fn bought(
    ctx: &Context,
    store: &Store,
    customer: &Customer,
    product: &Product,
) -> Result<bool, StorageError> {
    let mut query = OrderQuery {
        customer: Some(customer.id),
        limit: 100,
        ..OrderQuery::default()
    };
    loop {
        let orders = ctx.storage.commerce().orders(store.id, &query).await?;
        if orders
            .iter()
            .any(|o| o.was_paid() && o.contains(product.id))
        {
            return Ok(true);
        }
        match orders.last() {
            Some(last) if orders.len() == 100 => {
                query.before = Some((last.created_at.as_millisecond(), last.id));
            }
            _ => return Ok(false),
        }
    }
}

pub async fn write(
    ctx: &Context,
    store: &Store,
    customer: &Customer,
    slug: &str,
    input: &ReviewInput,
) -> Result<ReviewView, CommerceError> {
    let product = active_product(ctx, store, slug).await?;
    let author = Author {
        customer_id: customer.id,
        name: customer.name.as_str().to_owned(),
        verified_purchase: bought(ctx, store, customer, &product).await?,
    };
    let review = Review::parse(
        input,
        ReviewId::from_uuid(uuid::Uuid::now_v7()),
        store.id,
        product.id,
        author,
        domain::now(),
    )?;
    match ctx
        .storage
        .commerce()
        .insert_review(store.id, &review)
        .await
    {
        Ok(()) => {
            let event = StoreEvent::new(
                store.id,
                "review.created",
                json!({
                    "review_id": review.id,
                    "product_id": review.product_id,
                    "rating": review.rating,
                    "verified_purchase": review.verified_purchase,
                }),
                review.created_at,
            );
            super::events::append(ctx, &event).await?;
            Ok(review.view(true))
        }
        Err(StorageError::Conflict(_)) => Err(CommerceError::AlreadyReviewed),
        Err(other) => Err(other.into()),
    }
}

/// A product's approved reviews (newest first, paged by count) and its rating summary.
pub async fn public(
    ctx: &Context,
    store: &Store,
    slug: &str,
    offset: usize,
    limit: usize,
) -> Result<ReviewPage, CommerceError> {
    let product = active_product(ctx, store, slug).await?;
    let approved = ctx
        .storage
        .commerce()
        .reviews(store.id, Some(product.id), Some(ReviewStatus::Approved))
        .await?;
    let summary = review::summarise(&approved);
    let items: Vec<ReviewView> = approved
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| r.view(false))
        .collect();
    let next = offset + items.len();
    Ok(ReviewPage {
        summary,
        next_cursor: (next < approved.len()).then(|| next.to_string()),
        items,
    })
}

/// The moderation queue a page at a time: `(reviews, the next page's offset if any)`.
pub async fn staff_list(
    ctx: &Context,
    store: &Store,
    status: Option<ReviewStatus>,
    offset: u64,
    limit: u32,
) -> Result<(Vec<ReviewView>, Option<u64>), CommerceError> {
    // One more than asked says whether another page follows.
    let mut reviews = ctx
        .storage
        .commerce()
        .review_page(store.id, status, offset, limit + 1)
        .await?;
    let more = reviews.len() > limit as usize;
    reviews.truncate(limit as usize);
    let next = more.then(|| offset + reviews.len() as u64);
    Ok((reviews.iter().map(|r| r.view(true)).collect(), next))
}

/// Approves, rejects or hides a review, then recounts the product's rating from its approved
/// reviews.
pub async fn moderate(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    id: ReviewId,
    action: Moderation,
) -> Result<ReviewView, CommerceError> {
    let repo = ctx.storage.commerce();
    let mut review = repo
        .review(store.id, id)
        .await?
        .ok_or(CommerceError::ReviewNotFound)?;
    let previous = review.status;
    review.status = action.status();
    review.updated_at = domain::now();
    repo.save_review(store.id, &review).await?;
    recount(ctx, store, &review).await?;
    audit::record(
        ctx,
        store.id,
        actor,
        "review.moderated",
        format!("review:{id}"),
        json!({ "product_id": review.product_id, "status": { "from": previous, "to": review.status } }),
    )
    .await?;
    Ok(review.view(true))
}

/// Stores the approved-only rating on the product (lists sort and show it).
async fn recount(ctx: &Context, store: &Store, review: &Review) -> Result<(), CommerceError> {
    let approved = ctx
        .storage
        .commerce()
        .reviews(
            store.id,
            Some(review.product_id),
            Some(ReviewStatus::Approved),
        )
        .await?;
    let total: i64 = approved.iter().map(|r| i64::from(r.rating)).sum();
    let count = i64::try_from(approved.len()).unwrap_or(i64::MAX);
    let catalog = ctx.storage.catalog();
    for _ in 0..5 {
        let Some(mut product) = catalog.product(store.id, review.product_id).await? else {
            return Ok(());
        };
        product.rating_total = total;
        product.rating_count = count;
        if catalog.save_product(store.id, &product).await? {
            catalog.bump_catalog_version(store.id).await?;
            return Ok(());
        }
    }
    Err(CommerceError::Stale)
}
