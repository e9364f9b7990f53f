//! A product page: gallery, option pickers that select a variant (price, compare-at and stock
//! follow it), specs, approved reviews with the rating histogram, related products, add to
//! cart and to the wishlist.

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::use_params_map;
use techverse_shared::{CartView, ProductDetail, ReviewPage, VariantView};

use crate::{
    api::{self, ApiResult, Failure},
    state::use_shop,
    widgets::{ErrorNote, Loading, ProductCard, price},
};

/// The product named in the URL, as the API's text: fetched by the route while this page's
/// code loads, and read here (so the page's chunk holds its parsing too).
pub fn detail_text() -> LocalResource<ApiResult<String>> {
    let shop = use_shop();
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    LocalResource::new(move || {
        let slug = slug();
        async move { shop.get_text(&format!("/products/{slug}")).await }
    })
}

#[component]
pub fn ProductPage(text: LocalResource<ApiResult<String>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || text.get().map(|result| match result.and_then(|t| api::parse::<ProductDetail>(&t)) {
                Ok(product) => view! { <Product product/> }.into_any(),
                Err(failure) => view! { <ErrorNote failure/> }.into_any(),
            })}
        </Suspense>
    }
}

/// The variant whose option values are exactly `chosen`.
fn matching<'a>(variants: &'a [VariantView], chosen: &[String]) -> Option<&'a VariantView> {
    variants.iter().find(|v| v.options == chosen)
}

