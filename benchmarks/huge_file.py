"""Huge inputs against GNU grep and ripgrep: scans, whole `rlm ask` runs, stdin, peak memory.

Run: python benchmarks/huge_file.py [--sizes 250M,1G,4G] [--repeat 2] [--memory-only]
For each size, a generated log of exactly that many bytes (one rare FATAL line two thirds in) is
written to a temporary directory under /tmp and deleted afterwards; the sizes are scaled down
(and the report says so) when the disk lacks room for a log and two copies of it.

- Scans: a fresh process holds `context` as the REPL worker does (ingest with the default
  options, then load the manifest: the str form below the 256 MiB mapping threshold, the mapped
  form above) and times context.grep (literal, regex, ignore-case), context.count (the rare
  line, and a string on every line) and len(context.lines()), each on a fresh `context`,
  against `grep -n`, `grep -c`, `rg -n` and `wc -l` on the same file.
- `rlm ask`: a whole run through the real CLI against the scripted fake provider, whose one
  cell greps the input, against `grep -c` and a run over a tiny input (the fixed cost).
- stdin: `cat log | rlm ask -` and the spooling alone, against `cat log > copy`.
- Parallel: a byte search of the mapped log split over 2 processes, against one.

Warm: the file in the page cache, best of --repeat. Cold: the page cache dropped
(`echo 3 > /proc/sys/vm/drop_caches`) before each timed step, when permitted. Peak anonymous
memory: the largest sum of Pss_Anon (/proc/PID/smaps_rollup) over the process tree, sampled
every 25 ms (file-backed pages of a mapping are not counted: they are page cache); the input's
share is that peak less the same run's over a 64 KiB input. --memory-only measures just that,
for sizes on both sides of the mapping threshold (e.g. --sizes 16M,64M,128M,250M,300M).
Everything compared is measured in the same run, as ratios, as the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RARE = "2025-03-14T03:12:09.511Z FATAL deploy: migration 0042 failed: lock timeout on table users"
LITERAL = "FATAL deploy"
REGEX = r"FATAL \w+: migration [0-9]+"  # the same in Python's re, GNU grep -E and rg
FOLDED = "fatal deploy"
COMMON = "status=200"
DROP_CACHES = Path("/proc/sys/vm/drop_caches")
SIZES = {"K": 1024, "M": 1024**2, "G": 1024**3}


def parse_size(text: str) -> int:
    return int(float(text[:-1]) * SIZES[text[-1].upper()]) if text[-1].upper() in SIZES else int(text)


def write_log(path: Path, size: int) -> None:
    """Exactly `size` bytes of ordinary log lines, with RARE once, two thirds of the way in."""
    lines = [
        f"2025-03-14T03:{minute:02d}:{second:02d}.000Z INFO api request_id={minute * 60 + second:08x} "
        f"route=/v1/items/{second} status=200 latency_ms={(minute * 7 + second) % 250}\n"
        for minute in range(60) for second in range(60)
    ]
    block = "".join(lines).encode() * 16
    with path.open("wb") as out:
        written = 0
        while written < size:
            if written <= size * 2 // 3 < written + len(block):
                out.write((RARE + "\n").encode())
                written += len(RARE) + 1
            part = block[: size - written]
            out.write(part)
            written += len(part)


def drop_caches() -> bool:
    """Drop the page cache; False when not permitted."""
    try:
        os.sync()
        DROP_CACHES.write_text("3\n")
    except OSError:
        return False
    return True


# --- peak anonymous memory of a process tree -------------------------------------------------


def _tree(pid: int) -> list[int]:
    found = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in children:
        found += _tree(int(child))
    return found


def _pss_anon_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss_Anon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_sampled(command: Sequence[str], **kwargs: Any) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    """Run a command to its end: (seconds, peak anonymous MB of its process tree, the process)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    peak = 0
    while process.poll() is None:
        peak = max(peak, sum(_pss_anon_kib(pid) for pid in _tree(process.pid)))
        time.sleep(0.025)  # reading smaps_rollup costs: more often slows the run measured
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    return seconds, peak / 1024, subprocess.CompletedProcess(command, process.returncode, out, err)


def timed(command: Sequence[str] | str, shell: bool = False) -> float:
    """Seconds a command takes; its output is read through a pipe (GNU grep writing to /dev/null
    stops at the first match, as -q does)."""
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.PIPE, check=False, shell=shell)
    return time.perf_counter() - started


# --- scans in a process holding `context` as the worker does ---------------------------------

