//! Results: marks entry, NECTA grading as data, ranking, approval and tamper detection (the results issue builds it here).
//!
//! Nothing is implemented in this context yet; the module exists so that the map in
//! docs/architecture.md matches the code.
