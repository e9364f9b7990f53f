//! Customer accounts: sign in, sign up, sign out, the account page (profile, addresses,
//! orders, wishlist), and the landing pages of emailed links (verify email, reset password).

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};
use techverse_shared::{AddressView, OrderPage, ProductSummary};

use crate::{
    api::Failure,
    state::use_shop,
    widgets::{ErrorNote, Loading, ProductCard, TextField, price},
};

#[component]
pub fn SignIn() -> impl IntoView {
    let shop = use_shop();
    let navigate = use_navigate();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match shop
                .sign_in(&email.get_untracked(), &password.get_untracked())
                .await
            {
                Ok(()) => navigate(
                    &shop.link("/account"),
                    NavigateOptions {
                        resolve: false,
                        ..Default::default()
                    },
                ),
                Err(failure) => error.set(Some(failure)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="narrow">
            <h1>"Sign in"</h1>
            <form on:submit=submit>
                <TextField id="email" label="Email" value=email required=true kind="email" autocomplete="email"/>
                <TextField id="password" label="Password" value=password required=true kind="password" autocomplete="current-password"/>
                {move || error.get().map(|failure| view! { <ErrorNote failure/> })}
                <button type="submit" class="button" disabled=move || busy.get()>"Sign in"</button>
            </form>
            <p>"New here? "<a href=shop.link("/sign-up")>"Create an account"</a></p>
            <ForgotPassword/>
        </section>
    }
}

#[component]
fn ForgotPassword() -> impl IntoView {
    let shop = use_shop();
    let email = RwSignal::new(String::new());
    let sent = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        leptos::task::spawn_local(async move {
            let _ = shop
                .post::<_, serde_json::Value>(
                    "/auth/password-reset/request",
                    &serde_json::json!({ "email": email.get_untracked() }),
                )
                .await;
            sent.set(true);
        });
    };
    view! {
        <details>
            <summary>"Forgot your password?"</summary>
            <form on:submit=submit>
                <TextField id="reset-email" label="Email" value=email required=true kind="email" autocomplete="email"/>
                <button type="submit">"Email me a reset link"</button>
                <Show when=move || sent.get()>
                    <p class="ok" role="status">"If an account exists for that email, a link is on its way."</p>
                </Show>
            </form>
        </details>
    }
}

#[component]
pub fn SignUp() -> impl IntoView {
    let shop = use_shop();
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match shop
                .sign_up(
                    &name.get_untracked(),
                    &email.get_untracked(),
                    &password.get_untracked(),
                )
                .await
            {
                Ok(()) => navigate(
                    &shop.link("/account"),
                    NavigateOptions {
                        resolve: false,
                        ..Default::default()
                    },
                ),
                Err(failure) => error.set(Some(failure)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="narrow">
            <h1>"Create an account"</h1>
            <form on:submit=submit>
                <TextField id="name" label="Full name" value=name required=true kind="text" autocomplete="name"/>
                <TextField id="email" label="Email" value=email required=true kind="email" autocomplete="email"/>
                <TextField id="password" label="Password (at least 10 characters)" value=password required=true kind="password" autocomplete="new-password"/>
                {move || error.get().map(|failure| view! { <ErrorNote failure/> })}
                <button type="submit" class="button" disabled=move || busy.get()>"Create account"</button>
            </form>
            <p>"Already have one? "<a href=shop.link("/sign-in")>"Sign in"</a></p>
        </section>
    }
}

#[component]
pub fn Account() -> impl IntoView {
    let shop = use_shop();
    let navigate = use_navigate();
    let sign_out = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            shop.sign_out().await;
            navigate(
                &shop.link("/"),
                NavigateOptions {
                    resolve: false,
                    ..Default::default()
                },
            );
        });
    };
    view! {
        {move || {
            if !shop.ready.get() {
                return view! { <Loading/> }.into_any();
            }
            match shop.customer.get() {
                None => view! {
                    <section class="narrow">
                        <h1>"Your account"</h1>
                        <p><a href=shop.link("/sign-in")>"Sign in"</a>" to see your orders."</p>
                    </section>
                }.into_any(),
                Some(customer) => view! {
                    <h1>{format!("Hello, {}", customer.name)}</h1>
                    <p class="meta">{customer.email.clone()}
                        {(!customer.email_verified).then_some(" · email not verified yet (check your inbox)")}
                    </p>
                    <button type="button" class="link-button" on:click=sign_out.clone() data-test="sign-out">"Sign out"</button>
                    <Profile name=customer.name.clone() phone=customer.phone.clone().unwrap_or_default()/>
                    <Orders/>
                    <Addresses/>
                    <Wishlist/>
                }.into_any(),
            }
        }}
    }
}

