//! Simulated topdesk API (in progress).
