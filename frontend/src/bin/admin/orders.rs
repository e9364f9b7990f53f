//! Orders: the list with its filters in the URL and cursor pages, and one order with exactly
//! the actions its state and the member's permissions allow.

use gloo_net::http::Method;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use techverse_frontend::api::{Failure, query};
use techverse_shared::{FulfilledLine, OrderAction, OrderPage, OrderStatus, OrderView};

use crate::{
    session::use_session,
    widgets::{Failed, Loading},
};

#[component]
pub fn Orders() -> impl IntoView {
    let session = use_session();
    let params = use_query_map();
    let list = LocalResource::new(move || {
        let pairs: Vec<(String, String)> = ["status", "payment_status", "q", "cursor"]
            .into_iter()
            .filter_map(|k| params.with(|p| p.get(k)).map(|v| (k.to_owned(), v)))
            .collect();
        let _ = session.store.get();
        async move {
            session
                .get::<OrderPage>(&session.admin_path(&format!("/orders{}", query(&pairs))))
                .await
        }
    });
    let status = move || params.with(|p| p.get("status")).unwrap_or_default();
    view! {
        <section>
            <h1>"Orders"</h1>
            <form class="filters" method="get" action="/admin/orders">
                <label for="status">"Status"</label>
                <select id="status" name="status">
                    <option value="">"Any"</option>
                    {OrderStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || status() == s.as_str()>{s.as_str().replace('_', " ")}</option>
                    }).collect_view()}
                </select>
                <label for="payment_status">"Payment"</label>
                <select id="payment_status" name="payment_status">
                    <option value="">"Any"</option>
                    {techverse_shared::PaymentStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || params.with(|p| p.get("payment_status")).as_deref() == Some(s.as_str())>{s.as_str().replace('_', " ")}</option>
                    }).collect_view()}
                </select>
                <label for="q">"Number or email"</label>
                <input id="q" name="q" prop:value=move || params.with(|p| p.get("q")).unwrap_or_default()/>
                <button type="submit">"Filter"</button>
            </form>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || list.get().map(|result| match result {
                    Ok(page) if page.items.is_empty() => view! { <p class="empty">"No orders match."</p> }.into_any(),
                    Ok(page) => {
                        let next = page.next_cursor.clone().map(|c| {
                            let mut pairs: Vec<(String, String)> = ["status", "payment_status", "q"].into_iter()
                                .filter_map(|k| params.with_untracked(|p| p.get(k)).map(|v| (k.to_owned(), v))).collect();
                            pairs.push(("cursor".into(), c));
                            format!("/admin/orders{}", query(&pairs))
                        });
                        view! {
                            <table data-test="orders">
                                <thead><tr><th>"Order"</th><th>"Status"</th><th>"Payment"</th><th>"Email"</th><th>"Total"</th></tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|o| view! {
                                        <tr data-test="order-row">
                                            <td><a href=format!("/admin/orders/{}", o.id)>{format!("#{}", o.number)}</a></td>
                                            <td>{o.status.as_str().replace('_', " ")}</td>
                                            <td>{o.payment_status.as_str().replace('_', " ")}</td>
                                            <td>{o.email}</td>
                                            <td>{o.total.format()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {next.map(|href| view! { <a class="next" href=href>"Next page"</a> })}
                        }.into_any()
                    }
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Major units typed by a person (`1,500.50`) as minor units of a currency with `exponent`.
pub fn minor_units(text: &str, exponent: u8) -> Option<i64> {
    let clean: String = text
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    let (whole, fraction) = clean.split_once('.').unwrap_or((&clean, ""));
    if fraction.len() > usize::from(exponent) || whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let scale = 10_i64.checked_pow(u32::from(exponent))?;
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<width$}", width = usize::from(exponent))
            .parse()
            .ok()?
    };
    whole.checked_mul(scale)?.checked_add(fraction)
}

/// `145000000` with 2 decimals → `1450000.00`, as a price field holds it.
pub fn major_units(minor: i64, exponent: u8) -> String {
    let scale = 10_i64.pow(u32::from(exponent));
    let sign = if minor < 0 { "-" } else { "" };
    let (whole, fraction) = (
        minor.unsigned_abs() / scale.unsigned_abs(),
        minor.unsigned_abs() % scale.unsigned_abs(),
    );
    if exponent == 0 {
        format!("{sign}{whole}")
    } else {
        format!(
            "{sign}{whole}.{fraction:0width$}",
            width = usize::from(exponent)
        )
    }
}

#[component]
pub fn OrderDetail() -> impl IntoView {
    let session = use_session();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let version = RwSignal::new(0_u32);
    let order = LocalResource::new(move || {
        let (id, _) = (id(), version.get());
        async move {
            session
                .get::<OrderView>(&session.admin_path(&format!("/orders/{id}")))
                .await
        }
    });
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || order.get().map(|result| match result {
                Ok(order) => view! { <OrderCard order=order changed=Callback::new(move |()| version.update(|v| *v += 1))/> }.into_any(),
                Err(failure) => view! { <Failed failure=failure/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn OrderCard(order: OrderView, changed: Callback<()>) -> impl IntoView {
    let session = use_session();
    let actions = order.actions(&session.permissions());
    let failure = RwSignal::new(None::<Failure>);
    let carrier = RwSignal::new(String::new());
    let tracking = RwSignal::new(String::new());
    let amount = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    // Units of each line to put back in stock with a refund (none unless typed).
    let restock: Vec<(techverse_shared::OrderLineId, String, i64, RwSignal<String>)> = order
        .lines
        .iter()
        .map(|l| {
            let name = format!("{} {}", l.title, l.variant_title);
            (l.id, name, l.quantity, RwSignal::new(String::new()))
        })
        .collect();
    let restocked = {
        let restock = restock.clone();
        move || -> Result<Vec<FulfilledLine>, Failure> {
            let mut lines = Vec::new();
            for (line_id, name, most, units) in &restock {
                let text = units.get_untracked();
                if text.trim().is_empty() {
                    continue;
                }
                match text.trim().parse::<i64>() {
                    Ok(0) => {}
                    Ok(quantity) if (1..=*most).contains(&quantity) => {
                        lines.push(FulfilledLine {
                            line_id: *line_id,
                            quantity,
                        });
                    }
                    _ => {
                        return Err(Failure {
                            code: None,
                            message: format!(
                                "{name}: restock a whole number of units, 0 to {most}."
                            ),
                            details: None,
                        });
                    }
                }
            }
            Ok(lines)
        }
    };
    let exponent = order.totals.total.currency.exponent();
    let unfulfilled: Vec<FulfilledLine> = order
        .lines
        .iter()
        .filter(|l| l.quantity > l.fulfilled_quantity)
        .map(|l| FulfilledLine {
            line_id: l.id,
            quantity: l.quantity - l.fulfilled_quantity,
        })
        .collect();
    let path = session.admin_path(&format!("/orders/{}", order.id));
    let path_notes = path.clone();
    let run = move |action: OrderAction| {
        let body = match action {
            OrderAction::Fulfil => serde_json::json!({
                "lines": unfulfilled.clone(),
                "carrier": Some(carrier.get_untracked()).filter(|c| !c.is_empty()),
                "tracking_number": Some(tracking.get_untracked()).filter(|t| !t.is_empty()),
            }),
            OrderAction::Refund => {
                let Some(minor) = minor_units(&amount.get_untracked(), exponent) else {
                    failure.set(Some(Failure {
                        code: None,
                        message: "Type the amount to refund, like 1,500.00.".into(),
                        details: None,
                    }));
                    return;
                };
                let lines = match restocked() {
                    Ok(lines) => lines,
                    Err(error) => return failure.set(Some(error)),
                };
                let why = reason.get_untracked();
                serde_json::json!({
                    "amount": minor,
                    "restock": lines,
                    "reason": Some(why).filter(|r| !r.trim().is_empty()),
                })
            }
            _ => serde_json::json!({}),
        };
        let destructive = matches!(action, OrderAction::Cancel | OrderAction::Refund);
        if destructive
            && !crate::widgets::confirmed(&format!("{}? This cannot be undone.", label(action)))
        {
            return;
        }
        let url = format!("{path}/{}", action.path());
        session.act(
            Method::POST,
            url,
            Some(body),
            failure,
            move |_: serde_json::Value| {
                changed.run(());
            },
        );
    };
    let run = StoredValue::new(run);
    view! {
        <article class="order" data-test="order" data-status=order.status.as_str()>
            <h1>{format!("Order #{}", order.number)}</h1>
            <p>{format!("{} · payment {}", order.status.as_str().replace('_', " "), order.payment_status.as_str().replace('_', " "))}</p>
            <table>
                <thead><tr><th>"Item"</th><th>"Qty"</th><th>"Fulfilled"</th><th>"Total"</th></tr></thead>
                <tbody>
                    {order.lines.iter().map(|l| view! {
                        <tr><td>{format!("{} {}", l.title, l.variant_title)}</td><td>{l.quantity}</td><td>{l.fulfilled_quantity}</td><td>{l.total.format()}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <dl class="totals">
                <dt>"Total"</dt><dd data-test="order-total">{order.totals.total.format()}</dd>
                <dt>"Refunded"</dt><dd data-test="order-refunded">{order.refunded.format()}</dd>
            </dl>
            <section class="actions" aria-label="Actions">
                {actions.iter().copied().map(|action| {
                    let extra = match action {
                        OrderAction::Fulfil => view! {
                            <div class="field"><label for="carrier">"Carrier"</label>
                                <input id="carrier" prop:value=move || carrier.get() on:input=move |ev| carrier.set(event_target_value(&ev))/></div>
                            <div class="field"><label for="tracking">"Tracking number"</label>
                                <input id="tracking" prop:value=move || tracking.get() on:input=move |ev| tracking.set(event_target_value(&ev))/></div>
                        }.into_any(),
                        OrderAction::Refund => view! {
                            <div class="field"><label for="refund-amount">{format!("Amount to refund ({})", order.totals.total.currency.code())}</label>
                                <input id="refund-amount" inputmode="decimal" prop:value=move || amount.get() on:input=move |ev| amount.set(event_target_value(&ev))/></div>
                            <fieldset class="restock">
                                <legend>"Put back in stock (units per line)"</legend>
                                {restock.iter().enumerate().map(|(index, (_, name, most, units))| {
                                    let units = *units;
                                    view! {
                                        <div class="field"><label for=format!("restock-{index}")>{format!("{name} (up to {most})")}</label>
                                            <input id=format!("restock-{index}") inputmode="numeric" prop:value=move || units.get() on:input=move |ev| units.set(event_target_value(&ev))/></div>
                                    }
                                }).collect_view()}
                            </fieldset>
                            <div class="field"><label for="refund-reason">"Reason (kept in the timeline)"</label>
                                <input id="refund-reason" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/></div>
                        }.into_any(),
                        _ => ().into_any(),
                    };
                    view! {
                        <div class="action">
                            {extra}
                            <button type="button" data-test=format!("action-{}", action.path())
                                on:click=move |_| run.with_value(|run| run(action))>{label(action)}</button>
                        </div>
                    }
                }).collect_view()}
            </section>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
            <section>
                <h2>"Ship to"</h2>
                <address>{address_lines(&order.shipping_address)}</address>
                <p>{format!("{} · {}", order.shipping.name, order.email)}</p>
            </section>
            <section>
                <h2>"Timeline"</h2>
                <ol class="timeline">
                    {order.history.clone().unwrap_or_default().into_iter().map(|t| view! {
                        <li>{format!("{}: {} → {} ({}, {})", t.field.replace('_', " "), t.from.unwrap_or_default(), t.to, t.actor.kind, t.at.0)}</li>
                    }).collect_view()}
                </ol>
            </section>
            <Notes notes=order.notes.clone().unwrap_or_default() path=format!("{path_notes}/notes") changed=changed/>
        </article>
    }
}

fn address_lines(a: &techverse_shared::OrderAddress) -> String {
    [
        Some(a.name.clone()),
        Some(a.line1.clone()),
        a.line2.clone(),
        Some(a.city.clone()),
        a.region.clone(),
        a.postal_code.clone(),
        Some(a.country.as_str().to_owned()),
        a.phone.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|line| !line.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// Staff notes on the order, newest last, and a form to add one (orders.write).
#[component]
fn Notes(
    notes: Vec<techverse_shared::OrderNoteView>,
    path: String,
    changed: Callback<()>,
) -> impl IntoView {
    let session = use_session();
    let text = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<Failure>);
    let path = StoredValue::new(path);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({ "text": text.get_untracked() });
        let done = move |_: serde_json::Value| {
            text.set(String::new());
            changed.run(());
        };
        session.act(Method::POST, path.get_value(), Some(body), failure, done);
    };
    view! {
        <section>
            <h2>"Notes"</h2>
            {notes.is_empty().then(|| view! { <p class="empty">"No notes."</p> })}
            <ul>{notes.into_iter().map(|n| view! { <li>{format!("{} ({})", n.text, n.at.0)}</li> }).collect_view()}</ul>
            {session.can(techverse_shared::Permission::OrdersWrite).then(|| view! {
                <form on:submit=add>
                    <label for="note">"Add a note"</label>
                    <textarea id="note" rows="2" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                    <button type="submit">"Add note"</button>
                </form>
            })}
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
        </section>
    }
}

fn label(action: OrderAction) -> &'static str {
    match action {
        OrderAction::MarkPaid => "Mark paid",
        OrderAction::Fulfil => "Fulfil all",
        OrderAction::Ship => "Mark shipped",
        OrderAction::Deliver => "Mark delivered",
        OrderAction::Cancel => "Cancel order",
        OrderAction::Refund => "Refund",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_units_write_what_minor_units_read_back() {
        for (minor, exponent, text) in [
            (145_000_000, 2, "1450000.00"),
            (1_205, 2, "12.05"),
            (1_200, 0, "1200"),
            (7, 3, "0.007"),
        ] {
            assert_eq!(major_units(minor, exponent), text);
            assert_eq!(minor_units(text, exponent), Some(minor), "{text}");
        }
        assert_eq!(minor_units("1,500.5", 2), Some(150_050));
        assert_eq!(minor_units("1.234", 2), None);
    }
}
