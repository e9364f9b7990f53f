//! Sending merchant webhooks over HTTP (reqwest, rustls with ring), behind an SSRF guard: a
//! target must be `https` (or `http` when allowed) and every address it resolves to must be
//! public — checked at registration and again at each connection, by the resolver the client
//! connects through, so a name re-pointed at an internal address (DNS rebinding) is refused
//! too. Redirects are never followed; at most 1 KiB of an answer is read.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use reqwest::{Url, dns::Resolve};

use crate::domain::webhook::{self, Attempt, RESPONSE_EXCERPT, TIMEOUT};

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("not a URL")]
    Invalid,
    #[error("only https URLs are allowed")]
    Scheme,
    #[error("the host name could not be resolved")]
    Unresolvable,
    #[error("the target resolves to a non-public address")]
    Forbidden,
}

/// What the guard allows.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub allow_insecure: bool,
    pub allow_private: bool,
}

impl Policy {
    fn address_allowed(self, address: std::net::IpAddr) -> bool {
        self.allow_private || webhook::is_public(address)
    }
}

/// Checks a URL a merchant registers: its scheme, and every address its host resolves to now.
pub async fn check_target(url: &str, policy: Policy) -> Result<Url, TargetError> {
    let parsed = Url::parse(url).map_err(|_| TargetError::Invalid)?;
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_insecure => {}
        _ => return Err(TargetError::Scheme),
    }
    let host = parsed.host_str().ok_or(TargetError::Invalid)?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses = resolve(host, port, policy).await?;
    if addresses.is_empty() {
        return Err(TargetError::Unresolvable);
    }
    Ok(parsed)
}

/// The host's addresses, all of them allowed, or an error.
async fn resolve(host: &str, port: u16, policy: Policy) -> Result<Vec<SocketAddr>, TargetError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| TargetError::Unresolvable)?
            .collect(),
    };
    if addresses.iter().any(|a| !policy.address_allowed(a.ip())) {
        return Err(TargetError::Forbidden);
    }
    Ok(addresses)
}

/// The resolver every connection goes through: the same rule as registration.
struct GuardedResolver(Policy);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (host, policy) = (name.as_str().to_owned(), self.0);
        Box::pin(async move {
            let addresses = resolve(&host, 0, policy).await.map_err(Box::new)?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// One POST of a delivery.
pub struct Request<'a> {
    pub url: &'a str,
    pub id: &'a str,
    pub timestamp: i64,
    pub signature: &'a str,
    pub body: &'a str,
}

/// Sends webhooks (the port the delivery worker uses; tests may swap it).
#[async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, request: Request<'_>) -> Attempt;
}

pub struct HttpSender {
    client: reqwest::Client,
    policy: Policy,
}

impl HttpSender {
    pub fn new(policy: Policy) -> anyhow::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(Arc::new(GuardedResolver(policy)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT / 2)
            .user_agent("TechVerse-Webhooks/1")
            .build()
            .context("building the webhook HTTP client")?;
        Ok(Self { client, policy })
    }

    async fn post(&self, request: &Request<'_>) -> Result<(u16, String), String> {
        // An address literal is not resolved, so it is checked here.
        let url = Url::parse(request.url).map_err(|_| "not a URL".to_owned())?;
        if let Some(host) = url.host_str() {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse()
                && !self.policy.address_allowed(ip)
            {
                return Err(TargetError::Forbidden.to_string());
            }
        }
        let mut response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", request.id)
            .header("webhook-timestamp", request.timestamp.to_string())
            .header("webhook-signature", request.signature)
            .body(request.body.to_owned())
            .send()
            .await
            .map_err(|error| describe(&error))?;
        let status = response.status().as_u16();
        let mut excerpt = Vec::new();
        while excerpt.len() < RESPONSE_EXCERPT {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(RESPONSE_EXCERPT);
        Ok((status, String::from_utf8_lossy(&excerpt).into_owned()))
    }
}

/// A short reason for a failed request, without the URL (the log shows it already).
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut deepest = None;
    while let Some(inner) = source {
        deepest = Some(inner.to_string());
        source = inner.source();
    }
    deepest.map_or_else(|| what.to_owned(), |cause| format!("{what}: {cause}"))
}

#[async_trait]
impl Sender for HttpSender {
    async fn send(&self, request: Request<'_>) -> Attempt {
        let started = Instant::now();
        let at = crate::domain::now();
        let outcome = self.post(&request).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match outcome {
            Ok((status, response)) => Attempt {
                at,
                status: Some(status),
                error: None,
                latency_ms,
                response,
            },
            Err(error) => Attempt {
                at,
                status: None,
                error: Some(error),
                latency_ms,
                response: String::new(),
            },
        }
    }
}
