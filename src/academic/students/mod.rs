//! Student records: admission numbers, names, enrolment per year, status, guardians (with
//! encrypted phone numbers, shared between siblings), and search.
//!
//! The pure part (checking what a person typed, admission-number patterns, reading a search)
//! compiles everywhere; reads and writes are in [`db`], inside a tenant transaction, and
//! every change is audited in the same transaction.
//!
//! The folder is the template for a bounded context's records:
//! - [`types`]: what is shown and what is typed (views, inputs, checked values);
//! - [`checks`]: checking what a person typed (pure: runs in the browser too);
//! - [`admission`]: admission-number patterns;
//! - [`search`]: reading a search box;
//! - [`guardians`]: guardians (relationships, checks; sharing between siblings is in `db`);
//! - [`db`]: persistence (behind `ssr`), one file per concern, re-exported from `db`.

pub mod admission;
pub mod checks;
pub mod guardians;
pub mod search;
pub mod types;

#[cfg(feature = "ssr")]
pub mod db;

pub use admission::*;
pub use checks::*;
pub use guardians::*;
pub use search::*;
pub use types::*;
