//! Student reads and writes, inside a tenant transaction. Every change is audited in the
//! same transaction; a refused change writes nothing.
//!
//! - [`records`]: a student's record (add, correct, status, enrolment, photo, detail);
//! - [`search`]: the list and the search;
//! - [`admission`]: the school's admission pattern and the next free number;
//! - [`guardians`]: linking (shared between siblings), unlinking, SMS.

mod admission;
mod guardians;
mod records;
mod search;

pub use admission::*;
pub use guardians::*;
pub use records::*;
pub use search::*;
