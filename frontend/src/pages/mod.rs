//! One module per page.

pub mod account;
pub mod cart;
pub mod checkout;
pub mod home;
pub mod listing;
pub mod order;
pub mod product;

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use crate::state::use_shop;

// The pages a shopper's first visit does not need load when first visited: the build splits
// each `#[lazy_route]` view below into its own wasm chunk (scripts/build-frontend, through
// wasm-split), so the home page and the product grid download none of their code. Each is its
// own route type (the router loads a route's view by its type); a product page fetches its
// product while its chunk loads.

/// A product page: its data is fetched while its code loads.
pub struct Product {
    text: LocalResource<crate::api::ApiResult<String>>,
}

#[lazy_route]
impl LazyRoute for Product {
    fn data() -> Self {
        Self {
            text: product::detail_text(),
        }
    }

    fn view(this: Self) -> AnyView {
        product::ProductPage(product::ProductPageProps { text: this.text }).into_any()
    }
}

pub struct Cart;

#[lazy_route]
impl LazyRoute for Cart {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        cart::CartPage().into_any()
    }
}

pub struct Checkout;

#[lazy_route]
impl LazyRoute for Checkout {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        checkout::CheckoutPage().into_any()
    }
}

pub struct Order;

#[lazy_route]
impl LazyRoute for Order {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        order::OrderPage().into_any()
    }
}

pub struct SignIn;

#[lazy_route]
impl LazyRoute for SignIn {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        account::SignIn().into_any()
    }
}

pub struct SignUp;

#[lazy_route]
impl LazyRoute for SignUp {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        account::SignUp().into_any()
    }
}

pub struct Account;

#[lazy_route]
impl LazyRoute for Account {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        account::Account().into_any()
    }
}

pub struct VerifyEmail;

#[lazy_route]
impl LazyRoute for VerifyEmail {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        account::VerifyEmail().into_any()
    }
}

pub struct ResetPassword;

#[lazy_route]
impl LazyRoute for ResetPassword {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        account::ResetPassword().into_any()
    }
}

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
