#![doc = include_str!("../README.md")]

pub mod windows;

pub use windows::{sliding_windows, sliding_windows_many, WindowSpec, Windows};
