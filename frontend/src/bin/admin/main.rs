//! The TechVerse merchant console: a Leptos client-side app served under `/admin/`, its own
//! wasm bundle beside the storefront's. The server decides every permission; the console only
//! leaves out what the member may not do.

mod auth;
mod charts;
mod dashboard;
mod live;
mod orders;
mod products;
mod session;
mod widgets;

use leptos::prelude::*;
use leptos_router::{
    components::{A, Route, Router, Routes},
    hooks::use_navigate,
    path,
};
use techverse_shared::Permission;

use crate::session::{Session, use_session};

fn main() {
    console_error_panic_hook::set_once();
    mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let session = Session::new();
    provide_context(session);
    leptos::task::spawn_local(async move {
        session.refresh().await;
        session.ready.set(true);
    });
    view! {
        <Router base="/admin">
            <Header/>
            <main id="content" class="container">
                <Routes fallback=|| view! { <p>"Not found."</p> }>
                    <Route path=path!("/sign-in") view=auth::SignIn/>
                    <Route path=path!("/sign-up") view=auth::SignUp/>
                    <Route path=path!("/") view=|| view! { <Guarded page=Page::Dashboard/> }/>
                    <Route path=path!("/orders") view=|| view! { <Guarded page=Page::Orders/> }/>
                    <Route path=path!("/products") view=|| view! { <Guarded page=Page::Products/> }/>
                    <Route path=path!("/products/new") view=|| view! { <Guarded page=Page::NewProduct/> }/>
                    <Route path=path!("/orders/:id") view=|| view! { <Guarded page=Page::Order/> }/>
                </Routes>
            </main>
        </Router>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    Dashboard,
    Orders,
    Order,
    Products,
    NewProduct,
}

/// A page for signed-in members: waits for the session, sends strangers to sign in.
#[component]
fn Guarded(page: Page) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if session.ready.get() && session.me.with(Option::is_none) {
            navigate("/sign-in", Default::default());
        }
    });
    move || {
        if !session.ready.get() || session.me.with(Option::is_none) {
            return view! { <widgets::Loading/> }.into_any();
        }
        if session.current().is_none() {
            return view! { <p class="empty">"You are not a member of any store yet."</p> }
                .into_any();
        }
        // Re-render the page when the member switches store.
        let _ = session.store.get();
        match page {
            Page::Dashboard => view! { <dashboard::Dashboard/> }.into_any(),
            Page::Orders => view! { <orders::Orders/> }.into_any(),
            Page::Order => view! { <orders::OrderDetail/> }.into_any(),
            Page::Products => view! { <products::Products/> }.into_any(),
            Page::NewProduct => view! { <products::NewProduct/> }.into_any(),
        }
    }
}

#[component]
fn Header() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let sign_out = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            session.sign_out().await;
            navigate("/sign-in", Default::default());
        });
    };
    view! {
        <header class="header">
            <nav class="container nav" aria-label="Console">
                <A href="/admin/">"TechVerse Admin"</A>
                {move || session.me.with(Option::is_some).then(|| view! {
                    <auth::StoreSwitcher/>
                    {session.can(Permission::OrdersRead).then(|| view! { <A href="/admin/orders">"Orders"</A> })}
                    {session.can(Permission::ProductsRead).then(|| view! { <A href="/admin/products">"Products"</A> })}
                    <button type="button" class="link" data-test="sign-out" on:click=sign_out.clone()>"Sign out"</button>
                })}
            </nav>
        </header>
    }
}
