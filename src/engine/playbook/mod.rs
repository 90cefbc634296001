//! The playbook: model, loading and validation from TOML, and the built-in templates.

mod model;

pub use model::*;
