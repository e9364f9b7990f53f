//! The dashboard's window (local days in the store's time zone, cut into days or hours) and
//! the report assembled from what storage summed over it. Storage never sees a time zone: it
//! gets the instants where the steps begin and answers one row per step.

use jiff::{SignedDuration, Timestamp, Zoned, civil::Date, tz::TimeZone};
use techverse_shared::{
    Analytics, AnalyticsInterval, Currency, LowStockVariant, Money, OrderStatus, ProductId,
    SalesPoint, SalesTotals, StatusCount, TopProduct,
};

use super::{catalog::Product, validation::ValidationErrors};

/// Days in a window cut by the day, and by the hour.
pub const MAX_DAYS: i64 = 366;
pub const MAX_HOURLY_DAYS: i64 = 31;
/// Days shown when no `from` is given.
pub const DEFAULT_DAYS: i64 = 30;
pub const TOP_PRODUCTS: u32 = 5;
pub const LOW_STOCK: usize = 10;

/// The query as it arrives (`from`, `to`: `YYYY-MM-DD`; `interval`: day or hour).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    /// The first local day, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(format = Date)]
    pub from: Option<String>,
    /// The last local day, `YYYY-MM-DD` (default: today in the store's zone).
    #[param(format = Date)]
    pub to: Option<String>,
    #[param(pattern = "^(day|hour)$")]
    pub interval: Option<String>,
}

/// Local days `from..=to` in `tz`, cut into steps; `boundaries` holds each step's start and,
/// last, the window's end (milliseconds since the epoch), so step `i` is
/// `boundaries[i]..boundaries[i + 1]`.
#[derive(Debug, Clone)]
pub struct Window {
    pub from: Date,
    pub to: Date,
    pub interval: AnalyticsInterval,
    pub tz: TimeZone,
    pub timezone: String,
    pub boundaries: Vec<i64>,
}

