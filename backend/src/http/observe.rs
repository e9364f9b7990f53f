//! Per-request observability: a request id (accepted from `X-Request-Id` or generated, and
//! echoed back), one span per request with method, route template, status, latency and store,
//! and the Prometheus request metrics.

use std::time::Instant;

use actix_web::{
    HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tracing::{Instrument, field::Empty};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, available to handlers through request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An id from a client is kept when it is short, printable ASCII; otherwise a new one is made.
fn accept_request_id(value: Option<&HeaderValue>) -> String {
    value
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// The `method` label: the standard methods by name, anything else (a client may send any
/// token as a method) as `other`, so label values stay a fixed, small set.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The `status` label: a real HTTP status, else one bucket.
fn status_label(status: u16) -> String {
    if (100..=599).contains(&status) {
        status.to_string()
    } else {
        "other".to_owned()
    }
}

/// Prometheus registry with the HTTP and process metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    mail_pending: IntGauge,
    mail_dead: IntGauge,
    /// The live feed, event consumers and merchant webhooks.
    pub live: LiveMetrics,
}

/// Sockets, event consumers and webhook deliveries. Every label comes from a fixed set (the
/// consumer names, the delivery outcomes).
#[derive(Clone)]
pub struct LiveMetrics {
    sockets_open: IntGauge,
    events_delivered: IntCounterVec,
    consumer_lag: IntGaugeVec,
    webhook_deliveries: IntCounterVec,
}

impl LiveMetrics {
    fn new(registry: &Registry) -> anyhow::Result<Self> {
        let metrics = Self {
            sockets_open: IntGauge::new("ws_sockets_open", "Open live feed sockets")?,
            events_delivered: IntCounterVec::new(
                Opts::new(
                    "events_delivered_total",
                    "Store events handed to each consumer",
                ),
                &["consumer"],
            )?,
            consumer_lag: IntGaugeVec::new(
                Opts::new(
                    "consumer_lag_events",
                    "Events committed but not yet handed to the consumer, over all stores",
                ),
                &["consumer"],
            )?,
            webhook_deliveries: IntCounterVec::new(
                Opts::new(
                    "webhook_deliveries_total",
                    "Merchant webhook delivery attempts by outcome",
                ),
                &["outcome"],
            )?,
        };
        registry.register(Box::new(metrics.sockets_open.clone()))?;
        registry.register(Box::new(metrics.events_delivered.clone()))?;
        registry.register(Box::new(metrics.consumer_lag.clone()))?;
        registry.register(Box::new(metrics.webhook_deliveries.clone()))?;
        Ok(metrics)
    }

    pub fn set_sockets_open(&self, open: usize) {
        self.sockets_open
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// One delivery attempt: `succeeded`, `failed` (will retry) or `gave_up`.
    pub fn webhook_attempt(&self, outcome: &'static str) {
        self.webhook_deliveries.with_label_values(&[outcome]).inc();
    }
}

impl crate::app::webhooks::DeliveryMetrics for LiveMetrics {
    fn attempt(&self, outcome: &'static str) {
        self.webhook_attempt(outcome);
    }
}

impl crate::app::dispatch::DispatchMetrics for LiveMetrics {
    fn delivered(&self, consumer: &'static str, count: u64) {
        self.events_delivered
            .with_label_values(&[consumer])
            .inc_by(count);
    }

    fn lag(&self, consumer: &'static str, lag: i64) {
        self.consumer_lag.with_label_values(&[consumer]).set(lag);
    }
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("techverse".to_owned()), None)?;
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            labels,
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request received to response ready",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            labels,
        )?;
        let mail_pending = IntGauge::new(
            "mail_outbox_pending",
            "Messages in the mail outbox, not yet accepted by the transport",
        )?;
        let mail_dead = IntGauge::new(
            "mail_outbox_dead",
            "Messages the outbox gave up on (undeliverable for three days); kept, never sent",
        )?;
        let live = LiveMetrics::new(&registry)?;
        registry.register(Box::new(mail_pending.clone()))?;
        registry.register(Box::new(mail_dead.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            registry,
            requests,
            latency,
            mail_pending,
            mail_dead,
            live,
        })
    }

    /// Counts one answered request. `route` must be a route template or `unmatched` (never a
    /// raw path), so every label comes from a bounded set.
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status_label(status);
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The registry, for components that bring their own metrics (the cache).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn set_mail_pending(&self, pending: u64) {
        self.mail_pending
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    pub fn set_mail_dead(&self, dead: u64) {
        self.mail_dead.set(i64::try_from(dead).unwrap_or(i64::MAX));
    }

    /// Everything in the Prometheus text exposition format.
    pub fn render(&self) -> anyhow::Result<String> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}

/// The middleware (`actix_web::middleware::from_fn(observe)`).
pub async fn observe(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let request_id = accept_request_id(request.headers().get(REQUEST_ID));
    let method = method_label(request.method());
    let metrics = request
        .app_data::<actix_web::web::Data<super::AppState>>()
        .map(|state| state.metrics.clone());
    let span = tracing::info_span!(
        "http_request",
        request_id = %request_id,
        method = %request.method(),
        route = Empty,
        status = Empty,
        latency_ms = Empty,
        store = Empty,
    );
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));

    let result = next.call(request).instrument(span.clone()).await;

    let (status, route) = match &result {
        Ok(response) => (
            response.status().as_u16(),
            response.request().match_pattern(),
        ),
        Err(error) => (error.as_response_error().status_code().as_u16(), None),
    };
    // Unmatched paths share one label, so scanners cannot blow up the metric cardinality.
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    span.record("route", route.as_str());
    span.record("status", status);
    span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
    span.in_scope(|| tracing::info!("request completed"));
    if let Some(metrics) = metrics {
        metrics.observe(method, &route, status, elapsed.as_secs_f64());
    }

    result.map(|mut response| {
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        response
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_client_request_id_is_kept_and_a_bad_one_replaced() {
        let keep = HeaderValue::from_static("abc-123");
        assert_eq!(accept_request_id(Some(&keep)), "abc-123");
        let spaced = HeaderValue::from_static("has space");
        assert_ne!(accept_request_id(Some(&spaced)), "has space");
        let long = HeaderValue::from_str(&"x".repeat(129)).unwrap();
        assert_eq!(accept_request_id(Some(&long)).len(), 36);
        assert_eq!(accept_request_id(None).len(), 36);
    }

    #[test]
    fn only_standard_methods_and_real_statuses_become_label_values() {
        use actix_web::http::Method;
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"FOO").unwrap()), "other");
        assert_eq!(method_label(&Method::CONNECT), "other");
        assert_eq!(status_label(404), "404");
        assert_eq!(status_label(1000), "other");
    }

    #[test]
    fn metrics_render_counts_by_route_and_status() {
        let metrics = Metrics::new().unwrap();
        metrics.observe("GET", "/health", 200, 0.002);
        let text = metrics.render().unwrap();
        assert!(text.contains(
            "techverse_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1"
        ));
        assert!(text.contains("techverse_http_request_duration_seconds_bucket"));
    }
}
