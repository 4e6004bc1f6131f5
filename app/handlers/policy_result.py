"""What a pull request's `hotfix-policy` run last showed, kept in the state store: the
post-merge run tells of a hotfix merged while that run was failing or waiting for approval,
with no request (docs/BEHAVIOUR.md, 'The incident report')."""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.handlers.routing import Context
from policies.evaluate import Conclusion, Verdict
from policies.incident import while_not_passing
from policies.result import Status


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """The run of a pull request as last written: on which head commit, its conclusion
    (None: in progress) and title, the rules it showed failing, and the approval groups it
    waited for (or, merged while waiting, went without)."""

    head_sha: str
    conclusion: str | None
    title: str
    failing: tuple[str, ...] = ()
    waiting: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, verdict: Verdict, head_sha: str) -> PolicyResult:
        waiting = verdict.approvals_outstanding
        # Merged while waiting, the approvals row fails for the approvals alone: told of as
        # the wait it was, not as a failing rule.
        failing = (
            ()
            if waiting
            else tuple(result.rule for result in verdict.results if result.status is Status.FAIL)
        )
        return cls(head_sha, verdict.conclusion, verdict.title, failing, waiting)

    @property
    def unmet(self) -> bool:
        """Whether the run failed or waited for approval: what a merge would go against."""
        return self.conclusion == Conclusion.FAILURE or bool(self.waiting)

    def unmet_on(self, head_sha: str) -> bool:
        """Whether the run failed or waited on `head_sha`. One of another commit (a merge
        right after a push, before the push was evaluated) says nothing of it."""
        return self.unmet and self.head_sha == head_sha

    def merged_while(self) -> str:
        """`while `hotfix-policy` was ...`: how a pull request merged against this run."""
        return while_not_passing(self.head_sha, self.title, self.failing, self.waiting)

    @staticmethod
    def _key(context: Context, number: int) -> str:
        return f"policy-result:{context.repository}#{number}"

    @classmethod
    async def load(cls, context: Context, number: int) -> PolicyResult | None:
        stored = await context.state.get_state(cls._key(context, number))
        if stored is None:
            return None
        data = json.loads(stored)
        # A result kept by a version that kept failures alone has no groups.
        waiting = tuple(tuple(names) for names in data.get("waiting", ()))
        return cls(
            data["head_sha"], data["conclusion"], data["title"], tuple(data["failing"]), waiting
        )

    async def keep(self, context: Context, number: int) -> None:
        """Kept as the pull request's last result when it fails or waits, or replaces one
        that did: only those are ever told of, so a pull request that never failed or waited
        keeps nothing, and the journal is written only when the result changed."""
        kept = await PolicyResult.load(context, number)
        if kept == self or (not self.unmet and kept is None):
            return
        data = {
            "head_sha": self.head_sha,
            "conclusion": self.conclusion,
            "title": self.title,
            "failing": self.failing,
            "waiting": self.waiting,
        }
        await context.state.set_state(self._key(context, number), json.dumps(data))
