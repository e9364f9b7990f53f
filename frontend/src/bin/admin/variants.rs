//! A product's options and variants, for a new product and an existing one alike: up to
//! three options (Colour, Storage…), and per variant its SKU, a value for each option, price,
//! compare-at price, low-stock threshold and — for a variant not saved yet — its opening
//! stock. Variants already saved keep their id, and with it their stock and reservations
//! (stock then changes only by adjustments); the server refuses to drop one holding reserved
//! stock. Each option's values are the variants' values, in order.

use leptos::prelude::*;
use techverse_frontend::api::Failure;
use techverse_shared::catalog::MAX_OPTIONS;

use crate::{
    auth::Field,
    orders::{major_units, minor_units},
    widgets::confirmed,
};

/// One variant being edited.
#[derive(Debug, Clone)]
pub struct VariantRow {
    key: u32,
    /// Set once the variant is saved.
    id: Option<String>,
    sku: RwSignal<String>,
    values: [RwSignal<String>; MAX_OPTIONS],
    price: RwSignal<String>,
    compare_at: RwSignal<String>,
    stock: RwSignal<String>,
    threshold: RwSignal<String>,
    /// What the editor does not show (weight, inventory tracking), sent back as it came.
    kept: serde_json::Value,
}

impl VariantRow {
    fn blank(key: u32) -> Self {
        Self {
            key,
            id: None,
            sku: RwSignal::new(String::new()),
            values: std::array::from_fn(|_| RwSignal::new(String::new())),
            price: RwSignal::new(String::new()),
            compare_at: RwSignal::new(String::new()),
            stock: RwSignal::new("0".into()),
            threshold: RwSignal::new("5".into()),
            kept: serde_json::json!({}),
        }
    }

    /// A saved variant (`variants[i]` of the admin product).
    fn saved(key: u32, variant: &serde_json::Value, exponent: u8) -> Self {
        let text = |key: &str| variant[key].as_str().unwrap_or_default().to_owned();
        let amount = |key: &str| {
            variant[key]
                .as_i64()
                .map(|minor| major_units(minor, exponent))
                .unwrap_or_default()
        };
        let value = |index: usize| {
            variant["options"][index]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let kept = ["weight_grams", "track_inventory"]
            .into_iter()
            .map(|k| (k.to_owned(), variant[k].clone()))
            .collect();
        Self {
            key,
            id: Some(text("id")),
            sku: RwSignal::new(text("sku")),
            values: std::array::from_fn(|i| RwSignal::new(value(i))),
            price: RwSignal::new(amount("price")),
            compare_at: RwSignal::new(amount("compare_at")),
            stock: RwSignal::new(variant["stock_on_hand"].as_i64().unwrap_or(0).to_string()),
            threshold: RwSignal::new(
                variant["low_stock_threshold"]
                    .as_i64()
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            ),
            kept: serde_json::Value::Object(kept),
        }
    }
}

/// The options and variants of one product form.
#[derive(Debug, Clone, Copy)]
pub struct Variants {
    names: [RwSignal<String>; MAX_OPTIONS],
    rows: RwSignal<Vec<VariantRow>>,
    next_key: StoredValue<u32>,
    exponent: u8,
}

impl Variants {
    fn empty(exponent: u8) -> Self {
        Self {
            names: std::array::from_fn(|_| RwSignal::new(String::new())),
            rows: RwSignal::new(Vec::new()),
            next_key: StoredValue::new(0),
            exponent,
        }
    }

    /// A new product's: no option, one blank variant.
    pub fn new(exponent: u8) -> Self {
        let made = Self::empty(exponent);
        made.add();
        made
    }

    /// A saved product's (the admin product as the API gives it).
    pub fn of(product: &serde_json::Value, exponent: u8) -> Self {
        let made = Self::empty(exponent);
        made.load(product);
        made
    }

    /// Row keys are never reused, so a row shown again after saving is drawn afresh.
    fn key(&self) -> u32 {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        key
    }

    /// Shows `product` as saved: its options, and its variants with their ids.
    pub fn load(&self, product: &serde_json::Value) {
        for (index, name) in self.names.iter().enumerate() {
            name.set(
                product["options"][index]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        let variants = product["variants"].as_array().cloned().unwrap_or_default();
        let rows = variants
            .iter()
            .map(|v| VariantRow::saved(self.key(), v, self.exponent))
            .collect();
        self.rows.set(rows);
    }

    fn add(&self) {
        let key = self.key();
        self.rows.update(|rows| rows.push(VariantRow::blank(key)));
    }

    fn remove(&self, key: u32) {
        self.rows.update(|rows| rows.retain(|r| r.key != key));
    }

    /// The options in use: those with a name, by their index.
    fn used(&self) -> Vec<(usize, String)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (i, n.get().trim().to_owned()))
            .filter(|(_, n)| !n.is_empty())
            .collect()
    }

