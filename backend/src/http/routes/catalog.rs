//! The public catalogue of a store (`/api/v1/stores/{store}/…`): products with search, filters,
//! facets and cursor pages, product pages, the category tree and search suggestions. Only
//! active products ever appear. Responses are cached and carry an `ETag`; a matching
//! `If-None-Match` gets 304. Also the signed-in customer's wishlist.

use actix_web::{HttpRequest, HttpResponse, http::header, middleware::Compress, web};
use serde::Deserialize;
use serde_json::json;
use techverse_shared::{
    ApiErrorBody, CategoryId, CategoryNode, ProductDetail, ProductId, ProductPage, ProductSummary,
};

use crate::{
    app::catalog::{self, PublicQuery},
    cache::Cached,
    domain::{
        listing::{Cursor, ListQuery, MAX_LIMIT, Sort},
        validation::ValidationErrors,
    },
    http::routes::table::resource,
    http::{
        AppState,
        auth::CustomerAuth,
        error::ApiError,
        json::JsonBody,
        openapi::{Items, StorePath},
        tenant::CurrentStore,
    },
};

/// The public catalogue goes out gzip-compressed to clients that accept it: a listing's JSON
/// shrinks about five-fold, which shoppers on slow networks feel first. These answers are the
/// same for everyone and hold no secret (so compression cannot leak one, as BREACH does);
/// account, checkout and admin answers are never compressed.
pub fn config(cfg: &mut web::ServiceConfig) {
    let gzip = Compress::default;
    cfg.service(
        resource("/stores/{store}/products")
            .get(list)
            .recorded()
            .wrap(gzip()),
    )
    .service(
        resource("/stores/{store}/products/{slug}")
            .get(detail)
            .recorded()
            .wrap(gzip()),
    )
    .service(
        resource("/stores/{store}/categories")
            .get(categories)
            .recorded()
            .wrap(gzip()),
    )
    .service(
        resource("/stores/{store}/search/suggest")
            .get(suggest)
            .recorded()
            .wrap(gzip()),
    )
    .service(
        resource("/stores/{store}/customers/me/wishlist")
            .get(wishlist)
            .post(wishlist_add),
    )
    .service(resource("/stores/{store}/customers/me/wishlist/{product}").delete(wishlist_remove));
}

/// A cached body as a response, or 304 when the client already has it.
pub fn respond(req: &HttpRequest, cached: &Cached) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| cached.matches(value));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    // Weak: the same entity goes out gzip-compressed or not (`Cached::matches` compares weakly).
    response
        .insert_header((header::ETAG, format!("W/{}", cached.etag)))
        .insert_header((header::CACHE_CONTROL, "public, no-cache"));
    if fresh {
        response.finish()
    } else {
        response
            .content_type("application/json")
            .body(cached.body.clone())
    }
}

pub const MAX_QUERY_CHARS: usize = 200;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    detail,
    categories,
    suggest,
    wishlist,
    wishlist_add,
    wishlist_remove
))]
pub struct Doc;

/// The list query (parsed by [`parse_list_query`], which also takes `spec.<key>=<value>`
/// filters on filterable specs and ignores parameters it does not know).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct ListParams {
    /// Words to search for in titles, brands, tags and descriptions; sorts by relevance unless
    /// `sort` says otherwise.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Only products in this category (or one below it).
    #[param(value_type = Option<String>, format = Uuid)]
    category: Option<String>,
    brand: Option<String>,
    /// In minor units.
    #[param(minimum = 0)]
    min_price: Option<i64>,
    /// In minor units.
    #[param(minimum = 0)]
    max_price: Option<i64>,
    in_stock: Option<bool>,
    /// `newest` by default, `relevance` with `q`.
    #[param(value_type = Option<String>, pattern = "^(relevance|price_asc|price_desc|newest|best_selling|rating)$")]
    sort: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page, with the same sort.
    cursor: Option<String>,
}

/// The `If-None-Match` header of cached catalogue answers.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct Conditional {
    /// The `ETag` of an earlier answer: 304 when it still holds.
    #[param(rename = "If-None-Match")]
    if_none_match: Option<String>,
}

