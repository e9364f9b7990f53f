//! The TechVerse merchant console: a Leptos client-side app served under `/admin/`, its own
//! wasm bundle beside the storefront's. The server decides every permission; the console only
//! leaves out what the member may not do.

mod account;
mod auth;
mod catalog;
mod charts;
mod dashboard;
mod details;
mod live;
mod markdown;
mod orders;
mod people;
mod products;
mod session;
mod settings;
mod store;
mod variants;
mod webhooks;
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
            <main id="content" class="container" tabindex="-1">
                <Routes fallback=|| view! { <p>"Not found."</p> }>
                    <Route path=path!("/sign-in") view=auth::SignIn/>
                    <Route path=path!("/sign-up") view=auth::SignUp/>
                    <Route path=path!("/verify-email") view=account::VerifyEmail/>
                    <Route path=path!("/forgot-password") view=account::ForgotPassword/>
                    <Route path=path!("/reset-password") view=account::ResetPassword/>
                    <Route path=path!("/accept-invitation") view=account::AcceptInvitation/>
                    <Route path=path!("/stores/new") view=|| view! { <Guarded page=Page::OpenStore/> }/>
                    <Route path=path!("/") view=|| view! { <Guarded page=Page::Dashboard/> }/>
                    <Route path=path!("/orders") view=|| view! { <Guarded page=Page::Orders/> }/>
                    <Route path=path!("/products") view=|| view! { <Guarded page=Page::Products/> }/>
                    <Route path=path!("/products/new") view=|| view! { <Guarded page=Page::NewProduct/> }/>
                    <Route path=path!("/products/:id") view=|| view! { <Guarded page=Page::EditProduct/> }/>
                    <Route path=path!("/categories") view=|| view! { <Guarded page=Page::Categories/> }/>
                    <Route path=path!("/discounts") view=|| view! { <Guarded page=Page::Discounts/> }/>
                    <Route path=path!("/customers") view=|| view! { <Guarded page=Page::Customers/> }/>
                    <Route path=path!("/customers/:id") view=|| view! { <Guarded page=Page::Customer/> }/>
                    <Route path=path!("/staff") view=|| view! { <Guarded page=Page::Team/> }/>
                    <Route path=path!("/settings") view=|| view! { <Guarded page=Page::Profile/> }/>
                    <Route path=path!("/settings/checkout") view=|| view! { <Guarded page=Page::Checkout/> }/>
                    <Route path=path!("/settings/payments") view=|| view! { <Guarded page=Page::Payments/> }/>
                    <Route path=path!("/settings/webhooks") view=|| view! { <Guarded page=Page::Webhooks/> }/>
                    <Route path=path!("/settings/webhooks/:id") view=|| view! { <Guarded page=Page::Webhook/> }/>
                    <Route path=path!("/reviews") view=|| view! { <Guarded page=Page::Reviews/> }/>
                    <Route path=path!("/audit-log") view=|| view! { <Guarded page=Page::Audit/> }/>
                    <Route path=path!("/orders/:id") view=|| view! { <Guarded page=Page::Order/> }/>
                </Routes>
            </main>
        </Router>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    Dashboard,
    OpenStore,
    Orders,
    Order,
    Products,
    NewProduct,
    EditProduct,
    Categories,
    Discounts,
    Customers,
    Customer,
    Team,
    Profile,
    Checkout,
    Payments,
    Webhooks,
    Webhook,
    Reviews,
    Audit,
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
    // Memos: reloading the member (after a profile change, say) must not rebuild the page.
    let signed_in = Memo::new(move |_| session.me.with(Option::is_some));
    let member = Memo::new(move |_| session.current().is_some());
    let store = Memo::new(move |_| session.store.get());
    move || {
        if !session.ready.get() || !signed_in.get() {
            return view! { <widgets::Loading/> }.into_any();
        }
        if !member.get() && page != Page::OpenStore {
            return view! {
                <p class="empty">"You are not a member of any store yet. "<A href="/admin/stores/new">"Open one"</A></p>
            }
            .into_any();
        }
        // Re-render the page when the member switches store.
        let _ = store.get();
        match page {
            Page::Dashboard => view! { <dashboard::Dashboard/> }.into_any(),
            Page::OpenStore => view! { <account::OpenStore/> }.into_any(),
            Page::Orders => view! { <orders::Orders/> }.into_any(),
            Page::Order => view! { <orders::OrderDetail/> }.into_any(),
            Page::Products => view! { <products::Products/> }.into_any(),
            Page::NewProduct => view! { <products::NewProduct/> }.into_any(),
            Page::EditProduct => view! { <products::EditProduct/> }.into_any(),
            Page::Categories => view! { <catalog::Categories/> }.into_any(),
            Page::Discounts => view! { <catalog::Discounts/> }.into_any(),
            Page::Customers => view! { <people::Customers/> }.into_any(),
            Page::Customer => view! { <people::CustomerCard/> }.into_any(),
            Page::Team => view! { <people::Team/> }.into_any(),
            Page::Profile => view! { <store::Profile/> }.into_any(),
            Page::Checkout => view! { <settings::Checkout/> }.into_any(),
            Page::Payments => view! { <settings::Payments/> }.into_any(),
            Page::Webhooks => view! { <webhooks::Webhooks/> }.into_any(),
            Page::Webhook => view! { <webhooks::WebhookDetail/> }.into_any(),
            Page::Reviews => view! { <store::Moderation/> }.into_any(),
            Page::Audit => view! { <store::AuditLog/> }.into_any(),
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
            <a class="skip-link" href="#content">"Skip to content"</a>
            <nav class="container nav" aria-label="Console">
                <A href="/admin/">"TechVerse Admin"</A>
                {move || session.me.with(Option::is_some).then(|| view! {
                    <auth::StoreSwitcher/>
                    <A href="/admin/stores/new">"Open another store"</A>
                    {session.can(Permission::OrdersRead).then(|| view! { <A href="/admin/orders">"Orders"</A> })}
                    {session.can(Permission::ProductsRead).then(|| view! { <A href="/admin/products">"Products"</A> })}
                    {session.can(Permission::ProductsRead).then(|| view! { <A href="/admin/categories">"Categories"</A> })}
                    {session.can(Permission::DiscountsWrite).then(|| view! { <A href="/admin/discounts">"Discounts"</A> })}
                    {session.can(Permission::CustomersRead).then(|| view! { <A href="/admin/customers">"Customers"</A> })}
                    {session.can(Permission::ProductsWrite).then(|| view! { <A href="/admin/reviews">"Reviews"</A> })}
                    {session.can(Permission::StaffManage).then(|| view! { <A href="/admin/staff">"Staff"</A> })}
                    {session.can(Permission::SettingsWrite).then(|| view! { <A href="/admin/settings">"Settings"</A> })}
                    {session.can(Permission::AuditRead).then(|| view! { <A href="/admin/audit-log">"Audit log"</A> })}
                    <button type="button" class="link" data-test="sign-out" on:click=sign_out.clone()>"Sign out"</button>
                })}
            </nav>
        </header>
    }
}
