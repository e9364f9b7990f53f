//! Home: the store's name, featured products (best sellers) and categories.

use leptos::prelude::*;
use techverse_shared::{CategoryNode, ProductPage};

use crate::{
    state::use_shop,
    widgets::{ErrorNote, Loading, ProductCard},
};

#[component]
pub fn Home() -> impl IntoView {
    let shop = use_shop();
    let featured = LocalResource::new(move || async move {
        shop.get::<ProductPage>("/products?sort=best_selling&in_stock=true&limit=8")
            .await
    });
    let categories = LocalResource::new(move || async move {
        shop.get::<serde_json::Value>("/categories").await.map(|v| {
            serde_json::from_value::<Vec<CategoryNode>>(v["items"].clone()).unwrap_or_default()
        })
    });
    let name = move || {
        shop.profile
            .with(|p| p.as_ref().map(|p| p.name.clone()).unwrap_or_default())
    };
    view! {
        <section class="hero">
            <h1>{name}</h1>
            <p>"Phones, laptops and audio, delivered across Nigeria. Pay on delivery or by bank transfer."</p>
            <a class="button" href=shop.link("/products")>"Browse all products"</a>
        </section>
        <section aria-labelledby="categories-title">
            <h2 id="categories-title">"Categories"</h2>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || categories.get().map(|result| match result {
                    Ok(tree) => view! {
                        <ul class="chips">
                            {tree.into_iter().map(|node| {
                                let href = shop.link(&format!("/products?category={}", node.id));
                                view! { <li><a class="chip" href=href>{node.name}</a></li> }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                })}
            </Suspense>
        </section>
        <section aria-labelledby="featured-title">
            <h2 id="featured-title">"Best sellers"</h2>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || featured.get().map(|result| match result {
                    Ok(page) if page.items.is_empty() => view! { <p class="empty">"No products yet."</p> }.into_any(),
                    Ok(page) => view! {
                        <div class="grid">
                            {page.items.into_iter().map(|product| view! { <ProductCard product/> }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
