//! Kilele's one integration-test binary: boots the real server on port 0 against a fresh
//! database (cloned from a migrated, demo-seeded template) and real Redis.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod audit;
mod auth;
mod calendar;
mod cards;
mod chaos;
mod classes;
mod conflicts;
mod finance;
mod grading;
mod import;
mod marks_upload;
mod ops;
mod owner;
mod payments;
mod plans;
mod portals;
mod privileges;
mod probes;
mod promotion;
mod results;
mod staff;
mod storage;
mod storm;
mod students;
mod tenancy;
mod two_factor;
mod worker;
