#!/usr/bin/env python3
"""Build the router's labelled corpus (routing/corpus.jsonl) from the
hand-written tasks, materials and follow-ups in routing/corpus/.

Each task line is a request with a tier label (the dev set's rubric,
../shared/routing/README.md). A task yields several entries: the request in
different styles (typos, lower case, polite or terse, material first), as a
Claude Code agent turn deep in a tool loop, after an unrelated earlier turn,
and followed by a follow-up (one that carries the task on keeps its tier; a
new, smaller ask has its own). The split is by task: a quarter of the tasks,
follow-ups and materials of each kind go to `test`, and no test entry shares
any of them with `train`, so the test split measures new wordings, not new
copies of known ones. Tasks added later (`tasks-<tier>-batch2.txt`) are split
on their own, so adding them never moves an earlier task between splits; the
third batch (`tasks-<tier>-batch3.txt`) goes to `train` only, so the `test`
split stays the one earlier figures were measured on. The fifth, sixth and
eighth batches are the `holdout`, `holdout2` and `holdout3` splits: written
after all tuning that came before them and never trained on.

Deterministic: the same inputs give the same file. Run from the repository
root: python3 routing/build_corpus.py [--check]
"""
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "corpus"
OUT = HERE / "corpus.jsonl"
TIERS = ("local", "cheap", "premium")
TEST_SHARE = 0.25
LANGS = ["Python", "TypeScript", "Go", "Rust", "Java", "Kotlin", "C#", "Ruby", "JavaScript", "C++"]
NAMES = ["userId", "get_data", "tmp", "handleClick", "cfg", "process_items", "acc", "fooBar",
         "total_price", "isReady", "ctx", "parse_row", "mgr", "retryCount", "buf", "load_all"]
NAMES2 = ["accountId", "fetch_records", "scratch", "onSubmit", "settings", "handle_batch",
          "running_total", "bazQux", "subtotal", "isLoaded", "request_ctx", "read_line"]
FILES = ["src/main.rs", "app/models.py", "web/src/App.tsx", "cmd/server/main.go", "lib/utils.js"]
NEUTRAL_PREFIXES = [
    "context: node 20, postgres 16. ",
    "(working on the backend today) ",
    "quick context, this is a django 5 project. ",
    "I'm on a mac with zsh. ",
    "this is for a side project. ",
    "using python 3.12. ",
]
POLITE = [("hi! could you help me with this: ", ""), ("hey, ", " thanks!"), ("Please: ", ""),
          ("", " thank you in advance"), ("hello, sorry to bother: ", ""), ("", " 🙏")]


def read_lines(path):
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            out.append(line.replace("\\n", "\n"))
    return out


def read_sections(path):
    sections, current = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and current is None:
            continue
        if line.startswith("=== "):
            current = line[4:].strip()
            sections.setdefault(current, [])
        elif line.strip():
            sections[current].append(line.replace("\\n", "\n"))
    return sections


def read_materials(path):
    blocks, head, body = [], None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("=== "):
            if head:
                blocks.append((head, "\n".join(body).strip("\n")))
            head, body = line[4:].split(), []
        elif head:
            body.append(line)
    if head:
        blocks.append((head, "\n".join(body).strip("\n")))
    by_kind = {}
    for (kind, lang), text in blocks:
        by_kind.setdefault(kind, []).append((lang, text))
    return by_kind


def split(items, rng):
    """Shuffle, then put a quarter (at least one) in test."""
    items = list(items)
    rng.shuffle(items)
    n = max(1, round(len(items) * TEST_SHARE))
    return {"test": items[:n], "train": items[n:]}


def typos(text, rng):
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 3]
    for i in rng.sample(idx, min(len(idx), rng.randint(1, 3))):
        w = list(words[i])
        j = rng.randrange(len(w) - 1)
        if rng.random() < 0.5:
            w[j], w[j + 1] = w[j + 1], w[j]
        else:
            del w[j]
        words[i] = "".join(w)
    return " ".join(words)


