//! The HTTP client: same-origin by default (or the base URL in `<meta name="techverse-api">`),
//! the store's paths, the access token from memory, and errors as the API's stable codes.

use gloo_net::http::{Method, RequestBuilder};
use serde::{Serialize, de::DeserializeOwned};
use techverse_shared::{ApiErrorBody, ErrorCode};
use wasm_bindgen::JsCast;

/// A failed call: the API's code and message, or a network failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub code: Option<ErrorCode>,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl Failure {
    fn network(error: impl std::fmt::Display) -> Self {
        Self {
            code: None,
            message: format!("Could not reach the shop ({error}). Check your connection."),
            details: None,
        }
    }

    /// `(field, message)` for each field the API refused (`details.fields`).
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.details
            .as_ref()
            .and_then(|d| d.get("fields"))
            .and_then(|f| f.as_array())
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| {
                        Some((
                            f.get("field")?.as_str()?.to_owned(),
                            f.get("message")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What to show a shopper: written from the error code, never the raw server text.
    pub fn text(&self) -> String {
        let Some(code) = self.code else {
            return self.message.clone();
        };
        match code {
            ErrorCode::OutOfStock => {
                "Some items are no longer available in the quantity you asked for.".into()
            }
            ErrorCode::DiscountNotApplicable => {
                let reason = self
                    .details
                    .as_ref()
                    .and_then(|d| d.get("reason"))
                    .and_then(|r| r.as_str())
                    .unwrap_or("");
                match reason {
                    "unknown_code" => "That discount code does not exist.".into(),
                    "expired" => "That discount code has expired.".into(),
                    "not_started" => "That discount code is not valid yet.".into(),
                    "below_minimum" => "Your cart does not reach this code's minimum.".into(),
                    "used_up" | "used_by_customer" => "That discount code has been used up.".into(),
                    "nothing_eligible" => {
                        "That code does not apply to anything in your cart.".into()
                    }
                    _ => "That discount code cannot be used.".into(),
                }
            }
            ErrorCode::CartEmpty => "Your cart is empty.".into(),
            ErrorCode::ShippingUnavailable => {
                "We cannot ship to that address with this method.".into()
            }
            ErrorCode::PaymentMethodUnavailable => "That payment method is not available.".into(),
            ErrorCode::InvalidCredentials => "Email or password is wrong.".into(),
            ErrorCode::EmailTaken => {
                "An account with this email already exists. Sign in instead.".into()
            }
            ErrorCode::ValidationFailed => {
                let fields: Vec<String> = self
                    .field_errors()
                    .into_iter()
                    .map(|(field, message)| format!("{}: {message}", field.replace('_', " ")))
                    .collect();
                if fields.is_empty() {
                    "Please check the form.".into()
                } else {
                    format!("Please check: {}", fields.join("; "))
                }
            }
            ErrorCode::InvalidToken => "This link is invalid, used or expired.".into(),
            ErrorCode::AlreadyReviewed => "You have already reviewed this product.".into(),
            ErrorCode::RateLimited => "Too many requests; please wait a moment.".into(),
            ErrorCode::NotFound | ErrorCode::StoreNotFound => "Not found.".into(),
            ErrorCode::Unauthorized | ErrorCode::TokenExpired | ErrorCode::SessionRevoked => {
                "Please sign in again.".into()
            }
            ErrorCode::StorageUnavailable
            | ErrorCode::ServiceUnavailable
            | ErrorCode::InternalError => {
                "The shop is having trouble right now. Please try again.".into()
            }
            _ => "Something went wrong. Please try again.".into(),
        }
    }
}

pub type ApiResult<T> = Result<T, Failure>;

/// Where the API is: `<meta name="techverse-api" content="https://api.example">`, else here.
pub fn api_base() -> String {
    meta("techverse-api")
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned()
}

/// The content of a `<meta name=…>` tag, if present and not empty.
pub fn meta(name: &str) -> Option<String> {
    let document = web_sys::window()?.document()?;
    let element = document
        .query_selector(&format!("meta[name=\"{name}\"]"))
        .ok()??;
    element
        .get_attribute("content")
        .filter(|content| !content.trim().is_empty())
}

/// One request: JSON in and out, with the bearer token and extra headers given.
pub async fn call<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&B>,
    bearer: Option<&str>,
    headers: &[(&str, &str)],
) -> ApiResult<T> {
    parse(&send(method, path, encode(body)?, bearer, headers).await?)
}

/// A request body as JSON text.
pub fn encode<B: Serialize>(body: Option<&B>) -> ApiResult<Option<String>> {
    body.map(serde_json::to_string)
        .transpose()
        .map_err(Failure::network)
}

/// The request itself, the same code whatever the body and answer types (each generic
/// `call` adds only its serde): the 2xx body's text, or the API's error.
pub async fn send(
    method: Method,
    path: &str,
    body: Option<String>,
    bearer: Option<&str>,
    headers: &[(&str, &str)],
) -> ApiResult<String> {
    let url = format!("{}{path}", api_base());
    if method == Method::GET
        && bearer.is_none()
        && let Some(response) = early(&url).await
    {
        return answer(response).await;
    }
    let mut request = RequestBuilder::new(&url)
        .method(method)
        .credentials(web_sys::RequestCredentials::Include)
        .header("Accept", "application/json");
    if let Some(token) = bearer {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = match body {
        Some(body) => {
            request
                .header("Content-Type", "application/json")
                .body(body)
                .map_err(Failure::network)?
                .send()
                .await
        }
        None => request.send().await,
    }
    .map_err(Failure::network)?;
    answer(response).await
}

/// A 2xx body as `T` (an empty body reads as `null`).
pub fn parse<T: DeserializeOwned>(text: &str) -> ApiResult<T> {
    let text = if text.is_empty() { "null" } else { text };
    serde_json::from_str(text).map_err(|e| Failure {
        code: None,
        message: format!("Unexpected answer from the shop ({e})."),
        details: None,
    })
}

/// A multipart upload of `file` in the field `file` (the browser writes the boundary).
pub async fn upload<T: DeserializeOwned>(
    path: &str,
    file: &web_sys::File,
    bearer: Option<&str>,
) -> ApiResult<T> {
    parse(&answer(post_file(path, file, bearer, "application/json").await?).await?)
}

/// An upload answered as JSON lines (`application/x-ndjson`): each line goes to `line` as it
/// arrives (progress, then the outcome).
pub async fn upload_lines(
    path: &str,
    file: &web_sys::File,
    bearer: Option<&str>,
    mut line: impl FnMut(serde_json::Value),
) -> ApiResult<()> {
    use wasm_bindgen::JsCast;
    let response = post_file(path, file, bearer, "application/x-ndjson").await?;
    if !response.ok() {
        return answer(response).await.map(drop);
    }
    let reader = response
        .body()
        .and_then(|body| {
            body.get_reader()
                .dyn_into::<web_sys::ReadableStreamDefaultReader>()
                .ok()
        })
        .ok_or_else(|| Failure::network("no response body"))?;
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let chunk = wasm_bindgen_futures::JsFuture::from(reader.read())
            .await
            .map_err(|_| Failure::network("the answer was cut off"))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into())
            && let Ok(bytes) = value.dyn_into::<js_sys::Uint8Array>()
        {
            pending.extend(bytes.to_vec());
        }
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let text: Vec<u8> = pending.drain(..=end).collect();
            if let Ok(value) = serde_json::from_slice(&text) {
                line(value);
            }
        }
        if done {
            return Ok(());
        }
    }
}

