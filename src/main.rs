use std::process::ExitCode;

/// jemalloc rather than the system allocator: a bulk load allocates a tree
/// of small strings and maps per record, and glibc's malloc took 40% of
/// the loader's CPU and kept freed pages in an arena per thread
/// (docs/PERFORMANCE.md: 4.1 to 2.6 CPU-seconds per 100,000 records).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Read by jemalloc at start; `_RJEM_MALLOC_CONF` in the environment
/// overrides it. Pages freed are given back within a second instead of
/// ten, which keeps a bulk load's peak under 100 MB.
#[unsafe(export_name = "_rjem_malloc_conf")]
#[allow(non_upper_case_globals)]
pub static malloc_conf: &[u8] = b"dirty_decay_ms:1000,muzzy_decay_ms:0\0";

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
