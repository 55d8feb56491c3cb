//! SQLite implementation of the catalog (owned by the catalog helper).