def restyle(prose, style, rng):
    if style == "typos":
        return typos(prose, rng)
    if style == "lower":
        return prose.lower().rstrip("?.!")
    if style == "polite":
        pre, post = rng.choice(POLITE)
        return pre + prose + post
    if style == "terse":
        t = re.sub(r"^(can you|could you|pls|please|can u|help me)\s+", "", prose, flags=re.I)
        return t.rstrip("?.!")
    if style == "prefix":
        return rng.choice(NEUTRAL_PREFIXES) + prose
    return prose


def fill(template, mats, rng, style):
    """Fill the slots of a task; restyle its prose (the first line) only."""
    code_lang = None

    def material(kind):
        nonlocal code_lang
        lang, text = rng.choice(mats[kind])
        if kind == "code":
            code_lang = lang
        return text

    text = template
    for kind in ("CODE", "TRACE", "LOG", "DIFF", "CONFIG", "DATA", "SCHEMA"):
        while "{" + kind + "}" in text:
            text = text.replace("{" + kind + "}", material(kind.lower()), 1)
    if "{LANG}" in text:
        choices = [l for l in LANGS if l.lower() != (code_lang or "").lower()]
        text = text.replace("{LANG}", rng.choice(choices))
    text = text.replace("{NAME}", rng.choice(NAMES)).replace("{NAME2}", rng.choice(NAMES2))
    text = text.replace("{FILE}", rng.choice(FILES))
    head, sep, rest = text.partition("\n")
    head = restyle(head, style, rng)
    if style == "material_first" and rest.strip():
        return rest.strip("\n") + "\n\n" + head
    return head + sep + rest


def variants(item, name, pool, m, f, r, rng):
    """The entries one task yields in split `name`."""
    tier, source, task = item
    entries = []

    def add(prompt, label, kind, context=None, tool_steps=None):
        e = {"tier": label, "prompt": prompt}
        if context:
            e["context"] = context
        if tool_steps:
            e["tool_steps"] = tool_steps
        e.update({"split": name, "source": source, "kind": kind})
        entries.append(e)

    styles = ["plain", "typos", "lower", "polite", "terse", "prefix", "material_first"]
    seen = set()
    for style in rng.sample(styles, len(styles)):
        prompt = fill(task, m, rng, style)
        if prompt not in seen:
            seen.add(prompt)
            add(prompt, tier, style)
        if len(seen) == 2:
            break
    if rng.random() < 0.6:
        add(fill(task, m, rng, "plain"), tier, "agent", tool_steps=rng.choice([1, 2, 3, 5, 8, 12, 20, 30]))
    asked = fill(task, m, rng, rng.choice(styles))
    reply = fill(rng.choice(r), m, rng, "plain")
    context = [{"role": "user", "text": asked}, {"role": "assistant", "text": reply}]
    roll = rng.random()
    if roll < 0.45:
        phrases = f["continue"] + (f["continue-work"] if tier != "local" else [])
        add(fill(rng.choice(phrases), m, rng, "plain"), tier, "continue", context)
    elif roll < 0.7:
        section = rng.choice(["local", "cheap"])
        add(fill(rng.choice(f[section]), m, rng, "plain"), section, "follow-up", context)
    else:
        other = rng.choice(pool)
        before = [{"role": "user", "text": fill(other[2], m, rng, "plain")},
                  {"role": "assistant", "text": reply}]
        add(fill(task, m, rng, "plain"), tier, "new-topic", before)
    return entries


