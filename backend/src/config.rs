//! Typed, layered configuration: built-in defaults < optional TOML file < `TECHVERSE_*`
//! environment variables. Loaded once in `main` and passed down; nothing reads the environment
//! later.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use figment::{
    Figment,
    providers::{Format, Serialized, Toml},
    value::{Dict, Value},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::storage::faults::Faults;

/// The environment variable prefix. `TECHVERSE_LISTEN_ADDR` sets `listen_addr`, and so on.
pub const ENV_PREFIX: &str = "TECHVERSE_";
/// Config file read when `--config`/`TECHVERSE_CONFIG` is not given and this file exists.
pub const DEFAULT_CONFIG_FILE: &str = "techverse.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server binds. Port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// Where the embedded database, outgoing mail and media live.
    pub data_dir: PathBuf,
    /// The built storefront (`frontend/dist`) served for every non-API path; empty: no
    /// storefront (API only).
    pub static_dir: String,
    /// MongoDB connection string; when set, MongoDB replaces the embedded store.
    pub mongodb_uri: Option<SecretString>,
    /// Database used when the URI names none.
    pub mongodb_database: String,
    /// Redis URL; when set, Redis backs the shared layers and `/ready` checks it.
    pub redis_url: Option<SecretString>,
    /// Key prefix for everything this deployment writes to Redis.
    pub redis_key_prefix: String,
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info` or `techverse=debug,actix_web=info`.
    pub log_level: String,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// How long in-flight requests may run after SIGTERM/SIGINT before being cut.
    pub shutdown_timeout_secs: u64,
    /// HTTP worker threads; 0 means one per CPU core.
    pub http_workers: usize,
    /// Bearer token for the operator API under `/api/v1/platform`; unset disables that API.
    pub platform_api_token: Option<SecretString>,
    /// JWT signing keys as `kid:secret` pairs separated by commas; the first signs, all verify
    /// (rotate by putting a new key first and dropping the old one after the access-token
    /// lifetime). Secrets need 32+ bytes. Unset: a key is generated once under the data dir.
    pub jwt_keys: Option<SecretString>,
    /// Lifetime of an access token.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh session since its last use.
    pub refresh_ttl_secs: u64,
    /// For this long after a refresh, the refresh token it replaced returns the same new pair
    /// instead of counting as reuse (concurrent refreshes from one client).
    pub refresh_grace_secs: u64,
    /// Lifetime of an email-verification link.
    pub verify_email_ttl_secs: u64,
    /// Lifetime of a password-reset link.
    pub password_reset_ttl_secs: u64,
    /// Lifetime of a staff invitation.
    pub invitation_ttl_secs: u64,
    /// A cart expires after this many hours without use.
    pub cart_ttl_hours: u32,
    /// How often the sweeper expires overdue unpaid orders and deletes expired carts.
    pub order_sweep_interval_secs: u64,
    /// A checkout that has not stored its order this long after it started is taken as dead
    /// (its process crashed mid-saga, MongoDB only): the sweeper gives back what it held.
    /// Keep it well above the longest checkout request.
    pub checkout_repair_age_secs: u64,
    /// A request waits this long for the embedded database before it answers 503 (a stalled
    /// disk must not hang connections).
    pub storage_timeout_ms: u64,
    /// Where this process runs: `development`, `test` or `production`. Test-only switches
    /// (such as `fault_plan`) are refused outside `test`.
    pub environment: Environment,
    /// Test-only storage faults, e.g. `abort@reserve.1` (see `storage::faults`); refused
    /// unless `environment` is `test`.
    pub fault_plan: Option<String>,
    /// Staff must verify their email before opening more stores or inviting staff.
    pub require_verified_email: bool,
    /// Unpaid orders one buyer (email or customer) may have open in a store at once.
    pub max_open_orders_per_buyer: u32,
    /// Unpaid orders one client address may have open in a store at once.
    pub max_open_orders_per_address: u32,
    /// SMTP server for outgoing mail (`smtp://host:port`, `smtps://user:pass@host`); unset
    /// writes each message as an `.eml` file under `<data_dir>/mail`.
    pub smtp_url: Option<SecretString>,
    /// Sender of outgoing mail.
    pub mail_from: String,
    /// Public base URL of the storefront and admin, used in links inside mail.
    pub public_url: String,
    /// Browser origins allowed to call the API cross-origin, comma separated; empty denies all.
    pub cors_allowed_origins: String,
    /// The Content-Security-Policy of the storefront and admin apps served by this binary.
    pub content_security_policy: String,
    /// `Strict-Transport-Security` max-age, sent when `public_url` is https; 0 sends none.
    pub hsts_max_age_secs: u64,
    /// Requests per minute per client IP, across the API.
    pub rate_limit_ip_per_minute: u32,
    /// Requests per minute per signed-in account.
    pub rate_limit_user_per_minute: u32,
    /// Storefront requests per minute per store, so one busy store cannot starve the others.
    pub rate_limit_store_per_minute: u32,
    /// Storefront requests per minute per client IP in one store (checked first, so an abuser
    /// is refused before it spends the store's budget).
    pub rate_limit_store_ip_per_minute: u32,
    /// Admin requests per minute per store (a budget of its own: shoppers never spend it).
    pub rate_limit_store_staff_per_minute: u32,
    /// Login attempts per minute per client IP.
    pub rate_limit_login_per_minute: u32,
    /// Emailed links (password reset, verification) one account may be sent per hour; more
    /// requests are answered as usual and send nothing.
    pub rate_limit_account_mail_per_hour: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// How many proxies of ours append to `X-Forwarded-For` (ALB alone: 1; CloudFront in
    /// front of the ALB: 2); the client is that many entries from the right.
    pub trusted_proxy_hops: u32,
    /// argon2id memory cost in KiB (OWASP: 19456) and iterations (2).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Memory password hashing may use at once (MiB): hashes beyond it (and beyond two per
    /// core) wait briefly in line, then get 503 with `Retry-After`.
    pub password_hash_budget_mib: u32,
    /// The platform's Stripe secret key (`sk_…`). Unset: card payment is not offered.
    pub stripe_secret_key: Option<SecretString>,
    /// The platform's publishable key (`pk_…`), handed to Stripe.js in the browser.
    pub stripe_publishable_key: Option<String>,
    /// Webhook signing secrets (`whsec_…`), comma separated; a signature by any of them is
    /// accepted, so a secret can be rotated.
    pub stripe_webhook_secrets: Option<SecretString>,
    /// Stripe's API (tests point it at a local fake).
    pub stripe_api_base: String,
    /// Where the storefront loads Stripe.js from (PCI DSS wants Stripe's own in production).
    pub stripe_js_url: String,
    /// The platform's fee on each card payment, in basis points of the amount.
    pub stripe_application_fee_bps: u32,
    /// How often the reconciler checks unsettled card payments against Stripe (0: never).
    pub stripe_reconcile_interval_secs: u64,
    /// A card payment is left to its webhook this long before the reconciler asks Stripe.
    pub stripe_reconcile_min_age_secs: u64,
    /// How often event consumers look for events other instances committed (this instance's
    /// own commits wake them at once).
    pub events_poll_ms: u64,
    /// Open WebSockets this instance holds at most, in all.
    pub ws_max_sockets: usize,
    /// … per account (a staff member, a customer, a guest's order).
    pub ws_max_per_account: usize,
    /// … per client address.
    pub ws_max_per_ip: usize,
    /// Events waiting for one socket before it counts as too slow and is closed (1013).
    pub ws_queue: usize,
    /// Merchant webhooks may target plain `http://` URLs (local development only).
    pub webhooks_allow_insecure: bool,
    /// Merchant webhooks may target loopback and private addresses (local development and
    /// tests only: this turns the SSRF guard off).
    pub webhooks_allow_private_targets: bool,
    /// Waits between a failed webhook delivery and its next attempt, e.g. `5s,1m,2h`.
    pub webhooks_retry_schedule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Test,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable when stdout is a terminal, JSON otherwise.
    Auto,
    Json,
    Pretty,
}

