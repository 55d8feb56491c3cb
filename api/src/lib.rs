//! Cadenza's HTTP API: the wire types and the one typed client that every front-end uses.
//!
//! The server implements the routes below `/api/v1`; [`Client`] is the only code that calls them.

mod client;
mod error;
pub mod types;

pub use client::{AudioStream, ByteRange, Client};
pub use error::{ClientError, Result};
pub use reqwest::Body;
pub use types::*;

/// Path prefix of every API route (health, readiness and metrics live at the root).
pub const API_PREFIX: &str = "/api/v1";

/// The port `cadenza-server` listens on by default.
pub const DEFAULT_PORT: u16 = 4533;
