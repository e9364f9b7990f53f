//! The `techverse` binary: parse the command line, load configuration once, set up logging,
//! run the command.

use std::process::ExitCode;

use clap::Parser;
use techverse::{
    cli::{self, Cli, Command},
    config::Settings,
    telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cli::parse();
    let settings = match Settings::from_env(args.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("techverse: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format, &settings.log_level);
    match cli::run(
        args.command.unwrap_or(Command::Serve { demo: false }),
        settings,
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = ?error, "techverse failed");
            eprintln!("techverse: {error:#}");
            ExitCode::FAILURE
        }
    }
}