/// The apps' policy: our own scripts, styles, images and API only; wasm may compile
/// (`'wasm-unsafe-eval'`); no inline script, no plugins, no framing by other sites.
pub const DEFAULT_APP_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The built-in defaults: the product runs with no configuration at all.
#[derive(Serialize)]
struct Defaults {
    listen_addr: &'static str,
    data_dir: &'static str,
    static_dir: &'static str,
    mongodb_database: &'static str,
    redis_key_prefix: &'static str,
    log_format: LogFormat,
    log_level: &'static str,
    body_limit_bytes: usize,
    shutdown_timeout_secs: u64,
    http_workers: usize,
    access_token_ttl_secs: u64,
    refresh_ttl_secs: u64,
    refresh_grace_secs: u64,
    verify_email_ttl_secs: u64,
    password_reset_ttl_secs: u64,
    invitation_ttl_secs: u64,
    cart_ttl_hours: u32,
    order_sweep_interval_secs: u64,
    checkout_repair_age_secs: u64,
    storage_timeout_ms: u64,
    environment: Environment,
    require_verified_email: bool,
    max_open_orders_per_buyer: u32,
    max_open_orders_per_address: u32,
    mail_from: &'static str,
    public_url: &'static str,
    cors_allowed_origins: &'static str,
    content_security_policy: &'static str,
    hsts_max_age_secs: u64,
    rate_limit_ip_per_minute: u32,
    rate_limit_user_per_minute: u32,
    rate_limit_store_per_minute: u32,
    rate_limit_store_ip_per_minute: u32,
    rate_limit_store_staff_per_minute: u32,
    rate_limit_login_per_minute: u32,
    rate_limit_account_mail_per_hour: u32,
    trust_forwarded_for: bool,
    trusted_proxy_hops: u32,
    argon2_memory_kib: u32,
    argon2_iterations: u32,
    password_hash_budget_mib: u32,
    stripe_api_base: &'static str,
    stripe_js_url: &'static str,
    stripe_application_fee_bps: u32,
    stripe_reconcile_interval_secs: u64,
    stripe_reconcile_min_age_secs: u64,
    events_poll_ms: u64,
    ws_max_sockets: usize,
    ws_max_per_account: usize,
    ws_max_per_ip: usize,
    ws_queue: usize,
    webhooks_allow_insecure: bool,
    webhooks_allow_private_targets: bool,
    webhooks_retry_schedule: &'static str,
}

