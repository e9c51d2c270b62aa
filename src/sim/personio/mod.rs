//! Simulated personio API (in progress).