#[component]
fn Profile(name: String, phone: String) -> impl IntoView {
    let shop = use_shop();
    let name = RwSignal::new(name);
    let phone = RwSignal::new(phone);
    let saved = RwSignal::new(None::<Result<(), Failure>>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        leptos::task::spawn_local(async move {
            let body =
                serde_json::json!({ "name": name.get_untracked(), "phone": phone.get_untracked() });
            let result = shop
                .request::<_, techverse_shared::CustomerView>(
                    Method::PATCH,
                    "/customers/me",
                    Some(&body),
                    &[],
                )
                .await
                .map(|me| shop.customer.set(Some(me)));
            saved.set(Some(result));
        });
    };
    view! {
        <section aria-labelledby="profile-title">
            <h2 id="profile-title">"Profile"</h2>
            <form on:submit=submit class="inline-form">
                <TextField id="profile-name" label="Name" value=name required=true kind="text" autocomplete="name"/>
                <div class="field">
                    <label for="profile-phone">"Phone"</label>
                    <input id="profile-phone" type="tel" autocomplete="tel" prop:value=move || phone.get()
                        on:input=move |ev| phone.set(event_target_value(&ev))/>
                </div>
                <button type="submit">"Save"</button>
                {move || saved.get().map(|r| match r {
                    Ok(()) => view! { <p class="ok" role="status">"Saved."</p> }.into_any(),
                    Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                })}
            </form>
        </section>
    }
}

