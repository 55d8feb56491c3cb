//! Cadenza's terminal player.

pub mod action;
pub mod app;
pub mod audio;
pub mod cache;
pub mod config;
pub mod keys;
pub mod net;
pub mod runtime;
pub mod session;
pub mod terminal;
pub mod track;
pub mod ui;
