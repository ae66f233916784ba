//! The `ostiary` binary: parse the command line, set up logging, run the command.

use clap::Parser;

/// mimalloc: thread-local free lists suit the thread-per-core HTTP workers and the database
/// threads, which allocate and free small buffers on every request (5–7% more code exchanges
/// per second than glibc's malloc in bench/run.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    ostiary::telemetry::init();
    let cli = ostiary::cli::Cli::parse();
    let code = match ostiary::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