#[component]
fn Orders() -> impl IntoView {
    let shop = use_shop();
    let orders =
        LocalResource::new(
            move || async move { shop.get::<OrderPage>("/customers/me/orders").await },
        );
    view! {
        <section aria-labelledby="orders-title">
            <h2 id="orders-title">"Your orders"</h2>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || orders.get().map(|result| match result {
                    Ok(page) if page.items.is_empty() => view! { <p class="empty">"No orders yet."</p> }.into_any(),
                    Ok(page) => view! {
                        <ul class="orders" data-test="my-orders">
                            {page.items.into_iter().map(|o| view! {
                                <li>
                                    <a href=shop.link(&format!("/orders/{}", o.id))>{format!("Order #{}", o.number)}</a>
                                    {format!(" · {} · {} items · {}", o.status.as_str().replace('_', " "), o.item_count, price(&o.total))}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Addresses() -> impl IntoView {
    let shop = use_shop();
    let version = RwSignal::new(0_u32);
    let addresses = LocalResource::new(move || {
        version.track();
        async move {
            shop.get::<serde_json::Value>("/customers/me/addresses")
                .await
                .map(|v| {
                    serde_json::from_value::<Vec<AddressView>>(v["items"].clone())
                        .unwrap_or_default()
                })
        }
    });
    let (name, line1, city, country) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new("NG".to_owned()),
    );
    let error = RwSignal::new(None::<Failure>);
    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({
                "name": name.get_untracked(), "line1": line1.get_untracked(),
                "city": city.get_untracked(), "country": country.get_untracked()
            });
            match shop
                .post::<_, serde_json::Value>("/customers/me/addresses", &body)
                .await
            {
                Ok(_) => {
                    error.set(None);
                    version.update(|v| *v += 1);
                }
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    view! {
        <section aria-labelledby="addresses-title">
            <h2 id="addresses-title">"Addresses"</h2>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || addresses.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No saved addresses."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul>
                            {list.into_iter().map(|a| {
                                let id = a.id;
                                view! {
                                    <li>
                                        {format!("{}, {}, {}, {}", a.name, a.line1, a.city, a.country.as_str())}
                                        {a.is_default.then_some(" (default)")}" "
                                        <button type="button" class="link-button" on:click=move |_| {
                                            leptos::task::spawn_local(async move {
                                                let _ = shop.request::<(), serde_json::Value>(Method::DELETE, &format!("/customers/me/addresses/{id}"), None, &[]).await;
                                                version.update(|v| *v += 1);
                                            });
                                        }>"Remove"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                })}
            </Suspense>
            <form on:submit=add class="inline-form">
                <TextField id="address-name" label="Name" value=name required=true kind="text" autocomplete="name"/>
                <TextField id="address-line1" label="Address" value=line1 required=true kind="text" autocomplete="address-line1"/>
                <TextField id="address-city" label="City" value=city required=true kind="text" autocomplete="address-level2"/>
                <TextField id="address-country" label="Country code" value=country required=true kind="text" autocomplete="country"/>
                <button type="submit">"Add address"</button>
                {move || error.get().map(|failure| view! { <ErrorNote failure/> })}
            </form>
        </section>
    }
}

#[component]
fn Wishlist() -> impl IntoView {
    let shop = use_shop();
    let items = LocalResource::new(move || async move {
        let list = shop
            .get::<serde_json::Value>("/customers/me/wishlist")
            .await?;
        let summaries: Vec<ProductSummary> =
            serde_json::from_value(list["items"].clone()).unwrap_or_default();
        Ok::<_, Failure>(summaries)
    });
    view! {
        <section aria-labelledby="wishlist-title">
            <h2 id="wishlist-title">"Wishlist"</h2>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || items.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing saved yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="grid">{list.into_iter().map(|product| view! { <ProductCard product/> }).collect_view()}</div>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

fn token_param() -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| q.get("token")))
}

#[component]
pub fn VerifyEmail() -> impl IntoView {
    let shop = use_shop();
    let token = token_param();
    let outcome = LocalResource::new(move || {
        let token = token.get();
        async move {
            let token = token.unwrap_or_default();
            shop.post::<_, serde_json::Value>(
                "/auth/verify-email",
                &serde_json::json!({ "token": token }),
            )
            .await
            .map(|_| ())
        }
    });
    view! {
        <section class="narrow">
            <h1>"Verify your email"</h1>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || outcome.get().map(|result| match result {
                    Ok(()) => view! { <p class="ok" role="status">"Your email is verified. "<a href=shop.link("/account")>"Go to your account"</a></p> }.into_any(),
                    Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn ResetPassword() -> impl IntoView {
    let shop = use_shop();
    let token = token_param();
    let password = RwSignal::new(String::new());
    let outcome = RwSignal::new(None::<Result<(), Failure>>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let token = token.get_untracked().unwrap_or_default();
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "token": token, "password": password.get_untracked() });
            let result = shop
                .post::<_, serde_json::Value>("/auth/password-reset", &body)
                .await
                .map(|_| ());
            outcome.set(Some(result));
        });
    };
    view! {
        <section class="narrow">
            <h1>"Choose a new password"</h1>
            <form on:submit=submit>
                <TextField id="new-password" label="New password (at least 10 characters)" value=password required=true kind="password" autocomplete="new-password"/>
                <button type="submit" class="button">"Save password"</button>
            </form>
            {move || outcome.get().map(|result| match result {
                Ok(()) => view! { <p class="ok" role="status">"Password changed. "<a href=shop.link("/sign-in")>"Sign in"</a></p> }.into_any(),
                Err(failure) => view! { <ErrorNote failure/> }.into_any(),
            })}
        </section>
    }
}
