//! `techverse seed demo`: a demo store (`demo`, NGN) with realistic tech products across a
//! category tree — variants, specs, stock levels (some sold out), generated images — and an
//! owner whose credentials are printed. Running it again changes nothing.

use std::collections::HashMap;

use serde_json::json;
use techverse_shared::{CategoryId, ProductId, ProductStatus, StoreId, StoreSlug, VariantId};

use super::{Context, accounts, stores};
use crate::{
    domain::{
        self,
        access::Team,
        account::{Email, NewPassword, PersonName},
        catalog::{
            Category, ImageInput, OptionInput, Product, ProductInput, SpecGroupInput, SpecInput,
            VariantInput,
        },
        store::NewStoreInput,
    },
    mail::templates::escape,
};

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_OWNER: &str = "owner@demo.techverse.local";

/// What a seed run did.
#[derive(Debug)]
pub enum Seeded {
    Created {
        products: usize,
        /// Orders of the seeded history (0 without it).
        orders: usize,
        owner_email: String,
        owner_password: String,
    },
    AlreadyThere,
}

/// (group, key, value, filterable)
type SpecRow = (&'static str, &'static str, String, bool);

struct Kind {
    category: &'static str,
    options: &'static [(&'static str, &'static [&'static str])],
    /// Extra price (major units) per value index of each option.
    steps: &'static [i64],
    specs: fn(usize) -> Vec<SpecRow>,
    colour: &'static str,
}

const LAPTOP: Kind = Kind {
    category: "Laptops",
    options: &[
        ("Memory", &["8 GB", "16 GB"]),
        ("Storage", &["256 GB", "512 GB"]),
    ],
    steps: &[150_000, 120_000],
    specs: |i| {
        vec![
            (
                "Performance",
                "Processor",
                ["Apple M3", "Intel Core i7", "AMD Ryzen 7", "Intel Core i5"][i % 4].to_owned(),
                true,
            ),
            (
                "Display",
                "Screen",
                ["13.6\" Retina", "14\" OLED", "15.6\" FHD", "16\" QHD"][i % 4].to_owned(),
                true,
            ),
            (
                "Battery",
                "Battery life",
                format!("{} hours", 10 + i % 9),
                false,
            ),
        ]
    },
    colour: "#4f46e5",
};

const PHONE: Kind = Kind {
    category: "Phones",
    options: &[
        ("Colour", &["Black", "Silver"]),
        ("Storage", &["128 GB", "256 GB"]),
    ],
    steps: &[0, 90_000],
    specs: |i| {
        vec![
            (
                "Display",
                "Screen",
                ["6.1\" OLED", "6.7\" AMOLED", "6.5\" LCD", "6.2\" OLED"][i % 4].to_owned(),
                true,
            ),
            (
                "Memory",
                "RAM",
                ["8 GB", "6 GB", "12 GB", "4 GB"][i % 4].to_owned(),
                true,
            ),
            (
                "Battery",
                "Capacity",
                format!("{} mAh", 4000 + (i % 6) * 200),
                false,
            ),
            (
                "Network",
                "5G",
                if i % 3 == 0 { "No" } else { "Yes" }.to_owned(),
                true,
            ),
        ]
    },
    colour: "#0ea5e9",
};

const TABLET: Kind = Kind {
    category: "Tablets",
    options: &[
        ("Storage", &["64 GB", "128 GB"]),
        ("Connectivity", &["Wi-Fi", "Wi-Fi + Cellular"]),
    ],
    steps: &[60_000, 110_000],
    specs: |i| {
        vec![
            (
                "Display",
                "Screen",
                ["10.9\" Liquid Retina", "11\" LCD", "12.4\" AMOLED"][i % 3].to_owned(),
                true,
            ),
            ("Memory", "RAM", ["4 GB", "8 GB"][i % 2].to_owned(), true),
        ]
    },
    colour: "#10b981",
};

