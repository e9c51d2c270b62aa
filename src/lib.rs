//! Switchboard library.
pub mod sim;
