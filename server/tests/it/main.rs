//! Kilele's one integration-test binary: boots the real server on port 0 against a fresh
//! database (cloned from a migrated, demo-seeded template) and real Redis.

mod harness;

mod audit;
mod auth;
mod calendar;
mod classes;
mod import;
mod ops;
mod portals;
mod privileges;
mod promotion;
mod staff;
mod students;
mod tenancy;
mod worker;
