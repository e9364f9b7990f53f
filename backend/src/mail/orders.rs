//! Order mail: to the shopper at each step of their order, and to staff (a new order, a
//! variant running low). Templates take plain, already formatted values; every one of them is
//! HTML-escaped in the HTML part.

use super::{
    outbox::Rendered,
    templates::{Branding, button, escape, layout},
};

/// An order as its mail shows it: amounts formatted, times in the store's zone.
#[derive(Debug, Clone)]
pub struct OrderSummary {
    pub number: i64,
    pub placed_at: String,
    /// (title, quantity, line total)
    pub lines: Vec<(String, i64, String)>,
    pub subtotal: String,
    pub discount: Option<String>,
    pub shipping: String,
    pub tax: String,
    pub total: String,
    pub payment: String,
    /// How to pay (bank transfer details, cash on delivery), while unpaid.
    pub instructions: Option<String>,
    /// The order's page.
    pub link: String,
}

/// Which step of the order the shopper hears about.
#[derive(Debug, Clone)]
pub enum Step {
    Confirmed,
    Paid,
    Shipped {
        carrier: Option<String>,
        tracking: Option<String>,
    },
    Delivered,
    Cancelled {
        refunded: Option<String>,
    },
    Refunded {
        amount: String,
    },
}

impl Step {
    fn subject(&self, number: i64) -> String {
        match self {
            Self::Confirmed => format!("Order #{number} confirmed"),
            Self::Paid => format!("Payment received for order #{number}"),
            Self::Shipped { .. } => format!("Order #{number} is on its way"),
            Self::Delivered => format!("Order #{number} was delivered"),
            Self::Cancelled { .. } => format!("Order #{number} was cancelled"),
            Self::Refunded { .. } => format!("A refund for order #{number}"),
        }
    }

    /// The opening sentence, as plain text.
    fn intro(&self) -> String {
        match self {
            Self::Confirmed => "Thank you for your order. Here is what you bought.".to_owned(),
            Self::Paid => "We received your payment. Here is your receipt.".to_owned(),
            Self::Shipped { carrier, tracking } => {
                let mut line = "Your order was handed to the carrier".to_owned();
                if let Some(carrier) = carrier {
                    line.push_str(&format!(" ({carrier})"));
                }
                line.push('.');
                if let Some(tracking) = tracking {
                    line.push_str(&format!(" Tracking number: {tracking}."));
                }
                line
            }
            Self::Delivered => "Your order was delivered. Enjoy it!".to_owned(),
            Self::Cancelled { refunded } => match refunded {
                Some(amount) => format!("Your order was cancelled; {amount} is refunded to you."),
                None => "Your order was cancelled.".to_owned(),
            },
            Self::Refunded { amount } => format!("We refunded {amount} to you."),
        }
    }

    /// Whether the mail lists the lines and totals (a confirmation and a receipt do).
    const fn with_lines(&self) -> bool {
        matches!(self, Self::Confirmed | Self::Paid)
    }
}

fn totals_text(order: &OrderSummary) -> String {
    let mut text = String::new();
    for (title, quantity, total) in &order.lines {
        text.push_str(&format!("  {quantity} × {title}  {total}\n"));
    }
    text.push_str(&format!("Subtotal: {}\n", order.subtotal));
    if let Some(discount) = &order.discount {
        text.push_str(&format!("Discount: -{discount}\n"));
    }
    text.push_str(&format!(
        "Shipping: {}\nTax: {}\nTotal: {}\nPayment: {}\n",
        order.shipping, order.tax, order.total, order.payment
    ));
    text
}

fn totals_html(order: &OrderSummary) -> String {
    let row = |label: &str, value: &str| {
        format!(
            "<tr><td>{}</td><td style=\"text-align:right\">{}</td></tr>",
            escape(label),
            escape(value)
        )
    };
    let mut html = String::from("<table style=\"width:100%;border-collapse:collapse\">");
    for (title, quantity, total) in &order.lines {
        html.push_str(&row(&format!("{quantity} × {title}"), total));
    }
    html.push_str(&row("Subtotal", &order.subtotal));
    if let Some(discount) = &order.discount {
        html.push_str(&row("Discount", &format!("-{discount}")));
    }
    html.push_str(&row("Shipping", &order.shipping));
    html.push_str(&row("Tax", &order.tax));
    html.push_str(&format!(
        "<tr><td><strong>Total</strong></td><td style=\"text-align:right\"><strong>{}</strong></td></tr></table><p>Payment: {}</p>",
        escape(&order.total),
        escape(&order.payment)
    ));
    html
}

