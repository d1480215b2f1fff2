//! The engine's tests on real objects: C fixtures built at test time for
//! each architecture (`golden`), and bad input (`bad_input`).

mod bad_input;
mod common;
mod golden;
mod update;
