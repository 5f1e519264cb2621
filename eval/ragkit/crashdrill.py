"""The crash drill: kill ingestion with SIGKILL at random moments, then check the index.

Each round changes some articles of a generated corpus (every fourth round is a rebuild,
which may also delete files), starts an ingestion process (a real ingestion: Chroma on
disk, the chunker, the write lock) and kills it with SIGKILL after a random delay (seeded,
printed). A fresh process then runs the check under a timeout, so a segfault or a hang
while opening the damaged store is caught, and checks that:

1. the store opens;
2. every indexed article is whole: all the chunks its commit record counts are returned by
   `get()` and by the keyword index's `all_texts()`, and each (of a sample of 40) is found
   by dense search for its own vector, at similarity 1; no other chunk is visible;
3. ingesting again (a writer after a crash, so it first checks and repairs the index:
   rag/check.py) completes, leaves no invisible chunk, and the index then holds exactly the
   chunk ids the corpus yields, each found by dense search.

Chroma 1.5.9 itself, killed mid-write, brings back records an earlier process had deleted
(chroma-core/chroma#7758, #7678, #6975): an article removed by a rebuild shows again.
Those are below the commit records, which cannot prevent them; the ledger (rag/ledger.py)
tells them apart and the writer's check removes them. What is found before that repair is
counted as `chroma_anomalies`, what is still there after it as `remaining` (none, with
RAG_CRASH_STRICT=1). Chroma's HNSW index also leaves a few near-identical chunks
unreachable, differently at each opening (it replays its log into the graph); the product
searches exactly up to Settings.exact_search_limit chunks, and the drill counts what HNSW
alone would have missed (`hnsw_misses`).

The embedder is `HashEmbedder`, not EmbeddingGemma: loading the real model takes 10-20 s
per process on two cores, which would make one round cost as much as twenty. The drill is
about what reaches the disk, and every part that writes (Chroma, the store, the lock, the
ingestion) is the real one. Stores are written in batches of `max_batch` chunks (3 by
default, far below Chroma's `get_max_batch_size()`), so a kill can fall between two batches
of one article.

The drill runs in its own process (`python -m ragkit.crashdrill drill`), which loads the
libraries and language models once and forks each ingestion and each check from there:
starting a Python process that imports Chroma and llama-index and loads the language
detector takes 5-15 s on a busy two-core machine, a fork a millisecond. No process
touches the store before it forks, so each child opens it afresh, as a new process would.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from rag.config import PROJECT_ROOT, Settings

Say = Callable[[str], None]

CORPUS = PROJECT_ROOT / "corpus"


# ---------------------------------------------------------------- the corpus


def _paragraphs() -> list[list[str]]:
    """The bundled articles, as lists of paragraphs: realistic text in four languages."""
    files = sorted(CORPUS.glob("*.txt"))
    return [[p for p in f.read_text(encoding="utf-8").splitlines() if p.strip()] for f in files]


def _article(number: int, version: int, rng: random.Random, sources: list[list[str]]) -> str:
    paragraphs = sources[number % len(sources)]
    start = rng.randrange(len(paragraphs))
    count = rng.randint(3, min(8, len(paragraphs)))
    body = [paragraphs[(start + i) % len(paragraphs)] for i in range(count)]
    # A marker in every paragraph makes every article, version and chunk unique (a line of
    # its own would be cleaned away as a foreign-language line or a counter; the cleaner
    # may drop a whole paragraph, e.g. a newsletter call to action).
    return "\n".join(f"{p} ({number}.{version})" for p in body) + "\n"


def write_corpus(folder: Path, articles: int, rng: random.Random) -> None:
    """Write `articles` distinct articles of 3-8 paragraphs each into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = _paragraphs()
    for n in range(articles):
        (folder / f"article-{n:03d}.txt").write_text(_article(n, 0, rng, sources), encoding="utf-8")


