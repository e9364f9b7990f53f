//! Tests of the real `techverse` binary as an operator runs it: the CLI and the server share
//! configuration and data, a committed store survives restart and `kill -9`, and SIGTERM lets an
//! in-flight request finish before the process exits 0.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_techverse");
const TOKEN: &str = "process-test-token";
/// Bounds a broken run; no assertion depends on how fast anything is.
const PATIENCE: Duration = Duration::from_secs(60);

/// `techverse` with a clean `TECHVERSE_*` environment pointing at `data_dir`.
fn techverse(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("TECHVERSE_") {
            command.env_remove(key);
        }
    }
    command
        .env("TECHVERSE_DATA_DIR", data_dir)
        .env("TECHVERSE_LISTEN_ADDR", "127.0.0.1:0")
        .env("TECHVERSE_LOG_FORMAT", "json")
        .env("TECHVERSE_HTTP_WORKERS", "1")
        .env("TECHVERSE_PLATFORM_API_TOKEN", TOKEN);
    command
}

fn cli(data_dir: &Path, args: &[&str]) -> String {
    let output = techverse(data_dir)
        .args(args)
        .output()
        .expect("run techverse");
    assert!(
        output.status.success(),
        "techverse {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// A running server; killed on drop if the test did not stop it.
struct Server {
    child: Child,
    port: u16,
    /// Every line the server logged so far.
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    fn start(data_dir: &Path) -> Self {
        let mut child = techverse(data_dir)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line.clone());
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
                    && event["message"] == "techverse listening"
                {
                    let _ = tx.send(event["port"].as_u64().unwrap_or_default());
                }
            }
        });
        let port = rx
            .recv_timeout(PATIENCE)
            .expect("server announced its port");
        Self {
            child,
            port: u16::try_from(port).expect("port"),
            logs,
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        read_response(&mut stream)
    }

    /// Sends a request with a JSON body and optional bearer token.
    fn send(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        read_response(&mut stream)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    fn wait(mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one HTTP/1.1 response (headers and a Content-Length body) and returns status and body.
fn read_response(stream: &mut TcpStream) -> (u16, String) {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("header");
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn a_store_created_with_the_cli_survives_restart_and_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let out = cli(
        data.path(),
        &[
            "stores",
            "create",
            "--slug",
            "demo",
            "--name",
            "Demo Tech",
            "--currency",
            "NGN",
        ],
    );
    assert!(out.contains("created store demo"), "{out}");

    let server = Server::start(data.path());
    assert_eq!(server.get("/health").0, 200);
    assert_eq!(server.get("/ready").0, 200);
    let (status, body) = server.get("/api/v1/stores/demo");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"name\":\"Demo Tech\""), "{body}");

    server.signal("-TERM");
    assert!(server.wait().success());

    let server = Server::start(data.path());
    assert_eq!(
        server.get("/api/v1/stores/demo").0,
        200,
        "still there after a restart"
    );
    // A second store committed by the CLI while the server runs, then the server is killed.
    cli(
        data.path(),
        &[
            "stores",
            "create",
            "--slug",
            "second-shop",
            "--name",
            "Second",
            "--currency",
            "USD",
        ],
    );
    assert_eq!(server.get("/api/v1/stores/second-shop").0, 200);
    server.signal("-KILL");
    assert!(!server.wait().success());

    let server = Server::start(data.path());
    assert_eq!(
        server.get("/api/v1/stores/demo").0,
        200,
        "still there after kill -9"
    );
    assert_eq!(
        server.get("/api/v1/stores/second-shop").0,
        200,
        "still there after kill -9"
    );
    let listed = cli(data.path(), &["stores", "list"]);
    assert!(
        listed.contains("demo") && listed.contains("second-shop"),
        "{listed}"
    );
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_the_process_exits_zero() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    // The request is in flight once the server has read its head and asked for the body with
    // `100 Continue`; the body is sent only after SIGTERM.
    let body = r#"{"slug":"late-shop","name":"Late","currency":"NGN"}"#;
    write!(
        stream,
        "POST /api/v1/platform/stores HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    let mut interim = [0u8; 25];
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");

    server.signal("-TERM");
    // Shutdown has begun once new connections are refused.
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(("127.0.0.1", server.port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "server kept accepting after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    stream.write_all(body.as_bytes()).unwrap();
    let (status, response) = read_response(&mut stream);
    assert_eq!(status, 201, "{response}");
    assert!(response.contains("late-shop"));
    let exit = server.wait();
    assert!(exit.success(), "exit status {exit:?}");

    let listed = cli(data.path(), &["stores", "list", "--json"]);
    assert!(
        listed.contains("\"slug\":\"late-shop\""),
        "the in-flight write was committed: {listed}"
    );
}

#[test]
fn every_subcommand_has_help() {
    let data = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["stores", "--help"],
        vec!["stores", "create", "--help"],
        vec!["stores", "list", "--help"],
    ] {
        let out = cli(data.path(), &args);
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
}

#[test]
fn the_cli_explains_bad_input_and_exits_non_zero() {
    let data = tempfile::tempdir().unwrap();
    let output = techverse(data.path())
        .args([
            "stores",
            "create",
            "--slug",
            "Bad!",
            "--name",
            "x",
            "--currency",
            "EUR",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--slug") && stderr.contains("--country"),
        "{stderr}"
    );
    let migrate = techverse(data.path()).arg("migrate").output().unwrap();
    assert!(migrate.status.success());
}

fn access_token(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value["access_token"]
        .as_str()
        .or_else(|| value["session"]["access_token"].as_str())
        .unwrap()
        .to_owned()
}

#[test]
fn a_platform_admin_made_with_the_cli_runs_the_operator_api_and_sessions_survive_restart() {
    let data = tempfile::tempdir().unwrap();
    let output = techverse(data.path())
        .env("TECHVERSE_ADMIN_PASSWORD", "operator passphrase 42")
        .args([
            "admins",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("created platform administrator ops@example.com")
    );
    let weak = techverse(data.path())
        .env("TECHVERSE_ADMIN_PASSWORD", "short")
        .args(["admins", "create", "--email", "weak@example.com"])
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    let server = Server::start(data.path());
    let (status, body) = server.send(
        "POST",
        "/api/v1/auth/login",
        None,
        r#"{"email":"ops@example.com","password":"operator passphrase 42"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let admin = access_token(&body);
    let (status, body) = server.send(
        "POST",
        "/api/v1/signup",
        None,
        r#"{"email":"m@example.com","password":"merchant passphrase 7","name":"M",
            "store":{"slug":"merchant-shop","name":"M","currency":"NGN"}}"#,
    );
    assert_eq!(status, 201, "{body}");
    let merchant = access_token(&body);

    let (status, body) = server.send("GET", "/api/v1/platform/stores", Some(&admin), "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("merchant-shop"));
    let (status, _) = server.send("GET", "/api/v1/platform/stores", Some(&merchant), "");
    assert_eq!(status, 403, "an ordinary merchant is not an operator");
    let (status, _) = server.send(
        "POST",
        "/api/v1/platform/stores/merchant-shop/suspend",
        Some(&admin),
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(server.get("/api/v1/stores/merchant-shop").0, 404);

    // Neither passwords nor tokens reach the logs.
    let logs = server.logs.lock().unwrap().join("\n");
    assert!(logs.contains("merchant signed up"), "the server does log");
    for secret in [
        "operator passphrase 42",
        "merchant passphrase 7",
        admin.as_str(),
        merchant.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret was logged");
    }

    // Sessions live in the embedded store: the access token still works after a restart.
    server.signal("-TERM");
    assert!(server.wait().success());
    let server = Server::start(data.path());
    let (status, _) = server.send(
        "POST",
        "/api/v1/platform/stores/merchant-shop/reactivate",
        Some(&admin),
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(server.get("/api/v1/stores/merchant-shop").0, 200);
}

#[test]
fn the_demo_seed_and_the_csv_import_run_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let out = cli(data.path(), &["seed", "demo"]);
    assert!(out.contains("created store demo with 46 products"), "{out}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_owned();
    let again = cli(data.path(), &["seed", "demo"]);
    assert!(again.contains("already exists"), "{again}");

    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shopify_products.csv");
    let out = cli(
        data.path(),
        &[
            "stores",
            "create",
            "--slug",
            "moved-shop",
            "--name",
            "Moved",
            "--currency",
            "NGN",
        ],
    );
    assert!(out.contains("created store"));
    let out = cli(
        data.path(),
        &[
            "import",
            "products",
            "--store",
            "moved-shop",
            csv.to_str().unwrap(),
        ],
    );
    assert!(out.contains("3 created"), "{out}");
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shopify_invalid.csv");
    let failed = techverse(data.path())
        .args([
            "import",
            "products",
            "--store",
            "moved-shop",
            bad.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("row 4, column Variant Price"), "{stderr}");
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shopify_full_export.csv");
    let warned = techverse(data.path())
        .args([
            "import",
            "products",
            "--store",
            "moved-shop",
            full.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(warned.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: row 3, column Variant Compare At Price"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&warned.stdout).contains("3 created"),
        "{stderr}"
    );
    let exported = cli(
        data.path(),
        &["export", "products", "--store", "moved-shop"],
    );
    assert!(exported.starts_with("Handle,Title"));
    assert_eq!(
        exported
            .lines()
            .filter(|l| l.starts_with("pixel-9,"))
            .count(),
        3
    );

    let server = Server::start(data.path());
    let (status, body) = server.get("/api/v1/stores/demo/products?limit=100");
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        page["total"].as_u64().unwrap() >= 40,
        "active demo products: {}",
        page["total"]
    );
    assert!(
        page["facets"]["in_stock"].as_u64().unwrap() < page["total"].as_u64().unwrap(),
        "some sold out"
    );
    let image = page["items"][0]["image"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, svg) = server.get(&image);
    assert_eq!(status, 200);
    assert!(svg.starts_with("<svg"));
    let (status, body) = server.send(
        "POST",
        "/api/v1/auth/login",
        None,
        &format!(r#"{{"email":"owner@demo.techverse.local","password":"{password}"}}"#),
    );
    assert_eq!(status, 200, "the printed credentials work: {body}");
    let (status, tree) = server.get("/api/v1/stores/demo/categories");
    assert_eq!(status, 200);
    assert!(tree.contains("Laptops") && tree.contains("Phones & Tablets"));
}

#[test]
fn sigterm_closes_open_sockets_with_1001_and_the_process_exits_zero() {
    use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

    let data = tempfile::tempdir().unwrap();
    let created = techverse(data.path())
        .env("TECHVERSE_ADMIN_PASSWORD", "operator passphrase 42")
        .args(["admins", "create", "--email", "ops@example.com"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let server = Server::start(data.path());
    let (status, body) = server.send(
        "POST",
        "/api/v1/auth/login",
        None,
        r#"{"email":"ops@example.com","password":"operator passphrase 42"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.send("POST", "/api/v1/ws/tickets", Some(&access_token(&body)), "");
    assert_eq!(status, 201, "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ticket = value["ticket"].as_str().unwrap();
    let request = format!("ws://127.0.0.1:{}/api/v1/ws?ticket={ticket}", server.port)
        .into_client_request()
        .unwrap();
    let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let (mut socket, _) = tungstenite::client::client(request, stream).unwrap();

    server.signal("-TERM");
    let close = loop {
        match socket.read() {
            Ok(Message::Close(frame)) => break frame,
            Ok(_) => {}
            Err(error) => panic!("the socket ended without a close frame: {error}"),
        }
    };
    let close = close.expect("a close frame with a code");
    assert_eq!(
        close.code,
        tungstenite::protocol::frame::coding::CloseCode::Away
    );
    let exit = server.wait();
    assert!(exit.success(), "exit status {exit:?}");
}