OPS: dict[str, tuple[Callable[[Any], Any], list[str]]] = {
    "grep literal": (lambda c: [m.line_no for m in c.grep(LITERAL)], ["grep", "-n", LITERAL]),
    "grep regex": (lambda c: [m.line_no for m in c.grep(REGEX)], ["grep", "-nE", REGEX]),
    "grep ignore-case": (lambda c: [m.line_no for m in c.grep(FOLDED, ignore_case=True)], ["grep", "-ni", FOLDED]),
    "count (rare)": (lambda c: c.count(LITERAL), ["grep", "-c", LITERAL]),
    f"count {COMMON!r}": (lambda c: c.count(COMMON), ["grep", "-c", COMMON]),
    "len(lines())": (lambda c: len(c.lines()), ["wc", "-l"]),
}
RG = {"grep literal": ["rg", "-n", LITERAL], "grep regex": ["rg", "-n", REGEX], "grep ignore-case": ["rg", "-ni", FOLDED]}


def scan_child(log: str, spool: str, cold: bool, repeat: int) -> None:
    """In a fresh process: each op on a fresh `context` (no counts kept from an earlier op); JSON out."""
    from rlm_cli.corpus import load_manifest
    from rlm_cli.ingest import IngestOptions, ingest

    manifest = ingest([log], IngestOptions(), spool_dir=Path(spool)).manifest_path
    if cold:
        drop_caches()
    started = time.perf_counter()
    context = load_manifest(manifest)
    figures: dict[str, Any] = {"load": time.perf_counter() - started, "form": type(context).__name__}
    for name, (op, _) in OPS.items():
        best = float("inf")
        for _ in range(1 if cold else repeat):
            context = None  # the previous one goes first: two str forms would double the memory
            context = load_manifest(manifest)
            if cold:
                drop_caches()
            started = time.perf_counter()
            value = op(context)
            best = min(best, time.perf_counter() - started)
        figures[name] = {"s": best, "value": value}
    if not cold:  # a second grep on the same context reuses its newline counts
        context.grep(LITERAL)
        started = time.perf_counter()
        context.grep(LITERAL)
        figures["grep literal, again"] = time.perf_counter() - started
    print(json.dumps(figures))


def reference(command: list[str], log: Path, cold: bool, repeat: int) -> float:
    best = float("inf")
    for _ in range(1 if cold else repeat):
        if cold:
            drop_caches()
        best = min(best, timed([*command, str(log)]))
    return best


def check_same(name: str, ours: Any, command: list[str], log: Path) -> None:
    """Our answer against the reference tool's, so the speed compares equal work."""
    output = subprocess.run([*command, str(log)], capture_output=True, text=True, check=False).stdout
    if name.startswith("grep"):
        theirs: Any = [int(line.split(":", 1)[0]) for line in output.splitlines()]
    else:
        theirs = int(output.split()[0])
    if command[0] == "wc":  # wc counts newlines: a last line without one is a line too
        with log.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            theirs += handle.read(1) != b"\n"
    if ours != theirs:
        raise SystemExit(f"{name}: ours {ours!r} != {command[0]}'s {theirs!r}")


def scans(log: Path, work: Path, repeat: int, can_drop: bool) -> None:
    have_rg = shutil.which("rg") is not None
    rows: dict[str, dict[str, float]] = {}
    peaks: dict[str, float] = {}
    forms = ("warm", "cold") if can_drop else ("warm",)
    load: dict[str, float] = {}
    form_name = ""
    for temperature in forms:
        command = [sys.executable, __file__, "--scan-child", str(log), str(work / f"spool-{temperature}"),
                   "1" if temperature == "cold" else "0", str(repeat)]
        _, peak, done = run_sampled(command, env={**os.environ, "PYTHONPATH": str(REPO)})
        if done.returncode:
            raise SystemExit(done.stderr.decode())
        figures = json.loads(done.stdout.decode().strip().splitlines()[-1])
        peaks[temperature], load[temperature], form_name = peak, figures["load"], figures["form"]
        for name, (_, command_) in OPS.items():
            if temperature == "warm":
                check_same(name, figures[name]["value"], command_, log)
            row = rows.setdefault(name, {})
            row[f"ours {temperature}"] = figures[name]["s"]
            row[f"{command_[0]} {temperature}"] = reference(command_, log, temperature == "cold", repeat)
            if have_rg and name in RG:
                row[f"rg {temperature}"] = reference(RG[name], log, temperature == "cold", repeat)
        if temperature == "warm":
            rows["grep literal"]["again"] = figures["grep literal, again"]
    size_mb = log.stat().st_size / 1024**2
    print(f"  context is {form_name}; loading it took {load['warm']:.3f} s warm"
          + (f", {load['cold']:.3f} s cold" if "cold" in load else ""))
    print(f"  {'operation':18} {'ours':>8} {'tool':>8} {'ratio':>6} {'rg':>8} | {'ours':>8} {'tool':>8} {'ratio':>6} {'rg':>8}   (warm | cold, seconds)")
    for name, row in rows.items():
        tool = OPS[name][1][0]
        cells = []
        for temperature in forms:
            ours, theirs = row[f"ours {temperature}"], row[f"{tool} {temperature}"]
            rg = row.get(f"rg {temperature}")
            cells.append(f"{ours:8.3f} {theirs:8.3f} {ours / theirs:5.2f}x {rg if rg is not None else float('nan'):8.3f}")
        extra = f"   (again on the same context: {row['again']:.3f} s)" if "again" in row else ""
        print(f"  {name + ' (' + tool + ')':18} " + " | ".join(cells) + extra)
    print("  peak anonymous memory of the scanning process: "
          + ", ".join(f"{temperature} {peak:.0f} MB = {peak / size_mb:.2f}x the input" for temperature, peak in peaks.items()))


