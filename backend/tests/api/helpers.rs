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
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::load(None, env).expect("test settings")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let app = Application::build(settings(data_dir.path(), extra))
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: Client::new(),
        data_dir,
        stop: Some(stop),
    }
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
    assert_eq!(response.status().as_u16(), status);
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
