//! Spawns the real application on port 0 with its own data directory, and talks HTTP to it.

use std::net::TcpListener;

use reqwest::{Client, Response};
use serde_json::{Value, json};
use techverse::{config::Settings, startup::Application};

pub const PLATFORM_TOKEN: &str = "test-platform-token-0123456789";

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub data_dir: tempfile::TempDir,
    pub ctx: techverse::app::Context,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Settings for a test: a fresh data dir, port 0, the platform token, quiet logs, plus `extra`
/// `TECHVERSE_*` pairs.
pub fn settings(data_dir: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let mut env: Vec<(String, String)> = vec![
        ("TECHVERSE_LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("TECHVERSE_DATA_DIR".into(), data_dir.display().to_string()),
        ("TECHVERSE_PLATFORM_API_TOKEN".into(), PLATFORM_TOKEN.into()),
        ("TECHVERSE_HTTP_WORKERS".into(), "2".into()),
        ("TECHVERSE_BODY_LIMIT_BYTES".into(), "65536".into()),
        // Cheap hashing keeps the suite fast; production uses the documented OWASP defaults.
        ("TECHVERSE_ARGON2_MEMORY_KIB".into(), "1024".into()),
        ("TECHVERSE_ARGON2_ITERATIONS".into(), "1".into()),
        ("TECHVERSE_PUBLIC_URL".into(), "https://shop.example".into()),
        // Every test client is 127.0.0.1: its budget in one store is the address's own.
        (
            "TECHVERSE_RATE_LIMIT_STORE_IP_PER_MINUTE".into(),
            "600".into(),
        ),
    ];
    env.extend(production_like());
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::load(None, env).expect("test settings")
}

/// With `TECHVERSE_TEST_API_MONGODB_URI` set (the suite's second run in `scripts/test`), every
/// test app runs as production does: MongoDB (a fresh database per app) and Redis
/// (`TECHVERSE_TEST_REDIS_URL`, default the machine's, a fresh key prefix per app). A test that
/// brings its own Redis overrides it through its extra settings.
fn production_like() -> Vec<(String, String)> {
    let Some(uri) = std::env::var("TECHVERSE_TEST_API_MONGODB_URI")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return Vec::new();
    };
    let redis = std::env::var("TECHVERSE_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    vec![
        ("TECHVERSE_MONGODB_URI".into(), uri),
        (
            "TECHVERSE_MONGODB_DATABASE".into(),
            format!("tv_api_{unique}"),
        ),
        ("TECHVERSE_REDIS_URL".into(), redis),
        (
            "TECHVERSE_REDIS_KEY_PREFIX".into(),
            format!("tv-api-{unique}:"),
        ),
    ]
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let settings = settings(data_dir.path(), extra);
    launch(settings, data_dir).await
}

/// Prepares the storage with `prepare` (given a context like the CLI's: no server, no event
/// consumers, no sweeper), then serves an app on the same data.
pub async fn spawn_app_prepared<F, Fut>(prepare: F) -> TestApp
where
    F: FnOnce(techverse::app::Context) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let data_dir = tempfile::tempdir().expect("temp dir");
    let settings = settings(data_dir.path(), &[]);
    let shared = std::sync::Arc::new(settings.clone());
    let storage = techverse::storage::connect(&shared).await.expect("storage");
    let ctx = techverse::startup::context(&shared, &storage, None, &prometheus::Registry::new())
        .expect("context");
    prepare(ctx).await;
    drop(storage);
    launch(settings, data_dir).await
}

/// Builds and serves the app with `settings` until the returned `TestApp` is dropped.
async fn launch(settings: Settings, data_dir: tempfile::TempDir) -> TestApp {
    let app = Application::build(settings).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let ctx = app.context();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: Client::new(),
        data_dir,
        ctx,
        stop: Some(stop),
    }
}

/// A second instance beside `first`: the same data (the same embedded database file, or the
/// same MongoDB database), its own port and background workers, plus `extra`.
pub async fn spawn_app_beside(first: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    let own = tempfile::tempdir().expect("temp dir");
    let mut pairs: Vec<(&str, &str)> = extra.to_vec();
    let database = first.ctx.settings.mongodb_database.clone();
    if first.ctx.settings.mongodb_uri.is_some() {
        pairs.push(("TECHVERSE_MONGODB_DATABASE", &database));
    }
    launch(settings(first.data_dir.path(), &pairs), own).await
}

