//! Load benchmark (see benches/README.md).

fn main() {}
