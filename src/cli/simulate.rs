//! `switchboard simulate`: serve a simulated vendor API on its own, to try a
//! manifest against before pointing it at the real system, and for benches.

use std::net::SocketAddr;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use switchboard_sim::{bamboohr, jira, maximo, odoo, personio, servicenow, topdesk};

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    #[command(subcommand)]
    system: SimulatedSystem,
    /// Address to serve on; port 0 picks a free one (printed on stdout).
    #[arg(long, global = true, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// How many records the simulator starts with.
    #[arg(long, global = true)]
    records: Option<usize>,
}

#[derive(Debug, clap::Subcommand)]
enum SimulatedSystem {
    /// The ServiceNow Table API (basic auth admin / sim-password).
    Servicenow {
        /// Seeded incidents (same as --records).
        #[arg(long)]
        incidents: Option<usize>,
    },
    /// Jira Service Management Cloud's servicedeskapi (basic auth
    /// switchboard@example.com / sim-api-token).
    Jira,
    /// TOPdesk's /tas/api (basic auth switchboard / sim-app-password).
    Topdesk,
    /// IBM Maximo Manage's REST API, work orders at /maximo/oslc/os/mxwo
    /// (header `apikey: sim-maximo-api-key`).
    Maximo,
    /// Odoo's /jsonrpc external API (database switchboard, login admin /
    /// sim-password or the API key); --records sets the employees.
    Odoo,
    /// Personio's v1 employees and v2 token endpoint (client papi-sim-client /
    /// papi-sim-secret).
    Personio,
    /// BambooHR's API under /api/gateway.php/acme (API key sim-api-key as
    /// the Basic user name, any password).
    Bamboohr,
}

pub async fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let (name, router, credentials) = match &args.system {
        SimulatedSystem::Servicenow { incidents } => {
            let config = servicenow::SimConfig {
                incidents: incidents.or(args.records).unwrap_or(500),
                ..Default::default()
            };
            let creds = format!(
                "{} incidents, basic auth {} / {}",
                config.incidents, config.username, config.password
            );
            (
                "ServiceNow",
                servicenow::ServiceNowSim::new(config).router(),
                creds,
            )
        }
        SimulatedSystem::Jira => {
            let defaults = jira::SimConfig::default();
            let config = jira::SimConfig {
                requests: args.records.unwrap_or(defaults.requests),
                ..defaults
            };
            let creds = format!(
                "{} requests, basic auth {} / {}",
                config.requests, config.email, config.api_token
            );
            (
                "Jira Service Management",
                jira::JiraSim::new(config).router(),
                creds,
            )
        }
        SimulatedSystem::Topdesk => {
            let defaults = topdesk::SimConfig::default();
            let config = topdesk::SimConfig {
                incidents: args.records.unwrap_or(defaults.incidents),
                ..defaults
            };
            let creds = format!(
                "{} incidents, basic auth {} / {}",
                config.incidents, config.username, config.password
            );
            ("TOPdesk", topdesk::TopdeskSim::new(config).router(), creds)
        }
        SimulatedSystem::Maximo => {
            let defaults = maximo::SimConfig::default();
            let config = maximo::SimConfig {
                work_orders: args.records.unwrap_or(defaults.work_orders),
                ..defaults
            };
            let creds = format!(
                "{} work orders at /maximo/oslc/os/mxwo, header apikey: {}",
                config.work_orders, config.api_key
            );
            ("Maximo", maximo::MaximoSim::new(config).router(), creds)
        }
        SimulatedSystem::Odoo => {
            let defaults = odoo::SimConfig::default();
            let config = odoo::SimConfig {
                employees: args.records.unwrap_or(defaults.employees),
                ..defaults
            };
            let creds = format!(
                "{} employees, {} purchase orders, database {}, login {} / {}, API key {}",
                config.employees,
                config.purchase_orders,
                config.db,
                config.login,
                config.password,
                config.api_key
            );
            ("Odoo", odoo::OdooSim::new(config).router(), creds)
        }
        SimulatedSystem::Personio => {
            let defaults = personio::SimConfig::default();
            let config = personio::SimConfig {
                employees: args.records.unwrap_or(defaults.employees),
                ..defaults
            };
            let creds = format!(
                "{} employees, OAuth client {} / {}",
                config.employees, config.client_id, config.client_secret
            );
            (
                "Personio",
                personio::PersonioSim::new(config).router(),
                creds,
            )
        }
        SimulatedSystem::Bamboohr => {
            let defaults = bamboohr::SimConfig::default();
            let config = bamboohr::SimConfig {
                employees: args.records.unwrap_or(defaults.employees),
                ..defaults
            };
            let creds = format!(
                "{} employees, company domain {} (base path /api/gateway.php/{}), API key {} as the Basic user name",
                config.employees, config.company_domain, config.company_domain, config.api_key
            );
            ("BambooHR", bamboohr::BambooSim::new(config).router(), creds)
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    // The first stdout line is the base URL, so scripts can read it.
    println!("http://{}", listener.local_addr()?);
    eprintln!("simulated {name}: {credentials}; Ctrl-C to stop");
    let stop = CancellationToken::new();
    tokio::spawn(super::stop_on_signal(stop.clone()));
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    Ok(())
}