    /// `(options, variants)` of the product input, or what the member must fix first.
    pub fn input(&self) -> Result<(serde_json::Value, serde_json::Value), Failure> {
        let used = self.names.map(|n| n.get_untracked().trim().to_owned());
        let used: Vec<(usize, String)> = used
            .into_iter()
            .enumerate()
            .filter(|(_, n)| !n.is_empty())
            .collect();
        let rows = self.rows.get_untracked();
        let amount = |text: String, what: &str, sku: &str| -> Result<Option<i64>, Failure> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            minor_units(&text, self.exponent)
                .map(Some)
                .ok_or_else(|| Failure {
                    code: None,
                    message: format!("{sku} {what}: type an amount like 1,500.00"),
                    details: None,
                })
        };
        let mut variants = Vec::new();
        for row in &rows {
            let sku = row.sku.get_untracked();
            let mut variant = row.kept.clone();
            variant["sku"] = sku.clone().into();
            variant["options"] = used
                .iter()
                .map(|(i, _)| row.values[*i].get_untracked())
                .collect();
            variant["price"] = amount(row.price.get_untracked(), "price", &sku)?
                .unwrap_or(0)
                .into();
            variant["compare_at"] =
                amount(row.compare_at.get_untracked(), "compare-at price", &sku)?.into();
            variant["low_stock_threshold"] = row
                .threshold
                .get_untracked()
                .trim()
                .parse::<i64>()
                .ok()
                .into();
            match &row.id {
                Some(id) => variant["id"] = id.clone().into(),
                None => {
                    variant["stock"] = row
                        .stock
                        .get_untracked()
                        .trim()
                        .parse::<i64>()
                        .unwrap_or(0)
                        .into()
                }
            }
            variants.push(variant);
        }
        let options = used
            .iter()
            .map(|(i, name)| {
                let mut values: Vec<String> = Vec::new();
                for value in rows.iter().map(|r| r.values[*i].get_untracked()) {
                    if !values.contains(&value) {
                        values.push(value);
                    }
                }
                serde_json::json!({ "name": name, "values": values })
            })
            .collect();
        Ok((
            serde_json::Value::Array(options),
            serde_json::Value::Array(variants),
        ))
    }
}

#[component]
pub fn VariantsEditor(variants: Variants) -> impl IntoView {
    let remove = move |row: &VariantRow| {
        let key = row.key;
        let sku = row.sku.get_untracked();
        let saved = row.id.is_some();
        move |_| {
            if !saved
                || confirmed(&format!(
                    "Remove variant {sku}? It is deleted when you save."
                ))
            {
                variants.remove(key);
            }
        }
    };
    view! {
        <fieldset>
            <legend>"Options (e.g. Colour, Storage; leave empty for a single variant)"</legend>
            {variants.names.into_iter().enumerate().map(|(i, name)| view! {
                <Field id=format!("option-name-{i}") label=["Option 1", "Option 2", "Option 3"][i] value=name/>
            }).collect_view()}
        </fieldset>
        <fieldset>
            <legend>"Variants"</legend>
            <For each=move || variants.rows.get() key=|row| row.key let:row>
                <div class="variant-row" data-test="variant-row">
                    <Field id=format!("sku-{}", row.key) label="SKU" value=row.sku/>
                    {
                        let values = row.values;
                        let key = row.key;
                        move || variants.used().into_iter().map(|(i, name)| view! {
                            <Field id=format!("option-{i}-{key}") label=name value=values[i]/>
                        }).collect_view()
                    }
                    <Field id=format!("price-{}", row.key) label="Price" value=row.price/>
                    <Field id=format!("compare-at-{}", row.key) label="Compare-at price" value=row.compare_at/>
                    {row.id.is_none().then(|| view! { <Field id=format!("stock-{}", row.key) label="Opening stock" value=row.stock/> })}
                    <Field id=format!("threshold-{}", row.key) label="Low-stock threshold" value=row.threshold/>
                    <button type="button" class="danger" data-test=format!("remove-variant-{}", row.key) on:click=remove(&row)>"Remove"</button>
                </div>
            </For>
            <button type="button" data-test="add-variant" on:click=move |_| variants.add()>"Add a variant"</button>
        </fieldset>
    }
}
