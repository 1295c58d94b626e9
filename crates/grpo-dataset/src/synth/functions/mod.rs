//! The catalogue's functions, one file per domain, and the value pools
//! they draw from.

pub(crate) mod media;
pub(crate) mod money;
pub(crate) mod numbers;
pub(crate) mod office;
pub(crate) mod pools;
pub(crate) mod text;
pub(crate) mod travel;
