//! The `techverse` command line: `serve` (default), `migrate`, `stores …`. Every subcommand
//! reads the same layered configuration.

use std::{io::Write, path::PathBuf};

use clap::{Args, Parser, Subcommand};
use techverse_shared::StoreStatus;

use crate::{
    app::{
        accounts,
        product_csv::RowNote,
        sessions::AuthError,
        stores::{self, StoreError},
    },
    config::Settings,
    domain::store::{NewStoreInput, Store},
    startup::{Application, shutdown_signal},
    storage,
};

#[derive(Debug, Parser)]
#[command(
    name = "techverse",
    version,
    about = "TechVerse multi-tenant commerce server"
)]
pub struct Cli {
    /// TOML config file (default: ./techverse.toml when present). Environment variables
    /// (TECHVERSE_*) override it.
    #[arg(long, global = true, env = "TECHVERSE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve {
        /// Single-machine demo: seed the demo store when the database has no store yet, then
        /// print the storefront URL and the demo staff login before serving.
        #[arg(long)]
        demo: bool,
    },
    /// Create or upgrade the database schema and indexes, then exit.
    Migrate,
    /// Manage stores (tenants).
    #[command(subcommand)]
    Stores(StoresCommand),
    /// Manage platform administrators.
    #[command(subcommand)]
    Admins(AdminsCommand),
    /// Import data into a store.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export data from a store.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Create sample data.
    #[command(subcommand)]
    Seed(SeedCommand),
    /// Card payments (Stripe).
    #[command(subcommand)]
    Payments(PaymentsCommand),
    /// Find checkouts that died before storing their order (a crash mid-saga on MongoDB) and
    /// give back what they hold: reserved stock, discount uses, their idempotency key. Safe
    /// while servers run. The sweeper does the same every few minutes.
    Repair(RepairArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).multiple(false)))]
