//! Parsing an invocation into a `Command` (filled in by the parsing work).
