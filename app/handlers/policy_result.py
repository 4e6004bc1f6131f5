"""What an open pull request's `hotfix-policy` run last showed, kept in the state store: the
post-merge run tells of a hotfix merged while that run was failing, with no request
(docs/BEHAVIOUR.md, 'The incident report')."""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.handlers.routing import Context
from policies.evaluate import Conclusion, Verdict
from policies.result import Status


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """The run of an open pull request as last written: on which head commit, its
    conclusion (None: in progress) and title, and the rules it showed failing."""

    head_sha: str
    conclusion: str | None
    title: str
    failing: tuple[str, ...] = ()

    @classmethod
    def of(cls, verdict: Verdict, head_sha: str) -> PolicyResult:
        failing = tuple(result.rule for result in verdict.results if result.status is Status.FAIL)
        return cls(head_sha, verdict.conclusion, verdict.title, failing)

    def failed_on(self, head_sha: str) -> bool:
        """Whether the run failed on `head_sha`. One of another commit (a merge right after
        a push, before the push was evaluated) says nothing of it."""
        return self.conclusion == Conclusion.FAILURE and self.head_sha == head_sha

    @staticmethod
    def _key(context: Context, number: int) -> str:
        return f"policy-result:{context.repository}#{number}"

    @classmethod
    async def load(cls, context: Context, number: int) -> PolicyResult | None:
        stored = await context.state.get_state(cls._key(context, number))
        if stored is None:
            return None
        data = json.loads(stored)
        return cls(data["head_sha"], data["conclusion"], data["title"], tuple(data["failing"]))

    async def keep(self, context: Context, number: int) -> None:
        """Kept as the pull request's last result when it is a failure, or replaces one that
        was: only a failure is ever told of, so a pull request that never failed keeps
        nothing, and the journal is written only when the result changed."""
        kept = await PolicyResult.load(context, number)
        if kept == self or (self.conclusion != Conclusion.FAILURE and kept is None):
            return
        data = {
            "head_sha": self.head_sha,
            "conclusion": self.conclusion,
            "title": self.title,
            "failing": self.failing,
        }
        await context.state.set_state(self._key(context, number), json.dumps(data))