/// The shopper's mail for one step of their order.
pub fn to_shopper(brand: &Branding, order: &OrderSummary, step: &Step) -> Rendered {
    let subject = step.subject(order.number);
    let intro = step.intro();
    let mut text = format!(
        "Order #{} (placed {})\n\n{intro}\n\n",
        order.number, order.placed_at
    );
    let mut body = format!(
        "<p>Order #{} (placed {})</p><p>{}</p>",
        order.number,
        escape(&order.placed_at),
        escape(&intro)
    );
    if step.with_lines() {
        text.push_str(&totals_text(order));
        body.push_str(&totals_html(order));
    }
    if let (Step::Confirmed, Some(instructions)) = (step, &order.instructions) {
        text.push_str(&format!("\nHow to pay:\n{instructions}\n"));
        body.push_str(&format!(
            "<p><strong>How to pay</strong></p><p style=\"white-space:pre-line\">{}</p>",
            escape(instructions)
        ));
    }
    text.push_str(&format!(
        "\nYour order: {}\n\n— {}\n",
        order.link, brand.name
    ));
    body.push_str(&button(&order.link, "View your order"));
    Rendered {
        html: layout(brand, &subject, &body),
        subject,
        text,
    }
}

/// To staff: a new order came in.
pub fn new_order(brand: &Branding, order: &OrderSummary, buyer: &str) -> Rendered {
    let subject = format!("New order #{} — {}", order.number, order.total);
    let text = format!(
        "A new order came in from {buyer} (placed {}).\n\n{}\nOpen it: {}\n",
        order.placed_at,
        totals_text(order),
        order.link
    );
    let body = format!(
        "<p>A new order came in from {} (placed {}).</p>{}{}",
        escape(buyer),
        escape(&order.placed_at),
        totals_html(order),
        button(&order.link, "Open the order")
    );
    Rendered {
        html: layout(brand, &subject, &body),
        subject,
        text,
    }
}

/// To staff: a variant is running low.
pub fn low_stock(
    brand: &Branding,
    product: &str,
    sku: &str,
    available: i64,
    link: &str,
) -> Rendered {
    let subject = format!("Low stock: {product} ({sku})");
    let text = format!(
        "{product} (SKU {sku}) is running low: {available} left to sell.\n\nRestock it: {link}\n"
    );
    let body = format!(
        "<p><strong>{}</strong> (SKU {}) is running low: {} left to sell.</p>{}",
        escape(product),
        escape(sku),
        available,
        button(link, "Open the product")
    );
    Rendered {
        html: layout(brand, &subject, &body),
        subject,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> OrderSummary {
        OrderSummary {
            number: 42,
            placed_at: "1 Dec 2026 at 16:00 WAT".into(),
            lines: vec![("<b>Phone</b>".into(), 2, "100.00 NGN".into())],
            subtotal: "100.00 NGN".into(),
            discount: None,
            shipping: "5.00 NGN".into(),
            tax: "0.00 NGN".into(),
            total: "105.00 NGN".into(),
            payment: "Bank transfer".into(),
            instructions: Some("Pay to <account> 123".into()),
            link: "https://shop.example/s/acme/orders/1".into(),
        }
    }

    #[test]
    fn a_confirmation_lists_lines_totals_and_how_to_pay_escaped() {
        let mail = to_shopper(&Branding::platform(), &summary(), &Step::Confirmed);
        assert_eq!(mail.subject, "Order #42 confirmed");
        assert!(mail.text.contains("2 × <b>Phone</b>  100.00 NGN"));
        assert!(mail.text.contains("Pay to <account> 123"));
        assert!(mail.html.contains("&lt;b&gt;Phone&lt;/b&gt;"));
        assert!(mail.html.contains("Pay to &lt;account&gt; 123"));
        assert!(!mail.html.contains("<b>Phone"));
    }

    #[test]
    fn the_shipping_mail_names_carrier_and_tracking_without_the_totals() {
        let step = Step::Shipped {
            carrier: Some("DHL".into()),
            tracking: Some("JD0001".into()),
        };
        let mail = to_shopper(&Branding::platform(), &summary(), &step);
        assert!(mail.text.contains("(DHL). Tracking number: JD0001."));
        assert!(!mail.text.contains("Subtotal"));
        assert!(mail.html.contains("JD0001"));
    }
}
