//! One module per page.

pub mod account;
pub mod cart;
pub mod checkout;
pub mod home;
pub mod listing;
pub mod order;
pub mod product;

use leptos::prelude::*;

use crate::state::use_shop;

#[component]
pub fn NotFound() -> impl IntoView {
    let shop = use_shop();
    view! {
        <section class="empty">
            <h1>"Page not found"</h1>
            <p><a href=shop.link("/")>"Back to the shop"</a></p>
        </section>
    }
}
