"""End to end: one model name served by three deployments (three fake providers) through
LiteLLM's Router, from a `--router` file in the LiteLLM proxy's model_list format."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import FAKE_KEY, FAST_RETRIES, rlm
from tests.fakes.provider import FakeProvider, Request, code, script

ITEMS = 300
KEYS = {f"TEAM_KEY_{n}": f"team-key-{n}-{'abcdef' * 3}" for n in range(3)}  # names no rule calls secret


@pytest.fixture
def fakes() -> Iterator[list[FakeProvider]]:
    """Three fake providers on their own ports, one per deployment, each answering after 10 ms."""
    servers = [FakeProvider(sub_latency=0.01).start() for _ in range(3)]
    root = script(
        code(f"answers = llm_batch([f'item {{n}}' for n in range({ITEMS})])",
             "print(len(answers), sum(a.startswith('Error') for a in answers))"),
        code("answer['content'] = 'done'", "answer['ready'] = True"),
    )
    for server in servers:
        server.root_script = root
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def router_file(tmp_path: Path, fakes: list[FakeProvider], rpm: int, strategy: str, **settings: object) -> Path:
    """A model_list with the three fakes as deployments of `team`, each with its own key variable."""
    path = tmp_path / "router.yaml"
    lines = ["model_list:"]
    for n, fake in enumerate(fakes):
        lines += [
            "  - model_name: team",
            "    litellm_params:",
            "      model: openai/fake",
            f"      api_base: {fake.url}",
            f"      api_key: os.environ/TEAM_KEY_{n}",
            f"      rpm: {rpm}",
            "    model_info:",
            f"      id: dep{n}",
        ]
    lines += ["router_settings:", f"  routing_strategy: {strategy}"]
    lines += [f"  {name}: {value}" for name, value in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ask(tmp_path: Path, router: Path) -> tuple[dict[str, object], str]:
    """Run `rlm ask --router ... --json`; the --json object and stderr."""
    source = tmp_path / "notes.txt"
    source.write_text("one line of input\n", encoding="utf-8")
    done = rlm(
        ["ask", str(source), "count the items", "--model", "team", "--router", str(router), "--json",
         "--concurrency", "16"],
        env={**KEYS, **FAST_RETRIES}, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def served(fake: FakeProvider) -> list[Request]:
    """The sub-calls a fake answered."""
    return [request for request in fake.sub_requests() if request.status == 200]


def per_minute(requests: list[Request]) -> Counter[str]:
    """Requests by wall-clock minute, as LiteLLM counts a deployment's rpm."""
    offset = time.time() - time.monotonic()
    return Counter(time.strftime("%H-%M", time.localtime(offset + request.started)) for request in requests)


def test_calls_spread_over_three_deployments_within_their_rpm(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    rpm = 110  # three of them hold the 300 items and the root turns; two would not
    result, _ = ask(tmp_path, router_file(tmp_path, fakes, rpm, "usage-based-routing-v2"))
    roots = sum(len(fake.root_requests()) for fake in fakes)
    assert fakes[0].root_requests() or fakes[1].root_requests() or fakes[2].root_requests()
    assert f"{ITEMS} 0" in next(r.last_user for f in fakes for r in f.root_requests() if r.turn == 1)
    for n, fake in enumerate(fakes):
        assert served(fake), f"deployment {n} got no sub-call"
        assert max(per_minute(fake.requests).values()) <= rpm
        # Each server sees its own key only: never another deployment's, nor the provider's usual one.
        assert {request.headers["authorization"] for request in fake.requests} == {f"Bearer {KEYS[f'TEAM_KEY_{n}']}"}
        assert FAKE_KEY not in json.dumps([request.headers for request in fake.requests])
    usage = result["usage"]
    assert isinstance(usage, dict)
    by_deployment = usage["by_deployment"]
    assert set(by_deployment) == {"dep0", "dep1", "dep2"}
    assert [by_deployment[f"dep{n}"]["calls"] for n in range(3)] == [len(fake.requests) for fake in fakes]
    assert sum(calls["calls"] for calls in by_deployment.values()) == ITEMS + roots
    assert sum(calls["prompt_tokens"] for calls in by_deployment.values()) == usage["total"]["prompt_tokens"]


def test_a_failing_deployment_is_cooled_down_and_the_others_take_its_share(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    bad = fakes[2]
    bad.fail(status=429, times=3)
    bad.fail(status=500, times=None, message=f"upstream broke (key {KEYS['TEAM_KEY_2']})")
    cooldown = 1.0
    result, stderr = ask(tmp_path, router_file(tmp_path, fakes, 200, "simple-shuffle", cooldown_time=cooldown))
    assert result["ready"] is True and result["error"] is None
    assert f"{ITEMS} 0" in next(r.last_user for f in fakes for r in f.root_requests() if r.turn == 1)  # no failed item
    statuses = Counter(request.status for request in bad.requests)
    assert statuses[429] == 3 and set(statuses) <= {429, 500}
    # Cooled down after its failures: it was sent less than the third its rpm weight would give
    # it, and went a whole cooldown without a request while the others went on serving.
    assert len(bad.requests) < ITEMS / 3
    starts = sorted(request.started for request in bad.requests)
    quiet = max(itertools.pairwise(starts), key=lambda pair: pair[1] - pair[0], default=(starts[-1], time.monotonic()))
    assert quiet[1] - quiet[0] >= cooldown * 0.9
    assert sum(quiet[0] < request.started < quiet[1] for fake in fakes[:2] for request in fake.requests) >= 10
    usage = result["usage"]
    assert isinstance(usage, dict)
    by_deployment = usage["by_deployment"]
    assert set(by_deployment) == {"dep0", "dep1"}
    assert by_deployment["dep0"]["calls"] + by_deployment["dep1"]["calls"] == ITEMS + sum(len(f.root_requests()) for f in fakes[:2])
    # The error text quoted the key; neither the trace nor the progress lines show it.
    trace = Path(str(result["trace"])).read_text(encoding="utf-8")
    assert "upstream broke" in trace and "[redacted]" in trace
    assert KEYS["TEAM_KEY_2"] not in trace + stderr
    assert "Warning" not in stderr  # LiteLLM's own notes stay off the user's terminal


def test_a_deployment_key_variable_that_is_not_set_is_named(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("x\n", encoding="utf-8")
    done = rlm(["ask", str(source), "q?", "--model", "team", "--router", str(router_file(tmp_path, fakes, 10, "simple-shuffle"))],
               env={"TEAM_KEY_0": "k0-abcdef", "TEAM_KEY_2": "k2-abcdef"})
    assert done.returncode == 4
    assert "rlm: error: missing api_key for deployment dep1 of team: set TEAM_KEY_1" in done.stderr
    assert not any(fake.requests for fake in fakes)


def test_keys_list_shows_where_each_deployment_key_comes_from(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    router = router_file(tmp_path, fakes, 10, "simple-shuffle")
    (tmp_path / ".env").write_text(f"TEAM_KEY_1={KEYS['TEAM_KEY_1']}\n", encoding="utf-8")
    done = rlm(["keys", "list", "--json"], env={"RLM_ROUTER": str(router), "TEAM_KEY_0": KEYS["TEAM_KEY_0"]}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {row["provider"]: (row["variable"], row["source"]) for row in json.loads(done.stdout)}
    assert rows["team: dep0"] == ("TEAM_KEY_0", "env")
    assert rows["team: dep1"] == ("TEAM_KEY_1", ".env")
    assert rows["team: dep2"] == ("TEAM_KEY_2", None)
    assert not set(KEYS.values()) & set(done.stdout.split())
