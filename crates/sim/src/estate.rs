//! A whole simulated estate: IT (ServiceNow, Jira Service Management,
//! TOPdesk), HR (Personio), Finance (Odoo) and Facilities (Maximo), each a
//! simulator of its real API on loopback, and how to reach each one (base
//! URL, credentials) as plain data. `switchboard demo` and the end-to-end
//! tests share it; turning that data into connector overrides is the CLI's
//! business (`switchboard::cli::estate`), so this crate knows nothing of the
//! hub's config.

use std::collections::BTreeMap;

use crate::server::SimHandle;
use crate::{jira, maximo, odoo, personio, servicenow, topdesk};

/// How a connector reaches its simulator: what an admin would put in the
/// connector's `[connectors.<system>]` table for a real instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub base_url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// Connector variables, e.g. Odoo's database name.
    pub vars: BTreeMap<String, String>,
}

pub struct Estate {
    pub servicenow: SimHandle<servicenow::ServiceNowSim>,
    pub jira: SimHandle<jira::JiraSim>,
    pub topdesk: SimHandle<topdesk::TopdeskSim>,
    pub personio: SimHandle<personio::PersonioSim>,
    pub odoo: SimHandle<odoo::OdooSim>,
    pub maximo: SimHandle<maximo::MaximoSim>,
    /// Per connector (system name): base URL and credentials of its simulator.
    pub access: BTreeMap<String, Access>,
}

impl Estate {
    /// Start every simulator; ServiceNow with `incidents` incidents.
    pub async fn spawn(incidents: usize) -> std::io::Result<Self> {
        let over = |base_url: &str, user: &str, password: &str| Access {
            base_url: base_url.to_string(),
            username: Some(user.to_string()),
            password: Some(password.to_string()),
            ..Access::default()
        };
        let mut access = BTreeMap::new();

        let sn_config = servicenow::SimConfig {
            incidents,
            ..servicenow::SimConfig::default()
        };
        let (user, password) = (sn_config.username.clone(), sn_config.password.clone());
        let servicenow = servicenow::ServiceNowSim::spawn(sn_config).await?;
        access.insert(
            "servicenow".into(),
            over(&servicenow.base_url, &user, &password),
        );

        let jira_config = jira::SimConfig::default();
        let jira = jira::JiraSim::spawn(jira_config.clone()).await?;
        access.insert(
            "jira".into(),
            over(&jira.base_url, &jira_config.email, &jira_config.api_token),
        );

        let topdesk_config = topdesk::SimConfig::default();
        let topdesk = topdesk::TopdeskSim::spawn(topdesk_config.clone()).await?;
        access.insert(
            "topdesk".into(),
            over(
                &topdesk.base_url,
                &topdesk_config.username,
                &topdesk_config.password,
            ),
        );

        let personio_config = personio::SimConfig::default();
        let personio = personio::PersonioSim::spawn(personio_config.clone()).await?;
        access.insert(
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
        odoo_over.vars.insert("db".into(), odoo_config.db.clone());
        access.insert("odoo".into(), odoo_over);

        // Maximo: an API key header, no user.
        let maximo_config = maximo::SimConfig::default();
        let maximo = maximo::MaximoSim::spawn(maximo_config.clone()).await?;
        let maximo_over = Access {
            base_url: maximo.base_url.clone(),
            token: Some(maximo_config.api_key.clone()),
            ..Access::default()
        };
        access.insert("maximo".into(), maximo_over);

        Ok(Self {
            servicenow,
            jira,
            topdesk,
            personio,
            odoo,
            maximo,
            access,
        })
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
