//! Stripe.js, loaded from the URL the server gives (Stripe's own in production, PCI DSS), with
//! the store's connected account: a Payment Element mounted in the page (Stripe renders the
//! card fields in its own frame, so the card number never reaches our code or our server) and
//! `confirmPayment` without a redirect where the method allows it.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let function: Function = get(target, method)
        .dyn_into()
        .map_err(|_| format!("Stripe.js has no {method}"))?;
    let args: js_sys::Array = args.iter().collect();
    function
        .apply(target, &args)
        .map_err(|e| e.as_string().unwrap_or_else(|| format!("{method} failed")))
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// Adds Stripe.js to the page once and waits (up to 10 s) until `window.Stripe` exists.
pub async fn load(js_url: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let loaded = || !get(&window, "Stripe").is_undefined();
    if !loaded() {
        let document = window.document().ok_or("no document")?;
        if document.get_element_by_id("stripe-js").is_none() {
            let script = document
                .create_element("script")
                .map_err(|_| "cannot add Stripe.js")?;
            script.set_id("stripe-js");
            let _ = script.set_attribute("src", js_url);
            let body = document.body().ok_or("no body")?;
            body.append_child(&script)
                .map_err(|_| "cannot add Stripe.js")?;
        }
        for _ in 0..100 {
            if loaded() {
                break;
            }
            gloo_timers::future::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    if loaded() {
        Ok(())
    } else {
        Err("the card form could not be loaded; check your connection and try again".into())
    }
}

/// A mounted Payment Element.
#[derive(Clone)]
pub struct CardForm {
    stripe: JsValue,
    elements: JsValue,
}

/// Mounts the Payment Element for this PaymentIntent into the element with `container` id.
pub fn mount(
    publishable_key: &str,
    account: &str,
    client_secret: &str,
    container: &str,
) -> Result<CardForm, String> {
    let window: JsValue = web_sys::window().ok_or("no window")?.into();
    let constructor: Function = get(&window, "Stripe")
        .dyn_into()
        .map_err(|_| "Stripe.js is not loaded")?;
    let options = object(&[("stripeAccount", JsValue::from_str(account))]);
    let stripe = constructor
        .call2(
            &JsValue::NULL,
            &JsValue::from_str(publishable_key),
            &options,
        )
        .map_err(|_| "Stripe.js refused the publishable key")?;
    let elements = call(
        &stripe,
        "elements",
        &[object(&[(
            "clientSecret",
            JsValue::from_str(client_secret),
        )])],
    )?;
    let element = call(&elements, "create", &[JsValue::from_str("payment")])?;
    call(
        &element,
        "mount",
        &[JsValue::from_str(&format!("#{container}"))],
    )?;
    Ok(CardForm { stripe, elements })
}

impl CardForm {
    /// Confirms the payment; `Err` carries Stripe's message for the buyer (a declined card).
    pub async fn confirm(&self, return_url: &str) -> Result<(), String> {
        let params = object(&[
            ("elements", self.elements.clone()),
            ("redirect", JsValue::from_str("if_required")),
            (
                "confirmParams",
                object(&[("return_url", JsValue::from_str(return_url))]),
            ),
        ]);
        let promise: Promise = call(&self.stripe, "confirmPayment", &[params])?
            .dyn_into()
            .map_err(|_| "confirmPayment did not return a promise")?;
        let result = JsFuture::from(promise)
            .await
            .map_err(|_| "the payment could not be confirmed")?;
        let error = get(&result, "error");
        if error.is_undefined() || error.is_null() {
            Ok(())
        } else {
            Err(get(&error, "message")
                .as_string()
                .unwrap_or_else(|| "the payment was not accepted".into()))
        }
    }
}