/// Parses the list query string. Unknown parameters are ignored (tracking tags and the like);
/// known ones must be well-formed.
pub fn parse_list_query(pairs: &[(String, String)]) -> Result<PublicQuery, ApiError> {
    let mut errors = ValidationErrors::default();
    let mut query = PublicQuery {
        list: ListQuery {
            limit: 20,
            ..ListQuery::default()
        },
        ..PublicQuery::default()
    };
    let mut canonical: Vec<(String, String)> = Vec::new();
    let mut sort_given = false;
    for (name, value) in pairs {
        let mut keep = true;
        match name.as_str() {
            "q" => {
                if value.chars().count() > MAX_QUERY_CHARS {
                    errors.add(
                        "q",
                        "too_long",
                        format!("a search has at most {MAX_QUERY_CHARS} characters"),
                    );
                } else if !value.trim().is_empty() {
                    query.q = Some(value.clone());
                }
            }
            "category" => match value.parse::<CategoryId>() {
                Ok(id) => query.list.category = Some(id),
                Err(_) => errors.add("category", "invalid", "a category id"),
            },
            "brand" => query.list.brand = Some(value.trim().to_owned()).filter(|b| !b.is_empty()),
            "min_price" | "max_price" => match value.parse::<i64>() {
                Ok(price) if price >= 0 => {
                    if name == "min_price" {
                        query.list.min_price = Some(price);
                    } else {
                        query.list.max_price = Some(price);
                    }
                }
                _ => errors.add(name, "invalid", "a price in minor units (0 or more)"),
            },
            "in_stock" => match value.as_str() {
                "true" | "1" => query.list.in_stock = Some(true),
                "false" | "0" => query.list.in_stock = Some(false),
                _ => errors.add("in_stock", "invalid", "true or false"),
            },
            "sort" => match Sort::parse(value) {
                Some(sort) => {
                    query.list.sort = sort;
                    sort_given = true;
                }
                None => errors.add(
                    "sort",
                    "invalid",
                    "relevance, price_asc, price_desc, newest, best_selling or rating",
                ),
            },
            "limit" => match value.parse::<u32>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => query.list.limit = limit,
                _ => errors.add("limit", "out_of_range", format!("1 to {MAX_LIMIT}")),
            },
            "cursor" => match Cursor::decode(value) {
                Some(cursor) => query.list.cursor = Some(cursor),
                None => errors.add("cursor", "invalid", "a cursor from a previous page"),
            },
            other => match other.strip_prefix("spec.") {
                Some(key) if !key.is_empty() && key.len() <= 60 && value.len() <= 200 => {
                    query.list.specs.push((key.to_owned(), value.clone()));
                }
                Some(_) => errors.add(name, "invalid", "a spec filter is spec.<key>=<value>"),
                None => keep = false,
            },
        }
        if keep {
            canonical.push((name.clone(), value.clone()));
        }
    }
    if !sort_given && query.q.is_none() {
        query.list.sort = Sort::Newest;
    }
    if let Some(cursor) = &query.list.cursor
        && cursor.sort != query.list.sort
    {
        errors.add(
            "cursor",
            "invalid",
            "the cursor belongs to another sort order",
        );
    }
    errors.finish(Some(()))?;
    canonical.sort();
    query.canonical = canonical
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&");
    Ok(query)
}

fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Active products of the store, with search, filters, facets and cursor pages.
#[utoipa::path(
    get,
    path = "/stores/{store}/products",
    tag = "storefront",
    params(StorePath, ListParams, Conditional),
    responses(
        (status = 200, description = "A page of products with the facets of the whole match.", body = ProductPage, headers(("ETag" = String, description = "A weak tag of this answer, for `If-None-Match`."), ("Cache-Control" = String))),
        (status = 304, description = "The answer is still the one tagged `If-None-Match`.", headers(("ETag" = String))),
    ),
)]
async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentStore(store): CurrentStore,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let parsed = parse_list_query(&query)?;
    let cached = catalog::list(&state.ctx, &store, parsed).await?;
    Ok(respond(&req, &cached))
}

/// One active product by its slug, with variants, specs, images and related products.
#[utoipa::path(
    get,
    path = "/stores/{store}/products/{slug}",
    tag = "storefront",
    params(StorePath, ("slug" = String, Path, description = "The product's slug."), Conditional),
    responses(
        (status = 200, description = "The product page.", body = ProductDetail, headers(("ETag" = String, description = "A weak tag of this answer, for `If-None-Match`."), ("Cache-Control" = String))),
        (status = 304, description = "The answer is still the one tagged `If-None-Match`.", headers(("ETag" = String))),
    ),
)]
async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentStore(store): CurrentStore,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let slug = &path.1;
    if crate::domain::catalog::parse_slug(slug).is_err() {
        return Err(ApiError::new(
            techverse_shared::ErrorCode::NotFound,
            "no such product",
        ));
    }
    let cached = catalog::detail(&state.ctx, &store, slug).await?;
    Ok(respond(&req, &cached))
}