def build():
    rng = random.Random(20261204)
    tasks = {t: read_lines(SRC / f"tasks-{t}.txt") for t in TIERS}
    follow = read_sections(SRC / "followups.txt")
    replies = read_lines(SRC / "replies.txt")
    mats = read_materials(SRC / "materials.txt")
    parts = {t: split([(t, f"{t}-{i + 1:03}", x) for i, x in enumerate(tasks[t])], rng) for t in TIERS}
    later = random.Random(20261205)
    for t in TIERS:
        batch = read_lines(SRC / f"tasks-{t}-batch2.txt")
        more = split([(t, f"{t}-b2-{i + 1:03}", x) for i, x in enumerate(batch)], later)
        for name in ("train", "test"):
            parts[t][name] += more[name]
    fparts = {k: split(v, rng) for k, v in follow.items()}
    mparts = {k: split(v, rng) for k, v in mats.items()}
    rparts = split(replies, rng)
    entries = []
    for name in ("train", "test"):
        pool = [x for t in TIERS for x in parts[t][name]]
        m = {k: v[name] for k, v in mparts.items()}
        f = {k: v[name] for k, v in fparts.items()}
        for item in pool:
            entries += variants(item, name, pool, m, f, rparts[name], rng)
    # The third and fourth batches: training only, each drawn from its own
    # generator so that every earlier entry (the test split above all)
    # stays as it was.
    m = {k: v["train"] for k, v in mparts.items()}
    f = {k: v["train"] for k, v in fparts.items()}
    pool = [x for t in TIERS for x in parts[t]["train"]]
    for batch, seed in ((3, 20261206), (4, 20261207)):
        gen = random.Random(seed)
        extra = [(t, f"{t}-b{batch}-{i + 1:03}", x)
                 for t in TIERS
                 for i, x in enumerate(read_lines(SRC / f"tasks-{t}-batch{batch}.txt"))]
        pool = pool + extra
        for item in extra:
            entries += variants(item, "train", pool, m, f, rparts["train"], gen)
    # The fifth batch: the `holdout` split, written after the model of the
    # earlier splits was tuned, scored on and never trained on.
    holdout = random.Random(20261208)
    mh = {k: v["test"] for k, v in mparts.items()}
    fh = {k: v["test"] for k, v in fparts.items()}
    fifth = [(t, f"{t}-b5-{i + 1:03}", x)
             for t in TIERS for i, x in enumerate(read_lines(SRC / f"tasks-{t}-batch5.txt"))]
    for item in fifth:
        entries += variants(item, "holdout", fifth, mh, fh, rparts["test"], holdout)
    # The sixth batch: the `holdout2` split, written after the holdout had
    # been looked at (its misses showed Chinese and Japanese read as one
    # word and log lines read as prose), before any model was scored on it,
    # and never trained on.
    second = random.Random(20261209)
    sixth = [(t, f"{t}-b6-{i + 1:03}", x)
             for t in TIERS for i, x in enumerate(read_lines(SRC / f"tasks-{t}-batch6.txt"))]
    for item in sixth:
        entries += variants(item, "holdout2", sixth, mh, fh, rparts["test"], second)
    # The eighth batch: the `holdout3` split, written once the model was
    # final and scored on once; never trained on.
    third = random.Random(20261211)
    eighth = [(t, f"{t}-b8-{i + 1:03}", x)
              for t in TIERS for i, x in enumerate(read_lines(SRC / f"tasks-{t}-batch8.txt"))]
    held = []
    for item in eighth:
        held += variants(item, "holdout3", eighth, mh, fh, rparts["test"], third)
    # The seventh batch: training only (languages the corpus lacked), last so
    # that no earlier entry moves.
    gen = random.Random(20261210)
    extra = [(t, f"{t}-b7-{i + 1:03}", x)
             for t in TIERS for i, x in enumerate(read_lines(SRC / f"tasks-{t}-batch7.txt"))]
    pool = pool + extra
    for item in extra:
        entries += variants(item, "train", pool, m, f, rparts["train"], gen)
    entries += held
    for n, e in enumerate(entries, 1):
        e["id"] = f"corpus-{n:04}"
    return entries


def main():
    entries = build()
    text = "".join(json.dumps({"id": e.pop("id"), **e}, ensure_ascii=False) + "\n" for e in entries)
    if "--check" in sys.argv:
        if OUT.read_text(encoding="utf-8") != text:
            sys.exit("routing/corpus.jsonl is stale: run python3 routing/build_corpus.py")
        return
    OUT.write_text(text, encoding="utf-8")
    count = {}
    for e in entries:
        count[(e["split"], e["tier"])] = count.get((e["split"], e["tier"]), 0) + 1
    print(f"{len(entries)} entries -> {OUT.relative_to(HERE.parent)}")
    for s in ("train", "test", "holdout", "holdout2", "holdout3"):
        print(f"  {s}: " + ", ".join(f"{t} {count.get((s, t), 0)}" for t in TIERS))


if __name__ == "__main__":
    main()