const DEFAULTS: Defaults = Defaults {
    listen_addr: "127.0.0.1:8080",
    data_dir: "./data",
    static_dir: "frontend/dist",
    mongodb_database: "techverse",
    redis_key_prefix: "techverse:",
    log_format: LogFormat::Auto,
    log_level: "info",
    body_limit_bytes: 1024 * 1024,
    shutdown_timeout_secs: 30,
    http_workers: 0,
    access_token_ttl_secs: 15 * 60,
    refresh_ttl_secs: 30 * 24 * 3600,
    refresh_grace_secs: 30,
    verify_email_ttl_secs: 24 * 3600,
    password_reset_ttl_secs: 3600,
    invitation_ttl_secs: 7 * 24 * 3600,
    cart_ttl_hours: 30 * 24,
    order_sweep_interval_secs: 30,
    checkout_repair_age_secs: 600,
    storage_timeout_ms: 10_000,
    environment: Environment::Development,
    require_verified_email: true,
    max_open_orders_per_buyer: 3,
    max_open_orders_per_address: 10,
    mail_from: "TechVerse <no-reply@techverse.local>",
    public_url: "http://localhost:8080",
    cors_allowed_origins: "",
    content_security_policy: DEFAULT_APP_CSP,
    hsts_max_age_secs: 63_072_000,
    rate_limit_ip_per_minute: 600,
    rate_limit_user_per_minute: 600,
    rate_limit_store_per_minute: 3000,
    rate_limit_store_ip_per_minute: 300,
    rate_limit_store_staff_per_minute: 3000,
    rate_limit_login_per_minute: 20,
    rate_limit_account_mail_per_hour: 5,
    trust_forwarded_for: false,
    trusted_proxy_hops: 1,
    argon2_memory_kib: 19 * 1024,
    argon2_iterations: 2,
    password_hash_budget_mib: 128,
    stripe_api_base: "https://api.stripe.com",
    stripe_js_url: "https://js.stripe.com/v3/",
    stripe_application_fee_bps: 0,
    stripe_reconcile_interval_secs: 300,
    stripe_reconcile_min_age_secs: 300,
    events_poll_ms: 500,
    ws_max_sockets: 20_000,
    ws_max_per_account: 20,
    ws_max_per_ip: 200,
    ws_queue: 256,
    webhooks_allow_insecure: false,
    webhooks_allow_private_targets: false,
    webhooks_retry_schedule: crate::domain::webhook::DEFAULT_SCHEDULE,
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
}

