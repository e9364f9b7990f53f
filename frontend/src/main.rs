//! The TechVerse storefront: a Leptos client-side app. The server is the only authority on
//! prices, totals and stock; this app displays what it returns.

mod live;
mod pages;
mod state;
mod stripe;
mod widgets;

use leptos::prelude::*;
use leptos_router::{
    Lazy,
    components::{Route, Router, Routes},
    path,
};
use techverse_frontend::api;

use crate::state::{Shop, use_shop};

fn main() {
    console_error_panic_hook::set_once();
    let Some(place) = state::detect() else {
        // No store in the URL: go to the configured default store's storefront.
        let store = api::meta("techverse-default-store").unwrap_or_else(|| "demo".into());
        if let Some(window) = web_sys::window() {
            let _ = window.location().replace(&format!("/s/{store}/"));
        }
        return;
    };
    mount_to_body(move || view! { <App place=place.clone()/> });
}

#[component]
fn App(place: state::Place) -> impl IntoView {
    let base = place.base.clone();
    let shop = Shop::new(place);
    provide_context(shop);
    // Store profile, then the session (through the refresh cookie) and the cart.
    leptos::task::spawn_local(async move {
        if let Ok(profile) = api::call::<(), techverse_shared::StoreProfile>(
            gloo_net::http::Method::GET,
            &format!("/api/v1/stores/{}", shop.slug()),
            None,
            None,
            &[],
        )
        .await
        {
            if let Some(document) = web_sys::window().and_then(|w| w.document()) {
                document.set_title(&profile.name);
            }
            shop.profile.set(Some(profile));
        }
        shop.refresh().await;
        // The header's count; a failure here shows on the cart page instead.
        let _ = shop.load_cart().await;
        shop.ready.set(true);
        api::forget_early();
    });
    view! {
        <Router base=base>
            <widgets::Header/>
            <main id="content" class="container">
                <Routes fallback=|| view! { <pages::NotFound/> }>
                    <Route path=path!("/") view=pages::home::Home/>
                    <Route path=path!("/products") view=pages::listing::Listing/>
                    <Route path=path!("/products/:slug") view={Lazy::<pages::Product>::new()}/>
                    <Route path=path!("/cart") view={Lazy::<pages::Cart>::new()}/>
                    <Route path=path!("/checkout") view={Lazy::<pages::Checkout>::new()}/>
                    <Route path=path!("/orders/:id") view={Lazy::<pages::Order>::new()}/>
                    <Route path=path!("/sign-in") view={Lazy::<pages::SignIn>::new()}/>
                    <Route path=path!("/sign-up") view={Lazy::<pages::SignUp>::new()}/>
                    <Route path=path!("/account") view={Lazy::<pages::Account>::new()}/>
                    <Route path=path!("/verify-email") view={Lazy::<pages::VerifyEmail>::new()}/>
                    <Route path=path!("/reset-password") view={Lazy::<pages::ResetPassword>::new()}/>
                </Routes>
            </main>
            <Footer/>
        </Router>
    }
}

#[component]
fn Footer() -> impl IntoView {
    let shop = use_shop();
    let line = move || {
        shop.profile.with(|p| {
            p.as_ref()
                .map(|p| {
                    format!(
                        "{} · Prices in {} · Powered by TechVerse",
                        p.name,
                        p.currency.code()
                    )
                })
                .unwrap_or_default()
        })
    };
    view! {
        <footer class="footer">
            <div class="container">
                <p>{line}</p>
            </div>
        </footer>
    }
}
