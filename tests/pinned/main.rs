//! Results pinned bit for bit: reference values of the default model, the same bits for any
//! thread count, and the same bits whatever the run driver plugs in (stopping rule, shard,
//! checkpoint and resume). `cargo test --release --test pinned`.

#[path = "../common/mod.rs"]
mod common;

mod driver;
mod threads_and_seeds;
mod values;
