//! Charts drawn by the app as SVG: no chart library, nothing fetched at run time.

use leptos::prelude::*;
use techverse_shared::{Analytics, Money};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 180.0;

/// Gross sales per step as bars, with the largest value as the scale.
#[component]
pub fn SalesChart(report: Analytics) -> impl IntoView {
    let points = report.series.clone();
    let steps = points.len().max(1) as f64;
    let top = points
        .iter()
        .map(|p| p.gross_sales.minor)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = WIDTH / steps;
    let bars = points
        .iter()
        .enumerate()
        .map(|(index, point)| {
            let height = (point.gross_sales.minor as f64 / top) * (HEIGHT - 20.0);
            let label = format!(
                "{}: {} from {} orders",
                point.start,
                point.gross_sales.format(),
                point.orders
            );
            view! {
                <rect
                    x=format!("{:.1}", index as f64 * slot + slot * 0.1)
                    y=format!("{:.1}", HEIGHT - height)
                    width=format!("{:.1}", slot * 0.8)
                    height=format!("{:.1}", height)
                    class="bar"
                    data-test="sales-bar"
                    data-minor=point.gross_sales.minor.to_string()
                >
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    let peak = Money::new(top as i64, report.totals.gross_sales.currency).format();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label="Sales over time" data-test="sales-chart">
                <line x1="0" y1=HEIGHT.to_string() x2=WIDTH.to_string() y2=HEIGHT.to_string() class="axis"></line>
                {bars}
            </svg>
            <figcaption>{format!("Gross sales per {} · peak {peak}", report.interval.as_str())}</figcaption>
        </figure>
    }
}

/// Orders by status as horizontal bars.
#[component]
pub fn StatusChart(report: Analytics) -> impl IntoView {
    let counts: Vec<_> = report
        .by_status
        .iter()
        .filter(|c| c.orders > 0)
        .cloned()
        .collect();
    let top = counts.iter().map(|c| c.orders).max().unwrap_or(1).max(1) as f64;
    let row = 26.0;
    let height = (counts.len().max(1) as f64) * row;
    let empty = counts.is_empty();
    let bars = counts
        .into_iter()
        .enumerate()
        .map(|(index, count)| {
            let y = index as f64 * row;
            let width = (count.orders as f64 / top) * (WIDTH - 200.0);
            let name = count.status.as_str().replace('_', " ");
            view! {
                <g data-test="status-bar" data-status=count.status.as_str()>
                    <text x="0" y=format!("{:.1}", y + 17.0)>{name}</text>
                    <rect x="150" y=format!("{:.1}", y + 4.0) width=format!("{width:.1}") height="18" class="bar"></rect>
                    <text x=format!("{:.1}", 160.0 + width) y=format!("{:.1}", y + 17.0)>{count.orders}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            {empty.then(|| view! { <p class="empty">"No orders in this period yet."</p> })}
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label="Orders by status" data-test="status-chart">
                {bars}
            </svg>
            <figcaption>"Orders by status"</figcaption>
        </figure>
    }
}
