//! A whole simulated estate: IT (ServiceNow, Jira Service Management,
//! TOPdesk), HR (Personio), Finance (Odoo) and Facilities (Maximo), each a
//! simulator of its real API on loopback, and the connector overrides that
//! point the shipped manifests at them, exactly as an admin points them at
//! real instances. `switchboard demo` and the end-to-end tests share it.

use std::collections::BTreeMap;

use crate::config::{ConnectorOverride, SecretRef};
use crate::sim::server::SimHandle;
use crate::sim::{jira, maximo, odoo, personio, servicenow, topdesk};

pub struct Estate {
    pub servicenow: SimHandle<servicenow::ServiceNowSim>,
    pub jira: SimHandle<jira::JiraSim>,
    pub topdesk: SimHandle<topdesk::TopdeskSim>,
    pub personio: SimHandle<personio::PersonioSim>,
    pub odoo: SimHandle<odoo::OdooSim>,
    pub maximo: SimHandle<maximo::MaximoSim>,
    /// Per connector: base URL and credentials of its simulator.
    pub overrides: BTreeMap<String, ConnectorOverride>,
}

impl Estate {
    /// Start every simulator; ServiceNow with `incidents` incidents.
    /// `schedule` (six-field cron) is set on every connector.
    pub async fn spawn(incidents: usize, schedule: Option<String>) -> std::io::Result<Self> {
        let over = |base_url: &str, user: &str, password: &str| ConnectorOverride {
            base_url: Some(base_url.to_string()),
            username: Some(SecretRef::Literal(user.to_string())),
            password: Some(SecretRef::Literal(password.to_string())),
            schedule: schedule.clone(),
            enabled: Some(true),
            token: None,
            vars: Default::default(),
            // Simulators on loopback: no politeness to keep, and the demo
            // and tests then do not wait on the vendors' rate limits.
            rate_limit_per_sec: Some(0),
        };
        let mut overrides = BTreeMap::new();

        let sn_config = servicenow::SimConfig {
            incidents,
            ..servicenow::SimConfig::default()
        };
        let (user, password) = (sn_config.username.clone(), sn_config.password.clone());
        let servicenow = servicenow::ServiceNowSim::spawn(sn_config).await?;
        overrides.insert(
            "servicenow".into(),
            over(&servicenow.base_url, &user, &password),
        );

        let jira_config = jira::SimConfig::default();
        let jira = jira::JiraSim::spawn(jira_config.clone()).await?;
        overrides.insert(
            "jira".into(),
            over(&jira.base_url, &jira_config.email, &jira_config.api_token),
        );

        let topdesk_config = topdesk::SimConfig::default();
        let topdesk = topdesk::TopdeskSim::spawn(topdesk_config.clone()).await?;
        overrides.insert(
            "topdesk".into(),
            over(
                &topdesk.base_url,
                &topdesk_config.username,
                &topdesk_config.password,
            ),
        );

        let personio_config = personio::SimConfig::default();
        let personio = personio::PersonioSim::spawn(personio_config.clone()).await?;
        overrides.insert(
            "personio".into(),
            over(
                &personio.base_url,
                &personio_config.client_id,
                &personio_config.client_secret,
            ),
        );

        // Odoo over JSON-RPC, signed in with an API key.
        let odoo_config = odoo::SimConfig::default();
        let odoo = odoo::OdooSim::spawn(odoo_config.clone()).await?;
        let mut odoo_over = over(&odoo.base_url, &odoo_config.login, &odoo_config.api_key);
        odoo_over
            .vars
            .insert("db".into(), SecretRef::Literal(odoo_config.db.clone()));
        overrides.insert("odoo".into(), odoo_over);

        // Maximo: an API key header, no user.
        let maximo_config = maximo::SimConfig::default();
        let maximo = maximo::MaximoSim::spawn(maximo_config.clone()).await?;
        let mut maximo_over = over(&maximo.base_url, "", "");
        maximo_over.username = None;
        maximo_over.password = None;
        maximo_over.token = Some(SecretRef::Literal(maximo_config.api_key.clone()));
        overrides.insert("maximo".into(), maximo_over);

        Ok(Self {
            servicenow,
            jira,
            topdesk,
            personio,
            odoo,
            maximo,
            overrides,
        })
    }

    /// Point `settings`' connectors at the simulators.
    pub fn configure(&self, settings: &mut crate::config::Settings) {
        for (system, o) in &self.overrides {
            settings.connectors.insert(system.clone(), o.clone());
        }
    }

    pub async fn shutdown(self) {
        self.servicenow.shutdown().await;
        self.jira.shutdown().await;
        self.topdesk.shutdown().await;
        self.personio.shutdown().await;
        self.odoo.shutdown().await;
        self.maximo.shutdown().await;
    }
}