impl Window {
    /// Parses the query for a store in `timezone` on `now`; without dates the window is the
    /// last [`DEFAULT_DAYS`] local days up to today.
    pub fn parse(
        input: &WindowInput,
        timezone: &str,
        now: Timestamp,
    ) -> Result<Self, ValidationErrors> {
        let tz = jiff::tz::db().get(timezone).unwrap_or(TimeZone::UTC);
        let today = now.to_zoned(tz.clone()).date();
        let mut errors = ValidationErrors::default();
        let date = |errors: &mut ValidationErrors, field: &str, raw: &Option<String>| {
            raw.as_deref()
                .and_then(|raw| errors.check(field, raw.parse::<Date>(), |_| "invalid_date"))
        };
        let to = date(&mut errors, "to", &input.to).unwrap_or(today);
        let from = date(&mut errors, "from", &input.from)
            .unwrap_or_else(|| to.saturating_sub(jiff::Span::new().days(DEFAULT_DAYS - 1)));
        let interval = match input.interval.as_deref() {
            None => AnalyticsInterval::Day,
            Some(raw) => AnalyticsInterval::parse(raw).unwrap_or_else(|| {
                errors.add("interval", "invalid_interval", "`interval` is day or hour");
                AnalyticsInterval::Day
            }),
        };
        let days = i64::from(from.until(to).map_or(-1, |span| span.get_days())) + 1;
        let limit = match interval {
            AnalyticsInterval::Day => MAX_DAYS,
            AnalyticsInterval::Hour => MAX_HOURLY_DAYS,
        };
        if errors.is_empty() && days < 1 {
            errors.add("from", "invalid_range", "`from` is after `to`");
        } else if errors.is_empty() && days > limit {
            errors.add(
                "from",
                "range_too_long",
                format!("at most {limit} days by the {}", interval.as_str()),
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let boundaries = boundaries(from, to, interval, &tz);
        Ok(Self {
            from,
            to,
            interval,
            timezone: tz.iana_name().unwrap_or("UTC").to_owned(),
            tz,
            boundaries,
        })
    }

    pub fn start(&self) -> i64 {
        self.boundaries.first().copied().unwrap_or_default()
    }

    pub fn end(&self) -> i64 {
        self.boundaries.last().copied().unwrap_or_default()
    }

    fn local(&self, millis: i64) -> Zoned {
        Timestamp::from_millisecond(millis)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(self.tz.clone())
    }
}

/// The first instant of a local day (midnight, or the first hour after a DST gap).
fn day_start(date: Date, tz: &TimeZone) -> Timestamp {
    date.to_zoned(tz.clone())
        .map(|zoned| zoned.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn boundaries(from: Date, to: Date, interval: AnalyticsInterval, tz: &TimeZone) -> Vec<i64> {
    let end = day_start(to.tomorrow().unwrap_or(to), tz);
    match interval {
        AnalyticsInterval::Day => {
            let mut out = Vec::new();
            let mut day = from;
            while day <= to {
                out.push(day_start(day, tz).as_millisecond());
                day = match day.tomorrow() {
                    Ok(next) => next,
                    Err(_) => break,
                };
            }
            out.push(end.as_millisecond());
            out
        }
        // Real hours: a day that skips or repeats one for daylight saving has 23 or 25.
        AnalyticsInterval::Hour => {
            let hour = SignedDuration::from_hours(1).as_millis() as i64;
            let (start, end) = (day_start(from, tz).as_millisecond(), end.as_millisecond());
            let mut out: Vec<i64> = (0..)
                .map(|step| start + step * hour)
                .take_while(|at| *at < end)
                .collect();
            out.push(end);
            out
        }
    }
}

/// What storage sums for step `bucket` (an index into the window's steps).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SalesRow {
    pub bucket: usize,
    pub orders: i64,
    pub paid_orders: i64,
    pub gross: i64,
    pub refunds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSales {
    pub product_id: ProductId,
    pub title: String,
    pub quantity: i64,
    pub revenue: i64,
}

/// Storage's answer for a window: rows for the steps that had orders, the orders placed in the
/// window by status, and the best sellers by revenue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFigures {
    pub sales: Vec<SalesRow>,
    pub by_status: Vec<(OrderStatus, i64)>,
    pub top_products: Vec<ProductSales>,
}

/// The payment states that count as a sale.
pub const SALE_PAYMENT_STATES: [&str; 3] = ["paid", "partially_refunded", "refunded"];

/// The variants of active products at or below their threshold, least available first.
pub fn low_stock(products: &[Product]) -> Vec<LowStockVariant> {
    let mut low: Vec<LowStockVariant> = products
        .iter()
        .filter(|p| p.status == techverse_shared::ProductStatus::Active)
        .flat_map(|p| {
            p.variants
                .iter()
                .filter(|v| v.is_low())
                .map(|v| LowStockVariant {
                    product_id: p.id,
                    variant_id: v.id,
                    product_title: p.title.clone(),
                    variant_title: v.options.join(" / "),
                    sku: v.sku.clone(),
                    available: v.available().unwrap_or_default(),
                    threshold: v.low_stock_threshold,
                })
        })
        .collect();
    low.sort_by(|a, b| a.available.cmp(&b.available).then(a.sku.cmp(&b.sku)));
    low.truncate(LOW_STOCK);
    low
}

/// The report: one point per step (empty ones too), totals, every status and the best sellers.
pub fn report(
    window: &Window,
    figures: OrderFigures,
    low_stock: Vec<LowStockVariant>,
    currency: Currency,
) -> Analytics {
    let money = |minor| Money::new(minor, currency);
    let steps = window.boundaries.len().saturating_sub(1);
    let mut rows = vec![SalesRow::default(); steps];
    for row in figures.sales.iter().filter(|row| row.bucket < steps) {
        rows[row.bucket] = *row;
    }
    let sum = |pick: fn(&SalesRow) -> i64| rows.iter().map(pick).sum::<i64>();
    let (gross, refunds, paid) = (sum(|r| r.gross), sum(|r| r.refunds), sum(|r| r.paid_orders));
    let series = rows
        .iter()
        .zip(&window.boundaries)
        .map(|(row, start)| SalesPoint {
            start: window
                .local(*start)
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            orders: row.orders,
            paid_orders: row.paid_orders,
            gross_sales: money(row.gross),
            refunds: money(row.refunds),
        })
        .collect();
    let by_status = OrderStatus::ALL
        .into_iter()
        .map(|status| StatusCount {
            status,
            orders: figures
                .by_status
                .iter()
                .filter(|(s, _)| *s == status)
                .map(|(_, n)| n)
                .sum(),
        })
        .collect();
    Analytics {
        from: window.from.to_string(),
        to: window.to.to_string(),
        interval: window.interval,
        timezone: window.timezone.clone(),
        totals: SalesTotals {
            orders: sum(|r| r.orders),
            paid_orders: paid,
            gross_sales: money(gross),
            refunds: money(refunds),
            net_sales: money(gross - refunds),
            average_order_value: money(if paid > 0 { gross / paid } else { 0 }),
        },
        series,
        by_status,
        top_products: figures
            .top_products
            .into_iter()
            .map(|p| TopProduct {
                product_id: p.product_id,
                title: p.title,
                quantity: p.quantity,
                revenue: money(p.revenue),
            })
            .collect(),
        low_stock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(from: &str, to: &str, interval: &str, tz: &str) -> Result<Window, ValidationErrors> {
        Window::parse(
            &WindowInput {
                from: Some(from.into()),
                to: Some(to.into()),
                interval: Some(interval.into()),
            },
            tz,
            Timestamp::UNIX_EPOCH,
        )
    }

    fn ok(result: Result<Window, ValidationErrors>) -> Window {
        result.unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn days_start_at_local_midnight_in_the_store_zone() {
        let w = ok(window("2026-11-29", "2026-11-30", "day", "Africa/Lagos"));
        // Lagos is UTC+1 all year: local midnight is 23:00 UTC the day before.
        let utc = |s: &str| s.parse::<Timestamp>().map(|t| t.as_millisecond()).ok();
        assert_eq!(
            w.boundaries.iter().map(|b| Some(*b)).collect::<Vec<_>>(),
            vec![
                utc("2026-11-28T23:00:00Z"),
                utc("2026-11-29T23:00:00Z"),
                utc("2026-11-30T23:00:00Z")
            ]
        );
    }

    #[test]
    fn hours_follow_daylight_saving_days() {
        // New York skipped 02:00 on 2026-03-08 and repeated 01:00 on 2026-11-01.
        assert_eq!(
            ok(window(
                "2026-03-08",
                "2026-03-08",
                "hour",
                "America/New_York"
            ))
            .boundaries
            .len(),
            24
        );
        assert_eq!(
            ok(window(
                "2026-11-01",
                "2026-11-01",
                "hour",
                "America/New_York"
            ))
            .boundaries
            .len(),
            26
        );
        assert_eq!(
            ok(window("2026-11-01", "2026-11-02", "hour", "UTC"))
                .boundaries
                .len(),
            49
        );
    }

    #[test]
    fn bad_windows_name_their_field() {
        let field = |r: Result<Window, ValidationErrors>| {
            r.err().map(|e| {
                e.0.into_iter()
                    .map(|f| (f.field, f.code))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            field(window("2026-12-02", "2026-12-01", "day", "UTC")),
            Some(vec![("from".into(), "invalid_range".into())])
        );
        assert_eq!(
            field(window("2026-01-01", "2026-03-01", "hour", "UTC")),
            Some(vec![("from".into(), "range_too_long".into())])
        );
        assert_eq!(
            field(window("yesterday", "2026-03-01", "week", "UTC")),
            Some(vec![
                ("from".into(), "invalid_date".into()),
                ("interval".into(), "invalid_interval".into())
            ])
        );
    }

    #[test]
    fn the_default_window_is_the_last_thirty_local_days() {
        let now: Timestamp = "2026-12-01T23:30:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let w = ok(Window::parse(&WindowInput::default(), "Africa/Lagos", now));
        // 00:30 on 2 December in Lagos.
        assert_eq!(
            (w.from.to_string(), w.to.to_string()),
            ("2026-11-03".into(), "2026-12-02".into())
        );
        assert_eq!(w.boundaries.len(), 31);
    }

    #[test]
    fn the_report_fills_empty_steps_and_sums_the_totals() {
        let w = ok(window("2026-11-29", "2026-12-01", "day", "UTC"));
        let ngn = Currency::from_code("NGN").unwrap_or_else(|_| unreachable!());
        let figures = OrderFigures {
            sales: vec![
                SalesRow {
                    bucket: 0,
                    orders: 2,
                    paid_orders: 2,
                    gross: 1000,
                    refunds: 100,
                },
                SalesRow {
                    bucket: 2,
                    orders: 2,
                    paid_orders: 1,
                    gross: 501,
                    refunds: 0,
                },
            ],
            by_status: vec![(OrderStatus::Paid, 3), (OrderStatus::PendingPayment, 1)],
            top_products: vec![],
        };
        let report = report(&w, figures, vec![], ngn);
        assert_eq!(report.series.len(), 3);
        assert_eq!(report.series[1].orders, 0);
        assert_eq!(report.series[0].start, "2026-11-29T00:00:00+00:00");
        assert_eq!(report.totals.orders, 4);
        assert_eq!(report.totals.gross_sales.minor, 1501);
        assert_eq!(report.totals.net_sales.minor, 1401);
        assert_eq!(report.totals.average_order_value.minor, 500);
        assert_eq!(report.by_status.len(), OrderStatus::ALL.len());
        assert_eq!(report.by_status[1].orders, 3);
    }
}