/// The store's category tree.
#[utoipa::path(
    get,
    path = "/stores/{store}/categories",
    tag = "storefront",
    params(StorePath, Conditional),
    responses(
        (status = 200, description = "The category tree, roots first.", body = Items<CategoryNode>, headers(("ETag" = String, description = "A weak tag of this answer, for `If-None-Match`."), ("Cache-Control" = String))),
        (status = 304, description = "The answer is still the one tagged `If-None-Match`.", headers(("ETag" = String))),
    ),
)]
async fn categories(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentStore(store): CurrentStore,
) -> Result<HttpResponse, ApiError> {
    let cached = catalog::category_tree(&state.ctx, &store).await?;
    Ok(respond(&req, &cached))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SuggestQuery {
    /// What the shopper has typed so far; the last word is completed.
    #[serde(default)]
    #[param(max_length = 200)]
    q: String,
}

/// Product titles completing what a shopper types, for the search box.
#[utoipa::path(
    get,
    path = "/stores/{store}/search/suggest",
    tag = "storefront",
    params(StorePath, SuggestQuery, Conditional),
    responses(
        (status = 200, description = "Up to 8 titles.", body = Items<String>, headers(("ETag" = String, description = "A weak tag of this answer, for `If-None-Match`."), ("Cache-Control" = String))),
        (status = 304, description = "The answer is still the one tagged `If-None-Match`.", headers(("ETag" = String))),
    ),
)]
async fn suggest(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentStore(store): CurrentStore,
    query: web::Query<SuggestQuery>,
) -> Result<HttpResponse, ApiError> {
    if query.q.chars().count() > MAX_QUERY_CHARS {
        let mut errors = ValidationErrors::default();
        errors.add(
            "q",
            "too_long",
            format!("at most {MAX_QUERY_CHARS} characters"),
        );
        return Err(errors.into());
    }
    let cached = catalog::suggest(&state.ctx, &store, &query.q).await?;
    Ok(respond(&req, &cached))
}

/// The signed-in customer's wishlist.
#[utoipa::path(
    get,
    path = "/stores/{store}/customers/me/wishlist",
    tag = "customers",
    params(StorePath),
    security(("customer" = [])),
    responses((status = 200, description = "The wishlist's products.", body = Items<ProductSummary>)),
)]
async fn wishlist(
    state: web::Data<AppState>,
    auth: CustomerAuth,
) -> Result<HttpResponse, ApiError> {
    let items = catalog::wishlist(&state.ctx, &auth.store, auth.customer.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WishlistBody {
    product_id: ProductId,
}

/// Adds a product to the wishlist (once; adding it again changes nothing).
#[utoipa::path(
    post,
    path = "/stores/{store}/customers/me/wishlist",
    tag = "customers",
    params(StorePath),
    request_body = WishlistBody,
    security(("customer" = [])),
    responses(
        (status = 200, description = "The wishlist after the change.", body = Items<ProductSummary>),
        (status = 409, description = "The wishlist is full (`wishlist_full`).", body = ApiErrorBody),
    ),
)]
async fn wishlist_add(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    JsonBody(body): JsonBody<WishlistBody>,
) -> Result<HttpResponse, ApiError> {
    catalog::wishlist_add(&state.ctx, &auth.store, auth.customer.id, body.product_id).await?;
    let items = catalog::wishlist(&state.ctx, &auth.store, auth.customer.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// Removes a product from the wishlist.
#[utoipa::path(
    delete,
    path = "/stores/{store}/customers/me/wishlist/{product}",
    tag = "customers",
    params(StorePath, ("product" = String, Path, format = Uuid, description = "The product's id.")),
    security(("customer" = [])),
    responses((status = 204, description = "The product is no longer on the wishlist.")),
)]
async fn wishlist_remove(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let product: ProductId = path
        .1
        .parse()
        .map_err(|_| ApiError::new(techverse_shared::ErrorCode::NotFound, "no such product"))?;
    catalog::wishlist_remove(&state.ctx, &auth.store, auth.customer.id, product).await?;
    Ok(HttpResponse::NoContent().finish())
}
