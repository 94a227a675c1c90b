"""Synthetic inputs of the shape each original run saw, and the cell that names them as it did.

The originals were a short prompt string, a gitingest-style repository dump (a directory tree,
then files under `=====`/`FILE: path` banners), a concatenation of Python sources, or pandas
DataFrames. Each is rebuilt small, in the same format, from fixed text generated here.
"""

from __future__ import annotations

from typing import Any

_BANNER = "=" * 48

_FILES = {
    "README.md": "# DSPy\n\nDSPy is a framework for programming language models.\n\n## Installation\n\n```bash\npip install dspy\n```\n\n## Modules\n\nPredict, ChainOfThought, ReAct and RLM are the core modules.\n",
    "docs/docs/api/modules/Predict.md": "# dspy.Predict\n\n::: dspy.Predict\n    handler: python\n\n## Usage\n\n```python\npredict = dspy.Predict('question -> answer')\n```\n",
    "docs/docs/api/modules/RLM.md": "# dspy.RLM\n\nRLM lets the model explore a long context in a REPL.\n\n## Constructor\n\n- `max_iterations`: how many steps\n- `max_llm_calls`: sub-call budget\n\n## Built-in tools\n\n- `llm_query(prompt)`\n- `llm_query_batched(prompts)`\n",
    "docs/docs/api/optimizers/MIPROv2.md": "# dspy.MIPROv2\n\nMIPROv2 optimizes instructions and demos.\n\n```python\noptimizer = dspy.MIPROv2(metric=metric)\n```\n",
    "docs/docs/api/optimizers/BootstrapFewShot.md": "# dspy.BootstrapFewShot\n\nBootstraps demonstrations from a teacher.\n",
    "docs/docs/faq.md": "# FAQ\n\n## Why do I get a ValueError?\n\nA ValueError is raised when a signature field is missing.\n\n## Troubleshooting\n\nIf you see `AttributeError: 'NoneType'`, configure an LM first.\n",
    "dspy/predict/predict.py": "import dspy\n\n\nclass Predict(dspy.Module):\n    def __init__(self, signature):\n        self.signature = signature\n\n    def forward(self, **kwargs):\n        if not kwargs:\n            raise ValueError('no inputs')\n        return self.lm(**kwargs)\n",
    "dspy/primitives/code_interpreter.py": "class CodeInterpreterError(RuntimeError):\n    pass\n\n\nclass PythonInterpreter:\n    def execute(self, code):\n        try:\n            return run(code)\n        except Exception as error:\n            raise CodeInterpreterError(str(error))\n",
    "dspy/clients/lm.py": "class LM:\n    def __init__(self, model, api_base=None):\n        self.model = model\n        self.api_base = api_base  # e.g. POST https://api.openai.com/v1/chat/completions\n",
}


def gitingest() -> str:
    """A small repository dump in the gitingest layout of the originals' `docs` input."""
    tree = ["Directory structure:", "└── stanfordnlp-dspy/"]
    tree += [f"    ├── {path}" for path in _FILES]
    parts = ["\n".join(tree), ""]
    for path, text in _FILES.items():
        parts += [_BANNER, f"FILE: {path}", _BANNER, text, ""]
    return "\n".join(parts)


def code_repo() -> str:
    """Concatenated Python sources, as LongBench code-QA contexts are."""
    return (
        "import socket\nfrom Constants import *\n\n\nclass RawClient:\n    def __init__(self, host, port):\n"
        "        self.host = host\n        self.port = port\n\n\nclass Scheduler:\n"
        "    \"\"\"Allocates file blocks to slave servers, largest remaining capacity first.\"\"\"\n\n"
        "    def __init__(self, slaves):\n        self.slaves = slaves  # name -> remaining bytes\n\n"
        "    def allocate(self, blocks, copies=2):\n        plan = []\n        for copy in range(copies):\n"
        "            placed = {}\n            for block in blocks:\n"
        "                name = max(self.slaves, key=self.slaves.get)\n"
        "                self.slaves[name] -= len(block)\n                placed[name] = placed.get(name, 0) + len(block)\n"
        "            plan.append(placed)\n        return plan\n"
    )


def dataframes_csv() -> str:
    """Tabular rows as CSV text: the nearest a text input comes to the originals' DataFrames."""
    rows = ["user_id,signup_date,acquisition_channel,plan,status,mrr"]
    channels = ["organic", "paid_campaign_x", "social", "referral"]
    for user in range(1, 41):
        status = "cancelled" if user % 4 == 1 else "active"
        rows.append(f"{user},2024-0{1 + user % 5}-1{user % 9},{channels[user % 4]},pro,{status},{29 + user % 3 * 50}")
    return "\n".join(rows) + "\n"


def build(spec: dict[str, Any]) -> str:
    """The input text for a trajectory's recorded input shape."""
    kind = spec["kind"]
    if kind == "text":
        return str(spec["text"])
    if kind == "gitingest":
        return gitingest()
    if kind == "code_repo":
        return code_repo()
    if kind == "dataframes":
        return dataframes_csv()
    raise ValueError(f"unknown input kind {kind!r}")


def naming_cell(spec: dict[str, Any]) -> str:
    """Code giving the input the names the original harness gave it, and its other short inputs."""
    lines = [f"{name} = context" for name in spec.get("bind", []) if name != "context"]
    lines += [f"{name} = {value!r}" for name, value in (spec.get("extra") or {}).items()]
    lines.append("print('input bound:', len(context), 'chars')")
    return "\n".join(lines)
