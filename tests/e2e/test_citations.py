"""End to end: an answer's citations are checked against the input before it is printed."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.helpers import model_flags, rlm
from tests.fakes.provider import FakeProvider, script
from tests.security.terminal import rlm_on_terminal

AUTH = "".join(f"# filler {n}\n" for n in range(1, 40)) + "def check_token(token):\n    if not verify(token):\n        raise Denied()\n"
GOOD = 'Tokens are checked in `check_token` (repo/src/auth.py:40 "def check_token(token):").'
MOVED = 'A bad token raises `Denied` (repo/src/auth.py:12 "raise Denied()").'
INVENTED = 'Sessions are kept in Redis (src/session.py:7 "redis.set(key, token)").'
LOOK = "Let me find the token check first.\n\n```python\nhits = context.grep(r'check_token|Denied')\nprint(hits)\n```"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small repository with one file that matters."""
    (tmp_path / "repo" / "src").mkdir(parents=True)
    (tmp_path / "repo" / "src" / "auth.py").write_text(AUTH, encoding="utf-8")
    (tmp_path / "repo" / "README.md").write_text("# Service\n", encoding="utf-8")
    return tmp_path / "repo"


def _final(*claims: str) -> str:
    return "The grep output above bears this out.\n\nFINAL(" + "\n".join(claims) + ")"


def test_citations_are_verified_moved_and_the_invented_one_repaired(provider: FakeProvider, repo: Path) -> None:
    provider.root_script = script(
        LOOK, _final(GOOD, MOVED, INVENTED),
        "There is no session store in the input, so I drop that claim.\n\n" + _final(GOOD, MOVED),
    )
    done = rlm(["ask", "repo", "how are tokens checked?", "--json", *model_flags(provider)], cwd=repo.parent)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    roots = provider.root_requests()
    assert len(roots) == 3  # the repair turn was asked for, with the list of what failed
    assert "src/session.py:7: no file src/session.py in the input" in roots[2].last_user
    assert "## Citations" in roots[0].system
    assert [(c["status"], c["path"], c["line_start"], c["line_end"]) for c in data["citations"]] == [
        ("verified", "repo/src/auth.py", 40, 40), ("moved", "repo/src/auth.py", 42, 42),
    ]
    moved = data["citations"][1]
    assert (moved["quote"], moved["cited"], moved["page"]) == ("raise Denied()", "repo/src/auth.py:12", None)
    assert moved["claim"] == MOVED
    assert 'raises `Denied` (repo/src/auth.py:42 "raise Denied()")' in data["answer"]  # corrected, and it says so
    assert set(data["citations"][0]) >= {"claim", "path", "line_start", "line_end", "page", "quote", "status"}


