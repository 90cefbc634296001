//! The catalogue: every command's name, options and help text (filled in by the catalogue work).
