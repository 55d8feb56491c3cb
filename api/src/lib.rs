//! Cadenza's HTTP API: the wire types and the one typed client that every front-end uses.
//!
//! The server implements the routes below `/api/v1`; `Client` is the only code that calls them.
//! The client (and reqwest with it) is the default feature `client`: the server's crates
//! share the wire types without compiling an HTTP client.

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod error;
pub mod types;

#[cfg(feature = "client")]
pub use client::{AudioStream, ByteRange, Client};
#[cfg(feature = "client")]
pub use error::{ClientError, Result};
#[cfg(feature = "client")]
pub use reqwest::Body;
pub use types::*;

/// Path prefix of every API route (health, readiness and metrics live at the root).
pub const API_PREFIX: &str = "/api/v1";

/// The port `cadenza-server` listens on by default.
pub const DEFAULT_PORT: u16 = 4533;