def mutate(folder: Path, rng: random.Random, round_: int, delete: bool) -> None:
    """Rewrite about half the articles, add two, and (if `delete`) delete one."""
    sources = _paragraphs()
    files = sorted(folder.glob("*.txt"))
    for f in rng.sample(files, max(1, len(files) // 2)):
        n = int(f.stem.split("-")[1])
        f.write_text(_article(n, round_, rng, sources), encoding="utf-8")
    top = max(int(f.stem.split("-")[1]) for f in files)
    for n in (top + 1, top + 2):
        (folder / f"article-{n:03d}.txt").write_text(
            _article(n, round_, rng, sources), encoding="utf-8"
        )
    if delete and len(files) > 3:
        rng.choice(files).unlink()


# ---------------------------------------------------------------- the two processes


def _assistant(index: Path) -> Any:
    from rag.answer import Assistant
    from rag.embed import HashEmbedder

    return Assistant(Settings(index_dir=index), embedder=HashEmbedder())


def rejected_files(corpus: Path) -> set[str]:
    """Files of `corpus` that ingestion rejects now (e.g. a version the cleaner leaves
    empty). The index keeps the version it had of such a file: nothing is lost to a bad
    update."""
    from rag.ingest import Rejected, load_articles

    return {Path(r.path).name for r in load_articles([corpus]) if isinstance(r, Rejected)}


def expected_ids(corpus: Path, settings: Settings) -> dict[str, tuple[str, set[str]]]:
    """Per article of `corpus`: its content hash and the chunk ids a complete index holds."""
    from rag.chunk import chunk_article, make_splitter
    from rag.embed import HashEmbedder
    from rag.ingest import load_articles
    from rag.schema import Article

    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap, HashEmbedder().tokenize)
    return {
        a.source: (a.content_hash, {c.id for c in chunk_article(a, splitter)})
        for a in load_articles([corpus])
        if isinstance(a, Article)
    }


def check(index: Path, corpus: Path, rebuild: bool, seed: int) -> dict[str, Any]:
    """Open the store after a kill, check it, ingest to the end, check again."""
    started = time.perf_counter()
    assistant = _assistant(index)
    store = assistant.store
    opened = time.perf_counter() - started
    problems: list[str] = []
    anomalies: list[str] = []  # Chroma's own losses, below the commit records (see below)

    docs = store.documents()
    ids, _texts = store.all_texts()
    chunks = store.get(ids)
    if len(chunks) != len(ids):
        problems.append(f"get() returned {len(chunks)} of {len(ids)} visible chunks")
    per_source: dict[str, int] = {}
    for chunk in chunks.values():
        per_source[chunk.source] = per_source.get(chunk.source, 0) + 1
    for source, doc in docs.items():
        if per_source.get(source, 0) != doc.chunks:
            problems.append(f"{source}: {per_source.get(source, 0)} of {doc.chunks} chunks")
    if set(per_source) - set(docs):
        problems.append(f"chunks of uncommitted articles visible: {set(per_source) - set(docs)}")
    sample = random.Random(seed).sample(sorted(chunks), min(40, len(chunks)))
    for cid in sample:
        # Every visible chunk is asked for: identical chunks of other articles tie with it.
        hits = store.query(chunks[cid].vector, len(chunks))
        if cid not in {hit for hit, _ in hits}:
            anomalies.append(f"chunk {cid} of {chunks[cid].source} not found by dense search")
        elif hits[0][1] < 0.999:
            problems.append(f"chunk {cid}: its own vector is not the nearest ({hits[0][1]:.3f})")
    # What Chroma's HNSW index alone would miss (the product searches exactly up to
    # Settings.exact_search_limit chunks): reported, never failed.
    exact_limit, store.exact_limit = store.exact_limit, 0
    hnsw_misses = len(store.unfindable())
    store.exact_limit = exact_limit
    hidden = store.hidden()

    # The re-run is a writer after a crash: it checks the index and repairs it first.
    report = assistant.ingest([corpus], rebuild=rebuild)
    repaired = [f.what for f in report.health.findings] if report.health else []
    want = expected_ids(corpus, assistant.settings)
    after = store.documents()
    final_ids = set(store.all_texts()[0])
    want_ids = set().union(*(cids for _, cids in want.values())) if want else set()
    remaining: list[str] = []  # Chroma's damage still there after the repair
    if store.hidden():
        problems.append(f"{store.hidden()} invisible chunks left after the re-run")
    have = {s: d.content_hash[:8] for s, d in after.items()}
    wanted = {s: h[:8] for s, (h, _) in want.items()}
    # An article removed earlier (its file deleted, then removed by a finished rebuild) that
    # is still there after the re-run: Chroma brought deleted records back, and the repair
    # did not take them out.
    kept = rejected_files(corpus) & set(have)  # their earlier version stays indexed
    if kept:
        final_ids -= {c.id for c in store.get(sorted(final_ids - want_ids)).values()
                      if c.source in kept}  # fmt: skip
    back = {src for src in have if src not in wanted and src not in kept}
    if back:
        remaining.append(f"removed articles back after the repair: {sorted(back)}")
        revenants = {c.id for c in store.get(sorted(final_ids - want_ids)).values()
                     if c.source in back}  # fmt: skip
        final_ids -= revenants
    diff = sorted(
        f"{src}: index {have.get(src)}, file {wanted.get(src)}"
        for src in set(have) | set(wanted)
        if have.get(src) != wanted.get(src) and src not in back | kept
    )
    if diff:
        problems.append(f"after the re-run, the indexed articles differ from the corpus: {diff}")
    if final_ids != want_ids:
        problems.append(
            f"after the re-run, {len(final_ids - want_ids)} unexpected and "
            f"{len(want_ids - final_ids)} missing chunk ids"
        )
    lost = store.unfindable()
    if lost:
        remaining.append(f"{len(lost)} chunks not found by dense search after the repair")
    return {
        "open_s": opened,
        "articles_at_kill": len(docs),
        "hidden_at_kill": hidden,
        "discarded": report.discarded,
        "rerun_chunks": report.chunks,
        "articles": len(after),
        "chunk_ids": len(final_ids),
        "problems": problems[:20],
        "anomalies": anomalies[:20],
        "hnsw_misses": hnsw_misses,
        "repaired": repaired[:20],
        "remaining": remaining[:20],
    }


# ---------------------------------------------------------------- the drill


@dataclass
class DrillResult:
    """Figures of one drill."""

    seed: int
    rounds: int = 0
    kills_mid_run: int = 0
    """Kills that landed while the ingestion was still running (the others came too late)."""
    rebuild_rounds: int = 0
    with_leftovers: int = 0
    """Kills after which invisible chunks (a write cut short) were found and discarded."""
    failures: list[str] = field(default_factory=list)
    """Broken guarantees of this code: half an article visible, the store not opening..."""
    chroma_anomalies: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    """What the writer after each kill found and set right (rag/check.py)."""
    remaining: list[str] = field(default_factory=list)
    """Chroma's damage still there after that repair (must be none: RAG_CRASH_STRICT=1)."""
    hnsw_misses: int = 0
    """Chunks that Chroma's HNSW index alone would not have returned, summed over kills (the
    product searches exactly up to Settings.exact_search_limit chunks)."""
    """Chroma's own losses after a kill, below the commit records: a record that `get()`
    returns but its vector index lost, or deleted records back (chromadb 1.5.9; see
    chroma-core/chroma#7758, #7678, #6975)."""
    open_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        worst = max(self.open_seconds, default=0.0)
        return (
            f"seed {self.seed}: {self.rounds} kills ({self.kills_mid_run} mid-ingestion, "
            f"{self.rebuild_rounds} during rebuilds), {self.with_leftovers} left half-written "
            f"articles (invisible, then discarded), {len(self.failures)} failures; store "
            f"opened after every kill (slowest {worst:.2f} s); Chroma anomalies after "
            f"{len({a.split(':')[0] for a in self.chroma_anomalies})} kills, still there "
            f"after the repair after {len({a.split(':')[0] for a in self.remaining})}; "
            f"HNSW alone would have missed {self.hnsw_misses} chunks; "
            f"{self.seconds:.0f} s in all"
        )


def _fork(target: Callable[[TextIO], None]) -> tuple[int, int]:
    """Run `target(pipe)` in a forked child; returns its pid and the pipe's reading end."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read)
        code = 0
        try:
            with os.fdopen(write, "w") as out:
                target(out)
        except BaseException:
            traceback.print_exc()
            code = 1
        os._exit(code)
    os.close(write)
    return pid, read


def _read_line(fd: int, timeout: float) -> str:
    """One line from a child's pipe ("" if it closed it or said nothing in time)."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").strip()


def _wait(pid: int, timeout: float) -> int | None:
    """The child's wait status, or None (after killing it) if it ran over `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def _ingestion(
    index: Path, corpus: Path, rebuild: bool, max_batch: int
) -> Callable[[TextIO], None]:
    def target(out: TextIO) -> None:
        assistant = _assistant(index)
        assistant.store.max_batch = max_batch
        out.write("ready\n")
        out.flush()
        report = assistant.ingest([corpus], rebuild=rebuild)
        out.write(f"done {report.chunks}\n")

    return target


def _timed_run(index: Path, corpus: Path, rebuild: bool, max_batch: int) -> float:
    """Seconds from `ready` to the end of an uncut ingestion (to size the kill window)."""
    pid, fd = _fork(_ingestion(index, corpus, rebuild, max_batch))
    _read_line(fd, 120)
    started = time.perf_counter()
    _read_line(fd, 600)
    seconds = time.perf_counter() - started
    os.close(fd)
    os.waitpid(pid, 0)
    return seconds


def _warm_up(corpus: Path) -> None:
    """Import the libraries and load the language models once, before any fork."""
    import chromadb  # noqa: F401
    import llama_index.vector_stores.chroma  # noqa: F401

    import rag.answer  # noqa: F401

    expected_ids(corpus, Settings())


def run(
    kills: int,
    seed: int,
    workdir: Path,
    say: Say,
    articles: int = 24,
    max_batch: int = 3,
    timeout: float = 120.0,
) -> DrillResult:
    """Kill ingestion `kills` times in `workdir`; see the module docstring."""
    rng = random.Random(seed)
    result = DrillResult(seed=seed)
    started = time.perf_counter()
    corpus, index = workdir / "corpus", workdir / "index"
    write_corpus(corpus, articles, rng)
    _warm_up(corpus)
    # How long a whole ingestion and a whole rebuild take here: kills fall inside that.
    scratch = workdir / "scratch-index"
    full = _timed_run(scratch, corpus, False, max_batch)
    rebuild_window = _timed_run(scratch, corpus, True, max_batch)
    say(f"seed {seed}: ingestion takes {full:.2f} s, a rebuild {rebuild_window:.2f} s here")
    for r in range(kills):
        rebuild = r % 4 == 3
        if r:
            mutate(corpus, rng, r, delete=rebuild)
        window = full if r == 0 else rebuild_window if rebuild else full * 0.6
        delay = rng.uniform(0.0, window)
        pid, fd = _fork(_ingestion(index, corpus, rebuild, max_batch))
        if _read_line(fd, 120) != "ready":
            result.failures.append(f"round {r}: the ingestion did not start")
        time.sleep(delay)
        mid_run = os.waitpid(pid, os.WNOHANG)[0] == 0
        if mid_run:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
        result.rounds += 1
        result.kills_mid_run += mid_run
        result.rebuild_rounds += rebuild

        def checker(out: TextIO, r: int = r, rebuild: bool = rebuild) -> None:
            out.write(json.dumps(check(index, corpus, rebuild, seed + r)) + "\n")

        pid, fd = _fork(checker)
        line = _read_line(fd, timeout)
        status = _wait(pid, 5.0 if line else timeout)
        os.close(fd)
        if status is None:
            result.failures.append(f"round {r}: the check hung for {timeout:.0f} s")
            continue
        if os.WIFSIGNALED(status):
            result.failures.append(f"round {r}: the check died of signal {os.WTERMSIG(status)}")
            continue
        if not line:
            result.failures.append(f"round {r}: the check failed (exit {status >> 8})")
            continue
        figures = json.loads(line)
        result.open_seconds.append(figures["open_s"])
        result.with_leftovers += figures["discarded"] > 0
        result.failures += [f"round {r}: {p}" for p in figures["problems"]]
        result.chroma_anomalies += [f"round {r}: {a}" for a in figures["anomalies"]]
        result.repaired += [f"round {r}: {a}" for a in figures["repaired"]]
        result.remaining += [f"round {r}: {a}" for a in figures["remaining"]]
        result.hnsw_misses += figures["hnsw_misses"]
        say(
            f"round {r:3d} {'rebuild' if rebuild else 'ingest '} killed after {delay:.3f} s"
            f"{'' if mid_run else ' (already done)'}: {figures['articles_at_kill']} articles "
            f"whole, {figures['hidden_at_kill']} invisible chunks; re-run -> "
            f"{figures['articles']} articles, {figures['chunk_ids']} chunk ids"
            + (f"; PROBLEMS {figures['problems']}" if figures["problems"] else "")
            + (f"; CHROMA {figures['anomalies']}" if figures["anomalies"] else "")
            + (f"; REPAIRED {figures['repaired']}" if figures["repaired"] else "")
            + (f"; REMAINING {figures['remaining']}" if figures["remaining"] else "")
        )
    result.seconds = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    """`python -m ragkit.crashdrill --kills N --seed S WORKDIR`: figures as JSON on stdout."""
    parser = argparse.ArgumentParser(prog="python -m ragkit.crashdrill", description=__doc__)
    parser.add_argument("workdir", type=Path, help="an empty folder for the corpus and index")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--articles", type=int, default=24)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per check")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    say = partial(print, file=sys.stderr, flush=True)
    result = run(args.kills, args.seed, args.workdir, say, args.articles, timeout=args.timeout)
    say(result.summary())
    for failure in result.failures:
        say(f"FAILURE {failure}")
    for anomaly in result.chroma_anomalies:
        say(f"CHROMA {anomaly}")
    for line in result.remaining:
        say(f"REMAINING {line}")
    print(json.dumps(asdict(result)))
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