/// A port nothing listens on (bound, read, released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// The store with this slug, read from storage.
    pub async fn store(&self, slug: &str) -> techverse::domain::store::Store {
        self.ctx
            .storage
            .stores()
            .by_slug(&techverse_shared::StoreSlug::parse(slug).expect("a slug"))
            .await
            .expect("storage")
            .expect("the store exists")
    }

    /// `GET path` and its body as JSON (whatever the status).
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.expect("a JSON body")
    }

    pub fn platform(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(PLATFORM_TOKEN)
    }

    /// `POST /api/v1/platform/stores` with this JSON body, as the operator.
    pub async fn post_store(&self, body: &Value) -> Response {
        self.platform(reqwest::Method::POST, "/api/v1/platform/stores")
            .json(body)
            .send()
            .await
            .expect("POST store")
    }

    /// Sends an operator request with no body and returns the response.
    pub async fn platform_send(&self, method: reqwest::Method, path: &str) -> Response {
        self.platform(method, path)
            .send()
            .await
            .expect("platform request")
    }

    /// Opens a store through the platform API and returns its JSON.
    pub async fn create_store(&self, slug: &str) -> Value {
        let response = self
            .post_store(
                &json!({ "slug": slug, "name": format!("Store {slug}"), "currency": "NGN" }),
            )
            .await;
        assert_eq!(response.status(), 201, "create store {slug}");
        response.json().await.expect("store json")
    }
}

/// Asserts the error envelope: status, code, JSON content type and nothing else at the top.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    let got = response.status().as_u16();
    if got != status {
        let body = response.text().await.unwrap_or_default();
        panic!("expected {status} {code}, got {got}: {body}");
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type}"
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    body
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A merchant made by `POST /api/v1/signup`.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub email: String,
    pub store: String,
    pub user_id: String,
    pub access: String,
    pub refresh: String,
}

