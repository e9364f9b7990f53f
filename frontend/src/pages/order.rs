//! Order confirmation and status: found with the guest's order token (kept on this device when
//! the order was placed) or the signed-in customer's account.

use gloo_net::http::Method;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use techverse_shared::{OrderView, PaymentMethod};

use crate::{
    pages::cart::TotalsTable,
    state::{recall, use_shop},
    widgets::{ErrorNote, Loading, price},
};

fn status_text(order: &OrderView) -> String {
    let status = order.status.as_str().replace('_', " ");
    let payment = order.payment_status.as_str().replace('_', " ");
    format!("{status} · payment {payment}")
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let shop = use_shop();
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let placed = move || query.with(|q| q.get("placed").is_some());
    let found = LocalResource::new(move || {
        let id = id();
        // Wait for the session restore, so a customer's own order loads with their token.
        let ready = shop.ready.get();
        async move {
            if !ready {
                return None;
            }
            let token = recall(&format!("techverse:{}:order:{id}", shop.slug()));
            let headers: Vec<(&str, &str)> = token
                .as_deref()
                .map(|t| ("X-Order-Token", t))
                .into_iter()
                .collect();
            Some(
                shop.request::<(), OrderView>(
                    Method::GET,
                    &format!("/orders/{id}"),
                    None,
                    &headers,
                )
                .await,
            )
        }
    });
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || found.get().map(|result| match result {
                None => view! { <Loading/> }.into_any(),
                Some(Ok(order)) => {
                    let instructions = order.payment_instructions.clone();
                    view! {
                        <article class="order" data-test="order">
                            {placed().then(|| view! { <p class="ok" role="status">"Thank you! Your order has been placed."</p> })}
                            <h1>{format!("Order #{}", order.number)}</h1>
                            <p class="status" data-test="order-status">{status_text(&order)}</p>
                            {instructions.map(|text| view! {
                                <section class="instructions">
                                    <h2>{match order.payment_method { PaymentMethod::BankTransfer => "How to pay", PaymentMethod::CashOnDelivery => "Payment" }}</h2>
                                    <p>{text}</p>
                                </section>
                            })}
                            <table class="cart-lines">
                                <thead><tr><th scope="col">"Item"</th><th scope="col">"Quantity"</th><th scope="col">"Total"</th></tr></thead>
                                <tbody>
                                    {order.lines.iter().map(|line| view! {
                                        <tr>
                                            <td>{line.title.clone()}{(!line.variant_title.is_empty()).then(|| format!(" · {}", line.variant_title))}</td>
                                            <td>{line.quantity}</td>
                                            <td>{price(&line.total)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <TotalsTable totals=order.totals/>
                            <section>
                                <h2>"Shipping to"</h2>
                                <address>
                                    {order.shipping_address.name.clone()}<br/>
                                    {order.shipping_address.line1.clone()}<br/>
                                    {order.shipping_address.city.clone()}", "{order.shipping_address.country.as_str().to_owned()}
                                </address>
                                <p>{order.shipping.name.clone()}</p>
                                {order.fulfilments.iter().filter_map(|f| f.tracking_number.clone().map(|t| {
                                    let carrier = f.carrier.clone().unwrap_or_default();
                                    view! { <p>{format!("Tracking: {carrier} {t}")}</p> }
                                })).collect_view()}
                            </section>
                            <button type="button" class="link-button" on:click=move |_| found.refetch()>"Refresh status"</button>
                            <p><a href=shop.link("/products")>"Continue shopping"</a></p>
                        </article>
                    }.into_any()
                }
                Some(Err(failure)) => view! { <ErrorNote failure/> }.into_any(),
            })}
        </Suspense>
    }
}