/// Settings that may come from the environment, as `TECHVERSE_<NAME>`.
pub const ENV_KEYS: &[&str] = &[
    "listen_addr",
    "data_dir",
    "static_dir",
    "mongodb_uri",
    "mongodb_database",
    "redis_url",
    "redis_key_prefix",
    "log_format",
    "log_level",
    "body_limit_bytes",
    "shutdown_timeout_secs",
    "http_workers",
    "platform_api_token",
    "jwt_keys",
    "access_token_ttl_secs",
    "refresh_ttl_secs",
    "refresh_grace_secs",
    "verify_email_ttl_secs",
    "password_reset_ttl_secs",
    "invitation_ttl_secs",
    "cart_ttl_hours",
    "order_sweep_interval_secs",
    "checkout_repair_age_secs",
    "storage_timeout_ms",
    "environment",
    "fault_plan",
    "require_verified_email",
    "max_open_orders_per_buyer",
    "max_open_orders_per_address",
    "smtp_url",
    "mail_from",
    "public_url",
    "cors_allowed_origins",
    "content_security_policy",
    "hsts_max_age_secs",
    "rate_limit_ip_per_minute",
    "rate_limit_user_per_minute",
    "rate_limit_store_per_minute",
    "rate_limit_store_ip_per_minute",
    "rate_limit_store_staff_per_minute",
    "rate_limit_login_per_minute",
    "rate_limit_account_mail_per_hour",
    "trust_forwarded_for",
    "trusted_proxy_hops",
    "argon2_memory_kib",
    "argon2_iterations",
    "password_hash_budget_mib",
    "stripe_secret_key",
    "stripe_publishable_key",
    "stripe_webhook_secrets",
    "stripe_api_base",
    "stripe_js_url",
    "stripe_application_fee_bps",
    "stripe_reconcile_interval_secs",
    "stripe_reconcile_min_age_secs",
    "events_poll_ms",
    "ws_max_sockets",
    "ws_max_per_account",
    "ws_max_per_ip",
    "ws_queue",
    "webhooks_allow_insecure",
    "webhooks_allow_private_targets",
    "webhooks_retry_schedule",
];

