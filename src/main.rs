//! The `bayeslab` command: parse the arguments, call the library, map errors to exit codes
//! (0 ok, 1 some runs failed or the batch was interrupted, 2 bad input).

use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

static CANCEL: AtomicBool = AtomicBool::new(false);

fn main() {
    let cli = bayeslab::cli::Cli::parse();
    // Ctrl-C asks running runs to stop at their next batch; finished parts are already on disk.
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing up; press Ctrl-C again to quit at once");
    });
    match bayeslab::cli::dispatch(cli, &CANCEL) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let code = e.exit_code();
            eprintln!("error: {:#}", anyhow::Error::from(e));
            std::process::exit(code);
        }
    }
}
