"""The settings from the command line: -o model options, --system, sizes like 50M, `rlm config
set` / `rlm config edit`, and every setting documented in `rlm config --help` and the README."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rlm_cli.settings import table
from rlm_cli.settings_doc import markdown
from tests.e2e.helpers import model_flags, rlm
from tests.fakes.provider import FakeProvider, code, script

README = Path(__file__).resolve().parents[2] / "README.md"


def config_file(isolated_env: Path) -> Path:
    return isolated_env / "config" / "rlm" / "config.toml"


def shown(**env: str) -> dict[str, object]:
    done = rlm(["config", "show", "--json"], env=env)
    assert done.returncode == 0, done.stderr
    return {name: row["value"] for name, row in json.loads(done.stdout)["settings"].items()}


def test_model_options_and_the_system_instruction_reach_the_provider(provider: FakeProvider, tmp_path: Path) -> None:
    provider.root_script = script(code("reply = llm_query('count the errors')", "print(reply)"), code("FINAL(reply)"))
    (tmp_path / "app.log").write_text("ERROR a\n", encoding="utf-8")
    done = rlm([
        "ask", str(tmp_path / "app.log"), "how many errors?", *model_flags(provider),
        "-o", "temperature", "0.2", "-o", "reasoning_effort=high", "--option", "max_tokens", "100",
        "-o", "provider_knob", '"7"', "--system", "Answer in French.", "-q",
    ])
    assert done.returncode == 0, done.stderr
    assert provider.root_requests() and provider.sub_requests()
    for request in provider.requests:  # root and sub calls alike
        assert (request.body["temperature"], request.body["reasoning_effort"], request.body["max_tokens"]) == (0.2, "high", 100)
    # An option's name is the provider's vocabulary: an unknown one is passed through as given.
    assert provider.root_requests()[0].body["provider_knob"] == "7"
    assert all(request.system.rstrip().endswith("Answer in French.") for request in provider.root_requests())
    assert not any("Answer in French." in request.system for request in provider.sub_requests())


def test_options_and_system_from_the_config_file(provider: FakeProvider, tmp_path: Path, isolated_env: Path) -> None:
    provider.root_script = script(code("print(len(context))"), code("FINAL('done')"))
    path = config_file(isolated_env)
    path.parent.mkdir(parents=True)
    path.write_text('system = "Be brief."\n[options]\ntemperature = 0.5\ntop_p = 0.9\n', encoding="utf-8")
    (tmp_path / "a.txt").write_text("a\n", encoding="utf-8")
    done = rlm(["ask", str(tmp_path / "a.txt"), "what?", *model_flags(provider), "-o", "temperature", "0", "-q"])
    assert done.returncode == 0, done.stderr
    body = provider.root_requests()[0].body
    assert (body["temperature"], body["top_p"]) == (0, 0.9)  # the flag wins key by key
    assert provider.root_requests()[0].system.rstrip().endswith("Be brief.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "temperature"], "expected -o KEY VALUE"),
        (["-o", "temperature", "--quiet"], "expected -o KEY VALUE"),
        (["-o", "model", "openai/other"], "'model' is set by rlm itself"),
        (["--max-file-size", "50 apples"], "expected a size like 50M"),
    ],
)
def test_malformed_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "a.txt").write_text("a\n", encoding="utf-8")
    done = rlm(["ask", str(tmp_path / "a.txt"), "what?", "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1", *args])
    assert done.returncode == 2, done.stderr
    assert message in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_max_file_size_takes_binary_units_and_help_shows_them(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "big.txt").write_text("x" * 3000 + "\n", encoding="utf-8")
    (folder / "small.txt").write_text("hi\n", encoding="utf-8")
    done = rlm(["ask", str(folder), "what?", "--estimate", "--json", "--model", "openai/x", "--max-file-size", "2K"])
    assert done.returncode == 0, done.stderr
    assert (json.loads(done.stdout)["documents"], json.loads(done.stdout)["skipped"]) == (1, 1)
    help_text = rlm(["ask", "--help"], env={"COLUMNS": "200"}).stdout
    assert "[default: 50M]" in help_text and "52428800" not in help_text


def test_config_set_checks_the_value_and_keeps_the_rest_of_the_file(isolated_env: Path) -> None:
    path = config_file(isolated_env)
    path.parent.mkdir(parents=True)
    path.write_text('# my settings\nmodel = "openai/mine"  # the usual one\n\n[options]\ntop_p = 0.9\n', encoding="utf-8")
    for key, value in (("max-cost", "0.50"), ("max_file_size", "2G"), ("exclude", "*.log, build/**"), ("options.temperature", "0.2")):
        done = rlm(["config", "set", key, value])
        assert done.returncode == 0, done.stderr
    assert done.stderr == f"rlm: options.temperature = 0.2 in {path}\n"
    text = path.read_text(encoding="utf-8")
    assert '# my settings\nmodel = "openai/mine"  # the usual one\n' in text
    assert 'max-file-size = "2G"' in text
    settings = shown()
    assert settings["model"] == "openai/mine" and settings["max_cost"] == 0.5
    assert settings["max_file_size"] == 2 * 1024**3 and settings["exclude"] == ["*.log", "build/**"]
    assert settings["options"] == {"top_p": 0.9, "temperature": 0.2}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max-cost", "abc", "rlm: error: config max-cost: expected a number like 0.50, at least 0, got 'abc'"),
        ("sandbox", "docker", "rlm: error: config sandbox: expected one of auto, bwrap, process, none, got 'docker'"),
        ("modle", "x", "rlm: error: unknown setting 'modle'"),
        ("options.model", "x", "rlm: error: config options.model: expected a table of model options"),
        ("options.seed", "null", "rlm: error: config options.seed: expected a number, true or false, or text, got 'null'"),
    ],
)
def test_config_set_refuses_a_bad_value_and_leaves_the_file_alone(isolated_env: Path, key: str, value: str, message: str) -> None:
    path = config_file(isolated_env)
    path.parent.mkdir(parents=True)
    path.write_text("depth = 2\n", encoding="utf-8")
    done = rlm(["config", "set", key, value])
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith(message)
    assert "hint: `rlm config --help` lists the settings" in done.stderr
    assert path.read_text(encoding="utf-8") == "depth = 2\n"


def write_editor(tmp_path: Path, old: str, new: str) -> str:
    """An $EDITOR that replaces `old` with `new` in the file it is given."""
    script_path = tmp_path / "editor.py"
    script_path.write_text(
        "import pathlib, sys\n"
        "path = pathlib.Path(sys.argv[1])\n"
        f"path.write_text(path.read_text().replace({old!r}, {new!r}))\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script_path}"


def test_config_edit_creates_a_commented_template_and_checks_the_result(isolated_env: Path, tmp_path: Path) -> None:
    editor = write_editor(tmp_path, "# max-iterations = 30", "max-iterations = 12")
    done = rlm(["config", "edit"], env={"VISUAL": editor, "EDITOR": "false"})
    assert done.returncode == 0, done.stderr
    text = config_file(isolated_env).read_text(encoding="utf-8")
    for row in table():
        assert f"# {row.help}" in text  # every setting is in the template, explained
    assert shown()["max_iterations"] == 12

    broken = write_editor(tmp_path, "max-iterations = 12", 'max-iterations = "many"')
    done = rlm(["config", "edit"], env={"VISUAL": "", "EDITOR": broken})
    assert done.returncode == 4
    assert "config max-iterations: expected a whole number like 30, at least 1, got 'many'" in done.stderr
    assert str(config_file(isolated_env)) in done.stderr


def test_every_setting_is_documented_in_config_help() -> None:
    done = rlm(["config", "--help"], env={"COLUMNS": "400"})
    assert done.returncode == 0
    for row in table():
        assert f"{row.key} ({row.env_var}): {row.help}" in done.stdout


def test_the_readme_holds_the_generated_table_of_settings() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = "<!-- settings table: generated by rlm_cli.settings_doc.markdown() -->\n", "\n<!-- end of settings table -->"
    assert start in text and end in text
    section = text.split(start, 1)[1].split(end, 1)[0]
    assert section == markdown(), "regenerate the README's table: python -c 'from rlm_cli.settings_doc import markdown; print(markdown())'"
    for row in table():
        assert f"`{row.key}`" in section
