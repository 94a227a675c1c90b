"""Verified citations: an answer's citations found, checked against the ingested input, moved
ones corrected, unsupported ones flagged (and offered to the model for one repair turn).

Host side; reads the input through the host's lazy corpus. Must not import the engine or render.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rlm_cli import prompts
from rlm_cli.citations.parse import Citation, find_citations
from rlm_cli.citations.verify import Checked, check_citation
from rlm_cli.corpus.joined import CorpusMethods
from rlm_cli.events import CitationsChecked, Emit, Notice

__all__ = ["Checked", "CheckedAnswer", "Citation", "CitationReview", "check_answer", "check_citation", "find_citations"]

MAX_CITATIONS = 200  # checked per answer; more are left as written


@dataclass(frozen=True)
class CheckedAnswer:
    """An answer with its moved citations corrected, and every citation's check."""

    answer: str
    citations: list[Checked] = field(default_factory=list)

    @property
    def unsupported(self) -> list[Checked]:
        """The citations that could not be backed by the input."""
        return [item for item in self.citations if item.status == "unsupported"]


def check_answer(answer: str, corpus: CorpusMethods) -> CheckedAnswer:
    """Find and check the answer's citations; moved ones are rewritten to where their quote is."""
    checked = [check_citation(citation, corpus) for citation in find_citations(answer, corpus.files)[:MAX_CITATIONS]]
    parts, at = [], 0
    for item in checked:
        if item.status == "moved":
            parts += [answer[at : item.citation.start], item.cite]
            at = item.citation.end
    return CheckedAnswer("".join(parts) + answer[at:], checked)


class CitationReview:
    """The engine's check of a finished answer: a repair request for unsupported citations, and
    the final check, recorded as a CitationsChecked event and kept in `citations`."""

    def __init__(self, corpus: CorpusMethods, emit: Emit, run_id: str) -> None:
        self._corpus, self._emit, self._run_id = corpus, emit, run_id
        self._last: tuple[str, CheckedAnswer] | None = None
        self.citations: list[Checked] = []

    def repair_request(self, answer: str) -> str | None:
        """What to ask the model when the answer has unsupported citations (None: nothing to fix)."""
        checked = self._check(answer)
        if checked is None or not checked.unsupported:
            return None
        self._emit(Notice(self._run_id, message=f"citations: asking the model to fix {_count(checked.unsupported)}", level="info"))
        return prompts.citation_repair_request([(item.citation.written, item.note) for item in checked.unsupported])

    def settle(self, answer: str) -> str:
        """The answer as it will be shown (moved citations corrected); records the checks."""
        checked = self._check(answer)
        if checked is None:
            return answer
        self.citations = checked.citations
        if checked.citations:
            self._emit(CitationsChecked(self._run_id, citations=[item.to_json_dict() for item in checked.citations]))
        return checked.answer

    def _check(self, answer: str) -> CheckedAnswer | None:
        if self._last is not None and self._last[0] == answer:
            return self._last[1]
        try:
            checked = check_answer(answer, self._corpus)
        except OSError as error:  # an input file changed or vanished during the run
            self._emit(Notice(self._run_id, message=f"citations could not be checked: {error}", level="warning"))
            return None
        self._last = (answer, checked)
        return checked


def _count(items: list[Checked]) -> str:
    return f"{len(items)} unsupported citation" + ("" if len(items) == 1 else "s")
