//! Checkout settings (tax mode, payment methods, bank transfer text, reservation minutes,
//! shipping zones) and card payments (Stripe Connect onboarding).

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use serde::Deserialize;
use techverse_frontend::api::Failure;

use crate::{
    auth::{Field, TextArea, field_error},
    orders::minor_units,
    session::use_session,
    widgets::{Failed, Loading},
};

const PAYMENT_METHODS: [(&str, &str); 3] = [
    ("cash_on_delivery", "Cash on delivery"),
    ("bank_transfer", "Bank transfer"),
    ("card", "Card (Stripe)"),
];

/// The settings as the API gives them; zones are sent back as they came (ids kept, so
/// shoppers' chosen methods stay valid), less those removed, plus those added.
#[component]
pub fn Checkout() -> impl IntoView {
    let session = use_session();
    let version = RwSignal::new(0_u32);
    let loaded = session.reloading::<serde_json::Value>(version, "/checkout-settings");
    view! {
        <section>
            <h1>"Checkout settings"</h1>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || loaded.get().map(|result| match result {
                    Ok(settings) => view! { <CheckoutForm settings=settings/> }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn CheckoutForm(settings: serde_json::Value) -> impl IntoView {
    let session = use_session();
    let exponent = session.currency_exponent();
    let included = RwSignal::new(settings["prices_include_tax"].as_bool().unwrap_or(false));
    let methods = RwSignal::new(
        settings["payment_methods"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    let text = |key: &str| RwSignal::new(settings[key].as_str().unwrap_or_default().to_owned());
    let bank = text("bank_transfer_instructions");
    let minutes = RwSignal::new(
        settings["reservation_minutes"]
            .as_u64()
            .unwrap_or(30)
            .to_string(),
    );
    let zones = RwSignal::new(settings["zones"].as_array().cloned().unwrap_or_default());
    let (zone_name, zone_countries, zone_tax, zone_price) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new("0".to_owned()),
        RwSignal::new(String::new()),
    );
    let failure = RwSignal::new(None::<Failure>);
    let done = RwSignal::new(false);
    let add_zone = move |_| {
        let countries: Vec<String> = zone_countries
            .get_untracked()
            .split(',')
            .map(|c| c.trim().to_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        let tax = minor_units(&zone_tax.get_untracked(), 2).unwrap_or(0);
        let rate = match minor_units(&zone_price.get_untracked(), exponent) {
            Some(price) if !zone_price.get_untracked().trim().is_empty() => {
                serde_json::json!({ "type": "flat", "price": price })
            }
            _ => serde_json::json!({ "type": "pickup" }),
        };
        let name = zone_name.get_untracked();
        zones.update(|z| z.push(serde_json::json!({
            "name": name.clone(), "countries": countries, "tax_bps": tax,
            "methods": [{ "name": if rate["type"] == "pickup" { "Pickup".to_owned() } else { format!("{name} delivery") }, "rate": rate }],
        })));
        zone_name.set(String::new());
        zone_countries.set(String::new());
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({
            "prices_include_tax": included.get_untracked(),
            "payment_methods": methods.get_untracked(),
            "bank_transfer_instructions": Some(bank.get_untracked()).filter(|b| !b.trim().is_empty()),
            "reservation_minutes": minutes.get_untracked().trim().parse::<u32>().ok(),
            "zones": zones.get_untracked(),
        });
        leptos::task::spawn_local(async move {
            match session
                .request::<_, serde_json::Value>(
                    Method::PUT,
                    &session.admin_path("/checkout-settings"),
                    Some(&body),
                )
                .await
            {
                Ok(stored) => {
                    failure.set(None);
                    done.set(true);
                    // New zones and methods come back with their ids: keep those.
                    if let Some(stored) = stored["zones"].as_array() {
                        zones.set(stored.clone());
                    }
                }
                Err(error) => {
                    done.set(false);
                    failure.set(Some(error));
                }
            }
        });
    };
    view! {
        <form on:submit=submit class="inline-form">
            <label class="check"><input type="checkbox" prop:checked=move || included.get() on:change=move |ev| included.set(event_target_checked(&ev))/>"Prices include tax"</label>
            <fieldset>
                <legend>"Payment methods"</legend>
                {PAYMENT_METHODS.into_iter().map(|(key, label)| view! {
                    <label class="check"><input type="checkbox"
                        prop:checked=move || methods.with(|m| m.iter().any(|x| x == key))
                        on:change=move |ev| methods.update(|m| if event_target_checked(&ev) { m.push(key.to_owned()) } else { m.retain(|x| x != key) })/>{label}</label>
                }).collect_view()}
            </fieldset>
            <TextArea id="bank-text" label="Bank transfer instructions" value=bank rows=3/>
            <Field id="reservation" label="Minutes an unpaid order holds its stock" value=minutes error=field_error(failure, "reservation_minutes")/>
            <h2>"Shipping zones"</h2>
            {move || zones.with(Vec::is_empty).then(|| view! { <p class="empty">"No zones: nothing can be shipped yet."</p> })}
            <ul data-test="zones">
                {move || zones.get().into_iter().enumerate().map(|(index, zone)| view! {
                    <li data-test="zone">
                        {format!("{} ({}) · tax {} bps · {}",
                            zone["name"].as_str().unwrap_or(""),
                            zone["countries"].as_array().map(|c| c.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default(),
                            zone["tax_bps"].as_u64().unwrap_or(0),
                            zone["methods"].as_array().map(|m| m.iter().filter_map(|x| x["name"].as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default())}
                        <button type="button" on:click=move |_| zones.update(|z| { z.remove(index); })>"Remove"</button>
                    </li>
                }).collect_view()}
            </ul>
            <fieldset>
                <legend>"Add a zone"</legend>
                <Field id="zone-name" label="Name" value=zone_name/>
                <Field id="zone-countries" label="Countries (ISO codes, comma-separated)" value=zone_countries/>
                <Field id="zone-tax" label="Tax (%)" value=zone_tax/>
                <Field id="zone-price" label="Delivery price (empty: pickup only)" value=zone_price/>
                <button type="button" on:click=add_zone>"Add zone"</button>
            </fieldset>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
            {move || done.get().then(|| view! { <p role="status" data-test="saved">"Saved."</p> })}
            <button type="submit" data-test="save-checkout">"Save settings"</button>
        </form>
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Account {
    account_id: String,
    charges_enabled: bool,
    payouts_enabled: bool,
    #[serde(default)]
    requirements_due: Vec<String>,
    #[serde(default)]
    url: Option<String>,
}

#[component]
pub fn Payments() -> impl IntoView {
    let session = use_session();
    let status = LocalResource::new(move || async move {
        session
            .get::<Account>(&session.admin_path("/payments/stripe"))
            .await
    });
    let failure = RwSignal::new(None::<Failure>);
    let onboard = move |_| {
        let path = session.admin_path("/payments/stripe/onboarding");
        let body = Some(serde_json::json!({}));
        session.act(
            Method::POST,
            path,
            body,
            failure,
            move |account: Account| {
                if let (Some(url), Some(window)) = (account.url, web_sys::window()) {
                    let _ = window.location().assign(&url);
                }
            },
        );
    };
    view! {
        <section>
            <h1>"Card payments"</h1>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || status.get().map(|result| match result {
                    Ok(account) => view! {
                        <dl data-test="stripe-status">
                            <dt>"Stripe account"</dt><dd>{account.account_id}</dd>
                            <dt>"Charges"</dt><dd>{if account.charges_enabled { "enabled" } else { "not yet" }}</dd>
                            <dt>"Payouts"</dt><dd>{if account.payouts_enabled { "enabled" } else { "not yet" }}</dd>
                        </dl>
                        {(!account.requirements_due.is_empty()).then(|| view! { <p>{format!("Stripe still needs: {}", account.requirements_due.join(", "))}</p> })}
                        <button type="button" on:click=onboard>"Continue on Stripe"</button>
                    }.into_any(),
                    Err(Failure { code: Some(techverse_shared::ErrorCode::NotFound), .. }) => view! {
                        <p class="empty">"Card payments are not set up. Stripe will ask for the business's details."</p>
                        <button type="button" data-test="connect-stripe" on:click=onboard>"Connect Stripe"</button>
                    }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
        </section>
    }
}