pub struct RepairArgs {
    /// Only list what would be given back.
    #[arg(long, group = "mode")]
    dry_run: bool,
    /// Give it back (each checkout once, logged as `inventory.reservation_released`).
    #[arg(long, group = "mode")]
    apply: bool,
    /// Checkouts at least this old count as dead (default: `checkout_repair_age_secs`).
    #[arg(long)]
    older_than_secs: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum PaymentsCommand {
    /// Check card payments still unsettled after `stripe_reconcile_min_age_secs` against Stripe
    /// and bring their orders in line (paid, cancelled, late payments refunded). Safe while
    /// servers run: each payment is leased by whoever checks it.
    Reconcile {
        /// Only this store's payments (default: every store's).
        #[arg(long)]
        store: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SeedCommand {
    /// Create the `demo` store (NGN) with tech products, categories, stock and an owner whose
    /// credentials are printed. Does nothing when the store exists.
    Demo {
        /// How many products (at least the 46 realistic ones; more are numbered copies, for
        /// benchmarks).
        #[arg(long, default_value_t = 46)]
        products: usize,
        /// Leave out the 30 days of orders, shoppers and reviews (a quiet store for tests).
        #[arg(long)]
        no_history: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import products from a CSV in Shopify's product-export layout. Every row is checked
    /// first; a file with errors imports nothing.
    Products {
        #[arg(long)]
        store: String,
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write the store's products as CSV (Shopify layout) to standard output.
    Products {
        #[arg(long)]
        store: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminsCommand {
    /// Create a platform administrator, or promote an existing staff account. The password is
    /// read from TECHVERSE_ADMIN_PASSWORD, else from the first line of standard input.
    Create {
        #[arg(long)]
        email: String,
        /// Display name (for a new account).
        #[arg(long, default_value = "Platform admin")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoresCommand {
    /// Open a new store.
    Create(CreateStore),
    /// List stores in slug order.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Suspend a store: its storefront answers 404 until reactivated.
    Suspend { slug: String },
    /// Reactivate a suspended store.
    Reactivate { slug: String },
}

#[derive(Debug, Args)]
pub struct CreateStore {
    /// URL name: 3-40 of a-z, 0-9 and hyphens.
    #[arg(long)]
    slug: String,
    /// Display name.
    #[arg(long)]
    name: String,
    /// ISO 4217 currency code, e.g. NGN, USD, JPY.
    #[arg(long)]
    currency: String,
    /// ISO 3166-1 alpha-2 country (default: the currency's country).
    #[arg(long)]
    country: Option<String>,
    /// IANA time zone (default: UTC).
    #[arg(long)]
    timezone: Option<String>,
}

/// Runs the chosen command with the loaded settings.
pub async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => {
            if demo {
                prepare_demo(&settings).await?;
            }
            let app = Application::build(settings).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            let storage = storage::connect(&settings).await?;
            tracing::info!(
                storage = storage.kind(),
                "schema and indexes are up to date"
            );
            Ok(())
        }
        Command::Stores(command) => run_stores(command, settings).await,
        Command::Admins(AdminsCommand::Create { email, name }) => {
            create_admin(settings, &email, &name).await
        }
        Command::Import(ImportCommand::Products { store, file }) => {
            import_products(settings, &store, &file).await
        }
        Command::Export(ExportCommand::Products { store }) => {
            export_products(settings, &store).await
        }
        Command::Seed(SeedCommand::Demo {
            products,
            no_history,
        }) => seed_demo(settings, products, !no_history).await,
        Command::Payments(PaymentsCommand::Reconcile { store }) => {
            reconcile_payments(settings, store.as_deref()).await
        }
        Command::Repair(args) => repair_checkouts(settings, &args).await,
    }
}

async fn repair_checkouts(settings: Settings, args: &RepairArgs) -> anyhow::Result<()> {
    let age = match args.older_than_secs {
        Some(secs) => jiff::SignedDuration::from_secs(i64::try_from(secs)?),
        None => settings.checkout_repair_age(),
    };
    let storage = storage::connect(&settings).await?;
    let found = storage
        .commerce()
        .repair_checkouts(crate::domain::now(), age, args.apply)
        .await?;
    let mut out = std::io::stdout().lock();
    let verb = if args.apply {
        "released"
    } else {
        "would release"
    };
    for checkout in &found {
        let units: i64 = checkout.released.iter().map(|(_, units)| units).sum();
        writeln!(
            out,
            "store {} order {} (started {}): {verb} {units} units over {} variants{}",
            checkout.store_id,
            checkout.order_id,
            checkout.started_at,
            checkout.released.len(),
            if checkout.discount_returned {
                " and a discount use"
            } else {
                ""
            },
        )?;
    }
    writeln!(
        out,
        "{} abandoned checkouts {}",
        found.len(),
        if args.apply {
            "repaired"
        } else {
            "found (dry run)"
        }
    )?;
    Ok(())
}

async fn reconcile_payments(settings: Settings, store: Option<&str>) -> anyhow::Result<()> {
    use std::io::Write;
    let ctx = command_context(settings).await?;
    let store = match store {
        Some(slug) => Some(find_store(&ctx, slug).await?.id),
        None => None,
    };
    let done = crate::app::payments::reconcile(&ctx, store, crate::domain::now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ctx.background.close();
    ctx.background.wait().await;
    writeln!(
        std::io::stdout().lock(),
        "checked {} card payments against Stripe ({} failed, retried next time)",
        done.checked,
        done.failed
    )?;
    if done.failed > 0 {
        anyhow::bail!("{} card payments could not be reconciled", done.failed);
    }
    Ok(())
}

/// The storage and use-case context for a one-off command.
async fn command_context(settings: Settings) -> anyhow::Result<crate::app::Context> {
    let settings = std::sync::Arc::new(settings);
    let storage = storage::connect(&settings).await?;
    crate::startup::context(&settings, &storage, None, &prometheus::Registry::new())
}

async fn find_store(ctx: &crate::app::Context, slug: &str) -> anyhow::Result<Store> {
    let parsed =
        techverse_shared::StoreSlug::parse(slug).map_err(|e| anyhow::anyhow!("--store: {e}"))?;
    ctx.storage
        .stores()
        .by_slug(&parsed)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no store `{slug}`"))
}

async fn import_products(
    settings: Settings,
    slug: &str,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    let ctx = command_context(settings).await?;
    let store = find_store(&ctx, slug).await?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} products")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(format!("importing into {slug}"));
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let result = crate::app::catalog::import_csv(
        &ctx,
        &store,
        crate::app::audit::Actor::operator(),
        &bytes,
        &progress,
    )
    .await;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let print = |err: &mut std::io::StderrLock, kind: &str, notes: &[RowNote]| {
        notes.iter().try_for_each(|n| {
            writeln!(
                err,
                "{kind}row {}, column {}: {} ({})",
                n.row, n.column, n.message, n.code
            )
        })
    };
    match result {
        Ok(report) => {
            print(&mut err, "warning: ", &report.warnings)?;
            writeln!(
                out,
                "imported into {slug}: {} created, {} updated, {} categories created, {} warning(s)",
                report.created,
                report.updated,
                report.categories_created,
                report.warnings.len()
            )?;
            Ok(())
        }
        Err(crate::app::catalog::ImportError::Rows(notes)) => {
            print(&mut err, "warning: ", &notes.warnings)?;
            print(&mut err, "", &notes.errors)?;
            anyhow::bail!(
                "{} problem(s) in {}; nothing was imported",
                notes.errors.len(),
                file.display()
            )
        }
        Err(other) => Err(other.into()),
    }
}

async fn seed_demo(settings: Settings, products: usize, history: bool) -> anyhow::Result<()> {
    let ctx = command_context(settings).await?;
    let mut out = std::io::stdout().lock();
    match crate::app::seed::seed_demo(&ctx, products, history).await? {
        crate::app::seed::Seeded::Created {
            products,
            orders,
            owner_email,
            owner_password,
        } => {
            writeln!(
                out,
                "created store demo with {products} products and {orders} past orders"
            )?;
            writeln!(out, "owner: {owner_email}")?;
            writeln!(out, "password: {owner_password}")?;
        }
        crate::app::seed::Seeded::AlreadyThere => {
            writeln!(out, "store demo already exists; nothing changed")?;
        }
    }
    Ok(())
}

/// Seeds the demo store into an empty database (keeping its owner's login in the data
/// directory, readable by this user only) and prints where to go and how to sign in.
async fn prepare_demo(settings: &Settings) -> anyhow::Result<()> {
    let ctx = command_context(settings.clone()).await?;
    let file = settings.data_dir.join("demo-owner.txt");
    if ctx.storage.stores().list(None, 1).await?.is_empty()
        && let crate::app::seed::Seeded::Created {
            owner_email,
            owner_password,
            ..
        } = crate::app::seed::seed_demo(&ctx, 0, true).await?
    {
        std::fs::write(
            &file,
            format!("email: {owner_email}\npassword: {owner_password}\n"),
        )?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let login = std::fs::read_to_string(&file).unwrap_or_else(|_| {
        "(the demo store already existed; its owner's password was printed when it was made)\n"
            .to_owned()
    });
    let mut out = std::io::stdout().lock();
    writeln!(out)?;
    writeln!(out, "TechVerse demo")?;
    writeln!(
        out,
        "  storefront:  http://{}/s/demo/",
        settings.listen_addr
    )?;
    writeln!(
        out,
        "  merchant console: http://{}/admin/ (30 days of orders, reviews)",
        settings.listen_addr
    )?;
    writeln!(
        out,
        "  staff login (the console, or POST /api/v1/auth/login for /api/v1/admin/stores/demo/...):"
    )?;
    for line in login.lines() {
        writeln!(out, "    {line}")?;
    }
    writeln!(out, "  discount code: WELCOME10")?;
    writeln!(out)?;
    Ok(())
}

async fn export_products(settings: Settings, slug: &str) -> anyhow::Result<()> {
    let ctx = command_context(settings).await?;
    let store = find_store(&ctx, slug).await?;
    let csv = crate::app::catalog::export_csv(&ctx, &store).await?;
    std::io::stdout().lock().write_all(&csv)?;
    Ok(())
}

async fn create_admin(settings: Settings, email: &str, name: &str) -> anyhow::Result<()> {
    let password = match std::env::var("TECHVERSE_ADMIN_PASSWORD") {
        Ok(password) if !password.is_empty() => password,
        _ => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let ctx = command_context(settings).await?;
    let (user, created) = accounts::create_platform_admin(&ctx, email, name, &password)
        .await
        .map_err(|error| match error {
            AuthError::Invalid(errors) => {
                let lines: Vec<String> = errors
                    .0
                    .iter()
                    .map(|e| format!("  {}: {}", e.field, e.message))
                    .collect();
                anyhow::anyhow!("invalid administrator:\n{}", lines.join("\n"))
            }
            other => anyhow::Error::new(other),
        })?;
    let verb = if created { "created" } else { "promoted" };
    writeln!(
        std::io::stdout().lock(),
        "{verb} platform administrator {} id={}",
        user.email,
        user.id
    )?;
    Ok(())
}

async fn run_stores(command: StoresCommand, settings: Settings) -> anyhow::Result<()> {
    let storage = storage::connect(&settings).await?;
    let storage = storage.as_ref();
    let mut out = std::io::stdout().lock();
    match command {
        StoresCommand::Create(args) => {
            let input = NewStoreInput {
                slug: args.slug,
                name: args.name,
                currency: args.currency,
                country: args.country,
                timezone: args.timezone,
            };
            let store = stores::open(storage, &input).await.map_err(explain)?;
            writeln!(
                out,
                "created store {} ({}) id={}",
                store.slug,
                store.name.as_str(),
                store.id
            )?;
        }
        StoresCommand::List { json } => {
            let mut after = None;
            loop {
                let (page, next) = stores::page(storage, after.as_ref(), stores::MAX_PAGE).await?;
                for store in &page {
                    write_store(&mut out, store, json)?;
                }
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        StoresCommand::Suspend { slug } => {
            let store = stores::set_status(storage, &slug, StoreStatus::Suspended)
                .await
                .map_err(explain)?;
            writeln!(out, "store {} is suspended", store.slug)?;
        }
        StoresCommand::Reactivate { slug } => {
            let store = stores::set_status(storage, &slug, StoreStatus::Active)
                .await
                .map_err(explain)?;
            writeln!(out, "store {} is active", store.slug)?;
        }
    }
    Ok(())
}

fn write_store(out: &mut impl Write, store: &Store, json: bool) -> anyhow::Result<()> {
    if json {
        let line = serde_json::json!({
            "id": store.id,
            "slug": store.slug,
            "name": store.name.as_str(),
            "currency": store.currency,
            "country": store.country,
            "timezone": store.timezone.as_str(),
            "status": store.status,
            "created_at": store.created_at,
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "{:<40} {:<9} {} {} {:<24} {}",
            store.slug,
            store.status.as_str(),
            store.currency,
            store.country,
            store.timezone.as_str(),
            store.name.as_str()
        )?;
    }
    Ok(())
}

/// Turns a use-case error into a message an operator can act on.
fn explain(error: StoreError) -> anyhow::Error {
    match error {
        StoreError::Invalid(errors) => {
            let lines: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("  --{}: {}", e.field, e.message))
                .collect();
            anyhow::anyhow!("invalid store:\n{}", lines.join("\n"))
        }
        other => anyhow::Error::new(other),
    }
}