/// Numeric settings: their environment values are parsed as numbers, every other value stays a
/// string (so a token such as `12345` is not turned into a number).
const NUMERIC_KEYS: &[&str] = &[
    "body_limit_bytes",
    "shutdown_timeout_secs",
    "http_workers",
    "access_token_ttl_secs",
    "refresh_ttl_secs",
    "refresh_grace_secs",
    "verify_email_ttl_secs",
    "password_reset_ttl_secs",
    "invitation_ttl_secs",
    "cart_ttl_hours",
    "order_sweep_interval_secs",
    "checkout_repair_age_secs",
    "storage_timeout_ms",
    "hsts_max_age_secs",
    "max_open_orders_per_buyer",
    "max_open_orders_per_address",
    "rate_limit_ip_per_minute",
    "rate_limit_user_per_minute",
    "rate_limit_store_per_minute",
    "rate_limit_store_ip_per_minute",
    "rate_limit_store_staff_per_minute",
    "rate_limit_login_per_minute",
    "rate_limit_account_mail_per_hour",
    "trusted_proxy_hops",
    "argon2_memory_kib",
    "argon2_iterations",
    "password_hash_budget_mib",
    "stripe_application_fee_bps",
    "stripe_reconcile_interval_secs",
    "stripe_reconcile_min_age_secs",
    "events_poll_ms",
    "ws_max_sockets",
    "ws_max_per_account",
    "ws_max_per_ip",
    "ws_queue",
];

/// Boolean settings: `true`/`false` (also `1`/`0`, `yes`/`no`) in the environment.
const BOOL_KEYS: &[&str] = &[
    "require_verified_email",
    "trust_forwarded_for",
    "webhooks_allow_insecure",
    "webhooks_allow_private_targets",
];

/// Turns `TECHVERSE_*` variables into a config layer. Other variables (including
/// `TECHVERSE_CONFIG` and test-only ones such as `TECHVERSE_TEST_MONGODB_URI`) are ignored, and
/// an empty value means "unset".
fn env_layer<I>(env: I) -> Dict
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut layer = Dict::new();
    for (key, value) in env {
        let Some(name) = key.strip_prefix(ENV_PREFIX).map(str::to_ascii_lowercase) else {
            continue;
        };
        if value.is_empty() || !ENV_KEYS.contains(&name.as_str()) {
            continue;
        }
        let flag = match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        };
        let value = match (value.trim().parse::<u64>(), flag) {
            (Ok(number), _) if NUMERIC_KEYS.contains(&name.as_str()) => Value::from(number),
            (_, Some(flag)) if BOOL_KEYS.contains(&name.as_str()) => Value::from(flag),
            _ => Value::from(value),
        };
        layer.insert(name, value);
    }
    layer
}

