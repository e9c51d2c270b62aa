//! `switchboard simulate`: serve a simulated vendor API on its own, to try a
//! manifest against before pointing it at the real system, and for benches.

use std::net::SocketAddr;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::sim::servicenow::{ServiceNowSim, SimConfig};

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    #[command(subcommand)]
    system: SimulatedSystem,
}

#[derive(Debug, clap::Subcommand)]
enum SimulatedSystem {
    /// The ServiceNow Table API (basic auth admin / sim-password).
    Servicenow {
        /// Seeded incidents.
        #[arg(long, default_value_t = 500)]
        incidents: usize,
        /// Address to serve on; port 0 picks a free one (printed on stdout).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
}

pub async fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let SimulatedSystem::Servicenow { incidents, listen } = &args.system;
    let config = SimConfig {
        incidents: *incidents,
        ..SimConfig::default()
    };
    let (user, password) = (config.username.clone(), config.password.clone());
    let sim = ServiceNowSim::new(config);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("failed to listen on {listen}"))?;
    // The first stdout line is the base URL, so scripts can read it.
    println!("http://{}", listener.local_addr()?);
    eprintln!(
        "simulated ServiceNow: {incidents} incidents, basic auth {user} / {password}; Ctrl-C to stop"
    );
    let stop = CancellationToken::new();
    tokio::spawn(super::stop_on_signal(stop.clone()));
    axum::serve(listener, sim.router())
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    Ok(())
}
