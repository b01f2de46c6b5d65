//! Reporting: report cards and receipts as PDF with typst (the results and finance issues build it here).
//!
//! Nothing is implemented in this context yet; the module exists so that the map in
//! docs/architecture.md matches the code.