#[component]
fn Product(product: ProductDetail) -> impl IntoView {
    let shop = use_shop();
    let start = product
        .variants
        .iter()
        .find(|v| v.in_stock)
        .or(product.variants.first())
        .map(|v| v.options.clone())
        .unwrap_or_default();
    let chosen = RwSignal::new(start);
    let variants = StoredValue::new(product.variants.clone());
    let variant = Memo::new(move |_| {
        let picked = chosen.get();
        variants.with_value(|all| matching(all, &picked).cloned())
    });
    let quantity = RwSignal::new(1_i64);
    let adding = RwSignal::new(false);
    let added = RwSignal::new(None::<Result<CartView, Failure>>);
    let image = RwSignal::new(0_usize);
    let images = product.images.clone();
    let slug = product.summary.slug.clone();

    let add = move |_| {
        let Some(variant) = variant.get_untracked() else {
            return;
        };
        adding.set(true);
        leptos::task::spawn_local(async move {
            let result = async {
                let cart = shop.ensure_cart().await?;
                let body = serde_json::json!({ "variant_id": variant.id, "quantity": quantity.get_untracked() });
                shop.post::<_, CartView>(&format!("/carts/{}/lines", cart.id), &body).await
            }
            .await;
            if let Ok(cart) = &result {
                shop.cart.set(Some(cart.clone()));
            }
            added.set(Some(result));
            adding.set(false);
        });
    };
    let product_id = product.summary.id;
    let wished = RwSignal::new(None::<Result<(), Failure>>);
    let wish = move |_| {
        leptos::task::spawn_local(async move {
            let result = shop
                .post::<_, serde_json::Value>(
                    "/customers/me/wishlist",
                    &serde_json::json!({ "product_id": product_id }),
                )
                .await
                .map(|_| ());
            wished.set(Some(result));
        });
    };

    let options = product.options.clone();
    let gallery = images.clone();
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href=shop.link("/")>"Home"</a>" / "<a href=shop.link("/products")>"Products"</a>" / "
            <span aria-current="page">{product.summary.title.clone()}</span>
        </nav>
        <article class="product">
            <div class="gallery">
                {move || gallery.get(image.get()).map(|img| view! {
                    <img class="main-image" src=img.url.clone() alt=img.alt.clone() width="480" height="360"/>
                })}
                <div class="thumbs">
                    {images.iter().enumerate().map(|(index, img)| view! {
                        <button type="button" class="thumb" aria-label=format!("Show image {}", index + 1)
                            on:click=move |_| image.set(index)>
                            <img src=img.url.clone() alt="" width="64" height="48"/>
                        </button>
                    }).collect_view()}
                </div>
            </div>
            <div class="buy">
                <h1>{product.summary.title.clone()}</h1>
                {product.summary.brand.clone().map(|b| view! { <p class="meta">{b}</p> })}
                {product.summary.rating.map(|r| view! {
                    <p class="rating">{format!("★ {}.{:02} from {} reviews", r.average_x100 / 100, r.average_x100 % 100, r.count)}</p>
                })}
                <p class="price big" data-test="price">
                    {move || variant.get().map(|v| price(&v.price)).unwrap_or_else(|| "Unavailable".into())}
                    {move || variant.get().and_then(|v| v.compare_at).map(|c| view! { <s class="compare">{price(&c)}</s> })}
                </p>
                <p class="stock" data-test="stock">
                    {move || match variant.get() {
                        None => "This combination is not sold".to_owned(),
                        Some(v) if !v.in_stock => "Out of stock".to_owned(),
                        Some(VariantView { available: Some(n), .. }) if n <= 5 => format!("Only {n} left"),
                        Some(_) => "In stock".to_owned(),
                    }}
                </p>
                {options.into_iter().enumerate().map(|(index, option)| {
                    let id = format!("option-{index}");
                    view! {
                        <label for=id.clone()>{option.name.clone()}</label>
                        <select id=id on:change=move |ev| {
                            let value = event_target_value(&ev);
                            chosen.update(|c| if let Some(slot) = c.get_mut(index) { *slot = value; });
                        }>
                            {option.values.into_iter().map(|value| {
                                let v = value.clone();
                                let is = move || chosen.with(|c| c.get(index) == Some(&v));
                                view! { <option value=value.clone() selected=is>{value.clone()}</option> }
                            }).collect_view()}
                        </select>
                    }
                }).collect_view()}
                <label for="quantity">"Quantity"</label>
                <input id="quantity" type="number" min="1" max="999" prop:value=move || quantity.get().to_string()
                    on:input=move |ev| quantity.set(event_target_value(&ev).parse().unwrap_or(1).clamp(1, 999))/>
                <button class="button" data-test="add-to-cart"
                    disabled=move || adding.get() || !variant.get().is_some_and(|v| v.in_stock)
                    on:click=add>
                    {move || if adding.get() { "Adding…" } else { "Add to cart" }}
                </button>
                {move || added.get().map(|result| match result {
                    Ok(_) => view! {
                        <p class="ok" role="status">"Added to your cart. "<a href=shop.link("/cart")>"View cart"</a></p>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                })}
                <Show when=move || shop.customer.with(Option::is_some)>
                    <button class="link-button" on:click=wish>"Save to wishlist"</button>
                    {move || wished.get().map(|result| match result {
                        Ok(()) => view! { <p class="ok" role="status">"Saved to your wishlist."</p> }.into_any(),
                        Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                    })}
                </Show>
            </div>
        </article>
        <section class="description" aria-label="Description" inner_html=product.description_html.clone()></section>
        <section aria-labelledby="specs-title">
            <h2 id="specs-title">"Specifications"</h2>
            {product.specs.into_iter().map(|group| view! {
                <table class="specs">
                    <caption>{group.name}</caption>
                    <tbody>
                        {group.specs.into_iter().map(|spec| view! {
                            <tr><th scope="row">{spec.key}</th><td>{spec.value}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }).collect_view()}
        </section>
        <Reviews slug=slug/>
        {(!product.related.is_empty()).then(|| view! {
            <section aria-labelledby="related-title">
                <h2 id="related-title">"Related products"</h2>
                <div class="grid">
                    {product.related.into_iter().map(|product| view! { <ProductCard product/> }).collect_view()}
                </div>
            </section>
        })}
    }
}

#[component]
fn Reviews(slug: String) -> impl IntoView {
    let shop = use_shop();
    let path = format!("/products/{slug}/reviews");
    let reviews = LocalResource::new({
        let path = path.clone();
        move || {
            let path = path.clone();
            async move { shop.get::<ReviewPage>(&path).await }
        }
    });
    let rating = RwSignal::new(5_i64);
    let body = RwSignal::new(String::new());
    let sent = RwSignal::new(None::<Result<(), Failure>>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let path = path.clone();
        leptos::task::spawn_local(async move {
            let review = serde_json::json!({ "rating": rating.get_untracked(), "body": body.get_untracked() });
            let result = shop
                .post::<_, serde_json::Value>(&path, &review)
                .await
                .map(|_| ());
            sent.set(Some(result));
        });
    };
    view! {
        <section aria-labelledby="reviews-title" class="reviews">
            <h2 id="reviews-title">"Reviews"</h2>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || reviews.get().map(|result| match result {
                    Ok(page) => {
                        let summary = page.summary;
                        let total = summary.count.max(1);
                        // No average and no empty histogram for a product nobody reviewed yet.
                        let histogram = (summary.count > 0).then(|| view! {
                            <p>{format!("{}.{:02} out of 5 · {} approved reviews", summary.average_x100 / 100, summary.average_x100 % 100, summary.count)}</p>
                            <ul class="histogram" aria-label="Ratings">
                                {(1..=5_usize).rev().map(|stars| {
                                    let count = summary.histogram[stars - 1];
                                    // Through the CSSOM (not a style attribute), which the strict CSP allows.
                                    let width = format!("{}%", count * 100 / total);
                                    view! {
                                        <li><span>{format!("{stars}★")}</span><span class="bar"><span style:width=width></span></span><span>{count}</span></li>
                                    }
                                }).collect_view()}
                            </ul>
                        });
                        view! {
                            {histogram}
                            {if page.items.is_empty() {
                                view! { <p class="empty" data-test="no-reviews">"No reviews yet — be the first to review this product."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="review-list">
                                        {page.items.into_iter().map(|review| view! {
                                            <li>
                                                <p class="rating">{"★".repeat(usize::from(review.rating))}</p>
                                                {review.title.map(|t| view! { <h3>{t}</h3> })}
                                                <p>{review.body}</p>
                                                <p class="meta">{review.author_name}{review.verified_purchase.then_some(" · Verified purchase")}</p>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        }.into_any()
                    }
                    Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                })}
            </Suspense>
            <Show when=move || shop.customer.with(Option::is_some)>
                <form class="review-form" on:submit=submit.clone()>
                    <h3>"Write a review"</h3>
                    <label for="review-rating">"Rating"</label>
                    <select id="review-rating" on:change=move |ev| rating.set(event_target_value(&ev).parse().unwrap_or(5))>
                        {(1..=5).rev().map(|n| view! { <option value=n.to_string()>{format!("{n} stars")}</option> }).collect_view()}
                    </select>
                    <label for="review-body">"Your review"</label>
                    <textarea id="review-body" required prop:value=move || body.get()
                        on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                    <button type="submit">"Send review"</button>
                    {move || sent.get().map(|result| match result {
                        Ok(()) => view! { <p class="ok" role="status">"Thanks! Your review will appear once approved."</p> }.into_any(),
                        Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                    })}
                </form>
            </Show>
        </section>
    }
}
