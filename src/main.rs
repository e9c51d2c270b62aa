use std::process::ExitCode;

/// Stack for runtime workers and blocking threads: the main thread's size,
/// where `check` compiles the files, rather than tokio's 2 MiB, so whatever
/// `check` accepts has the same room when a record reaches it (CEL evaluates
/// by recursion; `mapping::bounds` keeps the depth well inside either).
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(switchboard::cli::main()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(1)
        }
    }
}
