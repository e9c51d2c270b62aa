//! Simulated jira API (in progress).