/// Tokens of a signed-in customer.
#[derive(Debug, Clone)]
pub struct Shopper {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

/// Finds `token=<43 url-safe chars>` after `marker` in a raw message (quoted-printable or not).
pub fn token_in(message: &str, marker: &str) -> Option<String> {
    let unfolded = message.replace("=\r\n", "").replace("=3D", "=");
    let start = unfolded.find(marker)?;
    let rest = &unfolded[start..];
    let at = rest.find("token=")? + "token=".len();
    let token: String = rest[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (token.len() == 43).then_some(token)
}

impl TestApp {
    /// A request with a bearer token.
    pub fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// Signs up a merchant with a first store `slug`.
    pub async fn signup(&self, slug: &str) -> Merchant {
        let email = format!("owner@{slug}.example");
        let response = self
            .post_json(
                "/api/v1/signup",
                &json!({
                    "email": email,
                    "password": PASSWORD,
                    "name": format!("Owner of {slug}"),
                    "store": { "slug": slug, "name": format!("Store {slug}"), "currency": "NGN" }
                }),
            )
            .await;
        assert_eq!(response.status(), 201, "signup {slug}");
        let body: Value = response.json().await.unwrap();
        Merchant {
            email,
            store: slug.to_owned(),
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            access: body["session"]["access_token"].as_str().unwrap().to_owned(),
            refresh: body["session"]["refresh_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    /// Every `.eml` written by the file mailer so far.
    pub fn mails(&self) -> Vec<String> {
        let dir = self.data_dir.path().join("mail");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Waits (up to 10 s) for a mail to `to` whose text contains `marker`, and returns it.
    pub async fn wait_mail(&self, to: &str, marker: &str) -> String {
        for _ in 0..200 {
            if let Some(mail) = self.mails().into_iter().find(|m| {
                m.contains(&format!("To: {to}")) && m.replace("=\r\n", "").contains(marker)
            }) {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "no mail to {to} containing {marker}; have: {:#?}",
            self.mails()
        );
    }

    /// Waits for the mail to `to` with a link to `page` and returns the token in it.
    pub async fn mailed_token(&self, to: &str, page: &str) -> String {
        let mail = self.wait_mail(to, page).await;
        token_in(&mail, page).unwrap_or_else(|| panic!("no token for {page} in {mail}"))
    }

    /// Verifies a merchant's email through the mailed link.
    pub async fn verify_staff(&self, email: &str) {
        let token = self.mailed_token(email, "/admin/verify-email").await;
        let response = self
            .post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
            .await;
        assert_eq!(response.status(), 200);
    }

    pub async fn login_staff(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers a customer in `store`.
    pub async fn register_customer(&self, store: &str, email: &str, password: &str) -> Shopper {
        let response = self
            .post_json(
                &format!("/api/v1/stores/{store}/customers"),
                &json!({ "email": email, "password": password, "name": "Ada Obi" }),
            )
            .await;
        assert_eq!(response.status(), 201, "register {email} in {store}");
        let body: Value = response.json().await.unwrap();
        Shopper {
            id: body["customer"]["id"].as_str().unwrap().to_owned(),
            access: body["session"]["access_token"].as_str().unwrap().to_owned(),
            refresh: body["session"]["refresh_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    /// Invites `email` into the merchant's store with `role`, accepts as a new account, and
    /// returns that member's access token and user id.
    pub async fn add_member(&self, owner: &Merchant, email: &str, role: &str) -> (String, String) {
        let response = self
            .authed(
                reqwest::Method::POST,
                &format!("/api/v1/admin/stores/{}/staff/invitations", owner.store),
                &owner.access,
            )
            .json(&json!({ "email": email, "role": role }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "invite {email}");
        let token = self.mailed_token(email, "/admin/accept-invitation").await;
        let response = self
            .post_json(
                "/api/v1/invitations/accept",
                &json!({ "token": token, "name": "New Member", "password": PASSWORD }),
            )
            .await;
        assert_eq!(response.status(), 200, "accept {email}");
        let body: Value = response.json().await.unwrap();
        let user_id = body["user"]["id"].as_str().unwrap().to_owned();
        let login: Value = self
            .login_staff(email, PASSWORD)
            .await
            .json()
            .await
            .unwrap();
        (login["access_token"].as_str().unwrap().to_owned(), user_id)
    }
}

impl TestApp {
    /// A merchant whose email is verified (needed to invite staff or open more stores).
    pub async fn verified_merchant(&self, slug: &str) -> Merchant {
        let merchant = self.signup(slug).await;
        self.verify_staff(&merchant.email).await;
        merchant
    }
}

/// Waits until something accepts TCP connections on `port` (up to 10 s).
pub async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("nothing listens on port {port}");
}

/// A child process killed when dropped.
pub struct Service {
    child: Option<std::process::Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Service {
    /// A private `redis-server` on a free port, keeping nothing on disk.
    pub async fn redis() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut service = Self {
            child: None,
            port,
            dir,
        };
        service.start_redis().await;
        service
    }

    /// (Re)starts Redis on the same port.
    pub async fn start_redis(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test installs it)");
        self.child = Some(child);
        wait_for_port(self.port).await;
    }

    /// A real SMTP server (aiosmtpd from PyPI) writing what it receives to a Maildir.
    pub async fn smtp_on(port: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let python =
            std::env::var("TECHVERSE_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let child = std::process::Command::new(&python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(dir.path().join("maildir"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting aiosmtpd with {python} (scripts/test installs it): {e}")
            });
        let service = Self {
            child: Some(child),
            port,
            dir,
        };
        wait_for_port(port).await;
        service
    }

    /// Messages delivered to the Maildir so far.
    pub fn delivered(&self) -> Vec<String> {
        let new = self.dir.path().join("maildir").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The path of a store admin endpoint: `/api/v1/admin/stores/{store}{rest}`.
pub fn admin(store: &str, rest: &str) -> String {
    format!("/api/v1/admin/stores/{store}{rest}")
}

/// Sends an authenticated request with an optional JSON body.
pub async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let request = app.authed(method, path, token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.expect("request")
}

/// An authenticated `GET` and its body as JSON (whatever the status).
pub async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    send(app, reqwest::Method::GET, path, token, None)
        .await
        .json()
        .await
        .expect("a JSON body")
}
