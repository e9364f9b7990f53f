//! Mail templates: HTML and plain text for each message, with the store's name as branding.
//! Every value that comes from a user is HTML-escaped in the HTML part.

use jiff::{Timestamp, tz::TimeZone};

use super::outbox::Rendered;

/// Who the mail is from, as the reader sees it.
#[derive(Debug, Clone)]
pub struct Branding {
    /// The store's name, or "TechVerse" for platform mail.
    pub name: String,
    /// The store's time zone, for stating expiry times.
    pub timezone: TimeZone,
}

impl Branding {
    /// A store's name and time zone.
    pub fn store(store: &crate::domain::store::Store) -> Self {
        Self {
            name: store.name.as_str().to_owned(),
            timezone: jiff::tz::db()
                .get(store.timezone.as_str())
                .unwrap_or(TimeZone::UTC),
        }
    }

    pub fn platform() -> Self {
        Self {
            name: "TechVerse".to_owned(),
            timezone: TimeZone::UTC,
        }
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// "28 Nov 2026 at 05:16 WAT (in 60 minutes)": the true expiry, in the store's time zone.
/// The distance is rounded to the nearest unit, so a 24-hour link mailed a few seconds after
/// it was issued still says "in 24 hours", not "in 23 hours".
pub fn expiry_phrase(expires_at: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let local = expires_at.to_zoned(tz.clone());
    let seconds = (expires_at.as_second() - now.as_second()).max(0);
    let nearest = |unit: i64| (seconds + unit / 2) / unit;
    let minutes = nearest(60);
    let relative = if minutes >= 48 * 60 {
        format!("in {} days", nearest(24 * 3600))
    } else if minutes >= 120 {
        format!("in {} hours", nearest(3600))
    } else {
        format!("in {minutes} minutes")
    };
    format!("{} ({relative})", local.strftime("%-d %b %Y at %H:%M %Z"))
}

pub(super) fn layout(brand: &Branding, heading: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1f2937;max-width:560px;margin:auto\">\
         <p style=\"font-size:20px;font-weight:700;color:#4f46e5\">{brand}</p>\
         <h1 style=\"font-size:18px\">{heading}</h1>{body_html}\
         <p style=\"color:#6b7280;font-size:12px\">Sent by {brand} via TechVerse.</p></body></html>",
        brand = escape(&brand.name),
        heading = escape(heading),
    )
}

pub(super) fn button(link: &str, label: &str) -> String {
    format!(
        "<p><a href=\"{href}\" style=\"background:#4f46e5;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">{label}</a></p>\
         <p style=\"font-size:12px\">Or paste this link into your browser: {href}</p>",
        href = escape(link),
        label = escape(label),
    )
}

pub fn welcome(brand: &Branding, name: &str) -> Rendered {
    let subject = format!("Welcome to {}", brand.name);
    let text = format!(
        "Hello {name},\n\nWelcome to {brand}. Your account is ready.\n\n— {brand}\n",
        brand = brand.name
    );
    let html = layout(
        brand,
        &subject,
        &format!(
            "<p>Hello {},</p><p>Welcome to {}. Your account is ready.</p>",
            escape(name),
            escape(&brand.name)
        ),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

pub fn verify_email(brand: &Branding, name: &str, link: &str, expiry: &str) -> Rendered {
    let subject = format!("Confirm your email address for {}", brand.name);
    let text = format!(
        "Hello {name},\n\nConfirm your email address by opening this link:\n{link}\n\nThe link works once and expires {expiry}.\nIf you did not sign up, ignore this message.\n\n— {brand}\n",
        brand = brand.name
    );
    let html = layout(
        brand,
        "Confirm your email address",
        &format!(
            "<p>Hello {},</p>{}<p>The link works once and expires {}.</p><p>If you did not sign up, ignore this message.</p>",
            escape(name),
            button(link, "Confirm email"),
            escape(expiry)
        ),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

pub fn password_reset(brand: &Branding, name: &str, link: &str, expiry: &str) -> Rendered {
    let subject = format!("Reset your {} password", brand.name);
    let text = format!(
        "Hello {name},\n\nSomeone asked to reset your password. To choose a new one, open:\n{link}\n\nThe link works once and expires {expiry}. Resetting signs you out everywhere.\nIf it was not you, ignore this message: your password stays as it is.\n\n— {brand}\n",
        brand = brand.name
    );
    let html = layout(
        brand,
        "Reset your password",
        &format!(
            "<p>Hello {},</p><p>Someone asked to reset your password.</p>{}<p>The link works once and expires {}. Resetting signs you out everywhere.</p><p>If it was not you, ignore this message: your password stays as it is.</p>",
            escape(name),
            button(link, "Choose a new password"),
            escape(expiry)
        ),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

pub fn staff_invitation(
    brand: &Branding,
    inviter: &str,
    role: &str,
    link: &str,
    expiry: &str,
) -> Rendered {
    let subject = format!("You are invited to join {} on TechVerse", brand.name);
    let text = format!(
        "Hello,\n\n{inviter} invited you to join the staff of {brand} as {role}.\nAccept the invitation here:\n{link}\n\nThe invitation works once and expires {expiry}.\n\n— {brand}\n",
        brand = brand.name
    );
    let html = layout(
        brand,
        "You are invited",
        &format!(
            "<p>{} invited you to join the staff of {} as <strong>{}</strong>.</p>{}<p>The invitation works once and expires {}.</p>",
            escape(inviter),
            escape(&brand.name),
            escape(role),
            button(link, "Accept the invitation"),
            escape(expiry)
        ),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

/// To a store's owners: a webhook endpoint failed for five days and was turned off.
pub fn webhook_disabled(brand: &Branding, url: &str) -> Rendered {
    let subject = format!("A webhook of {} was turned off", brand.name);
    let text = format!(
        "Deliveries to {url} failed for five days, so TechVerse turned this webhook off.\nFix the receiver, then turn the webhook on again in the store's settings; failed deliveries can be retried from its delivery log.\n\n— TechVerse\n"
    );
    let html = layout(
        brand,
        "A webhook was turned off",
        &format!(
            "<p>Deliveries to <code>{}</code> failed for five days, so TechVerse turned this webhook off.</p><p>Fix the receiver, then turn the webhook on again in the store's settings; failed deliveries can be retried from its delivery log.</p>",
            escape(url)
        ),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_values_are_escaped_in_html_only() {
        let brand = Branding {
            name: "Tom & Jerry's <Tech>".into(),
            timezone: TimeZone::UTC,
        };
        let mail = welcome(&brand, "<script>alert(1)</script>");
        assert!(mail.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("Tom &amp; Jerry&#39;s &lt;Tech&gt;"));
        assert!(mail.text.contains("<script>alert(1)</script>"));
    }

    #[test]
    fn the_expiry_is_stated_in_the_store_time_zone() {
        let now: Timestamp = "2026-11-28T04:00:00Z".parse().unwrap();
        let expires: Timestamp = "2026-11-28T05:00:00Z".parse().unwrap();
        let lagos = jiff::tz::db().get("Africa/Lagos").unwrap();
        assert_eq!(
            expiry_phrase(expires, now, &lagos),
            "28 Nov 2026 at 06:00 WAT (in 60 minutes)"
        );
        let week: Timestamp = "2026-12-05T04:00:00Z".parse().unwrap();
        assert!(expiry_phrase(week, now, &TimeZone::UTC).ends_with("(in 7 days)"));
    }

    #[test]
    fn the_distance_to_the_expiry_is_rounded_not_cut() {
        let issued: Timestamp = "2026-11-28T04:00:00Z".parse().unwrap();
        let phrase = |after_secs: i64, valid_secs: i64| {
            let now = issued + jiff::SignedDuration::from_secs(after_secs);
            let expires = issued + jiff::SignedDuration::from_secs(valid_secs);
            let phrase = expiry_phrase(expires, now, &TimeZone::UTC);
            phrase[phrase.find('(').unwrap()..].to_owned()
        };
        // Mailed a few seconds after the link was issued: still its whole lifetime.
        assert_eq!(phrase(5, 24 * 3600), "(in 24 hours)");
        assert_eq!(phrase(10, 3600), "(in 60 minutes)");
        assert_eq!(phrase(30, 7 * 24 * 3600), "(in 7 days)");
        assert_eq!(phrase(0, 2 * 3600 + 29 * 60), "(in 2 hours)");
        assert_eq!(phrase(0, 2 * 3600 + 31 * 60), "(in 3 hours)");
        assert_eq!(phrase(0, 90 * 60), "(in 90 minutes)");
        assert_eq!(phrase(0, 47 * 3600), "(in 47 hours)");
        assert_eq!(phrase(10, 0), "(in 0 minutes)");
    }

    #[test]
    fn every_template_carries_the_link_and_expiry() {
        let brand = Branding::platform();
        for mail in [
            verify_email(&brand, "Ada", "https://x/verify?token=abc", "soon"),
            password_reset(&brand, "Ada", "https://x/reset?token=abc", "soon"),
            staff_invitation(&brand, "Ada", "Admin", "https://x/invite?token=abc", "soon"),
        ] {
            for part in [&mail.text, &mail.html] {
                assert!(part.contains("token=abc"), "{part}");
                assert!(part.contains("soon"), "{part}");
            }
        }
    }
}