def test_a_citation_still_unsupported_after_the_repair_turn_is_flagged(provider: FakeProvider, repo: Path) -> None:
    provider.root_script = script(LOOK, _final(GOOD, INVENTED), "I am sure of it.\n\n" + _final(GOOD, INVENTED))
    trace = repo.parent / "run.jsonl"
    done = rlm(["ask", "repo", "how are tokens checked?", "--trace", str(trace), *model_flags(provider)], cwd=repo.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout == GOOD + "\n" + INVENTED + "\n"  # piped: the plain text, nothing dropped
    assert "rlm: unsupported citation src/session.py:7: no file src/session.py in the input\n" in done.stderr
    assert "\x1b]8;" not in done.stdout
    assert len(provider.root_requests()) == 3

    # `rlm show` reads them back from the recorded run, and flags them again.
    shown = rlm(["show", str(trace)], cwd=repo.parent)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == done.stdout
    assert "rlm: unsupported citation src/session.py:7" in shown.stderr
    shown = rlm(["show", str(trace), "--json"], cwd=repo.parent)
    assert [c["status"] for c in json.loads(shown.stdout)["citations"]] == ["verified", "unsupported"]


def test_no_cite_neither_asks_nor_checks(provider: FakeProvider, repo: Path) -> None:
    provider.root_script = script(LOOK, _final(GOOD, INVENTED))
    done = rlm(["ask", "repo", "how are tokens checked?", "--json", "--no-cite", *model_flags(provider)], cwd=repo.parent)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["citations"] == []
    assert len(provider.root_requests()) == 2
    assert "## Citations" not in provider.root_requests()[0].system


def test_on_a_terminal_citations_are_links_with_a_sources_list(provider: FakeProvider, repo: Path) -> None:
    cited = str(repo / "src" / "auth.py")  # paths as the user typed them: absolute here
    good = f'Tokens are checked in `check_token` ({cited}:40 "def check_token(token):").'
    provider.root_script = script(LOOK, _final(good))
    code, shown = rlm_on_terminal(["ask", str(repo), "how are tokens checked?", "--progress", "none", *model_flags(provider)])
    assert code == 0, shown
    assert "\x1b]8;id=" in shown and f";file://{quote(cited)}#40\x1b\\" in shown  # an OSC 8 link to the line
    assert "Sources" in shown and "check_token(token):" in shown.split("Sources", 1)[1]  # the cited line


def test_pdf_pages_are_cited_from_grep_matches_and_checked(provider: FakeProvider, tmp_path: Path) -> None:
    from tests.unit.ingest_helpers import make_pdf

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.pdf").write_bytes(make_pdf(["Evaluation: accuracy on held-out set", "Appendix"]))
    (docs / "b.pdf").write_bytes(make_pdf(["Evaluation: human preference study"]))
    provider.root_script = script(
        "```python\nm = context.grep('human preference')[0]\nprint(m.cite, m.line)\n```",
        "```python\nFINAL(f'B asks people ({m.cite} \"{m.line}\"). A scores held-out accuracy '\n"
        "      '(docs/a.pdf#page=2 \"accuracy on held-out set\").')\n```",
    )
    done = rlm(["ask", "docs", "compare the evaluation setups", "--json", *model_flags(provider)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "docs/b.pdf#page=1 Evaluation: human preference study" in provider.root_requests()[1].last_user
    data = json.loads(done.stdout)
    assert [(c["path"], c["page"], c["status"]) for c in data["citations"]] == [
        ("docs/b.pdf", 1, "verified"), ("docs/a.pdf", 1, "moved"),
    ]
    assert data["citations"][0]["file"] == str(docs / "b.pdf")  # the link opens the PDF itself
    assert '(docs/a.pdf#page=1 "accuracy on held-out set")' in data["answer"]


def test_piped_input_is_cited_by_line_number(provider: FakeProvider, tmp_path: Path) -> None:
    log = "".join(f"INFO request {n} served\n" for n in range(1, 41)) + "ERROR disk quota exceeded on db-7\n"
    provider.root_script = script(
        "```python\nm = context.grep('ERROR')[0]\nprint(m.cite, m.line)\n```",
        'The grep shows it.\n\nFINAL(The deploy failed on a full disk (line 41 "ERROR disk quota exceeded"), '
        "not on load (line 12).)",
    )
    done = rlm(["ask", "-", "why did the deploy fail?", "--json", *model_flags(provider)], input=log, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "line 41 ERROR disk quota exceeded on db-7" in provider.root_requests()[1].last_user
    data = json.loads(done.stdout)
    assert [(c["path"], c["line_start"], c["status"], c["file"]) for c in data["citations"]] == [
        ("<stdin>", 41, "verified", None), ("<stdin>", 12, "verified", None),
    ]
    assert data["citations"][1]["text"] == "INFO request 12 served"


def test_a_mapped_300_mb_log_is_cited_by_line(provider: FakeProvider, tmp_path: Path) -> None:
    """Past the mapping threshold `context` stays lazy; its grep matches cite their line, and the
    check reads that line back from the file (block by block, never the whole text)."""
    block = "".join(f"2026-11-30T10:{n % 60:02d}:00 INFO request {n} served in 12 ms\n" for n in range(10_000))
    log = tmp_path / "big.log"
    with log.open("w", encoding="ascii") as out:
        blocks = 300 * 1024**2 // len(block) + 1
        for _ in range(blocks):
            out.write(block)
        lines = blocks * 10_000
        out.write("2026-11-30T11:00:00 ERROR disk quota exceeded on db-7\n")
        out.write(block[:1_000])
    assert log.stat().st_size > 300 * 1024**2  # over the 256 MiB threshold: the mapped form
    provider.root_script = script(
        "It is too large to print; I will search it.\n\n```python\nm = context.grep('ERROR')[0]\nprint(m.cite, m.line)\n```",
        f'The grep shows it.\n\nFINAL(The deploy failed on a full disk (big.log:{lines + 1} "ERROR disk quota exceeded"); '
        f'it was not load (big.log:{lines - 5} "disk quota").)',
    )
    done = rlm(["ask", "big.log", "why did the deploy fail?", "--json", *model_flags(provider)], cwd=tmp_path, timeout=180)
    assert done.returncode == 0, done.stderr
    assert f"big.log:{lines + 1} 2026-11-30T11:00:00 ERROR disk quota" in provider.root_requests()[1].last_user
    data = json.loads(done.stdout)
    assert [(c["path"], c["line_start"], c["status"]) for c in data["citations"][:1]] == [("big.log", lines + 1, "verified")]
    second = data["citations"][1]
    assert (second["status"], second["line_start"], second["cited"]) == ("moved", lines + 1, f"big.log:{lines - 5}")
