"""A folder of bad inputs, to show that ingestion survives what users point it at.

`make(folder)` writes 250-odd entries: empty and whitespace-only files, binary data under
text names, Latin-1, Windows-1252 and UTF-16 (with and without BOM) text, files of mixed
encodings, a 200 MB file, HTML full of scripts, duplicates under new names and behind
symbolic links, one story in two languages, symbolic link loops, broken links, FIFOs,
files no one may read, folders named like files, deep folders, odd file names. It returns,
for every entry ingestion should report, the outcomes it may have.

Unreadable files: `chmod 000` stops everyone but root, and tests here may run as root. So
the corpus also holds what root cannot read either: links to `/proc/self/mem` (reading it
fails with EIO) and FIFOs (reading one blocks forever, so it must be refused unopened).
The `chmod 000` files are expected to be rejected for other users and read by root.
"""

from __future__ import annotations

import os
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.config import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "corpus"

REJECTED = frozenset({"rejected"})
INDEXED = frozenset({"added"})
DUPLICATE = frozenset({"duplicate"})


@dataclass(frozen=True)
class Entry:
    """One bad input and the outcomes ingestion may give it."""

    kind: str
    allowed: frozenset[str]


def _stories() -> Iterator[str]:
    """Short articles (3 paragraphs, under 900 characters) cut from the bundled corpus."""
    files = sorted(CORPUS.glob("*.txt"))
    paragraphs = [
        [p for p in f.read_text(encoding="utf-8").splitlines() if len(p.split()) > 12]
        for f in files
    ]
    n = 0
    while True:
        source = paragraphs[n % len(paragraphs)]
        start = (n // len(paragraphs)) % len(source)
        body = [source[(start + i) % len(source)][:280] for i in range(3)]
        yield "\n".join([f"Noticia número {n}: {body[0][:60]}", *body]) + "\n"
        n += 1


def make(folder: Path, big_bytes: int = 200_000_000, seed: int = 0) -> dict[str, Entry]:
    """Write the bad inputs into `folder`; returns {path: Entry} for every reported entry."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    stories = _stories()
    out: dict[str, Entry] = {}
    root = os.geteuid() == 0

    def put(name: str, data: bytes | str, kind: str, allowed: frozenset[str]) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        out[str(path)] = Entry(kind, allowed)
        return path

    for i, ext in enumerate([".txt", ".md", ".html"] * 7):
        put(f"empty-{i:02d}{ext}", b"", "empty", REJECTED)
        put(f"blank-{i:02d}{ext}", " \n\t\r\n" * rng.randint(1, 400), "whitespace only", REJECTED)
    binaries: dict[str, Callable[[], bytes]] = {
        "random": lambda: rng.randbytes(rng.randint(100, 50_000)),
        "random-no-nul": lambda: bytes(b or 1 for b in rng.randbytes(20_000)),
        "png": lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(5000),
        "zip": lambda: b"PK\x03\x04\x14\x00\x00\x00" + zlib.compress(rng.randbytes(5000)),
        "elf": lambda: b"\x7fELF\x02\x01\x01\x00" + bytes(5000),
        "gzip-text": lambda: zlib.compress(next(stories).encode() * 20),
    }
    for kind, make_bytes in binaries.items():
        for i in range(8):
            put(f"binary-{kind}-{i}.txt", make_bytes(), f"binary ({kind})", REJECTED)
    for i in range(15):
        put(f"short-{i:02d}.txt", "Breve." * rng.randint(1, 12), "too short", REJECTED)
    for i in range(5):
        chrome = "Suscríbete a nuestro boletín para no perderte nada\n123\n4,5k\nFuente\n"
        put(f"chrome-only-{i}.txt", chrome * (i + 1), "page furniture only", REJECTED)
    for i, ext in enumerate([".pdf", ".docx", ".jpg", ".exe", ".json"] * 4):
        put(f"other-{i:02d}{ext}", rng.randbytes(300), "unsupported type", REJECTED)

    for i in range(3):
        latin1 = next(stories).encode("latin-1", errors="replace")
        put(f"latin1-{i:02d}.txt", latin1, "Latin-1", INDEXED)
    for i in range(2):
        put(f"cp1252-{i}.txt", ("“" + next(stories) + "” – €").encode("cp1252", "replace"),
            "Windows-1252", INDEXED)  # fmt: skip
    for i in range(2):
        put(f"utf16-bom-le-{i}.txt", next(stories).encode("utf-16"), "UTF-16 LE + BOM", INDEXED)
        be = b"\xfe\xff" + next(stories).encode("utf-16-be")
        put(f"utf16-bom-be-{i}.txt", be, "UTF-16 BE + BOM", INDEXED)
        put(f"utf16-le-{i}.txt", next(stories).encode("utf-16-le"), "UTF-16 LE", INDEXED)
    for i in range(1):
        put(f"utf16-be-{i}.txt", next(stories).encode("utf-16-be"), "UTF-16 BE", INDEXED)
    for i in range(2):
        broken = next(stories).encode("utf-16")[:-1]
        put(f"utf16-broken-{i}.txt", broken, "truncated UTF-16", REJECTED)
    for i in range(3):
        lines = next(stories).splitlines(keepends=True)
        mixed = b"".join(
            line.encode("latin-1", "replace") if j % 2 else line.encode("utf-8")
            for j, line in enumerate(lines)
        )
        put(f"mixed-encodings-{i}.txt", mixed, "UTF-8 and Latin-1 lines", INDEXED)
    for i, ending in enumerate(["\r\n", "\r"]):
        put(f"line-endings-{i}.txt", next(stories).replace("\n", ending), "CR/CRLF", INDEXED)
    for i in range(1):
        put(f"bom-{i}.txt", next(stories).encode("utf-8-sig"), "UTF-8 BOM", INDEXED)
    for i in range(2):
        noisy = next(stories).replace(" ", " \x1b[31m\x07", 3).replace("\n", "\x0c\n", 1)
        put(f"control-chars-{i}.txt", noisy, "control characters", INDEXED)
    for i in range(1):
        text = next(stories).replace(" ", "\u200b ", 5).replace("\n", "\u202e\n", 1)
        put(f"invisible-chars-{i}.txt", text, "zero-width and bidi characters", INDEXED)

    script = "<script>var t = '" + "x" * 2000 + "'; if (a < b && c > d) {}</script>"
    for i in range(3):
        paragraphs = "".join(f"<p>{p}</p>" for p in next(stories).splitlines())
        page = f"<html><head>{script * 20}<style>p{{}}</style></head><body>{script}"
        page += f"<nav>Inicio</nav>{paragraphs}{script}<!-- c --></body></html>"
        put(f"scripts-{i:02d}.html", page, "HTML full of scripts", INDEXED)
    for i in range(10):
        put(f"scripts-only-{i}.html", f"<html>{script * 50}</html>", "only scripts", REJECTED)
    for i in range(3):
        page = f"<html><script>{'var x = 1;' * 300}<p>{next(stories)}</p></html>"
        put(f"unclosed-script-{i}.html", page, "unclosed script", REJECTED | INDEXED)
    for i in range(1):
        state = "<script>window.__STATE__ = " + '{"k": "' + "y" * 500_000 + '"}</script>'
        page = f"<html><body>{state}<article><p>{next(stories)}</p></article></body></html>"
        put(f"inline-state-{i}.html", page, "500 kB of inline script", INDEXED)
    for i in range(1):
        page = f"<html><meta charset='iso-8859-1'><body><p>{next(stories)}</p></body></html>"
        put(f"html-latin1-{i}.htm", page.encode("latin-1", "replace"), "Latin-1 HTML", INDEXED)

    for i in range(5):
        text = next(stories)
        put(f"orig-{i:02d}.txt", text, "original of a duplicate", INDEXED)
        put(f"zz-copy-{i:02d}.txt", text, "duplicate under a new name", DUPLICATE)
    for i in range(5):
        put(f"zz-copy-b-{i:02d}.md", (folder / f"orig-{i:02d}.txt").read_bytes(),
            "second duplicate, another type", DUPLICATE)  # fmt: skip
        alias = folder / f"zz-link-{i}.txt"
        alias.symlink_to(f"orig-{i:02d}.txt")
        out[str(alias)] = Entry("symbolic link to an indexed file", DUPLICATE)
    for n in ("000", "001"):
        source = next(CORPUS.glob(f"{n}_*.txt"))
        put(f"two-languages-{n}.txt", source.read_bytes(), "one story in two languages", INDEXED)

    def link(name: str, target: str, kind: str, allowed: frozenset[str] = REJECTED) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
        out[str(path)] = Entry(kind, allowed)

    for i in range(3):
        link(f"loop-self-{i}.txt", f"loop-self-{i}.txt", "symbolic link loop")
        link(f"loop-a-{i}.txt", f"loop-b-{i}.txt", "symbolic link loop")
        link(f"loop-b-{i}.txt", f"loop-a-{i}.txt", "symbolic link loop")
    link("loop-folder", ".", "folder link loop")
    link("nested/up", "..", "folder link loop")
    put("nested/story.txt", next(stories), "article next to a loop", INDEXED)
    for i in range(10):
        link(f"broken-{i}.txt", f"gone-{i}.txt", "broken symbolic link")
    for i in range(2):
        link(f"proc-mem-{i}.txt", "/proc/self/mem", "unreadable even by root (EIO)")
    for i in range(3):
        fifo = folder / f"fifo-{i}.txt"
        os.mkfifo(fifo)
        out[str(fifo)] = Entry("FIFO (reading it would block)", REJECTED)
    for i in range(3):
        path = put(f"no-permission-{i}.txt", next(stories), "chmod 000", REJECTED)
        path.chmod(0)
        if root:  # root reads it anyway
            out[str(path)] = Entry("chmod 000 (read by root)", INDEXED)

    for i in range(2):
        put(f"folder-{i}.txt/inside-{i}.txt", next(stories), "inside a folder named x.txt", INDEXED)
    deep = "/".join(f"d{j}" for j in range(40))
    put(f"{deep}/deep.txt", next(stories), "40 folders deep", INDEXED)
    for name in ("ñandú café.txt", "新闻.txt", "emoji-📰.txt", "  spaces  .txt"):
        put(name, next(stories), "odd file name", INDEXED)
    odd = Path(os.fsdecode(os.fsencode(str(folder)) + b"/latin1-name-\xe9.txt"))
    put(odd.name, next(stories), "file name not in UTF-8", INDEXED)
    put("sub1/same-name.txt", next(stories), "first of two files with one name", INDEXED)
    put("sub2/same-name.txt", next(stories), "second file with the same name", REJECTED)

    big = folder / "huge-200MB.txt"
    line = ("Una línea de texto que se repite para llenar el archivo. " * 16 + "\n").encode()
    with big.open("wb") as f:
        for _ in range(big_bytes // len(line) + 1):
            f.write(line)
    out[str(big)] = Entry(f"{big_bytes // 1_000_000} MB file", REJECTED)
    return out


OUTCOMES = ("added", "updated", "unchanged", "duplicate", "rejected", "removed")

_PEAK_RSS = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors="replace")
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
print(f"PEAK_RSS_KB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(done.returncode)
"""


@dataclass
class CliRun:
    """`rag ingest` over a bad corpus: its output, each input's outcomes, its peak memory."""

    returncode: int
    stdout: str
    stderr: str
    outcomes: dict[str, list[tuple[str, str]]]
    """Input path -> the (outcome, detail) lines ingestion printed for it."""
    strays: list[str]
    """Outcome lines for paths that are not among the inputs."""
    peak_rss_mb: float


def shown(path: str) -> str:
    """A path as the CLI prints it (bytes that are not UTF-8 come out escaped)."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")


def ingest_cli(folder: Path, entries: dict[str, Entry], index_dir: Path) -> CliRun:
    """Run the real `rag ingest folder` into `index_dir`, and read back what it reported."""
    import subprocess
    import sys

    from rag.ingest import readable

    rag = str(Path(sys.executable).parent / "rag")
    env = {**os.environ, "RAG_INDEX_DIR": str(index_dir)}
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, rag, "ingest", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    by_shown = {shown(p): p for p in entries} | {readable(p): p for p in entries}
    outcomes: dict[str, list[tuple[str, str]]] = {}
    strays: list[str] = []
    for line in done.stderr.splitlines():
        what, _, rest = line.partition(" ")
        if what in OUTCOMES:
            path, _, detail = rest.partition(": ")
            if path in by_shown:
                outcomes.setdefault(by_shown[path], []).append((what, detail))
            else:
                strays.append(line)
    peak = done.stderr.rsplit("PEAK_RSS_KB ", 1)[-1].split()
    peak_mb = int(peak[0]) / 1024 if peak and peak[0].isdigit() else float("nan")
    return CliRun(done.returncode, done.stdout, done.stderr, outcomes, strays, peak_mb)
