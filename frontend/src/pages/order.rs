//! Order confirmation and status: found with the guest's order token (kept on this device when
//! the order was placed) or the signed-in customer's account. A card order awaiting payment
//! shows Stripe's Payment Element; once confirmed, "payment processing" until Stripe's webhook
//! marks the order paid. Status, payment and tracking update live over the socket (or by
//! polling when it cannot open).

use gloo_net::http::Method;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use techverse_shared::{OrderId, OrderStatus, OrderView, PaymentMethod, PaymentStatus};

use crate::{
    pages::cart::TotalsTable,
    state::{Shop, recall, use_shop},
    stripe,
    widgets::{ErrorNote, Loading, price},
};

fn id_untracked(params: Memo<leptos_router::params::ParamsMap>) -> String {
    params.with_untracked(|p| p.get("id").unwrap_or_default())
}

fn order_token(shop: Shop, id: &str) -> Option<String> {
    recall(&format!("techverse:{}:order:{id}", shop.slug()))
}

/// The card form of an unpaid card order: Stripe.js with the store's connected account, or a
/// button that starts payment when it could not be started at checkout.
#[component]
fn CardPayment(
    order: OrderView,
    processing: RwSignal<bool>,
    reload: Callback<()>,
) -> impl IntoView {
    let shop = use_shop();
    let error = RwSignal::new(None::<String>);
    let ready = RwSignal::new(false);
    let form = StoredValue::new_local(None::<stripe::CardForm>);
    let id: OrderId = order.id;
    let ready_payment = order
        .payment
        .clone()
        .and_then(|p| p.client_secret.clone().map(|secret| (p, secret)));
    let Some((payment, secret)) = ready_payment else {
        let start = move |_| {
            leptos::task::spawn_local(async move {
                let token = order_token(shop, &id.to_string());
                let headers: Vec<(&str, &str)> = token
                    .as_deref()
                    .map(|t| ("X-Order-Token", t))
                    .into_iter()
                    .collect();
                let started: Result<OrderView, _> = shop
                    .request::<(), OrderView>(
                        Method::POST,
                        &format!("/orders/{id}/payment"),
                        None,
                        &headers,
                    )
                    .await;
                match started {
                    Ok(_) => reload.run(()),
                    Err(failure) => error.set(Some(failure.text())),
                }
            });
        };
        return view! {
            <section class="card-payment">
                <h2>"Pay by card"</h2>
                <button type="button" data-test="start-payment" on:click=start>"Pay by card"</button>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </section>
        }
        .into_any();
    };
    let (js_url, key, account) = (
        payment.js_url.clone().unwrap_or_default(),
        payment.publishable_key.clone().unwrap_or_default(),
        payment.account_id.clone(),
    );
    Effect::new(move |_| {
        let (js_url, key, account, secret) =
            (js_url.clone(), key.clone(), account.clone(), secret.clone());
        leptos::task::spawn_local(async move {
            let mounted = match stripe::load(&js_url).await {
                Ok(()) => stripe::mount(&key, &account, &secret, "payment-element"),
                Err(e) => Err(e),
            };
            match mounted {
                Ok(card) => {
                    form.set_value(Some(card));
                    ready.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let pay = move |_| {
        let Some(card) = form.get_value() else { return };
        error.set(None);
        ready.set(false);
        leptos::task::spawn_local(async move {
            let here = web_sys::window()
                .and_then(|w| w.location().href().ok())
                .unwrap_or_default();
            match card.confirm(&here).await {
                Ok(()) => processing.set(true),
                Err(message) => {
                    error.set(Some(message));
                    ready.set(true);
                }
            }
        });
    };
    let total = price(&order.totals.total);
    view! {
        <section class="card-payment">
            <h2>"Pay by card"</h2>
            <div id="payment-element" data-test="payment-element"></div>
            <button type="button" data-test="pay" prop:disabled=move || !ready.get() on:click=pay>{format!("Pay {total}")}</button>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-test="payment-error">{e}</p> })}
        </section>
    }
    .into_any()
}

/// What the buyer should know about the money, beyond the status line.
fn payment_note(order: &OrderView) -> Option<&'static str> {
    (order.payment_method == PaymentMethod::Card
        && order.payment_status == PaymentStatus::Refunded
        && order.status == OrderStatus::Expired)
        .then_some("Your card payment arrived after this order had expired and its items were gone, so it was refunded in full.")
}

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
            let token = order_token(shop, &id);
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
    // After the buyer confirmed a card payment: poll until Stripe's webhook has marked the
    // order paid (2 s apart, for up to two minutes).
    let processing = RwSignal::new(false);
    Effect::new(move |_| {
        if !processing.get() {
            return;
        }
        leptos::task::spawn_local(async move {
            for _ in 0..60 {
                gloo_timers::future::sleep(std::time::Duration::from_secs(2)).await;
                found.refetch();
                let paid = found.with_untracked(|f| {
                    matches!(f, Some(Some(Ok(o))) if o.payment_status != PaymentStatus::Pending)
                });
                if paid {
                    break;
                }
            }
        });
    });
    let reload = Callback::new(move |()| found.refetch());
    // Live updates once the session is restored (a customer's ticket needs their token).
    let connected = RwSignal::new(false);
    let following = StoredValue::new(false);
    Effect::new(move |_| {
        if shop.ready.get() && !following.get_value() {
            following.set_value(true);
            let id = id_untracked(params);
            let token = order_token(shop, &id);
            crate::live::follow_order(shop, id, token, reload, connected);
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
                            <p class="live" data-test="live-status">{move || if connected.get() { "Live: this page updates by itself." } else { "This page checks for updates every few seconds." }}</p>
                            {payment_note(&order).map(|note| view! { <p class="note" role="status" data-test="payment-note">{note}</p> })}
                            {(order.payment_method == PaymentMethod::Card && order.status == OrderStatus::PendingPayment).then(|| {
                                let order = order.clone();
                                view! {
                                    <Show when=move || processing.get() fallback=move || view! { <CardPayment order=order.clone() processing reload/> }>
                                        <p class="ok" role="status" data-test="payment-processing">"Payment processing… this page updates when your bank confirms it."</p>
                                    </Show>
                                }
                            })}
                            {instructions.map(|text| view! {
                                <section class="instructions">
                                    <h2>{match order.payment_method { PaymentMethod::BankTransfer => "How to pay", PaymentMethod::CashOnDelivery | PaymentMethod::Card => "Payment" }}</h2>
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
