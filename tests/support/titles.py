"""The `hotfix-policy` titles tests expect, with the rule count taken from the registry, so
that adding a rule changes no test that does not name it."""

from policies.rules import RULES


def all_rules_pass() -> str:
    return f"All {len(RULES)} rules pass"


def rules_fail(*names: str) -> str:
    verb = "fails" if len(names) == 1 else "fail"
    return f"{len(names)} of {len(RULES)} rules {verb}: {', '.join(names)}"
