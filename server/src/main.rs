//! The `ostiary` binary: parse the command line, set up logging, run the command.

use clap::Parser;

/// mimalloc rather than glibc's allocator: under load the actix workers, the SQLite writer and
/// the argon2 threads allocate and free across threads, and glibc's arenas (locks,
/// `malloc_consolidate`) cost a fifth of the code exchange's throughput (bench/run.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
