//! The API's OpenAPI 3.1 document, generated from the code: each resource module documents its
//! handlers with `#[utoipa::path]` (paths relative to `/api/v1`, as its routes are registered)
//! and gathers them in a `Doc`; [`document`] nests them all under `/api/v1` and adds what every
//! operation shares: the security schemes, the error envelope and the error answers any route
//! can give (a bad parameter, a rate limit, storage down…), so each handler lists only its own.
//!
//! utoipa because it derives schemas from the same serde types the handlers use (the DTOs of
//! `techverse-shared` with its `openapi` feature), so a renamed field changes the document, and
//! it needs no runtime reflection. Served at `GET /api/v1/openapi.json`; Swagger UI, embedded
//! in the binary, renders it at `/api/docs/`.

use std::sync::OnceLock;

use actix_web::{HttpResponse, http::header, web};
use techverse_shared::ApiErrorBody;
use utoipa::{
    IntoParams, Modify, OpenApi, PartialSchema, ToSchema,
    openapi::{
        self, Components, Ref, RefOr,
        header::HeaderBuilder,
        path::Operation,
        response::{Response, ResponseBuilder},
        schema::{ObjectBuilder, Type},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::routes::{self, table::resource};

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "TechVerse API",
        description = "The multi-tenant commerce API behind every TechVerse store: the public \
            catalogue, carts and checkout, customer and staff accounts, the merchant admin, \
            payments, the live feed and the platform console. Money is always \
            `{minor, currency}`: an integer count of the currency's minor units. Errors are \
            `{\"error\": {code, message, details}}` with a stable `code`.",
        license(name = "MIT"),
    ),
    paths(openapi_json),
    modifiers(&Shared),
)]
struct Root;

/// The API's OpenAPI document.
pub fn document() -> openapi::OpenApi {
    let mut doc = Root::openapi();
    for (module, part) in [
        ("stores", routes::stores::Doc::openapi()),
        ("auth", routes::auth::Doc::openapi()),
        ("customers", routes::customers::Doc::openapi()),
        ("catalog", routes::catalog::Doc::openapi()),
        ("catalog_admin", routes::catalog_admin::Doc::openapi()),
        ("shop", routes::shop::Doc::openapi()),
        ("orders_admin", routes::orders_admin::Doc::openapi()),
        ("media", routes::media::Doc::openapi()),
        ("payments", routes::payments::Doc::openapi()),
        ("live", routes::live::Doc::openapi()),
        ("platform", routes::platform::Doc::openapi()),
        ("staff", routes::staff::Doc::openapi()),
        ("webhooks", routes::webhooks::Doc::openapi()),
    ] {
        doc.merge(named(module, part));
    }
    let mut doc =
        openapi::OpenApi::new(doc.info.clone(), openapi::Paths::new()).nest("/api/v1", doc);
    Shared.modify(&mut doc);
    doc
}

/// A module's operations with ids unique in the document: `<module>.<handler>`.
fn named(module: &str, mut part: openapi::OpenApi) -> openapi::OpenApi {
    for item in part.paths.paths.values_mut() {
        for operation in operations(item) {
            if let Some(id) = &operation.operation_id {
                operation.operation_id = Some(format!("{module}.{id}"));
            }
        }
    }
    part
}

/// The document as JSON, built once.
fn document_json() -> &'static [u8] {
    static JSON: OnceLock<Vec<u8>> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_vec(&document()).unwrap_or_default())
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(DOCUMENT_PATH).get(openapi_json));
}

/// The Swagger UI page at `/api/docs/`, reading [`DOCUMENT_PATH`]; its assets come from the
/// binary. No validator badge (it would call out to swagger.io).
pub fn docs_page() -> utoipa_swagger_ui::SwaggerUi {
    let config = utoipa_swagger_ui::Config::from(format!("/api/v1{DOCUMENT_PATH}"))
        .validator_url("none")
        .try_it_out_enabled(true)
        .persist_authorization(false);
    utoipa_swagger_ui::SwaggerUi::new("/api/docs/{_:.*}").config(config)
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", content_type = "application/json", body = Object)),
)]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(document_json())
}

/// A list answer: `{"items": [...]}`.
#[derive(ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// The `{store}` path parameter of every store-scoped route.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StorePath {
    /// The store's slug.
    #[param(value_type = String, min_length = 3, max_length = 40, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", example = "demo")]
    pub store: String,
}

/// The `Idempotency-Key` header of the requests that create something once.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// A client-chosen key (1–255 printable ASCII characters). A retry with the same key and
    /// body gets the first answer again (with `Idempotent-Replayed: true`); the same key with
    /// another body is refused with 422 `idempotency_key_reused`.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 255)]
    pub key: Option<String>,
}

/// The security schemes, the shared schemas and responses, and the error answers every
/// operation can give.
struct Shared;

/// An error answer: the envelope, and for 429 and 503 when to retry.
fn error_response(description: &str, retry: bool) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        openapi::content::ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ApiErrorBody")))
            .build(),
    );
    for (name, header) in rate_limit_headers() {
        response = response.header(name, header);
    }
    if retry {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                ))
                .description(Some("Seconds to wait before retrying."))
                .build(),
        );
    }
    response.build()
}