const AUDIO: Kind = Kind {
    category: "Audio",
    options: &[("Colour", &["Black", "White"])],
    steps: &[5_000],
    specs: |i| {
        vec![
            (
                "Sound",
                "Type",
                ["In-ear", "Over-ear", "Speaker", "In-ear"][i % 4].to_owned(),
                true,
            ),
            (
                "Sound",
                "Noise cancellation",
                if i % 2 == 0 { "Yes" } else { "No" }.to_owned(),
                true,
            ),
            (
                "Battery",
                "Battery life",
                format!("{} hours", 6 + (i % 5) * 6),
                false,
            ),
        ]
    },
    colour: "#f59e0b",
};

const ACCESSORY: Kind = Kind {
    category: "Accessories",
    options: &[],
    steps: &[],
    specs: |i| {
        vec![(
            "General",
            "Connector",
            ["USB-C", "USB-A", "Lightning", "Wireless"][i % 4].to_owned(),
            true,
        )]
    },
    colour: "#ef4444",
};

/// (kind, brand, title, base price in naira, description)
const CATALOGUE: &[(&Kind, &str, &str, i64, &str)] = &[
    (
        &LAPTOP,
        "Apple",
        "MacBook Air 13 M3",
        1_450_000,
        "Thin, silent and fast, with all-day battery.",
    ),
    (
        &LAPTOP,
        "Apple",
        "MacBook Pro 14 M3 Pro",
        2_750_000,
        "A pro laptop with a Liquid Retina XDR display.",
    ),
    (
        &LAPTOP,
        "Dell",
        "XPS 13",
        1_350_000,
        "A compact premium ultrabook with an edge-to-edge display.",
    ),
    (
        &LAPTOP,
        "Dell",
        "Inspiron 15",
        620_000,
        "An everyday laptop for work and school.",
    ),
    (
        &LAPTOP,
        "Lenovo",
        "ThinkPad X1 Carbon Gen 12",
        2_100_000,
        "The business classic: light, tough, great keyboard.",
    ),
    (
        &LAPTOP,
        "Lenovo",
        "IdeaPad Slim 5",
        740_000,
        "A slim all-rounder with a bright display.",
    ),
    (
        &LAPTOP,
        "HP",
        "Spectre x360 14",
        1_900_000,
        "A convertible with an OLED touch screen and pen.",
    ),
    (
        &LAPTOP,
        "HP",
        "Pavilion 15",
        560_000,
        "Reliable performance at a friendly price.",
    ),
    (
        &LAPTOP,
        "ASUS",
        "ROG Zephyrus G14",
        2_300_000,
        "A 14-inch gaming laptop with serious graphics.",
    ),
    (
        &LAPTOP,
        "ASUS",
        "Zenbook 14 OLED",
        980_000,
        "A vivid OLED screen in a light aluminium body.",
    ),
    (
        &PHONE,
        "Apple",
        "iPhone 15",
        1_150_000,
        "Dynamic Island, a 48 MP camera and USB-C.",
    ),
    (
        &PHONE,
        "Apple",
        "iPhone 15 Pro",
        1_650_000,
        "Titanium design and the A17 Pro chip.",
    ),
    (
        &PHONE,
        "Samsung",
        "Galaxy S24",
        1_200_000,
        "Galaxy AI in a compact flagship.",
    ),
    (
        &PHONE,
        "Samsung",
        "Galaxy A55",
        520_000,
        "A mid-range phone with a premium feel.",
    ),
    (
        &PHONE,
        "Google",
        "Pixel 8",
        890_000,
        "The smartest Pixel camera yet.",
    ),
    (
        &PHONE,
        "Tecno",
        "Camon 30",
        310_000,
        "A portrait camera phone built for Lagos nights.",
    ),
    (
        &PHONE,
        "Infinix",
        "Note 40",
        270_000,
        "Fast charging and a big, bright screen.",
    ),
    (
        &PHONE,
        "Xiaomi",
        "Redmi Note 13",
        250_000,
        "Great value with a 108 MP camera.",
    ),
    (
        &PHONE,
        "OnePlus",
        "OnePlus 12",
        1_050_000,
        "Flagship speed with 80 W charging.",
    ),
    (
        &PHONE,
        "Nokia",
        "G42",
        190_000,
        "A dependable 5G phone with a repairable design.",
    ),
    (
        &TABLET,
        "Apple",
        "iPad 10th generation",
        520_000,
        "The colourful all-screen iPad.",
    ),
    (
        &TABLET,
        "Apple",
        "iPad Air M2",
        980_000,
        "Serious power in a thin, light design.",
    ),
    (
        &TABLET,
        "Samsung",
        "Galaxy Tab S9",
        1_050_000,
        "An AMOLED tablet with an S Pen in the box.",
    ),
    (
        &TABLET,
        "Samsung",
        "Galaxy Tab A9",
        230_000,
        "A family tablet for films and homework.",
    ),
    (
        &TABLET,
        "Lenovo",
        "Tab P12",
        420_000,
        "A big 3K screen for work and play.",
    ),
    (
        &TABLET,
        "Xiaomi",
        "Pad 6",
        390_000,
        "A 144 Hz display at a fair price.",
    ),
    (
        &AUDIO,
        "Apple",
        "AirPods Pro 2",
        330_000,
        "Active noise cancellation and adaptive audio.",
    ),
    (
        &AUDIO,
        "Samsung",
        "Galaxy Buds2 Pro",
        210_000,
        "Hi-fi 24-bit audio in a tiny case.",
    ),
    (
        &AUDIO,
        "Sony",
        "WH-1000XM5",
        520_000,
        "Industry-leading noise cancelling headphones.",
    ),
    (
        &AUDIO,
        "Bose",
        "QuietComfort Ultra",
        560_000,
        "Immersive audio and world-class quiet.",
    ),
    (
        &AUDIO,
        "JBL",
        "Flip 6",
        145_000,
        "A waterproof speaker with bold sound.",
    ),
    (
        &AUDIO,
        "JBL",
        "Charge 5",
        195_000,
        "Big sound and a built-in power bank.",
    ),
    (
        &AUDIO,
        "Oraimo",
        "FreePods 4",
        38_000,
        "Noise-cancelling earbuds with long battery life.",
    ),
    (
        &AUDIO,
        "Anker",
        "Soundcore Life Q30",
        75_000,
        "Hybrid ANC headphones with 40-hour playtime.",
    ),
    (
        &AUDIO,
        "Marshall",
        "Emberton II",
        210_000,
        "Rugged portable speaker with 30+ hours of play.",
    ),
    (
        &AUDIO,
        "Sony",
        "WF-1000XM5",
        390_000,
        "The best noise-cancelling earbuds Sony makes.",
    ),
    (
        &ACCESSORY,
        "Anker",
        "Nano 65W USB-C Charger",
        35_000,
        "Charge a laptop and phone from one small brick.",
    ),
    (
        &ACCESSORY,
        "Anker",
        "USB-C to USB-C Cable 2 m",
        9_500,
        "Braided, 100 W, built to last.",
    ),
    (
        &ACCESSORY,
        "Oraimo",
        "Traveler 20000 mAh Power Bank",
        28_000,
        "Keeps you going through NEPA outages.",
    ),
    (
        &ACCESSORY,
        "Logitech",
        "MX Master 3S",
        95_000,
        "The quiet, precise mouse for makers.",
    ),
    (
        &ACCESSORY,
        "Logitech",
        "K380 Multi-Device Keyboard",
        42_000,
        "Type on three devices, switch with a key.",
    ),
    (
        &ACCESSORY,
        "Samsung",
        "25W Super Fast Charger",
        18_000,
        "Fast charging for Galaxy phones.",
    ),
    (
        &ACCESSORY,
        "Apple",
        "MagSafe Charger",
        55_000,
        "Snap-on wireless charging for iPhone.",
    ),
    (
        &ACCESSORY,
        "SanDisk",
        "Extreme 128 GB microSD",
        24_000,
        "Fast storage for phones, drones and cameras.",
    ),
    (
        &ACCESSORY,
        "Spigen",
        "Tough Armor Case for iPhone 15",
        21_000,
        "Dual-layer protection with a kickstand.",
    ),
    (
        &ACCESSORY,
        "Baseus",
        "Dual USB-C Car Charger",
        15_000,
        "Two fast-charging ports for the road.",
    ),
];

