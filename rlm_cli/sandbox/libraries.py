"""Which useful libraries the REPL can import here, for the system prompt. Nothing is imported."""

from __future__ import annotations

import importlib.util

# import name -> what the prompt calls it
CANDIDATES = {
    "numpy": "numpy", "scipy": "scipy", "sympy": "sympy", "pandas": "pandas",
    "polars": "polars", "pyarrow": "pyarrow", "regex": "regex", "networkx": "networkx",
    "sklearn": "scikit-learn", "rapidfuzz": "rapidfuzz", "bs4": "beautifulsoup4",
    "lxml": "lxml", "yaml": "pyyaml", "tiktoken": "tiktoken", "matplotlib": "matplotlib",
}


def available_libraries() -> list[str]:
    """The names of the candidate libraries importable in this Python, in a stable order."""
    found = []
    for module, name in CANDIDATES.items():
        try:
            present = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            present = False
        if present:
            found.append(name)
    return found