# --- whole `rlm ask` runs ---------------------------------------------------------------------

CELL = f"hits = context.grep({LITERAL!r})\nprint(len(hits), hits)"


def ask_run(source: Path | None, stdin_file: Path | None, provider_url: str, cold: bool, sampled: bool) -> tuple[float, float, str]:
    """One `rlm ask` run (source, or `-` reading stdin_file): (seconds, peak anonymous MB or 0, stdout).

    Sampling memory slows a run on a busy machine, so timed runs are not sampled."""
    command = [sys.executable, "-m", "rlm_cli", "ask", str(source) if source else "-", "what failed?",
               "--model", "openai/root", "--sub-model", "openai/sub", "--api-base", provider_url, "--quiet"]
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    if stdin_file is not None:  # `cat log | rlm ask -`: cat is in the tree, as in a shell's pipeline
        command = ["sh", "-c", " ".join(["cat", _quote(stdin_file), "|", *map(_quote, command)])]
    if cold:
        drop_caches()
    if sampled:
        seconds, peak, done = run_sampled(command, env=env, stdin=subprocess.DEVNULL)
    else:
        started = time.perf_counter()
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        seconds, peak = time.perf_counter() - started, 0.0
    if done.returncode or LITERAL not in done.stdout.decode():
        raise SystemExit(f"rlm ask failed ({done.returncode}): {done.stdout.decode()[-500:]} {done.stderr.decode()[-2000:]}")
    return seconds, peak, done.stdout.decode()


def _quote(part: str | Path) -> str:
    import shlex

    return shlex.quote(str(part))


def memory(log: Path, tiny: Path, provider_url: str) -> None:
    """Peak anonymous memory of whole `rlm ask` runs (the file named, and piped on stdin) against
    the same run over a tiny input: the difference is what the input costs."""
    size_mb = log.stat().st_size / 1024**2
    tiny_peak = ask_run(tiny, None, provider_url, False, True)[1]
    for label, source, stdin_file in (("rlm ask log", log, None), ("cat log | rlm ask -", None, log)):
        peak = ask_run(source, stdin_file, provider_url, False, True)[1]
        print(f"  {label}: peak anonymous memory {peak:.0f} MB = {peak / size_mb:.2f}x the input; the tiny run's "
              f"{tiny_peak:.0f} MB; the input's share {peak - tiny_peak:.0f} MB = {(peak - tiny_peak) / size_mb:.2f}x "
              f"(goal <= 1.5x below the mapping threshold, <= 300 MB in all above it)")


def asks(log: Path, tiny: Path, provider_url: str, repeat: int, can_drop: bool) -> None:
    tiny_s = min(ask_run(tiny, None, provider_url, False, False)[0] for _ in range(repeat))
    print(f"  rlm ask, one cell greps: tiny input run {tiny_s:.3f} s (the fixed cost)")
    memory(log, tiny, provider_url)
    for temperature in ("warm", "cold") if can_drop else ("warm",):
        cold = temperature == "cold"
        seconds = min(ask_run(log, None, provider_url, cold, False)[0] for _ in range(1 if cold else repeat))
        grep_c = reference(["grep", "-c", LITERAL], log, cold, repeat)
        print(f"    {temperature}: {seconds:7.3f} s; grep -c {grep_c:.3f} s; ask / (grep -c + tiny run) = "
              f"{seconds / (grep_c + tiny_s):.2f}x (goal <= 4x); (ask - tiny run) / grep -c = {(seconds - tiny_s) / grep_c:.1f}x")
    seconds = ask_run(None, log, provider_url, False, False)[0]
    print(f"  cat log | rlm ask - (warm): {seconds:7.3f} s = {seconds / tiny_s:.2f}x the tiny run")


