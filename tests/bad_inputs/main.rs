//! Bad input of every kind, each case run through the real binary in a
//! project folder of its own, under a deadline: the exit code, the
//! location (`file:line:col` and the key, where a file is at fault), no
//! panic or hang, nothing lost, and no secret in the output.

#[path = "../common/mod.rs"]
mod common;

mod config_files;
mod mapping_files;
mod records;
mod webhooks_and_secrets;
