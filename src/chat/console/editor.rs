//! A person at a terminal: line editing (arrows, Home/End, Ctrl-W …) and history of the
//! session, from rustyline on a thread of its own, since its `readline` blocks.

use std::io;

use rustyline::error::ReadlineError;

/// The terminal's line editor. Each `next_line` shows the prompt and waits for a line.
#[derive(Debug)]
pub struct Editor {
    prompts: std::sync::mpsc::Sender<String>,
    lines: tokio::sync::mpsc::Receiver<io::Result<Option<String>>>,
}

impl Editor {
    /// Takes over the terminal for the lines to come; an error when it is not one rustyline
    /// can drive.
    pub fn start() -> io::Result<Self> {
        let mut editor = rustyline::DefaultEditor::new().map_err(io::Error::other)?;
        let (prompts, asked) = std::sync::mpsc::channel::<String>();
        let (typed, lines) = tokio::sync::mpsc::channel(1);
        std::thread::Builder::new()
            .name("console-editor".into())
            .spawn(move || {
                while let Ok(prompt) = asked.recv() {
                    let line = match editor.readline(&prompt) {
                        Ok(line) => {
                            if !line.trim().is_empty() {
                                let _ = editor.add_history_entry(line.as_str());
                            }
                            Ok(Some(line))
                        }
                        // Ctrl-C drops the line being typed, as a shell does.
                        Err(ReadlineError::Interrupted) => Ok(Some(String::new())),
                        Err(ReadlineError::Eof) => Ok(None),
                        Err(e) => Err(io::Error::other(e)),
                    };
                    let done = !matches!(line, Ok(Some(_)));
                    if typed.blocking_send(line).is_err() || done {
                        break;
                    }
                }
            })?;
        Ok(Self { prompts, lines })
    }

    /// The next line typed after `prompt`; `None` at Ctrl-D.
    pub async fn next_line(&mut self, prompt: &str) -> io::Result<Option<String>> {
        if self.prompts.send(prompt.to_string()).is_err() {
            return Ok(None);
        }
        self.lines.recv().await.unwrap_or(Ok(None))
    }
}
