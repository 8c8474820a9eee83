#!/usr/bin/env python3
"""Lets a fresh clone reuse the shared target directory for the files it has unchanged.

Cargo decides that a crate of the workspace is up to date by comparing its files' modification
times with its last build; a fresh clone gives every file the clone's time, so every crate of
the workspace recompiled in every clone (six minutes of the test run on two cores), though its
files were byte for byte those of the last build. `record` writes, after a build, each file's
content hash and the modification time it had during the build; `restore`, in the next tree,
gives back that time to each file whose content is the same, and leaves every other file new,
so that cargo rebuilds exactly the crates whose files changed.

The record is only trusted while nothing else has built into the target directory since: any
build fingerprint newer than the record (a build from another tree, with other content) and
`restore` changes nothing.

    source-mtimes.py snapshot   before a build: this tree's files, their hashes and times
    source-mtimes.py record     after it: the snapshot's files still unchanged become the record
    source-mtimes.py restore    in a new tree, before building
"""

import glob
import hashlib
import json
import os
import subprocess
import sys
import time

TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/bittensor/target")
RECORD = os.path.join(TARGET, "source-mtimes.json")
SNAPSHOT = os.path.join(TARGET, "source-mtimes.snapshot.json")


def git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def tree_files():
    """The files a build can read: tracked and untracked (not ignored) files, and the git files
    naming the commit (the node's build script embeds it)."""
    files = [f for f in git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0") if f]
    names = ["HEAD", "packed-refs"]
    branch = subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], capture_output=True, text=True)
    if branch.returncode == 0:
        names.append(branch.stdout.strip())
    files += [git("rev-parse", "--git-path", name).strip() for name in names]
    return [f for f in files if os.path.isfile(f) and not os.path.islink(f)]


def state(path):
    """(sha256 of the content, modification time in ns)."""
    with open(path, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    return [digest, os.stat(path).st_mtime_ns]


def write_json(path, value):
    partial = path + ".partial"
    with open(partial, "w") as file:
        json.dump(value, file)
    os.replace(partial, path)


def newest_fingerprint_ns():
    """Modification time of the newest build fingerprint in the target directory (the host
    profiles' and the wasm builder's)."""
    newest = 0
    patterns = ["*/.fingerprint", "*/*/.fingerprint", "*/wbuild/*/target/*/.fingerprint",
                "*/wbuild/*/target/*/*/.fingerprint"]
    for folder in {f for pattern in patterns for f in glob.glob(os.path.join(TARGET, pattern))}:
        for unit in os.scandir(folder):
            newest = max(newest, unit.stat().st_mtime_ns)
            if unit.is_dir():
                for entry in os.scandir(unit.path):
                    newest = max(newest, entry.stat().st_mtime_ns)
    return newest


def snapshot():
    os.makedirs(TARGET, exist_ok=True)
    write_json(SNAPSHOT, {path: state(path) for path in tree_files()})


def record():
    try:
        with open(SNAPSHOT) as file:
            before = json.load(file)
    except FileNotFoundError:
        return
    unchanged = {path: was for path, was in before.items() if os.path.isfile(path) and state(path) == was}
    write_json(RECORD, {"written_ns": time.time_ns(), "files": unchanged})
    os.remove(SNAPSHOT)
    print(f"[build] recorded {len(unchanged)} files as this build saw them"
          + (f" ({len(before) - len(unchanged)} changed during the build, left out)" if len(unchanged) < len(before) else ""))


def restore():
    try:
        with open(RECORD) as file:
            recorded = json.load(file)
    except FileNotFoundError:
        print("[build] no record of an earlier build: the workspace's crates build from scratch")
        return
    if newest_fingerprint_ns() > recorded["written_ns"]:
        print("[build] the target directory was built from another tree since its record: "
              "the workspace's crates rebuild")
        return
    files = tree_files()
    same = 0
    for path in files:
        was = recorded["files"].get(path)
        if was is not None and state(path)[0] == was[0]:
            os.utime(path, ns=(was[1], was[1]))
            same += 1
    print(f"[build] {same} of {len(files)} files as the last build saw them; "
          f"{len(files) - same} new or changed, and the crates that read them rebuild")


if __name__ == "__main__":
    commands = {"snapshot": snapshot, "record": record, "restore": restore}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    os.chdir(git("rev-parse", "--show-toplevel").strip())
    commands[sys.argv[1]]()
