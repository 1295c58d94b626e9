//! Integration tests, in one binary because every test binary links libmlx.

mod smoke;
mod tokenizer;
