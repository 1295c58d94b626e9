//! Integration tests of the `grpo` crate, in one binary because every test
//! binary links libmlx.

mod checkpoint;
mod common;
mod learning;
mod loss_golden;
mod loss_hand;
mod loss_properties;
mod loss_run;
mod loss_variants;
mod strategies;
mod trainer;
