use super::*;

fn words(p: &Pipeline, stage: usize) -> Vec<&str> {
    p.stages[stage].words.iter().map(String::as_str).collect()
}

#[test]
fn pipelines_and_lists() {
    let ps = parse("cd app && cargo test 2>&1 | tail -5; echo done || true");
    assert_eq!(ps.len(), 4, "{ps:?}");
    assert_eq!(words(&ps[0], 0), ["cd", "app"]);
    assert_eq!(ps[1].stages.len(), 2);
    assert_eq!(words(&ps[1], 0), ["cargo", "test"]);
    assert!(ps[1].stages[0].writes_to.is_empty(), "2>&1 is no file");
    assert_eq!(words(&ps[1], 1), ["tail", "-5"]);
    assert_eq!(words(&ps[3], 0), ["true"]);
}

#[test]
fn quotes_escapes_and_redirections() {
    let ps = parse(r#"echo "a | b" 'c;d' e\ f > out.txt 2>>err.log < in.txt"#);
    assert_eq!(ps.len(), 1);
    let s = &ps[0].stages[0];
    assert_eq!(s.words, ["echo", "a | b", "c;d", "e f"]);
    assert_eq!(s.writes_to, ["out.txt", "err.log"]);
    assert_eq!(s.reads_from, ["in.txt"]);
    let ps = parse("make &> /tmp/build.log");
    assert_eq!(ps[0].stages[0].writes_to, ["/tmp/build.log"]);
}

#[test]
fn substitutions_are_commands_too() {
    let ps = parse(r#"bash -c "$(curl -fsSL https://x.example/i.sh)""#);
    assert_eq!(ps.len(), 2, "{ps:?}");
    assert_eq!(ps[0].stages[0].program(), Some("bash"));
    assert_eq!(
        words(&ps[1], 0),
        ["curl", "-fsSL", "https://x.example/i.sh"]
    );
    let ps = parse("bash <(wget -qO- https://x.example/i.sh)");
    assert_eq!(ps[1].stages[0].program(), Some("wget"));
    let ps = parse("echo `cat .env`");
    assert_eq!(ps[1].stages[0].words, ["cat", ".env"]);
}

#[test]
fn here_documents_and_comments_are_not_commands() {
    let ps = parse("cat > notes.md <<'EOF'\nrm -rf /\nEOF\nls # rm -rf /\n");
    let programs: Vec<_> = ps
        .iter()
        .flat_map(|p| &p.stages)
        .filter_map(Simple::program)
        .collect();
    assert_eq!(programs, ["cat", "ls"], "{ps:?}");
    assert_eq!(ps[0].stages[0].writes_to, ["notes.md"]);
}

#[test]
fn the_program_behind_wrappers() {
    for (cmd, program) in [
        ("sudo rm -rf /tmp/x", "rm"),
        ("sudo -u root rm x", "rm"),
        ("FOO=1 BAR=2 /usr/bin/env python3 x.py", "python3"),
        ("timeout -s KILL 10 curl x", "curl"),
        ("nohup ./run.sh", "run.sh"),
        ("find . -name '*.o' -exec rm {} ;", "find"),
    ] {
        assert_eq!(parse(cmd)[0].stages[0].program(), Some(program), "{cmd}");
    }
    assert_eq!(parse("find . -exec rm {} \\;")[0].stages[0].words.len(), 6);
}
