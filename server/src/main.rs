//! The `ostiary` binary: parse the command line, set up logging, run the command.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = ostiary::cli::Cli::parse();
    ostiary::cli::init_logs(&cli);
    let code = match ostiary::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
