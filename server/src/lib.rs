//! cadenza-server: the HTTP API over the catalog (`cadenza-catalog`), the replicated blob
//! store (`cadenza-store`) and audio probing (`cadenza-media`).
//!
//! Layering (as in Polaris): catalog and store are services with no HTTP in them; this crate
//! wires them together, and its `http` module only parses requests, calls services and maps errors.
