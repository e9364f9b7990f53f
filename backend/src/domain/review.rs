//! Product reviews: one per customer per product, moderated by staff; only approved reviews
//! are public and count towards a product's rating.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{
    CustomerId, ProductId, RatingSummary, ReviewId, ReviewStatus, ReviewView, StoreId,
};

use super::{
    account::{clean_text, optional_text},
    validation::ValidationErrors,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub id: ReviewId,
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub customer_id: CustomerId,
    pub author_name: String,
    pub rating: u8,
    pub title: Option<String>,
    pub body: String,
    pub verified_purchase: bool,
    pub status: ReviewStatus,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[serde(with = "super::millis")]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub rating: i64,
    #[serde(default)]
    pub title: Option<String>,
    pub body: String,
}

/// What a moderator does to a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Moderation {
    Approve,
    Reject,
    Hide,
}

impl Moderation {
    pub const fn status(self) -> ReviewStatus {
        match self {
            Self::Approve => ReviewStatus::Approved,
            Self::Reject => ReviewStatus::Rejected,
            Self::Hide => ReviewStatus::Hidden,
        }
    }
}

/// Who wrote it and whether they bought it, as the use case establishes.
pub struct Author {
    pub customer_id: CustomerId,
    pub name: String,
    pub verified_purchase: bool,
}

impl Review {
    pub fn parse(
        input: &ReviewInput,
        id: ReviewId,
        store_id: StoreId,
        product_id: ProductId,
        author: Author,
        now: Timestamp,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let rating = u8::try_from(input.rating)
            .ok()
            .filter(|r| (1..=5).contains(r));
        if rating.is_none() {
            errors.add("rating", "out_of_range", "1 to 5 stars");
        }
        let title = optional_text(&mut errors, "title", input.title.as_deref(), 120);
        let body = errors.check("body", clean_text(&input.body, 5_000), |e| e.code());
        let parsed = match (rating, body) {
            (Some(rating), Some(body)) => Some(Self {
                id,
                store_id,
                product_id,
                customer_id: author.customer_id,
                author_name: author.name,
                rating,
                title,
                body,
                verified_purchase: author.verified_purchase,
                status: ReviewStatus::Pending,
                created_at: now,
                updated_at: now,
            }),
            _ => None,
        };
        errors.finish(parsed)
    }

    pub fn view(&self, with_status: bool) -> ReviewView {
        ReviewView {
            id: self.id,
            product_id: self.product_id,
            rating: self.rating,
            title: self.title.clone(),
            body: self.body.clone(),
            author_name: self.author_name.clone(),
            verified_purchase: self.verified_purchase,
            status: with_status.then_some(self.status),
            created_at: self.created_at,
        }
    }
}

/// The rating of a product from its reviews: approved ones only.
pub fn summarise<'a>(reviews: impl IntoIterator<Item = &'a Review>) -> RatingSummary {
    let mut histogram = [0_u32; 5];
    let mut total: u64 = 0;
    for review in reviews
        .into_iter()
        .filter(|r| r.status == ReviewStatus::Approved)
    {
        let stars = usize::from(review.rating.clamp(1, 5));
        histogram[stars - 1] += 1;
        total += u64::from(review.rating);
    }
    let count: u32 = histogram.iter().sum();
    let average_x100 = if count == 0 {
        0
    } else {
        u32::try_from((total * 100 + u64::from(count) / 2) / u64::from(count)).unwrap_or(0)
    };
    RatingSummary {
        average_x100,
        count,
        histogram,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(rating: u8, status: ReviewStatus) -> Review {
        let input = ReviewInput {
            rating: i64::from(rating),
            title: None,
            body: "Great".into(),
        };
        let author = Author {
            customer_id: CustomerId::from_uuid(uuid::Uuid::nil()),
            name: "Ada".into(),
            verified_purchase: false,
        };
        let mut review = Review::parse(
            &input,
            ReviewId::from_uuid(uuid::Uuid::now_v7()),
            StoreId::from_uuid(uuid::Uuid::nil()),
            ProductId::from_uuid(uuid::Uuid::nil()),
            author,
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        review.status = status;
        review
    }

    #[test]
    fn only_approved_reviews_count_in_the_rating() {
        let reviews = [
            review(5, ReviewStatus::Approved),
            review(4, ReviewStatus::Approved),
            review(4, ReviewStatus::Approved),
            review(1, ReviewStatus::Pending),
            review(1, ReviewStatus::Hidden),
            review(1, ReviewStatus::Rejected),
        ];
        let summary = summarise(&reviews);
        assert_eq!(summary.count, 3);
        assert_eq!(summary.histogram, [0, 0, 0, 2, 1]);
        assert_eq!(summary.average_x100, 433);
    }

    #[test]
    fn a_rating_outside_one_to_five_and_an_empty_body_are_refused() {
        let input = ReviewInput {
            rating: 6,
            title: None,
            body: " ".into(),
        };
        let author = Author {
            customer_id: CustomerId::from_uuid(uuid::Uuid::nil()),
            name: "Ada".into(),
            verified_purchase: true,
        };
        let errors = Review::parse(
            &input,
            ReviewId::from_uuid(uuid::Uuid::nil()),
            StoreId::from_uuid(uuid::Uuid::nil()),
            ProductId::from_uuid(uuid::Uuid::nil()),
            author,
            Timestamp::UNIX_EPOCH,
        )
        .unwrap_err();
        let fields: Vec<String> = errors.0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["rating", "body"]);
    }
}
