//! Group Relative Policy Optimization for tool calling.

#![deny(missing_docs)]
