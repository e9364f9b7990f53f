//! Checkout, as a guest or signed in: contact, address, shipping method, payment method. One
//! `Idempotency-Key` per visit of this page, so a double click (or a retry after a network
//! error) places one order. Totals shown are the server's.

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::{NavigateOptions, hooks::use_navigate};
use techverse_shared::{AddressView, CartView, OrderView, PaymentMethod, ShippingMethodView};

/// `GET …/payment-methods`.
#[derive(Debug, Clone, serde::Deserialize)]
struct PaymentMethods {
    methods: Vec<PaymentMethod>,
}

use crate::{
    api::{self, Failure},
    pages::cart::TotalsTable,
    state::{remember, use_shop},
    widgets::{ErrorNote, Loading, TextField, price},
};

const COUNTRIES: [(&str, &str); 10] = [
    ("NG", "Nigeria"),
    ("GH", "Ghana"),
    ("BJ", "Benin"),
    ("TG", "Togo"),
    ("CI", "Côte d’Ivoire"),
    ("SN", "Senegal"),
    ("KE", "Kenya"),
    ("ZA", "South Africa"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
];

fn new_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("{}", js_sys::Date::now()))
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let shop = use_shop();
    let navigate = use_navigate();
    let key = StoredValue::new(new_key());
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let line1 = RwSignal::new(String::new());
    let line2 = RwSignal::new(String::new());
    let city = RwSignal::new(String::new());
    let region = RwSignal::new(String::new());
    let postal = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let country = RwSignal::new("NG".to_owned());
    let method = RwSignal::new(None::<String>);
    let payment = RwSignal::new("cash_on_delivery".to_owned());
    let placing = RwSignal::new(false);
    let error = RwSignal::new(None::<Failure>);
    let loaded = RwSignal::new(false);

    // After the session is restored: a customer's cart needs their token.
    Effect::new(move |_| {
        if !shop.ready.get() || loaded.get_untracked() {
            return;
        }
        leptos::task::spawn_local(async move {
            if shop.cart_ref().is_some() {
                let _ = shop.ensure_cart().await;
            }
            loaded.set(true);
        });
    });
    Effect::new(move |_| {
        if let Some(customer) = shop.customer.get() {
            if email.get_untracked().is_empty() {
                email.set(customer.email.clone());
            }
            if name.get_untracked().is_empty() {
                name.set(customer.name.clone());
            }
        }
    });
    // The payment methods the store offers now (card only while its Stripe account can take
    // charges); the first is chosen unless the buyer picked one.
    let offered = LocalResource::new(move || async move {
        let list: Result<PaymentMethods, Failure> = shop.get("/payment-methods").await;
        if let Ok(list) = &list
            && let Some(first) = list.methods.first()
            && !list
                .methods
                .iter()
                .any(|m| m.as_str() == payment.get_untracked())
        {
            payment.set(first.as_str().to_owned());
        }
        list
    });
    // Methods for the chosen country (re-fetched when it or the cart changes).
    let methods = LocalResource::new(move || {
        let country = country.get();
        let cart = shop
            .cart
            .with(|c| c.as_ref().map(|c| (c.id, c.totals.subtotal)));
        async move {
            let Some((id, _)) = cart else {
                return Ok(Vec::new());
            };
            let qs = api::query(&[("country".into(), country)]);
            shop.get::<Vec<ShippingMethodView>>(&format!("/carts/{id}/shipping-methods{qs}"))
                .await
        }
    });
    // The server's totals for this destination and method.
    let quote = LocalResource::new(move || {
        let pairs = vec![
            ("country".to_owned(), country.get()),
            ("region".to_owned(), region.get()),
            (
                "shipping_method_id".to_owned(),
                method.get().unwrap_or_default(),
            ),
        ];
        let id = shop.cart.with(|c| c.as_ref().map(|c| c.id));
        async move {
            let Some(id) = id else { return Ok(None) };
            shop.get::<CartView>(&format!("/carts/{id}{}", api::query(&pairs)))
                .await
                .map(Some)
        }
    });

    // A signed-in customer's saved addresses: picking one fills the form (the default first).
    let saved = LocalResource::new(move || {
        let signed_in = shop.customer.with(Option::is_some);
        async move {
            if !signed_in {
                return Vec::new();
            }
            shop.get::<serde_json::Value>("/customers/me/addresses")
                .await
                .ok()
                .and_then(|v| serde_json::from_value::<Vec<AddressView>>(v["items"].clone()).ok())
                .unwrap_or_default()
        }
    });
    let fill = move |address: &AddressView| {
        name.set(address.name.clone());
        line1.set(address.line1.clone());
        line2.set(address.line2.clone().unwrap_or_default());
        city.set(address.city.clone());
        region.set(address.region.clone().unwrap_or_default());
        postal.set(address.postal_code.clone().unwrap_or_default());
        if let Some(number) = &address.phone {
            phone.set(number.clone());
        }
        country.set(address.country.as_str().to_owned());
        method.set(None);
    };
    Effect::new(move |_| {
        if let Some(list) = saved.get()
            && let Some(default) = list.iter().find(|a| a.is_default).or(list.first())
            && line1.get_untracked().is_empty()
        {
            fill(default);
        }
    });

    let place = move |ev: SubmitEvent| {
        ev.prevent_default();
        if placing.get_untracked() {
            return;
        }
        let Some(cart) = shop.cart.get_untracked() else {
            return;
        };
        let Some(method_id) = method.get_untracked() else {
            error.set(Some(Failure {
                code: None,
                message: "Choose a shipping method.".into(),
                details: None,
            }));
            return;
        };
        placing.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let optional = |s: RwSignal<String>| {
                let text = s.get_untracked();
                (!text.trim().is_empty()).then_some(text)
            };
            let body = serde_json::json!({
                "cart_id": cart.id,
                "email": email.get_untracked(),
                "shipping_address": {
                    "name": name.get_untracked(),
                    "line1": line1.get_untracked(),
                    "line2": optional(line2),
                    "city": city.get_untracked(),
                    "region": optional(region),
                    "postal_code": optional(postal),
                    "country": country.get_untracked(),
                    "phone": optional(phone),
                },
                "shipping_method_id": method_id,
                "payment_method": payment.get_untracked(),
            });
            let key = key.get_value();
            let result: Result<OrderView, Failure> = shop
                .request(
                    Method::POST,
                    "/checkout",
                    Some(&body),
                    &[("Idempotency-Key", key.as_str())],
                )
                .await;
            match result {
                Ok(order) => {
                    if let Some(token) = &order.token {
                        remember(
                            &format!("techverse:{}:order:{}", shop.slug(), order.id),
                            Some(token),
                        );
                    }
                    shop.forget_cart();
                    navigate(
                        &shop.link(&format!("/orders/{}?placed=1", order.id)),
                        NavigateOptions {
                            resolve: false,
                            ..Default::default()
                        },
                    );
                }
                Err(failure) => {
                    error.set(Some(failure));
                    placing.set(false);
                }
            }
        });
    };

    view! {
        <h1>"Checkout"</h1>
        {move || {
            if !loaded.get() {
                return view! { <Loading/> }.into_any();
            }
            if shop.cart.with(|c| c.as_ref().is_none_or(|c| c.lines.is_empty())) {
                return view! {
                    <div class="empty"><p>"Your cart is empty."</p><a href=shop.link("/products")>"Start shopping"</a></div>
                }.into_any();
            }
            view! {
                <form class="checkout" on:submit=place.clone()>
                    <fieldset>
                        <legend>"Contact"</legend>
                        <Show when=move || shop.customer.with(Option::is_none)>
                            <p class="note">"Checking out as a guest. "<a href=shop.link("/sign-in")>"Sign in"</a>" to see your orders in your account."</p>
                        </Show>
                        <TextField id="email" label="Email" value=email required=true kind="email" autocomplete="email"/>
                        <TextField id="phone" label="Phone" value=phone kind="tel" autocomplete="tel"/>
                    </fieldset>
                    <fieldset>
                        <legend>"Shipping address"</legend>
                        {move || saved.get().filter(|list| list.len() > 1).map(|list| {
                            let options = list.clone();
                            view! {
                                <div class="field">
                                    <label for="saved-address">"Saved addresses"</label>
                                    <select id="saved-address" on:change=move |ev| {
                                        let id = event_target_value(&ev);
                                        if let Some(address) = options.iter().find(|a| a.id.to_string() == id) {
                                            fill(address);
                                        }
                                    }>
                                        {list.iter().map(|a| view! {
                                            <option value=a.id.to_string() selected=a.is_default>
                                                {format!("{}, {}, {}", a.name, a.line1, a.city)}
                                            </option>
                                        }).collect_view()}
                                    </select>
                                </div>
                            }
                        })}
                        <TextField id="name" label="Full name" value=name required=true autocomplete="name"/>
                        <TextField id="line1" label="Address" value=line1 required=true autocomplete="address-line1"/>
                        <TextField id="line2" label="Apartment, suite (optional)" value=line2 autocomplete="address-line2"/>
                        <TextField id="city" label="City" value=city required=true autocomplete="address-level2"/>
                        <TextField id="region" label="State / region" value=region autocomplete="address-level1"/>
                        <TextField id="postal" label="Postal code (optional)" value=postal autocomplete="postal-code"/>
                        <div class="field">
                            <label for="country">"Country *"</label>
                            <select id="country" name="country" on:change=move |ev| { country.set(event_target_value(&ev)); method.set(None); }>
                                {COUNTRIES.into_iter().map(|(code, label)| view! {
                                    <option value=code selected=move || country.get() == code>{label}</option>
                                }).collect_view()}
                            </select>
                        </div>
                    </fieldset>
                    <fieldset>
                        <legend>"Shipping method"</legend>
                        <Suspense fallback=|| view! { <Loading/> }>
                            {move || methods.get().map(|result| match result {
                                Ok(list) if list.is_empty() => view! { <p class="error" role="alert">"We do not ship to this country yet."</p> }.into_any(),
                                Ok(list) => list.into_iter().map(|m| {
                                    let id = m.id.to_string();
                                    let input_id = format!("method-{id}");
                                    let value = id.clone();
                                    view! {
                                        <div class="choice">
                                            <input type="radio" name="shipping" id=input_id.clone() value=id.clone()
                                                prop:checked=move || method.get().as_deref() == Some(id.as_str())
                                                on:change=move |_| method.set(Some(value.clone()))/>
                                            <label for=input_id>{m.name}" — "{price(&m.price)}</label>
                                        </div>
                                    }
                                }).collect_view().into_any(),
                                Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                            })}
                        </Suspense>
                    </fieldset>
                    <fieldset>
                        <legend>"Payment"</legend>
                        <Suspense fallback=|| view! { <Loading/> }>
                            {move || offered.get().map(|result| match result {
                                Ok(list) => list.methods.into_iter().map(|m| {
                                    let value = m.as_str();
                                    let label = match m {
                                        PaymentMethod::CashOnDelivery => "Cash on delivery",
                                        PaymentMethod::BankTransfer => "Bank transfer",
                                        PaymentMethod::Card => "Card (paid securely through Stripe on the next page)",
                                    };
                                    let input_id = format!("pay-{value}");
                                    view! {
                                        <div class="choice">
                                            <input type="radio" name="payment" id=input_id.clone() value=value
                                                prop:checked=move || payment.get() == value
                                                on:change=move |_| payment.set(value.to_owned())/>
                                            <label for=input_id>{label}</label>
                                        </div>
                                    }
                                }).collect_view().into_any(),
                                Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                            })}
                        </Suspense>
                    </fieldset>
                    <section aria-label="Order summary" class="summary">
                        <h2>"Summary"</h2>
                        <Suspense fallback=|| view! { <Loading/> }>
                            {move || quote.get().map(|result| match result {
                                Ok(Some(cart)) => view! {
                                    <ul class="summary-lines">
                                        {cart.lines.iter().map(|l| view! { <li>{format!("{} × {}", l.quantity, l.title)}<span>{price(&l.subtotal)}</span></li> }).collect_view()}
                                    </ul>
                                    <TotalsTable totals=cart.totals/>
                                }.into_any(),
                                Ok(None) => ().into_any(),
                                Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                            })}
                        </Suspense>
                    </section>
                    {move || error.get().map(|failure| view! { <ErrorNote failure/> })}
                    <button type="submit" class="button" data-test="place-order" disabled=move || placing.get()>
                        {move || if placing.get() { "Placing your order…" } else { "Place order" }}
                    </button>
                </form>
            }.into_any()
        }}
    }
}