def spool_child(spool: str) -> None:
    """Spool stdin as `rlm ask -` does; print the seconds."""
    from rlm_cli.ingest.spool import Spool

    started = time.perf_counter()
    path = Spool(Path(spool)).stdin(sys.stdin.buffer, 1 << 50)
    print(time.perf_counter() - started, path.stat().st_size)


def stdin_spool(log: Path, work: Path, repeat: int) -> None:
    copy = work / "copy.log"
    plain, piped, spooled, inside = [], [], [], []
    for turn in range(repeat):
        plain.append(timed(f"cat {_quote(log)} > {_quote(copy)}", shell=True))
        copy.unlink()
        piped.append(timed(f"cat {_quote(log)} | cat > {_quote(copy)}", shell=True))
        copy.unlink()
        spool = work / f"spool-stdin-{turn}"
        command = f"cat {_quote(log)} | {_quote(sys.executable)} {_quote(__file__)} --spool-child {_quote(spool)}"
        started = time.perf_counter()
        done = subprocess.run(command, shell=True, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        spooled.append(time.perf_counter() - started)
        seconds, size = done.stdout.split()
        assert int(size) == log.stat().st_size
        inside.append(float(seconds))
        shutil.rmtree(spool)
    best = min(plain)
    print(f"  stdin: cat log > file {best:.3f} s; cat log | cat > file {min(piped):.3f} s ({min(piped) / best:.2f}x); "
          f"cat log | spool {min(spooled):.3f} s ({min(spooled) / best:.2f}x, goal <= 1.3x), of which Python's start "
          f"and imports {min(spooled) - min(inside):.3f} s (spooling alone {min(inside) / best:.2f}x); best of {repeat}")


# --- parallel byte search ----------------------------------------------------------------------


def parallel(log: Path, repeat: int) -> None:
    needle = b"no such needle in the log"  # a full scan, as a grep with a rare match mostly is

    def search(start: int, end: int) -> int:
        with log.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapping:
            return mapping.find(needle, start, end)

    size = log.stat().st_size
    one = min(_timed_call(lambda: search(0, size)) for _ in range(repeat))

    def split() -> None:
        half = size // 2
        pid = os.fork()
        if pid == 0:
            search(half - len(needle), size)
            os._exit(0)
        search(0, half)
        os.waitpid(pid, 0)

    two = min(_timed_call(split) for _ in range(repeat))
    print(f"  parallel: mapped byte search of the whole log, 1 process {one:.3f} s, split over 2 processes {two:.3f} s "
          f"({one / two:.2f}x faster; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")


def _timed_call(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="250M,1G,4G", help="log sizes (default: just under the mapping threshold, 1 GiB, 4 GiB)")
    parser.add_argument("--repeat", type=int, default=2, help="warm runs per step; the best is kept")
    parser.add_argument("--scan-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--memory-only", action="store_true", help="only the peak memory of whole runs, per size")
    parser.add_argument("--spool-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scan_child:
        log, spool, cold, repeat = args.scan_child
        scan_child(log, spool, cold == "1", int(repeat))
        return
    if args.spool_child:
        spool_child(args.spool_child)
        return
    from tests.fakes.provider import FakeProvider, code, script

    sizes = [parse_size(size) for size in args.sizes.split(",")]
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if 3 * max(sizes) + 1024**3 > free:
        scale = (free - 1024**3) / (3 * max(sizes))
        sizes = [int(size * scale) for size in sizes]
        print(f"only {free / 1024**3:.1f} GiB free in {tempfile.gettempdir()}: sizes scaled down by {scale:.2f}")
    can_drop = drop_caches()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"{shutil.which('rg') and subprocess.run(['rg', '--version'], capture_output=True, text=True).stdout.split(chr(10))[0]}; "
          f"cold runs: {'page cache dropped before each' if can_drop else 'not permitted here, warm only'}")
    turns = [code(CELL), code("FINAL(str(hits))")]
    with tempfile.TemporaryDirectory(dir="/tmp") as directory, FakeProvider(root_script=script(*turns)) as provider:
        work = Path(directory)
        tiny = work / "tiny.log"
        write_log(tiny, 64 * 1024)
        for size in sizes:
            log = work / "huge.log"
            started = time.perf_counter()
            write_log(log, size)
            print(f"\n{size / 1024**2:,.0f} MiB log ({size:,} bytes, written in {time.perf_counter() - started:.1f} s)")
            if args.memory_only:
                memory(log, tiny, provider.url)
                log.unlink()
                continue
            scans(log, work, args.repeat, can_drop)
            asks(log, tiny, provider.url, args.repeat, can_drop)
            stdin_spool(log, work, args.repeat)
            if size == max(sizes):
                parallel(log, args.repeat)
            log.unlink()
            for spool in work.glob("spool-*"):
                shutil.rmtree(spool)


if __name__ == "__main__":
    main()