async fn post_file(
    path: &str,
    file: &web_sys::File,
    bearer: Option<&str>,
    accept: &str,
) -> ApiResult<gloo_net::http::Response> {
    let form = web_sys::FormData::new().map_err(|_| Failure::network("no FormData"))?;
    form.append_with_blob_and_filename("file", file, &file.name())
        .map_err(|_| Failure::network("unreadable file"))?;
    let mut request = RequestBuilder::new(&format!("{}{path}", api_base()))
        .method(Method::POST)
        .credentials(web_sys::RequestCredentials::Include)
        .header("Accept", accept);
    if let Some(token) = bearer {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    request
        .body(form)
        .map_err(Failure::network)?
        .send()
        .await
        .map_err(Failure::network)
}

/// A 2xx response's text, or the API's error.
/// The answer to `url` the page's boot script fetched early (`window.techverseEarly`, a `Map`
/// of URL → `Promise<Response>`; see `frontend/boot.js`), while the app's code was still
/// downloading: taken once. `None` when it has none or its fetch failed: then the app asks.
/// Only anonymous `GET`s of public data are fetched early, so the answer is the one this
/// request would get.
async fn early(url: &str) -> Option<gloo_net::http::Response> {
    let window = web_sys::window()?;
    let pending = js_sys::Reflect::get(&window, &"techverseEarly".into()).ok()?;
    let pending = pending.dyn_into::<js_sys::Map>().ok()?;
    let promise = pending
        .get(&url.into())
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    pending.delete(&url.into());
    let response = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let response = response.dyn_into::<web_sys::Response>().ok()?;
    Some(gloo_net::http::Response::from(response))
}

/// Drops the early answers not taken: after the first page has loaded they may be stale.
pub fn forget_early() {
    if let Some(window) = web_sys::window() {
        let _ = js_sys::Reflect::delete_property(&window, &"techverseEarly".into());
    }
}

async fn answer(response: gloo_net::http::Response) -> ApiResult<String> {
    let status = response.status();
    let text = response.text().await.map_err(Failure::network)?;
    if (200..300).contains(&status) {
        return Ok(text);
    }
    match serde_json::from_str::<ApiErrorBody>(&text) {
        Ok(body) => Err(Failure {
            code: Some(body.error.code),
            message: body.error.message,
            details: body.error.details,
        }),
        Err(_) => Err(Failure::network(format!("HTTP {status}"))),
    }
}

/// The socket URL of the API (`wss://…/api/v1/ws`), same origin unless the page names another.
pub fn socket_url(ticket: &str) -> Option<String> {
    let base = api_base();
    let base = if base.is_empty() {
        let location = web_sys::window()?.location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}", location.host().ok()?)
    } else {
        base.replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    };
    Some(format!("{base}/api/v1/ws?ticket={ticket}"))
}

/// A query string from pairs, each value percent-encoded.
pub fn query(pairs: &[(String, String)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            format!(
                "{}={}",
                js_sys::encode_uri_component(k),
                js_sys::encode_uri_component(v)
            )
        })
        .collect();
    if encoded.is_empty() {
        String::new()
    } else {
        format!("?{}", encoded.join("&"))
    }
}
