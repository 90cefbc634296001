//! The playbook: model, loading and validation from TOML, and the built-in templates.
//!
//! ```text
//! let loaded = playbook::load_str("acme.toml", &text)?;   // Err lists every problem found
//! for w in &loaded.warnings { eprintln!("{}", w.render("acme.toml")); }
//! let playbook = loaded.playbook;
//! ```
//!
//! Problems name the key they are about as a path from the top of the document, counting array
//! entries from 1 as a person counts them: `stage[2].gate[1].activity` is the `activity` key of
//! the first `[[stage.gate]]` of the second `[[stage]]`.

mod load;
mod model;
mod raw;
mod templates;
mod validate;

pub use load::{LoadError, Loaded, Problem, load_str};
pub use model::*;
pub use templates::{TEMPLATES, load_template, template_source};

#[cfg(test)]
pub(crate) mod test_support;
