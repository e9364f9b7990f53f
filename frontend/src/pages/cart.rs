//! The cart: quantities, removal, a discount code, and the totals and warnings the server
//! computed.

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use techverse_shared::{CartView, Totals};

use crate::{
    api::Failure,
    state::use_shop,
    widgets::{ErrorNote, Loading, price},
};

#[component]
pub fn TotalsTable(totals: Totals) -> impl IntoView {
    view! {
        <table class="totals" data-test="totals">
            <tbody>
                <tr><th scope="row">"Subtotal"</th><td>{price(&totals.subtotal)}</td></tr>
                {(totals.discount.minor != 0).then(|| view! {
                    <tr><th scope="row">"Discount"</th><td>"−"{price(&totals.discount)}</td></tr>
                })}
                <tr><th scope="row">"Shipping"</th><td>{price(&totals.shipping)}</td></tr>
                <tr>
                    <th scope="row">{if totals.tax_included { "Tax (included)" } else { "Tax" }}</th>
                    <td>{price(&totals.tax)}</td>
                </tr>
                <tr class="grand"><th scope="row">"Total"</th><td data-test="total">{price(&totals.total)}</td></tr>
            </tbody>
        </table>
    }
}

#[component]
pub fn CartPage() -> impl IntoView {
    let shop = use_shop();
    let error = RwSignal::new(None::<Failure>);
    let loaded = RwSignal::new(false);
    // After the session is restored: a customer's cart needs their token.
    Effect::new(move |_| {
        if !shop.ready.get() || loaded.get_untracked() {
            return;
        }
        leptos::task::spawn_local(async move {
            if shop.cart_ref().is_some()
                && let Err(failure) = shop.ensure_cart().await
            {
                error.set(Some(failure));
            }
            loaded.set(true);
        });
    });
    let apply = move |result: Result<CartView, Failure>| match result {
        Ok(cart) => {
            shop.cart.set(Some(cart));
            error.set(None);
        }
        Err(failure) => error.set(Some(failure)),
    };
    let code = RwSignal::new(String::new());
    let on_code = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(cart) = shop.cart.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "code": code.get_untracked() });
            apply(
                shop.post(&format!("/carts/{}/discount", cart.id), &body)
                    .await,
            );
        });
    };
    view! {
        <h1>"Your cart"</h1>
        {move || error.get().map(|failure| view! { <ErrorNote failure/> })}
        {move || {
            if !loaded.get() {
                return view! { <Loading/> }.into_any();
            }
            match shop.cart.get() {
                Some(cart) if !cart.lines.is_empty() => {
                    let cart_id = cart.id;
                    view! {
                        {(!cart.warnings.is_empty()).then(|| view! {
                            <ul class="warnings" role="status">
                                {cart.warnings.iter().map(|w| view! { <li data-test="warning">{w.message.clone()}</li> }).collect_view()}
                            </ul>
                        })}
                        <table class="cart-lines">
                            <thead><tr><th scope="col">"Item"</th><th scope="col">"Price"</th><th scope="col">"Quantity"</th><th scope="col">"Subtotal"</th><th scope="col"><span class="visually-hidden">"Remove"</span></th></tr></thead>
                            <tbody>
                                {cart.lines.into_iter().map(|line| {
                                    let line_id = line.id;
                                    let label = format!("Quantity of {}", line.title);
                                    view! {
                                        <tr>
                                            <td>
                                                <a href=shop.link(&format!("/products/{}", line.slug))>{line.title.clone()}</a>
                                                {(!line.variant_title.is_empty()).then(|| view! { <span class="meta">{format!(" · {}", line.variant_title)}</span> })}
                                            </td>
                                            <td>{price(&line.unit_price)}</td>
                                            <td>
                                                <input type="number" min="1" max="999" aria-label=label value=line.quantity.to_string()
                                                    on:change=move |ev| {
                                                        let quantity: i64 = event_target_value(&ev).parse().unwrap_or(1);
                                                        leptos::task::spawn_local(async move {
                                                            let body = serde_json::json!({ "quantity": quantity });
                                                            apply(shop.request(Method::PATCH, &format!("/carts/{cart_id}/lines/{line_id}"), Some(&body), &[]).await);
                                                        });
                                                    }/>
                                            </td>
                                            <td>{price(&line.subtotal)}</td>
                                            <td>
                                                <button type="button" class="link-button" on:click=move |_| {
                                                    leptos::task::spawn_local(async move {
                                                        apply(shop.request::<(), _>(Method::DELETE, &format!("/carts/{cart_id}/lines/{line_id}"), None, &[]).await);
                                                    });
                                                }>"Remove"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <form class="discount" on:submit=on_code>
                            <label for="discount-code">"Discount code"</label>
                            <input id="discount-code" name="code" autocomplete="off" prop:value=move || code.get()
                                on:input=move |ev| code.set(event_target_value(&ev))/>
                            <button type="submit">"Apply"</button>
                            {cart.discount_code.clone().map(|applied| view! {
                                <span class="ok">{format!("Code {applied} applied. ")}
                                    <button type="button" class="link-button" on:click=move |_| {
                                        leptos::task::spawn_local(async move {
                                            apply(shop.request::<(), _>(Method::DELETE, &format!("/carts/{cart_id}/discount"), None, &[]).await);
                                        });
                                    }>"Remove code"</button>
                                </span>
                            })}
                        </form>
                        <TotalsTable totals=cart.totals/>
                        <p class="note">"Shipping and tax are worked out at checkout from your address."</p>
                        <a class="button" href=shop.link("/checkout") data-test="checkout-link">"Check out"</a>
                    }.into_any()
                }
                _ => view! {
                    <div class="empty">
                        <p>"Your cart is empty."</p>
                        <a class="button" href=shop.link("/products")>"Start shopping"</a>
                    </div>
                }.into_any(),
            }
        }}
    }
}