/// `(status, component name, description, retry)` of the error answers.
const ERRORS: &[(&str, &str, &str, bool)] = &[
    (
        "400",
        "BadRequest",
        "A path, query or header value is malformed (`bad_request`, `invalid_json`, `invalid_token`, `invalid_signature`).",
        false,
    ),
    (
        "401",
        "Unauthorized",
        "Credentials are missing, wrong or expired (`unauthorized`, `invalid_credentials`, `token_expired`, `session_revoked`).",
        false,
    ),
    (
        "403",
        "Forbidden",
        "The caller may not do this (`forbidden`, `email_not_verified`, `store_suspended`, `csrf_failed`).",
        false,
    ),
    (
        "404",
        "NotFound",
        "The store or the thing named in the path does not exist (`not_found`, `store_not_found`).",
        false,
    ),
    (
        "409",
        "Conflict",
        "The request conflicts with the current state (the code says how).",
        false,
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the server accepts (`payload_too_large`).",
        false,
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body's content type is not one this route takes (`unsupported_media_type`).",
        false,
    ),
    (
        "422",
        "Unprocessable",
        "A field is missing, of the wrong type or out of range (`validation_failed`, with `details.fields`), or the request cannot be carried out as asked (the code says why).",
        false,
    ),
    (
        "429",
        "TooManyRequests",
        "Too many requests (`rate_limited`), or too many unpaid orders open (`too_many_open_orders`).",
        true,
    ),
    (
        "503",
        "ServiceUnavailable",
        "A dependency is unreachable right now (`storage_unavailable`, `service_unavailable`, `payment_provider_unavailable`).",
        true,
    ),
];

impl Modify for Shared {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Components::new);
        add_security_schemes(components);
        components
            .schemas
            .insert("ApiErrorBody".into(), ApiErrorBody::schema());
        let mut schemas = Vec::new();
        ApiErrorBody::schemas(&mut schemas);
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
        for (_, name, description, retry) in ERRORS {
            components.responses.insert(
                (*name).into(),
                RefOr::T(error_response(description, *retry)),
            );
        }
        for item in doc.paths.paths.values_mut() {
            for operation in operations(item) {
                add_error_answers(operation);
                add_rate_limit_headers(operation);
            }
        }
    }
}

/// `RateLimit-Limit`, `-Remaining` and `-Reset`: the tightest limit that counted the request
/// (every `/api/` answer the limiter saw; not required, since an answer refused before the
/// limiter ran has none).
fn rate_limit_headers() -> [(&'static str, openapi::header::Header); 3] {
    let header = |description: &str| {
        HeaderBuilder::new()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            ))
            .description(Some(description))
            .build()
    };
    [
        (
            "RateLimit-Limit",
            header("Requests allowed in the window of the tightest limit that applied."),
        ),
        (
            "RateLimit-Remaining",
            header("Requests left in that window."),
        ),
        (
            "RateLimit-Reset",
            header("Seconds until that window starts again."),
        ),
    ]
}

/// Adds the rate-limit headers to the operation's own answers (the shared error answers have
/// them already).
fn add_rate_limit_headers(operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            for (name, header) in rate_limit_headers() {
                response
                    .headers
                    .entry(name.into())
                    .or_insert(RefOr::T(header));
            }
        }
    }
}

fn add_security_schemes(components: &mut Components) {
    let bearer = |what: &str| {
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(what))
                .build(),
        )
    };
    let header = |name: &str, what: &str| {
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, what)))
    };
    components.add_security_scheme(
        "staff",
        bearer("A staff access token from `POST /api/v1/auth/login` or `/auth/refresh`."),
    );
    components.add_security_scheme(
        "customer",
        bearer(
            "A customer access token from `POST /api/v1/stores/{store}/auth/login`; valid in \
             that store only.",
        ),
    );
    components.add_security_scheme(
        "platform",
        bearer("A platform administrator's staff access token."),
    );
    components.add_security_scheme(
        "cart_token",
        header(
            "X-Cart-Token",
            "The secret of a guest cart, returned when the cart is created.",
        ),
    );
    components.add_security_scheme(
        "order_token",
        header(
            "X-Order-Token",
            "The secret of a guest's order, returned by the checkout.",
        ),
    );
}

fn operations(item: &mut openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// Adds the answers any operation of its kind can give, unless it documents them itself.
fn add_error_answers(operation: &mut Operation) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let body = operation.request_body.is_some();
    let params = operation
        .parameters
        .as_ref()
        .is_some_and(|parameters| !parameters.is_empty());
    for (status, name, _, _) in ERRORS {
        let applies = match *status {
            "401" | "403" => secured,
            "413" | "415" => body,
            "422" => body || params,
            "409" => false,
            _ => true,
        };
        if applies {
            operation
                .responses
                .responses
                .entry((*status).into())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
        }
    }
}

/// Which HTTP methods the document gives `path` (relative to `/api/v1`), upper case.
pub fn documented(doc: &openapi::OpenApi) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in &doc.paths.paths {
        let Some(relative) = path.strip_prefix("/api/v1") else {
            continue;
        };
        for (method, operation) in [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ] {
            if operation.is_some() {
                found.push((method.to_owned(), relative.to_owned()));
            }
        }
    }
    found.sort();
    found
}
