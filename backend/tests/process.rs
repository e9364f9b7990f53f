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
        Self::start_with(techverse(data_dir))
    }

    /// Serves with `command`'s configuration.
    fn start_with(mut command: Command) -> Self {
        let mut child = command
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
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        self.request(method, path, &headers, body)
            .expect("the server answered")
    }

    /// Sends a request with a JSON body and these headers; `None` when the connection ended
    /// without an answer (the process died).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let extra: String = headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\r\n"))
            .collect();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .ok()?;
        try_read_response(&mut stream)
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
    try_read_response(stream).expect("a whole response")
}

/// [`read_response`], `None` when the connection ends before a whole response.
fn try_read_response(stream: &mut TcpStream) -> Option<(u16, String)> {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).ok()?;
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
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
    reader.read_exact(&mut body).ok()?;
    Some((status, String::from_utf8_lossy(&body).into_owned()))
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
        vec!["repair", "--help"],
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

/// Runs `command` to its end (killed after [`PATIENCE`]: a server that should have refused
/// to start fails the test instead of hanging it).
fn run_bounded(command: &mut Command) -> (ExitStatus, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > PATIENCE {
            child.kill().unwrap();
            panic!("techverse did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

#[test]
fn the_saga_fault_hook_refuses_to_start_outside_tests() {
    let data = tempfile::tempdir().unwrap();
    for environment in [Some("production"), Some("development"), None] {
        let mut command = techverse(data.path());
        command
            .env("TECHVERSE_FAULT_PLAN", "abort@insert_order")
            .arg("serve");
        if let Some(environment) = environment {
            command.env("TECHVERSE_ENVIRONMENT", environment);
        }
        let (status, stderr) = run_bounded(&mut command);
        assert!(!status.success(), "{environment:?}: refused");
        assert!(
            stderr.contains("TECHVERSE_FAULT_PLAN") && stderr.contains("for tests only"),
            "{environment:?}: says why: {stderr}"
        );
    }
    let mut bad = techverse(data.path());
    bad.env("TECHVERSE_ENVIRONMENT", "test")
        .env("TECHVERSE_FAULT_PLAN", "explode@insert_order")
        .arg("migrate");
    let (status, stderr) = run_bounded(&mut bad);
    assert!(!status.success() && stderr.contains("explode"), "{stderr}");
    let mut test = techverse(data.path());
    test.env("TECHVERSE_ENVIRONMENT", "test")
        .env("TECHVERSE_FAULT_PLAN", "abort@insert_order")
        .arg("migrate");
    let (status, stderr) = run_bounded(&mut test);
    assert!(status.success(), "accepted in tests: {stderr}");
}

#[test]
fn repair_lists_or_gives_back_abandoned_checkouts_and_needs_a_mode() {
    let data = tempfile::tempdir().unwrap();
    let (status, stderr) = run_bounded(techverse(data.path()).arg("repair"));
    assert!(!status.success(), "a mode is required");
    assert!(
        stderr.contains("--dry-run") && stderr.contains("--apply"),
        "{stderr}"
    );
    let dry = cli(
        data.path(),
        &["repair", "--dry-run", "--older-than-secs", "0"],
    );
    // The embedded store runs a checkout as one transaction: nothing is ever left behind.
    assert_eq!(dry.trim(), "0 abandoned checkouts found (dry run)");
    let applied = cli(data.path(), &["repair", "--apply"]);
    assert_eq!(applied.trim(), "0 abandoned checkouts repaired");
}

/// `techverse` on a fresh database of the MongoDB under test, or `None` (with a `SKIP mongo`
/// line) when none is configured.
fn techverse_on_mongo(data_dir: &Path, database: &str) -> Option<impl Fn() -> Command> {
    let Ok(uri) = std::env::var("TECHVERSE_TEST_MONGODB_URI") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP mongo {database}: TECHVERSE_TEST_MONGODB_URI is not set, so the crash was not run"
        );
        return None;
    };
    let (data_dir, database) = (
        data_dir.to_owned(),
        format!("{database}_{}", std::process::id()),
    );
    Some(move || {
        let mut command = techverse(&data_dir);
        command
            .env("TECHVERSE_MONGODB_URI", &uri)
            .env("TECHVERSE_MONGODB_DATABASE", &database);
        command
    })
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Units a shopper can buy now, per variant id, of the demo store's first in-stock products.
fn available(server: &Server, slugs: &[String]) -> Vec<(String, i64)> {
    slugs
        .iter()
        .map(|slug| {
            let (status, body) = server.get(&format!("/api/v1/stores/demo/products/{slug}"));
            assert_eq!(status, 200, "{body}");
            let variant = json(&body)["variants"][0].clone();
            (
                variant["id"].as_str().unwrap().to_owned(),
                variant["available"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// A guest cart holding one unit of each variant, and the checkout body for it.
fn cart_for(server: &Server, variants: &[(String, i64)]) -> (String, String) {
    let (status, body) = server.send("POST", "/api/v1/stores/demo/carts", None, "");
    assert_eq!(status, 201, "{body}");
    let cart = json(&body);
    let (id, token) = (
        cart["id"].as_str().unwrap(),
        cart["token"].as_str().unwrap(),
    );
    for (variant, _) in variants {
        let line = format!(r#"{{"variant_id":"{variant}","quantity":1}}"#);
        let path = format!("/api/v1/stores/demo/carts/{id}/lines");
        let (status, body) = server
            .request("POST", &path, &[("X-Cart-Token", token)], &line)
            .unwrap();
        assert!(status == 200 || status == 201, "{body}");
    }
    let path = format!("/api/v1/stores/demo/carts/{id}/shipping-methods?country=NG");
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Cart-Token: {token}\r\n\r\n"
    )
    .unwrap();
    let (status, body) = read_response(&mut stream);
    assert_eq!(status, 200, "{body}");
    let method = json(&body)[0]["id"].as_str().unwrap().to_owned();
    let checkout = serde_json::json!({
        "cart_id": id, "email": "crash@example.com", "payment_method": "cash_on_delivery",
        "shipping_method_id": method,
        "shipping_address": {"name": "Ada Obi", "line1": "12 Admiralty Way", "city": "Lagos",
            "region": "Lagos", "country": "NG", "phone": "+2348012345678"},
    });
    (token.to_owned(), checkout.to_string())
}

/// On MongoDB a checkout is a saga of single-document writes: the process is really killed
/// (aborted) between two of its steps, restarted, and `techverse repair` gives back what the
/// dead checkout held — once — after which the shopper's retry with the same key completes.
#[test]
fn a_checkout_killed_between_saga_steps_on_mongodb_is_given_back_by_repair() {
    for step in ["reserve.1", "insert_order"] {
        let data = tempfile::tempdir().unwrap();
        let database = format!("crash_{}", step.replace('.', "_"));
        let Some(techverse) = techverse_on_mongo(data.path(), &database) else {
            return;
        };
        let seeded = techverse()
            .args(["seed", "demo", "--no-history"])
            .output()
            .unwrap();
        assert!(
            seeded.status.success(),
            "{}",
            String::from_utf8_lossy(&seeded.stderr)
        );
        let mut dying = techverse();
        dying
            .env("TECHVERSE_ENVIRONMENT", "test")
            .env("TECHVERSE_FAULT_PLAN", format!("abort@{step}"));
        let server = Server::start_with(dying);
        let (_, page) = server.get("/api/v1/stores/demo/products?in_stock=true&sort=price_asc");
        let slugs: Vec<String> = json(&page)["items"].as_array().unwrap()[..2]
            .iter()
            .map(|p| p["slug"].as_str().unwrap().to_owned())
            .collect();
        let before = available(&server, &slugs);
        let (token, checkout) = cart_for(&server, &before);
        let headers = [
            ("X-Cart-Token", token.as_str()),
            ("Idempotency-Key", "crash-1"),
        ];
        let lost = server.request("POST", "/api/v1/stores/demo/checkout", &headers, &checkout);
        assert_eq!(lost, None, "{step}: the process died before answering");
        assert!(!server.wait().success(), "{step}: aborted");

        let server = Server::start_with(techverse());
        let held = available(&server, &slugs);
        let units_held: i64 = before.iter().zip(&held).map(|(b, h)| b.1 - h.1).sum();
        let expected_held = if step == "reserve.1" { 1 } else { 2 };
        assert_eq!(
            units_held, expected_held,
            "{step}: the dead checkout holds stock"
        );
        let repair = |mode: &str| repair_now(techverse(), mode);
        let listed = repair("--dry-run");
        assert!(
            listed.contains("1 abandoned checkouts found"),
            "{step}: {listed}"
        );
        assert!(
            listed.contains(&format!("would release {expected_held} units")),
            "{listed}"
        );
        assert_eq!(
            available(&server, &slugs),
            held,
            "{step}: a dry run changes nothing"
        );
        let applied = repair("--apply");
        assert!(
            applied.contains("1 abandoned checkouts repaired"),
            "{step}: {applied}"
        );
        assert_eq!(
            available(&server, &slugs),
            before,
            "{step}: every unit given back"
        );
        let again = repair("--apply");
        assert!(
            again.contains("0 abandoned checkouts repaired"),
            "{step}: once: {again}"
        );

        let (status, body) = server
            .request("POST", "/api/v1/stores/demo/checkout", &headers, &checkout)
            .unwrap();
        assert_eq!(status, 201, "{step}: the retry places the order: {body}");
        let order = json(&body)["id"].clone();
        let (status, replay) = server
            .request("POST", "/api/v1/stores/demo/checkout", &headers, &checkout)
            .unwrap();
        assert_eq!(status, 201, "{replay}");
        assert_eq!(json(&replay)["id"], order, "{step}: never a second order");
        let after = available(&server, &slugs);
        let sold: i64 = before.iter().zip(&after).map(|(b, a)| b.1 - a.1).sum();
        assert_eq!(sold, 2, "{step}: one order holds one unit of each");
    }
}

/// What one buyer of the load heard back from its checkout.
#[derive(Debug, Clone, PartialEq)]
enum Heard {
    /// 201: the order as the buyer was told it.
    Placed(serde_json::Value),
    /// Any other answer (409 sold out, 429, …).
    Refused(u16),
    /// The connection ended without an answer: the order may or may not exist.
    Nothing,
}

/// The demo owner's access token.
fn owner_token(server: &Server, seed_output: &str) -> String {
    let password = seed_output
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap();
    let email = seed_output
        .lines()
        .find_map(|l| l.strip_prefix("owner: "))
        .unwrap();
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, body) = server.send("POST", "/api/v1/auth/login", None, &body);
    assert_eq!(status, 200, "{body}");
    access_token(&body)
}

/// Every order of the demo store, by id, with its total and item count.
fn demo_orders(server: &Server, token: &str) -> std::collections::BTreeMap<String, (i64, i64)> {
    demo_order_list(server, token)
        .iter()
        .map(|o| {
            let summary = (
                o["total"]["minor"].as_i64().unwrap(),
                o["item_count"].as_i64().unwrap(),
            );
            (o["id"].as_str().unwrap().to_owned(), summary)
        })
        .collect()
}

/// Every order of the demo store, by id, with its status.
fn demo_statuses(server: &Server, token: &str) -> std::collections::BTreeMap<String, String> {
    demo_order_list(server, token)
        .iter()
        .map(|o| {
            let status = o["status"].as_str().unwrap().to_owned();
            (o["id"].as_str().unwrap().to_owned(), status)
        })
        .collect()
}

fn demo_order_list(server: &Server, token: &str) -> Vec<serde_json::Value> {
    let (status, body) = server.send(
        "GET",
        "/api/v1/admin/stores/demo/orders?limit=100",
        Some(token),
        "",
    );
    assert_eq!(status, 200, "{body}");
    json(&body)["items"].as_array().unwrap().clone()
}

/// The variant's units held and the store's open orders, read until no order changed status
/// in between (the sweeper may be expiring them as we look).
fn held_and_open(server: &Server, token: &str, slug: &str, stock: i64) -> (i64, usize) {
    loop {
        let first = demo_statuses(server, token);
        let left = available(server, &[slug.to_owned()])[0].1;
        assert!(left >= 0, "never oversold");
        if first == demo_statuses(server, token) {
            let open = first.values().filter(|s| *s == "pending_payment").count();
            return (stock - left, open);
        }
    }
}

/// The demo store's checkout: cash on delivery, pickup, a one-minute reservation (so the
/// sweeper's expiry can be watched).
fn one_minute_reservations(server: &Server, token: &str) {
    let body = serde_json::json!({
        "payment_methods": ["cash_on_delivery"], "reservation_minutes": 1,
        "zones": [{ "name": "Nigeria", "countries": ["NG"], "tax_bps": 750,
                    "methods": [{ "name": "Pickup", "rate": { "type": "pickup" } }] }],
    });
    let path = "/api/v1/admin/stores/demo/checkout-settings";
    let (status, body) = server.send("PUT", path, Some(token), &body.to_string());
    assert_eq!(status, 200, "{body}");
}

/// Waits (a bounded while) for the reservation deadline to pass and the sweeper to expire every
/// unpaid order, then a few sweeps more: their units come back exactly once.
fn expired_once(server: &Server, token: &str, slug: &str, stock: i64) -> usize {
    let patience = Instant::now() + Duration::from_secs(180);
    loop {
        let statuses = demo_statuses(server, token);
        if statuses.values().all(|s| s != "pending_payment") {
            std::thread::sleep(Duration::from_secs(3));
            let left = available(server, &[slug.to_owned()])[0].1;
            assert_eq!(left, stock, "every expired order's units back, once");
            return statuses.values().filter(|s| *s == "expired").count();
        }
        assert!(
            Instant::now() < patience,
            "unpaid orders never expired: {statuses:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// 50 buyers check out at once on the embedded store and the server is killed with SIGKILL
/// once ten orders are acknowledged. After a restart on the same data: every acknowledged
/// order is there with its total, every order nobody was told about belongs to a buyer whose
/// answer was lost in flight and whose retry with the same key returns it, and the variant's
/// reserved units are exactly the open orders' (never below zero available). Once their
/// one-minute reservation has passed, the restarted sweeper expires them and gives their units
/// back exactly once.
#[test]
fn kill_9_under_checkout_load_loses_no_acknowledged_order_and_no_stock() {
    let data = tempfile::tempdir().unwrap();
    kill_9_under_load("embedded", || techverse(data.path()), false);
}

/// The same on MongoDB, where a killed checkout may leave its saga half done: after the
/// restart `techverse repair --apply` gives back what the dead checkouts hold, and then the
/// same holds.
#[test]
fn kill_9_under_checkout_load_on_mongodb_loses_nothing_after_the_saga_repair() {
    let data = tempfile::tempdir().unwrap();
    let Some(techverse) = techverse_on_mongo(data.path(), "kill_9_load") else {
        return;
    };
    kill_9_under_load("mongodb", techverse, true);
}

fn kill_9_under_load(adapter: &str, base: impl Fn() -> Command, repair: bool) {
    const BUYERS: usize = 50;
    let command = || {
        let mut command = base();
        command
            .env("TECHVERSE_MAX_OPEN_ORDERS_PER_ADDRESS", "1000")
            .env("TECHVERSE_MAX_OPEN_ORDERS_PER_BUYER", "1000")
            .env("TECHVERSE_RATE_LIMIT_IP_PER_MINUTE", "100000")
            .env("TECHVERSE_RATE_LIMIT_STORE_IP_PER_MINUTE", "100000")
            .env("TECHVERSE_ORDER_SWEEP_INTERVAL_SECS", "1")
            .env("TECHVERSE_HTTP_WORKERS", "2");
        command
    };
    let seeded = command()
        .args(["seed", "demo", "--no-history"])
        .output()
        .unwrap();
    assert!(seeded.status.success());
    let seed_output = String::from_utf8(seeded.stdout).unwrap();
    let server = std::sync::Arc::new(Server::start_with(command()));
    one_minute_reservations(&server, &owner_token(&server, &seed_output));
    // The best-stocked of the first products, so the kill lands while units remain.
    let (_, page) = server.get("/api/v1/stores/demo/products?in_stock=true&limit=20");
    let slugs: Vec<String> = json(&page)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_owned())
        .collect();
    let stocked = available(&server, &slugs);
    let best = (0..slugs.len()).max_by_key(|i| stocked[*i].1).unwrap();
    let slug = slugs[best].clone();
    let before = vec![stocked[best].clone()];
    let carts: Vec<(String, String)> = (0..BUYERS).map(|_| cart_for(&server, &before)).collect();

    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let buyers: Vec<_> = carts
        .iter()
        .enumerate()
        .map(|(n, (token, checkout))| {
            let (server, acked) = (server.clone(), acked.clone());
            let (token, checkout) = (token.clone(), checkout.clone());
            std::thread::spawn(move || {
                let key = format!("load-{n}");
                let headers = [("X-Cart-Token", token.as_str()), ("Idempotency-Key", &key)];
                match server.request("POST", "/api/v1/stores/demo/checkout", &headers, &checkout) {
                    Some((201, body)) => {
                        acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Heard::Placed(json(&body))
                    }
                    Some((status, _)) => Heard::Refused(status),
                    None => Heard::Nothing,
                }
            })
        })
        .collect();
    let started = Instant::now();
    // Killed mid-stream: once some orders are acknowledged (a third of the stock, at most ten).
    let kill_after = usize::try_from(before[0].1 / 3).unwrap().clamp(1, 10);
    while acked.load(std::sync::atomic::Ordering::SeqCst) < kill_after
        && started.elapsed() < PATIENCE
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    server.signal("-KILL");
    let heard: Vec<Heard> = buyers.into_iter().map(|b| b.join().unwrap()).collect();
    drop(server);

    let server = Server::start_with(command());
    if repair {
        let repaired = repair_now(command(), "--apply");
        let _ = writeln!(std::io::stderr(), "{adapter}: {}", repaired.trim());
    }
    let token = owner_token(&server, &seed_output);
    let found = demo_orders(&server, &token);
    let placed: Vec<&serde_json::Value> = heard
        .iter()
        .filter_map(|h| match h {
            Heard::Placed(order) => Some(order),
            _ => None,
        })
        .collect();
    for order in &placed {
        let id = order["id"].as_str().unwrap();
        let total = order["totals"]["total"]["minor"].as_i64().unwrap();
        let items: i64 = order["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["quantity"].as_i64().unwrap())
            .sum();
        assert_eq!(
            found.get(id),
            Some(&(total, items)),
            "acknowledged order {id} kept with its lines and total"
        );
    }
    let lost: Vec<usize> = (0..BUYERS)
        .filter(|n| heard[*n] == Heard::Nothing)
        .collect();
    let mut recovered = std::collections::BTreeSet::new();
    for n in &lost {
        let (token, checkout) = &carts[*n];
        let key = format!("load-{n}");
        let headers = [("X-Cart-Token", token.as_str()), ("Idempotency-Key", &key)];
        let (status, body) = server
            .request("POST", "/api/v1/stores/demo/checkout", &headers, checkout)
            .unwrap();
        assert!(
            [201, 409].contains(&status),
            "retry of buyer {n}: {status} {body}"
        );
        if status == 201 {
            recovered.insert(json(&body)["id"].as_str().unwrap().to_owned());
        }
    }
    let unannounced: Vec<&String> = found
        .keys()
        .filter(|id| !placed.iter().any(|o| o["id"] == id.as_str()))
        .collect();
    for id in &unannounced {
        assert!(
            recovered.contains(*id),
            "order {id} nobody was told about, not recovered"
        );
    }
    let (held, open) = held_and_open(&server, &token, &slug, before[0].1);
    assert_eq!(
        usize::try_from(held).unwrap(),
        open,
        "reserved units are the open orders' (one each)"
    );
    let expired = expired_once(&server, &token, &slug, before[0].1);
    let _ = writeln!(
        std::io::stderr(),
        "kill -9 under load ({adapter}): {BUYERS} buyers, {} acknowledged, {} found after restart, {} lost \
         in flight ({} of them had been placed and their retry returned them, {} were placed by \
         their retry), {} refused, stock {} -> {} held by {open} open orders -> {} after the \
         sweeper expired {expired}",
        placed.len(),
        found.len(),
        lost.len(),
        unannounced.len(),
        recovered.len() - unannounced.len(),
        heard
            .iter()
            .filter(|h| matches!(h, Heard::Refused(_)))
            .count(),
        before[0].1,
        before[0].1 - held,
        before[0].1,
    );
}

/// A tmpfs of `size` mounted on `dir` for the test (unmounted on drop); `None` with a SKIP line
/// where this machine does not let the test mount one (not root, or no mount namespace).
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            let _ = writeln!(
                std::io::stderr(),
                "SKIP disk full: this machine does not let the test mount a tmpfs"
            );
            return None;
        }
        Some(Self(dir.to_owned()))
    }

    /// Writes zeros into `file` until the disk refuses.
    fn fill(&self, file: &Path) {
        let mut out = std::fs::File::create(file).unwrap();
        let chunk = vec![0_u8; 1 << 20];
        while out.write_all(&chunk).is_ok() {}
        let _ = out.sync_all();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The disk-full case of the resilience suite (embedded store): with the data directory's
/// disk full, writes answer 503 `storage_unavailable`, reads keep answering, the process stays up,
/// and writes work again once space returns, without a restart.
#[test]
fn a_full_disk_refuses_writes_with_503_keeps_reads_and_recovers_when_space_returns() {
    let data = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(data.path(), "32m") else {
        return;
    };
    cli(data.path(), &["seed", "demo", "--no-history"]);
    let server = Server::start(data.path());
    let filler = data.path().join("filler");
    disk.fill(&filler);
    for _ in 0..5 {
        let (status, body) = server.send("POST", "/api/v1/stores/demo/carts", None, "");
        assert_eq!(status, 503, "a write on a full disk: {body}");
        assert_eq!(json(&body)["error"]["code"], "storage_unavailable");
    }
    let (status, _) = server.get("/api/v1/stores/demo/products");
    assert_eq!(status, 200, "reads keep answering");
    assert_eq!(server.get("/health").0, 200, "the process is up");
    std::fs::remove_file(&filler).unwrap();
    let (status, body) = server.send("POST", "/api/v1/stores/demo/carts", None, "");
    assert_eq!(status, 201, "space returned: {body}");
    drop(server);
}

/// `techverse repair <mode>` taking every unfinished checkout as dead; its output.
fn repair_now(mut command: Command, mode: &str) -> String {
    let output = command
        .args(["repair", mode, "--older-than-secs", "0"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
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
