#![allow(dead_code)] // each test binary uses its own part of these helpers

pub mod c;
pub mod install;
