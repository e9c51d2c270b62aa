# Shortcuts; each target says what it runs.
.PHONY: demo test lint ci check

demo:   ## run the embedded demo once (simulated ServiceNow -> SQLite)
	cargo run --release -- demo --once

test:   ## the whole suite against local PostgreSQL and RabbitMQ
	scripts/test

lint:   ## formatting and clippy, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo clippy --locked --no-default-features -- -D warnings

check:  ## validate switchboard.toml, connectors/ and mappings/
	cargo run -- check

ci:     ## exactly what CI runs
	.ci/run