/// A simple product card in SVG: the brand colour and the product name (escaped).
pub fn product_image(title: &str, brand: &str, colour: &str) -> Vec<u8> {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"800\" viewBox=\"0 0 800 800\">\
         <rect width=\"800\" height=\"800\" fill=\"#f8fafc\"/>\
         <rect x=\"150\" y=\"150\" width=\"500\" height=\"380\" rx=\"40\" fill=\"{colour}\"/>\
         <text x=\"400\" y=\"620\" font-family=\"sans-serif\" font-size=\"40\" text-anchor=\"middle\" fill=\"#0f172a\">{}</text>\
         <text x=\"400\" y=\"680\" font-family=\"sans-serif\" font-size=\"30\" text-anchor=\"middle\" fill=\"#475569\">{}</text>\
         </svg>",
        escape(title),
        escape(brand)
    )
    .into_bytes()
}

fn product_input(
    index: usize,
    round: usize,
    categories: &HashMap<&str, CategoryId>,
    image: String,
) -> ProductInput {
    let (kind, brand, base_title, price, description) = CATALOGUE[index % CATALOGUE.len()];
    let title = if round == 0 {
        base_title.to_owned()
    } else {
        format!("{base_title} (batch {round})")
    };
    let sku_base: String = format!("{brand}-{base_title}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(14)
        .collect::<String>()
        .to_uppercase();
    let sku_base = format!(
        "{sku_base}-{index:02}{}",
        if round == 0 {
            String::new()
        } else {
            format!("R{round}")
        }
    );
    let options: Vec<OptionInput> = kind
        .options
        .iter()
        .map(|(name, values)| OptionInput {
            name: (*name).to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        })
        .collect();
    let mut combinations: Vec<Vec<usize>> = vec![Vec::new()];
    for (_, values) in kind.options {
        combinations = combinations
            .into_iter()
            .flat_map(|prefix| (0..values.len()).map(move |v| [prefix.clone(), vec![v]].concat()))
            .collect();
    }
    let variants = combinations
        .iter()
        .enumerate()
        .map(|(n, combo)| {
            let extra: i64 = combo
                .iter()
                .zip(kind.steps)
                .map(|(v, step)| i64::try_from(*v).unwrap_or(0) * step)
                .sum();
            let naira = price + extra;
            // Every seventh product is sold out; others vary, a few low.
            let stock = if index % 7 == 3 {
                0
            } else {
                i64::try_from((index * 7 + n * 3) % 25).unwrap_or(0)
            };
            VariantInput {
                sku: format!("{sku_base}-{n}"),
                options: combo
                    .iter()
                    .zip(kind.options)
                    .map(|(v, (_, values))| values[*v].to_owned())
                    .collect(),
                price: naira * 100,
                compare_at: index.is_multiple_of(4).then_some(naira * 100 * 115 / 100),
                stock: Some(stock),
                weight_grams: Some(u32::try_from(150 + index * 40).unwrap_or(150)),
                low_stock_threshold: Some(3),
                ..VariantInput::default()
            }
        })
        .collect();
    let mut groups: Vec<SpecGroupInput> = Vec::new();
    for (group, key, value, filterable) in (kind.specs)(index) {
        let spec = SpecInput {
            key: key.to_owned(),
            value,
            filterable,
        };
        match groups.iter_mut().find(|g| g.name == group) {
            Some(existing) => existing.specs.push(spec),
            None => groups.push(SpecGroupInput {
                name: group.to_owned(),
                specs: vec![spec],
            }),
        }
    }
    ProductInput {
        title: title.clone(),
        description: Some(format!(
            "**{brand} {base_title}.** {description}\n\n- Genuine {brand} product\n- Delivery across Nigeria"
        )),
        brand: Some(brand.to_owned()),
        category_ids: categories.get(kind.category).copied().into_iter().collect(),
        tags: vec![kind.category.to_lowercase(), brand.to_lowercase()],
        status: Some(if index % 23 == 22 {
            ProductStatus::Draft
        } else {
            ProductStatus::Active
        }),
        images: vec![ImageInput {
            url: image,
            alt: title,
        }],
        seo_title: Some(format!("{brand} {base_title} | TechVerse Demo")),
        options,
        variants,
        specs: groups,
        ..ProductInput::default()
    }
}

/// Creates the demo store with `products` products (at least the realistic catalogue).
/// Seeds the demo store with `products` products; with `history`, also 30 days of orders,
/// shoppers and approved reviews (see [`super::seed_history`]).
pub async fn seed_demo(ctx: &Context, products: usize, history: bool) -> anyhow::Result<Seeded> {
    let slug = StoreSlug::parse(DEMO_SLUG).map_err(|e| anyhow::anyhow!("{e}"))?;
    if ctx.storage.stores().by_slug(&slug).await?.is_some() {
        return Ok(Seeded::AlreadyThere);
    }
    let store = stores::open(
        ctx.storage.as_ref(),
        &NewStoreInput {
            slug: DEMO_SLUG.into(),
            name: "TechVerse Demo".into(),
            currency: "NGN".into(),
            country: Some("NG".into()),
            timezone: Some("Africa/Lagos".into()),
        },
    )
    .await?;
    let password = format!(
        "demo-{}",
        crate::auth::tokens::random_token()?
            .get(..16)
            .unwrap_or("passphrase")
    );
    let owner = match ctx
        .storage
        .users()
        .by_email(&Email::parse(DEMO_OWNER)?)
        .await?
    {
        Some(user) => user,
        None => {
            let user = accounts::new_staff_user(
                ctx,
                Email::parse(DEMO_OWNER)?,
                &NewPassword::parse(&password, None).map_err(|e| anyhow::anyhow!("{e}"))?,
                PersonName::parse("Demo Owner").map_err(|e| anyhow::anyhow!("{e}"))?,
                true,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            ctx.storage.users().insert(&user).await?;
            user
        }
    };
    ctx.storage
        .teams()
        .create(&Team::founded(store.id, owner.id, domain::now()))
        .await?;
    let categories = seed_categories(ctx, store.id).await?;
    let count = products.max(CATALOGUE.len());
    let mut images: HashMap<usize, String> = HashMap::new();
    for n in 0..count {
        let index = n % CATALOGUE.len();
        let round = n / CATALOGUE.len();
        let image = match images.get(&index) {
            Some(url) => url.clone(),
            None => {
                let (kind, brand, title, _, _) = CATALOGUE[index];
                let url = ctx
                    .media
                    .put(
                        store.id,
                        &format!("demo-{index:02}.svg"),
                        product_image(title, brand, kind.colour),
                    )
                    .await?;
                images.insert(index, url.clone());
                url
            }
        };
        let input = product_input(index, round, &categories, image);
        let mut ids = || VariantId::from_uuid(uuid::Uuid::now_v7());
        let product = Product::parse(
            &input,
            ProductId::from_uuid(uuid::Uuid::now_v7()),
            store.id,
            None,
            &mut ids,
            domain::now(),
        )
        .map_err(|e| anyhow::anyhow!("demo product {} is invalid: {:?}", input.title, e.0))?;
        ctx.storage
            .catalog()
            .insert_product(store.id, &product)
            .await?;
    }
    ctx.storage.catalog().bump_catalog_version(store.id).await?;
    seed_checkout(ctx, store.id).await?;
    let past = if history {
        Some(super::seed_history::seed_history(ctx, &store, domain::now()).await?)
    } else {
        None
    };
    super::audit::record(
        ctx,
        store.id,
        super::audit::Actor::operator(),
        "store.seeded",
        "store".to_owned(),
        json!({ "products": count, "orders": past.map(|p| p.orders), "reviews": past.map(|p| p.reviews) }),
    )
    .await?;
    Ok(Seeded::Created {
        products: count,
        orders: past.map_or(0, |p| p.orders),
        owner_email: DEMO_OWNER.to_owned(),
        owner_password: password,
    })
}

/// Checkout as TechVerse's own shop ran it: delivery across Nigeria for ₦2,500, free from
/// ₦50,000; pickup in Lagos; 7.5 % VAT on top of prices; cash on delivery or bank transfer;
/// a 10 % welcome code.
async fn seed_checkout(ctx: &Context, store: StoreId) -> anyhow::Result<()> {
    use crate::domain::{
        discount::{Discount, DiscountInput, DiscountKind},
        shipping::{CheckoutSettings, SettingsInput},
    };
    let input: SettingsInput = serde_json::from_value(json!({
        "prices_include_tax": false,
        "payment_methods": ["cash_on_delivery", "bank_transfer"],
        "bank_transfer_instructions": "Pay to TechVerse Demo Ltd, GTBank, account 0123456789.",
        "reservation_minutes": 30,
        "zones": [
            {
                "name": "Nigeria",
                "countries": ["NG"],
                "tax_bps": 750,
                "methods": [
                    { "name": "Standard delivery (2-4 days)", "rate": { "type": "free_above", "price": 250_000, "threshold": 5_000_000 } },
                    { "name": "Pickup at our Lagos store", "rate": { "type": "pickup" } }
                ]
            },
            {
                "name": "West Africa",
                "countries": ["GH", "BJ", "TG", "CI", "SN"],
                "tax_bps": 0,
                "methods": [{ "name": "Express (5-7 days)", "rate": { "type": "flat", "price": 1_500_000 } }]
            }
        ]
    }))?;
    let settings = CheckoutSettings::parse(&input, store, 0, &mut uuid::Uuid::now_v7)
        .map_err(|e| anyhow::anyhow!("demo checkout settings are invalid: {:?}", e.0))?;
    ctx.storage
        .commerce()
        .save_checkout_settings(store, &settings)
        .await?;
    let welcome = Discount::parse(
        &DiscountInput {
            code: "WELCOME10".into(),
            kind: Some(DiscountKind::Percentage { bps: 1_000 }),
            per_customer_limit: Some(1),
            ..DiscountInput::default()
        },
        techverse_shared::DiscountId::from_uuid(uuid::Uuid::now_v7()),
        store,
        None,
        domain::now(),
    )
    .map_err(|e| anyhow::anyhow!("demo discount is invalid: {:?}", e.0))?;
    ctx.storage
        .commerce()
        .insert_discount(store, &welcome)
        .await?;
    Ok(())
}

async fn seed_categories(
    ctx: &Context,
    store: StoreId,
) -> anyhow::Result<HashMap<&'static str, CategoryId>> {
    let tree: &[(&str, Option<&str>)] = &[
        ("Computers", None),
        ("Laptops", Some("Computers")),
        ("Phones & Tablets", None),
        ("Phones", Some("Phones & Tablets")),
        ("Tablets", Some("Phones & Tablets")),
        ("Audio", None),
        ("Accessories", None),
    ];
    let mut ids: HashMap<&'static str, CategoryId> = HashMap::new();
    for (position, (name, parent)) in tree.iter().enumerate() {
        let id = CategoryId::from_uuid(uuid::Uuid::now_v7());
        let category = Category {
            id,
            store_id: store,
            parent_id: parent.and_then(|p| ids.get(p).copied()),
            name: (*name).to_owned(),
            slug: crate::domain::catalog::slugify(name),
            position: u32::try_from(position).unwrap_or(0),
        };
        ctx.storage
            .catalog()
            .insert_category(store, &category)
            .await?;
        ids.insert(name, id);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_product_is_valid() {
        let categories: HashMap<&str, CategoryId> =
            ["Laptops", "Phones", "Tablets", "Audio", "Accessories"]
                .into_iter()
                .map(|name| (name, CategoryId::from_uuid(uuid::Uuid::now_v7())))
                .collect();
        let store = StoreId::from_uuid(uuid::Uuid::nil());
        let mut skus = std::collections::HashSet::new();
        for round in 0..2 {
            for index in 0..CATALOGUE.len() {
                let input = product_input(index, round, &categories, "/media/x/demo.svg".into());
                let mut ids = || VariantId::from_uuid(uuid::Uuid::now_v7());
                let product = Product::parse(
                    &input,
                    ProductId::from_uuid(uuid::Uuid::now_v7()),
                    store,
                    None,
                    &mut ids,
                    domain::now(),
                )
                .unwrap_or_else(|e| panic!("{}: {:?}", input.title, e.0));
                for variant in &product.variants {
                    assert!(
                        skus.insert(variant.sku.clone()),
                        "duplicate SKU {}",
                        variant.sku
                    );
                }
            }
        }
        assert!(CATALOGUE.len() >= 40);
    }

    #[test]
    fn images_escape_their_text() {
        let svg = String::from_utf8(product_image("<b>&", "x\"y", "#000")).unwrap();
        assert!(svg.contains("&lt;b&gt;&amp;"));
        assert!(!svg.contains("<b>"));
    }
}
