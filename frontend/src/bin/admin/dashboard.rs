//! The dashboard: today / 7 / 30 days of sales, charts, best sellers, low stock, and the live
//! feed of orders that refreshes the figures as they arrive.

use leptos::prelude::*;
use techverse_shared::{Analytics, Permission};

use crate::{
    charts::{SalesChart, StatusChart},
    live::{self, LiveEvent, Signal as LiveSignal},
    session::use_session,
    widgets::{Failed, Loading},
};

/// The feed keeps the newest events only.
const FEED: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Range {
    Today,
    Week,
    Month,
}

/// The analytics path for `range`; the store's today is the last day of its default window.
fn path(session: crate::session::Session, range: Range, today: Option<String>) -> String {
    let query = match (range, today) {
        (Range::Today, Some(day)) => format!("?interval=hour&from={day}&to={day}"),
        (Range::Week, Some(day)) => {
            let date = js_sys::Date::new(&format!("{day}T00:00:00Z").into());
            date.set_time(date.get_time() - 6.0 * 86_400_000.0);
            let from = String::from(date.to_iso_string())
                .chars()
                .take(10)
                .collect::<String>();
            format!("?from={from}&to={day}")
        }
        _ => String::new(),
    };
    session.admin_path(&format!("/analytics{query}"))
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let session = use_session();
    let range = RwSignal::new(Range::Month);
    let today = RwSignal::new(None::<String>);
    let version = RwSignal::new(0_u32);
    let report = LocalResource::new(move || {
        let (range, _, _) = (range.get(), version.get(), session.store.get());
        // The month's answer names today; the other ranges are cut from it.
        let day = (range != Range::Month).then(|| today.get()).flatten();
        async move {
            let result = session.get::<Analytics>(&path(session, range, day)).await;
            if let Ok(report) = &result
                && range == Range::Month
                && today.get_untracked().as_deref() != Some(report.to.as_str())
            {
                today.set(Some(report.to.clone()));
            }
            result
        }
    });
    let feed = RwSignal::new(Vec::<LiveEvent>::new());
    let connected = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(store) = session.store.get()
            && untrack(|| session.can(Permission::OrdersRead))
        {
            let on_signal = Callback::new(move |signal: LiveSignal| {
                if let LiveSignal::Event(event) = signal {
                    if !event.kind.starts_with("order.") {
                        return;
                    }
                    feed.update(|items| {
                        items.insert(0, event);
                        items.truncate(FEED);
                    });
                }
                version.update(|v| *v += 1);
            });
            live::follow_store(session, store, on_signal, connected);
        }
    });
    let button = move |label: &'static str, which: Range| {
        view! {
            <button type="button" class:active=move || range.get() == which aria-pressed=move || (range.get() == which).to_string()
                on:click=move |_| range.set(which)>{label}</button>
        }
    };
    view! {
        <section class="dashboard">
            <header class="page-head">
                <h1>"Dashboard"</h1>
                <p class="connection" data-test="connection" data-connected=move || connected.get().to_string()>
                    {move || if connected.get() { "● Live" } else { "○ Reconnecting…" }}
                </p>
                <div class="ranges" role="group" aria-label="Period">
                    {button("Today", Range::Today)}
                    {button("7 days", Range::Week)}
                    {button("30 days", Range::Month)}
                </div>
            </header>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || report.get().map(|result| match result {
                    Ok(report) => view! { <Figures report=report/> }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
            <section class="feed" aria-labelledby="feed-title">
                <h2 id="feed-title">"Live orders"</h2>
                {move || feed.with(|items| items.is_empty()).then(|| view! {
                    <p class="empty">"New orders and status changes appear here as they happen."</p>
                })}
                <ul data-test="feed">
                    <For each=move || feed.get() key=|e| e.seq let:event>
                        <li data-test="feed-item">
                            <span class="kind">{describe(&event)}</span>
                            <time>{event.at.clone()}</time>
                        </li>
                    </For>
                </ul>
            </section>
        </section>
    }
}

fn describe(event: &LiveEvent) -> String {
    let number = event.data["number"]
        .as_i64()
        .map(|n| format!("#{n}"))
        .unwrap_or_default();
    match event.kind.as_str() {
        "order.created" => format!("New order {number}"),
        "order.status_changed" => format!(
            "Order {number}: {} → {}",
            event.data["from"].as_str().unwrap_or("?").replace('_', " "),
            event.data["to"].as_str().unwrap_or("?").replace('_', " ")
        ),
        other => format!("{} {number}", other.replace(['.', '_'], " ")),
    }
}

#[component]
fn Figures(report: Analytics) -> impl IntoView {
    let totals = report.totals.clone();
    let empty = totals.orders == 0;
    view! {
        {empty.then(|| view! { <p class="empty" data-test="dashboard-empty">"No orders yet in this period. Share your store's link to get your first sale."</p> })}
        <dl class="figures">
            <div><dt>"Gross sales"</dt><dd data-test="gross-sales">{totals.gross_sales.format()}</dd></div>
            <div><dt>"Orders"</dt><dd data-test="orders-count">{totals.orders}</dd></div>
            <div><dt>"Average order"</dt><dd>{totals.average_order_value.format()}</dd></div>
            <div><dt>"Refunds"</dt><dd data-test="refunds">{totals.refunds.format()}</dd></div>
        </dl>
        <div class="charts">
            <SalesChart report=report.clone()/>
            <StatusChart report=report.clone()/>
        </div>
        <div class="tables">
            <section>
                <h2>"Top products"</h2>
                {if report.top_products.is_empty() {
                    view! { <p class="empty">"No sales yet."</p> }.into_any()
                } else {
                    view! {
                        <table>
                            <thead><tr><th>"Product"</th><th>"Sold"</th><th>"Revenue"</th></tr></thead>
                            <tbody>
                                {report.top_products.iter().map(|p| view! {
                                    <tr><td>{p.title.clone()}</td><td>{p.quantity}</td><td>{p.revenue.format()}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
            <section>
                <h2>"Low stock"</h2>
                {if report.low_stock.is_empty() {
                    view! { <p class="empty">"Nothing is running low."</p> }.into_any()
                } else {
                    view! {
                        <table>
                            <thead><tr><th>"Variant"</th><th>"SKU"</th><th>"Available"</th></tr></thead>
                            <tbody>
                                {report.low_stock.iter().map(|v| view! {
                                    <tr><td>{format!("{} {}", v.product_title, v.variant_title)}</td><td>{v.sku.clone()}</td><td>{v.available}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
        </div>
    }
}
