use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    switchboard::cli::main().await
}
