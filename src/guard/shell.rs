//! Shell commands as the guard reads them: split into pipelines of simple
//! commands, each a list of words with its redirections, the way a POSIX
//! shell would split them — quotes, escapes, `|`, `&&`, `||`, `;`, `&`,
//! newlines, comments, here-documents (skipped), and `$( … )`, `<( … )` and
//! backquoted substitutions (read as commands of their own, and kept whole
//! in the word they sit in).
//!
//! Nothing is expanded: `$HOME` and `~` stay as written. That is enough to
//! tell what a command runs, writes and deletes; it is not a shell.

/// One command: its words (program first) and where it redirects output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simple {
    /// The words, quotes removed.
    pub words: Vec<String>,
    /// Files its output goes to (`>`, `>>`, `&>`, `2>`).
    pub writes_to: Vec<String>,
    /// Files its input comes from (`<`).
    pub reads_from: Vec<String>,
}

/// Commands joined by `|`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipeline {
    /// The stages, in order.
    pub stages: Vec<Simple>,
}

/// Programs that only wrap another command (`sudo rm …` runs `rm`).
const WRAPPERS: &[&str] = &[
    "sudo", "doas", "env", "nohup", "time", "command", "exec", "nice", "ionice", "builtin",
];

impl Simple {
    /// The words from the program on: wrappers (`sudo`, `env`, `timeout 5`)
    /// and variable assignments before it skipped.
    pub fn command(&self) -> &[String] {
        let mut i = 0;
        while let Some(w) = self.words.get(i) {
            if is_assignment(w) {
                i += 1;
            } else if w.starts_with('-') && i > 0 {
                // `sudo -u USER`: the flag's value is not the program.
                i += if matches!(w.as_str(), "-u" | "-g") {
                    2
                } else {
                    1
                };
            } else if WRAPPERS.contains(&base_name(w)) {
                i += 1;
            } else if base_name(w) == "timeout" {
                // `timeout [opts] DURATION cmd …`
                i += 1;
                while let Some(flag) = self.words.get(i).filter(|w| w.starts_with('-')) {
                    let valued = matches!(flag.as_str(), "-s" | "-k" | "--signal" | "--kill-after");
                    i += if valued { 2 } else { 1 };
                }
                i += 1;
            } else {
                break;
            }
        }
        self.words.get(i..).unwrap_or(&[])
    }

