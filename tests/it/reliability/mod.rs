//! Regression tests for the failures of issue 17 (hostile clients and broken config), each on
//! the real binary, and on the real broker where a broker is involved. One file per failure
//! family; each test is named after the failure it guards against.

mod config;
mod http;
mod retention;
mod shutdown;