impl Settings {
    /// Loads the layers. `file` is an explicit config file (it must exist); without one,
    /// `techverse.toml` in the working directory is read if present. `env` is the list of
    /// environment variables to consider, so tests never touch the process environment.
    pub fn load<I>(file: Option<&Path>, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut figment = Figment::from(Serialized::defaults(DEFAULTS));
        match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.into())),
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        figment = figment.merge(Serialized::defaults(env_layer(env)));
        figment
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))
    }

    /// Loads from the real process environment (what `main` calls).
    pub fn from_env(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load(file, std::env::vars())
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }

    /// Origins allowed by CORS.
    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Where the file mailer writes `.eml` files.
    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// The webhook secrets, each trimmed, empty ones dropped.
    pub fn stripe_webhook_secrets(&self) -> Vec<String> {
        use secrecy::ExposeSecret;
        self.stripe_webhook_secrets
            .as_ref()
            .map(|all| {
                all.expose_secret()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The Content-Security-Policy the apps are served with: the configured one, with Stripe.js
    /// allowed (script, its frames and its API) when card payments are on and the policy is the
    /// default.
    pub fn app_csp(&self) -> String {
        if self.content_security_policy != DEFAULT_APP_CSP || self.stripe_secret_key.is_none() {
            return self.content_security_policy.clone();
        }
        let js = origin_of(&self.stripe_js_url);
        let api = origin_of(&self.stripe_api_base);
        DEFAULT_APP_CSP
            .replace(
                "script-src 'self' 'wasm-unsafe-eval'",
                &format!("script-src 'self' 'wasm-unsafe-eval' {js}"),
            )
            .replace(
                "connect-src 'self'",
                &format!("connect-src 'self' {js} {api}"),
            )
            .replace(
                "object-src 'none'",
                &format!("frame-src {js} https://hooks.stripe.com; object-src 'none'"),
            )
    }

    /// The storage fault plan: none unless configured, and refused outside tests.
    pub fn faults(&self) -> Result<Faults, String> {
        let Some(plan) = self.fault_plan.as_deref().filter(|p| !p.trim().is_empty()) else {
            return Ok(Faults::default());
        };
        if self.environment != Environment::Test {
            return Err(format!(
                "TECHVERSE_FAULT_PLAN injects storage failures and is for tests only; it is \
                 refused in the {:?} environment (set TECHVERSE_ENVIRONMENT=test)",
                self.environment
            ));
        }
        plan.parse()
            .map_err(|error| format!("TECHVERSE_FAULT_PLAN: {error}"))
    }

    /// A checkout older than this with no order is dead (see `checkout_repair_age_secs`).
    pub fn checkout_repair_age(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_secs(
            i64::try_from(self.checkout_repair_age_secs).unwrap_or(i64::MAX),
        )
    }

    /// Path of the embedded SQLite database inside the data directory.
    pub fn embedded_db_path(&self) -> PathBuf {
        self.data_dir.join("techverse.sqlite3")
    }
}

/// `scheme://host[:port]` of a URL (the whole text when it has no path).
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..]
        .find('/')
        .map_or(url, |slash| &url[..after_scheme + slash])
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use secrecy::ExposeSecret;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn zero_configuration_gives_the_documented_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        assert!(Settings::load(Some(&missing), env(&[])).is_err());
        let settings = Settings::load(None, env(&[])).unwrap();
        assert_eq!(settings.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.data_dir, PathBuf::from("./data"));
        assert!(settings.mongodb_uri.is_none());
        assert!(settings.redis_url.is_none());
        assert_eq!(settings.log_format, LogFormat::Auto);
    }

    #[test]
    fn the_environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("techverse.toml");
        let mut file = std::fs::File::create(&path).unwrap();
        writeln!(
            file,
            "listen_addr = \"0.0.0.0:9000\"\ndata_dir = \"/srv/file\"\nhttp_workers = 3"
        )
        .unwrap();
        let settings = Settings::load(
            Some(&path),
            env(&[
                ("TECHVERSE_DATA_DIR", "/srv/env"),
                ("TECHVERSE_LOG_FORMAT", "json"),
                ("TECHVERSE_BODY_LIMIT_BYTES", "2048"),
                ("TECHVERSE_PLATFORM_API_TOKEN", "12345"),
                ("TECHVERSE_TEST_MONGODB_URI", "mongodb://ignored"),
                ("TECHVERSE_REDIS_URL", ""),
                ("OTHER_DATA_DIR", "/nope"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.listen_addr.to_string(), "0.0.0.0:9000");
        assert_eq!(settings.data_dir, PathBuf::from("/srv/env"));
        assert_eq!(settings.http_workers, 3);
        assert_eq!(settings.log_format, LogFormat::Json);
        assert_eq!(settings.body_limit_bytes, 2048);
        assert!(settings.redis_url.is_none());
        let token = settings.platform_api_token.as_ref().unwrap();
        assert_eq!(token.expose_secret(), "12345");
    }

    #[test]
    fn every_env_key_is_a_setting() {
        for key in ENV_KEYS {
            let value = if NUMERIC_KEYS.contains(key) {
                "1"
            } else if BOOL_KEYS.contains(key) {
                "false"
            } else if *key == "listen_addr" {
                "127.0.0.1:1"
            } else if *key == "log_format" {
                "json"
            } else if *key == "environment" {
                "production"
            } else {
                "x"
            };
            let var = format!("{ENV_PREFIX}{}", key.to_ascii_uppercase());
            assert!(
                Settings::load(None, vec![(var.clone(), value.to_owned())]).is_ok(),
                "{var}"
            );
        }
    }

    #[test]
    fn a_fault_plan_is_refused_outside_the_test_environment() {
        let load = |environment: Option<&str>| {
            let mut env = vec![(
                "TECHVERSE_FAULT_PLAN".to_owned(),
                "abort@insert_order".to_owned(),
            )];
            env.extend(environment.map(|e| ("TECHVERSE_ENVIRONMENT".to_owned(), e.to_owned())));
            Settings::load(None, env).unwrap()
        };
        for refused in [None, Some("development"), Some("production")] {
            let error = load(refused).faults().err().unwrap();
            assert!(error.contains("for tests only"), "{refused:?}: {error}");
        }
        assert!(load(Some("test")).faults().unwrap().is_planned());
        let quiet = Settings::load(None, Vec::<(String, String)>::new()).unwrap();
        assert!(!quiet.faults().unwrap().is_planned());
        assert_eq!(quiet.environment, Environment::Development);
        assert!(
            Settings::load(
                None,
                vec![("TECHVERSE_ENVIRONMENT".into(), "staging".into())]
            )
            .is_err()
        );
    }

    #[test]
    fn bad_values_and_unknown_file_keys_are_reported() {
        assert!(Settings::load(None, env(&[("TECHVERSE_LISTEN_ADDR", "nowhere")])).is_err());
        assert!(Settings::load(None, env(&[("TECHVERSE_LOG_FORMAT", "xml")])).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen_adr = \"127.0.0.1:1\"\n").unwrap();
        assert!(Settings::load(Some(&path), env(&[])).is_err());
    }

    #[test]
    fn the_example_config_file_parses_to_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../techverse.example.toml");
        let from_file = Settings::load(Some(&path), env(&[])).unwrap();
        let defaults = Settings::load(None, env(&[])).unwrap();
        assert_eq!(format!("{from_file:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn the_default_policy_lets_stripe_js_in_only_when_card_payments_are_on() {
        let plain = Settings::load(None, env(&[])).unwrap();
        assert_eq!(plain.app_csp(), DEFAULT_APP_CSP);
        let cards = Settings::load(
            None,
            env(&[
                ("TECHVERSE_STRIPE_SECRET_KEY", "sk_test_x"),
                ("TECHVERSE_STRIPE_JS_URL", "http://127.0.0.1:9999/v3/"),
                ("TECHVERSE_STRIPE_WEBHOOK_SECRETS", " whsec_a , ,whsec_b"),
            ]),
        )
        .unwrap();
        let csp = cards.app_csp();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' http://127.0.0.1:9999;"),
            "{csp}"
        );
        assert!(
            csp.contains("frame-src http://127.0.0.1:9999 https://hooks.stripe.com;"),
            "{csp}"
        );
        assert!(
            csp.contains("connect-src 'self' http://127.0.0.1:9999 https://api.stripe.com;"),
            "{csp}"
        );
        assert!(csp.contains("style-src 'self';") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(cards.stripe_webhook_secrets(), ["whsec_a", "whsec_b"]);
        let custom = Settings::load(
            None,
            env(&[
                ("TECHVERSE_STRIPE_SECRET_KEY", "sk_test_x"),
                ("TECHVERSE_CONTENT_SECURITY_POLICY", "default-src 'self'"),
            ]),
        )
        .unwrap();
        assert_eq!(
            custom.app_csp(),
            "default-src 'self'",
            "a custom policy is the operator's"
        );
        assert_eq!(
            origin_of("https://js.stripe.com/v3/"),
            "https://js.stripe.com"
        );
        assert_eq!(
            origin_of("https://api.stripe.com"),
            "https://api.stripe.com"
        );
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let settings = Settings::load(
            None,
            env(&[
                ("TECHVERSE_PLATFORM_API_TOKEN", "tok-very-secret"),
                (
                    "TECHVERSE_MONGODB_URI",
                    "mongodb://user:pw-very-secret@db/x", // pragma: allowlist secret (a test vector, not a key)
                ),
                ("TECHVERSE_STRIPE_SECRET_KEY", "sk_live_very-secret"),
                ("TECHVERSE_STRIPE_WEBHOOK_SECRETS", "whsec_very-secret"),
            ]),
        )
        .unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
    }
}