    /// The program's name (`/usr/bin/rm` → `rm`), if there is one.
    pub fn program(&self) -> Option<&str> {
        self.command().first().map(|w| base_name(w))
    }
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// A program path's last part.
pub fn base_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Split `command` into pipelines; substitutions come after the pipeline
/// they appear in.
pub fn parse(command: &str) -> Vec<Pipeline> {
    let mut p = Parser::new(command);
    p.run();
    p.finish_pipeline();
    p.out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    Word,
    Write,
    Read,
    HereDoc,
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    out: Vec<Pipeline>,
    substitutions: Vec<String>,
    pipeline: Pipeline,
    simple: Simple,
    word: String,
    in_word: bool,
    next: Pending,
    here_docs: Vec<(String, bool)>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            chars: text.chars().peekable(),
            out: Vec::new(),
            substitutions: Vec::new(),
            pipeline: Pipeline::default(),
            simple: Simple::default(),
            word: String::new(),
            in_word: false,
            next: Pending::Word,
            here_docs: Vec::new(),
        }
    }

    fn end_word(&mut self) {
        if !self.in_word {
            return;
        }
        let word = std::mem::take(&mut self.word);
        self.in_word = false;
        match std::mem::replace(&mut self.next, Pending::Word) {
            Pending::Word => self.simple.words.push(word),
            Pending::Write => self.simple.writes_to.push(word),
            Pending::Read => self.simple.reads_from.push(word),
            Pending::HereDoc => {
                let strip_tabs = word.starts_with('-');
                let tag = word.trim_start_matches('-').to_string();
                self.here_docs.push((tag, strip_tabs));
            }
        }
    }

    fn end_simple(&mut self) {
        self.end_word();
        let simple = std::mem::take(&mut self.simple);
        if !simple.words.is_empty() || !simple.writes_to.is_empty() {
            self.pipeline.stages.push(simple);
        }
    }

    fn finish_pipeline(&mut self) {
        self.end_simple();
        let pipeline = std::mem::take(&mut self.pipeline);
        if !pipeline.stages.is_empty() {
            self.out.push(pipeline);
        }
        for inner in std::mem::take(&mut self.substitutions) {
            self.out.extend(parse(&inner));
        }
    }

    fn push(&mut self, c: char) {
        self.word.push(c);
        self.in_word = true;
    }

    /// Text up to the `close` that balances the one just read.
    fn balanced(&mut self, open: char, close: char) -> String {
        let (mut depth, mut inner) = (1, String::new());
        for c in self.chars.by_ref() {
            if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            inner.push(c);
        }
        inner
    }

    fn dollar(&mut self) {
        self.push('$');
        if self.chars.peek() == Some(&'(') {
            self.chars.next();
            let inner = self.balanced('(', ')');
            self.word.push('(');
            self.word.push_str(&inner);
            self.word.push(')');
            self.substitutions.push(inner);
        }
    }

    fn skip_here_docs(&mut self) {
        for (tag, strip_tabs) in std::mem::take(&mut self.here_docs) {
            let mut line = String::new();
            for c in self.chars.by_ref() {
                if c != '\n' {
                    line.push(c);
                    continue;
                }
                let l = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    &line
                };
                if l == tag {
                    break;
                }
                line.clear();
            }
        }
    }

    fn redirect(&mut self, c: char) {
        // A number just before (`2>`) names a descriptor, not a word.
        if self.in_word && self.word.chars().all(|d| d.is_ascii_digit()) {
            self.word.clear();
            self.in_word = false;
        } else {
            self.end_word();
        }
        if c == '<' {
            match self.chars.peek() {
                Some('<') => {
                    self.chars.next();
                    if self.chars.peek() == Some(&'<') {
                        self.chars.next(); // here-string: a word follows
                        self.next = Pending::Word;
                    } else {
                        self.next = Pending::HereDoc;
                    }
                }
                Some('(') => {
                    self.chars.next();
                    let inner = self.balanced('(', ')');
                    self.substitutions.push(inner);
                }
                _ => self.next = Pending::Read,
            }
            return;
        }
        if self.chars.peek() == Some(&'>') {
            self.chars.next();
        }
        if self.chars.peek() == Some(&'&') {
            self.chars.next();
            // `>&2`: a descriptor; `>& file`: a file.
            if self
                .chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || *d == '-')
            {
                self.chars.next();
                return;
            }
        }
        if self.chars.peek() == Some(&'(') {
            self.chars.next();
            let inner = self.balanced('(', ')');
            self.substitutions.push(inner);
            return;
        }
        self.next = Pending::Write;
    }

    fn run(&mut self) {
        while let Some(c) = self.chars.next() {
            match c {
                '\'' => {
                    self.in_word = true;
                    for q in self.chars.by_ref() {
                        if q == '\'' {
                            break;
                        }
                        self.word.push(q);
                    }
                }
                '"' => {
                    self.in_word = true;
                    while let Some(q) = self.chars.next() {
                        match q {
                            '"' => break,
                            '\\' => {
                                if let Some(e) = self.chars.next() {
                                    self.word.push(e);
                                }
                            }
                            '$' => self.dollar(),
                            '`' => {
                                let inner = self.balanced('\u{0}', '`');
                                self.substitutions.push(inner);
                            }
                            _ => self.word.push(q),
                        }
                    }
                }
                '\\' => match self.chars.next() {
                    Some('\n') | None => {}
                    Some(e) => self.push(e),
                },
                '$' => self.dollar(),
                '`' => {
                    let inner = self.balanced('\u{0}', '`');
                    self.in_word = true;
                    self.substitutions.push(inner);
                }
                '#' if !self.in_word => {
                    while self.chars.peek().is_some_and(|n| *n != '\n') {
                        self.chars.next();
                    }
                }
                ' ' | '\t' => self.end_word(),
                '\n' => {
                    self.finish_pipeline();
                    self.skip_here_docs();
                }
                ';' => self.finish_pipeline(),
                '&' if self.chars.peek() == Some(&'>') => {
                    self.end_word();
                    self.chars.next();
                    self.redirect('>');
                }
                '&' => {
                    if self.chars.peek() == Some(&'&') {
                        self.chars.next();
                    }
                    self.finish_pipeline();
                }
                '|' => {
                    if self.chars.peek() == Some(&'|') {
                        self.chars.next();
                        self.finish_pipeline();
                    } else {
                        self.chars.next_if_eq(&'&');
                        self.end_simple();
                    }
                }
                '>' | '<' => self.redirect(c),
                '(' | ')' if !self.in_word => self.finish_pipeline(),
                _ => self.push(c),
            }
        }
    }
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
