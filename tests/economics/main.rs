//! The economics (MODEL.md): the kernel against closed forms, block and single-draw
//! evaluation alike, the shipped models, the package deal and the monthly path.

#[path = "../common/mod.rs"]
mod common;

mod competitors;
mod default_model;
mod kernel_block;
mod kernel_closed_forms;
mod monthly;
mod package;
