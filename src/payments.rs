//! Payments: adapters for NMB, NBC, CRDB, M-Pesa, Airtel Money and Tigo Pesa, verified idempotent webhooks and reconciliation (the fees-and-payments issue builds it here).
//!
//! Nothing is implemented in this context yet; the module exists so that the map in
//! docs/architecture.md matches the code.
