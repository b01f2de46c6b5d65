//! Notifications: live in the browser, SMS and email (the notifications issue builds it here).
//!
//! Nothing is implemented in this context yet; the module exists so that the map in
//! docs/architecture.md matches the code.
