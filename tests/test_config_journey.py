"""A repository admin writing `.github/hotfix.yml` by hand (docs/ADMIN.md, section 4),
getting it wrong the ways people do, reading what `hotfix-bot config validate` and the
`hotfix-policy` run say, and doing exactly that until the file works: both say the same,
name the file and the key or line, and say what to write; once the file is fixed on the
base branch, re-running the check evaluates the pull requests again.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from support.harness import Bot

from app.cli import main
from sandbox import FakeCheckRun, FakePull
from sandbox.git import blob_sha, subtree, tree_sha

FILE = ".github/hotfix.yml"
TEAMS = {"engineering-leads": ["lead"], "product-managers": ["pm"]}


@pytest.fixture(autouse=True)
def teams(bot: Bot) -> None:
    for slug, members in TEAMS.items():
        bot.fake.add_team("acme", slug, members)


def pushed(bot: Bot, text: str, message: str = "The hotfix policy") -> None:
    """The admin's file pushed to `main`, the base branch of every hotfix."""
    bot.repo.commit("main", {FILE: text}, message)


def rerun(bot: Bot, run: FakeCheckRun) -> None:
    """The run's *Re-run* button."""
    bot.deliver("check_run", bot.fake.check_run_event(bot.repo, run.id))


def validated(text: str | bytes, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`hotfix-bot config validate` on the admin's checkout holding `text`: its exit code and
    what it printed."""
    path = Path(FILE)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = main(["config", "validate"])
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def test_the_file_fixed_as_told_and_the_checks_re_run_evaluates_every_open_hotfix_again(
    bot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "branches:\n  production: main\nhotfix_prefix: hotfix/\n"
    problem = 'unknown key "hotfix_prefix" at top level (it belongs in branches)'
    assert validated(broken, capsys) == (1, f"{FILE}: {problem}\n")
    pushed(bot, broken)
    login = bot.open_hotfix()
    bot.pull_request(login.number, "opened")
    search = bot.open_hotfix("hotfix/fix-search", files={"search.py": "fixed\n"})
    bot.pull_request(search.number, "opened")
    for pull in (login, search):
        run = bot.policy_run(pull.head_sha)
        assert (run.conclusion, run.output["title"]) == ("failure", f"Invalid {FILE}: {problem}")
        assert run.output["summary"].endswith(
            "Fix the file on `main` (a pull request cannot change its own policy), then re-run "
            "this check. `hotfix-bot config validate` checks a file offline."
        )

    # As the message says: the key moved into branches, checked offline, pushed to main.
    fixed = "branches:\n  production: main\n  hotfix_prefix: hotfix/\n"
    assert validated(fixed, capsys) == (
        0,
        f"OK: {FILE} is valid (workflow gitflow, production branch main, hotfix severities "
        "P0, P1)\n",
    )
    pushed(bot, fixed, "Move hotfix_prefix into branches")
    # A push to main is no event of the pull requests': their runs wait for the re-run.
    assert bot.policy_run(login.head_sha).conclusion == "failure"
    rerun(bot, bot.policy_run(login.head_sha))
    bot.deliver("check_suite", bot.fake.check_suite_event(bot.repo, search.head_sha))

    for pull in (login, search):
        run = bot.policy_run(pull.head_sha)
        assert (run.status, run.output["title"]) == (
            "in_progress",
            "Waiting for approval: Engineering Lead and Product Manager",
        )
        # Their branches hold the file main held when they were cut, but neither changes it:
        # a merge keeps main's, so nothing is to be fixed on them.
        assert "This pull request changes" not in run.output["summary"]


def test_a_hotfix_merged_under_a_broken_file_says_what_fixing_the_file_changes(
    bot: Bot,
) -> None:
    pushed(bot, "relase: false\n")
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    problem = 'unknown key "relase" at top level (did you mean "release"?)'
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", f"Invalid {FILE}: {problem}")
    # Someone with the right to bypass the check merges it all the same.
    merge = bot.repo.merge_pull(pull.number)
    bot.pull_request(pull.number, "closed")
    [release] = bot.repo.runs_named("hotfix-release", merge)
    assert release.output["summary"].endswith("Fix the file on `main`, then re-run this check.")

    # The admin does as both runs say: fixes the file on main, then re-runs them.
    pushed(bot, "release: false\n", "Fix the hotfix policy")
    rerun(bot, release)
    rerun(bot, bot.policy_run(pull.head_sha))

    [release] = bot.repo.runs_named("hotfix-release", merge)
    assert release.conclusion == "success"
    assert list(bot.repo.tags) == ["v1.2.4"]
    # The pull request was judged by the file as it stood at the merge, which no fix can
    # change: its run stays a failure, and says so rather than asking for a fix that does
    # nothing to it.
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == ("failure", f"Invalid {FILE}: {problem}")
    assert run.output["summary"] == (
        f"`{FILE}` on the base branch `main` cannot be used, so no rule was checked:\n\n"
        f"- {problem}\n\n"
        f"Config: {FILE} on main\n\n"
        "This pull request merged while the file could not be used: it is judged by the "
        "file as it stood at its merge, which fixing the file does not change, so re-running "
        "this check changes nothing. The file on `main` applies to the pull requests to "
        "come, and re-running the merge commit's `hotfix-release` check runs the post-merge "
        "steps by it."
    )


def invalid_run(bot: Bot) -> FakeCheckRun:
    """The run of a P1 hotfix opened under the file on `main` as it is now."""
    pull = bot.open_hotfix()
    bot.pull_request(pull.number, "opened")
    return bot.policy_run(pull.head_sha)


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            'hotfix_prefix: "fix/"\n',
            ['unknown key "hotfix_prefix" at top level (it belongs in branches)'],
        ),
        (
            "branches:\n  production: main\n  deadline: 2h\n",
            ['unknown key "deadline" in branches (it belongs in severities.NAME)'],
        ),
        (
            # `team` one level too far out: it reads as a key of the severity.
            "severities:\n  P1:\n    approvals:\n    - name: Lead\n    team: engineering-leads\n",
            [
                "severities.P1.approvals[0]: must name who approves: team: SLUG or users: "
                "[login, ...]",
                'unknown key "team" in severities.P1 (it belongs in each entry of '
                "severities.P1.approvals)",
            ],
        ),
        (
            "approvals:\n  - {name: Lead, team: engineering-leads}\n",
            ['unknown key "approvals" at top level (it belongs in severities.NAME or in rollback)'],
        ),
        (
            # `deadline` as far out as `P1`: it reads as a severity's name.
            "severities:\n  P1:\n  deadline: 2h\n",
            [
                'severities.deadline: must be a mapping of keys (got "2h"); deadline is a key '
                "of severities.NAME, not a NAME: indent it under the one it is for"
            ],
        ),
    ],
    ids=["top level", "another section", "an entry's", "two places", "a name's"],
)
def test_a_key_at_the_wrong_level_is_told_where_it_belongs(
    bot: Bot, capsys: pytest.CaptureFixture[str], text: str, problems: list[str]
) -> None:
    assert validated(text, capsys) == (1, "".join(f"{FILE}: {p}\n" for p in problems))

    pushed(bot, text)
    run = invalid_run(bot)
    assert run.output["summary"].startswith(
        f"`{FILE}` on the base branch `main` cannot be used, so no rule was checked:\n\n"
        + "".join(f"- {problem}\n" for problem in problems)
        + "\n"
    )


TAB = "invalid YAML at line 3, column 1: found character '\\t' that cannot start any token; "
TAB += "YAML indents with spaces, not tabs: replace the tab with spaces"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("workflow: gitflow\nbranches:\n\tproduction: main\n", TAB),
        # Saved by an editor on Windows, with a byte order mark: the same line and column.
        ("\ufeffworkflow: gitflow\r\nbranches:\r\n\tproduction: main\r\n", TAB),
        (
            "labels:\n  hotfix: hotfix\nseverities\n  P0:\n    deadline: 2h\n",
            "invalid YAML at line 3, column 1: could not find expected ':'; the key that "
            'begins here needs a ":" after it',
        ),
        (
            "branches:\n  production main\n  development: develop\n",
            "invalid YAML at line 3, column 14: mapping values are not allowed here; a line "
            'above may lack the ":" after its key, or this one be indented too far, or a value '
            'hold ": " unquoted (write message: "Hotfix: {title}")',
        ),
        (
            "tag:\n  message: Hotfix: {title}\n",
            "invalid YAML at line 2, column 18: mapping values are not allowed here; a line "
            'above may lack the ":" after its key, or this one be indented too far, or a value '
            'hold ": " unquoted (write message: "Hotfix: {title}")',
        ),
        (
            "severities:\n  P0:\n    escalation:\n      - {after: 15m, notify: [@alice]}\n",
            "invalid YAML at line 4, column 31: found character '@' that cannot start any "
            'token; a value beginning with "@" must be quoted ("@alice"), and a team slug or '
            "a login is written without it",
        ),
        (
            'branches:\n  production: "main\n',
            "invalid YAML at line 2, column 15: the quoted value that begins here is not "
            "closed (found unexpected end of stream)",
        ),
        (
            "tag:\n  format: {version}\n",
            "tag.format: must be a non-empty text (got {version}, which YAML reads as a "
            'mapping; quote it: "{version}")',
        ),
    ],
    ids=[
        "tab",
        "tab, CRLF and BOM",
        "no colon",
        "no colon, line after",
        "colon in a value",
        "@",
        "quote not closed",
        "braces",
    ],
)
def test_a_syntax_mistake_is_named_where_it_is_with_what_to_write(
    bot: Bot, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    assert validated(text, capsys) == (1, f"{FILE}: {problem}\n")

    pushed(bot, text)
    run = invalid_run(bot)
    assert (run.conclusion, run.output["title"]) == ("failure", f"Invalid {FILE}: {problem}")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        # Windows PowerShell's `>` and `Out-File` write UTF-16 with a byte order mark.
        (
            "workflow: github-flow\r\n".encode("utf-16"),
            "the file is UTF-16 text, not UTF-8: save it as UTF-8",
        ),
        (
            'tag:\n  message: "Correctif : {title}"\n# \xe9quipe\n'.encode("cp1252"),
            "the file is not UTF-8 text (byte 41, on line 3, cannot be read): save it as UTF-8",
        ),
    ],
    ids=["UTF-16", "Windows-1252"],
)
def test_a_file_in_another_encoding_is_told_to_be_saved_as_utf8(
    bot: Bot, capsys: pytest.CaptureFixture[str], content: bytes, problem: str
) -> None:
    assert validated(content, capsys) == (1, f"{FILE}: {problem}\n")

    # GitHub holds the file's bytes as they were pushed.
    placeholder = "the file as pushed\n"
    pushed(bot, placeholder)
    sha = blob_sha(placeholder)
    blob = {"sha": sha, "size": len(content), "content": base64.b64encode(content).decode()}
    bot.fake.inject(
        "GET", rf"/git/blobs/{sha}$", status=200, times=None, body={**blob, "encoding": "base64"}
    )
    run = invalid_run(bot)
    assert (run.conclusion, run.output["title"]) == ("failure", f"Invalid {FILE}: {problem}")


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("2 hours", "2h"),
        ("2H", "2h"),
        ("90 min", "90m"),
        ("1h30", "1h30m"),
        ("1 hour 30 minutes", "1h30m"),
        ("1.5h", "1h30m"),
        ("2 days", "2d"),
    ],
)
def test_a_duration_written_in_words_is_told_how_to_write_it(
    bot: Bot, capsys: pytest.CaptureFixture[str], written: str, meant: str
) -> None:
    text = f"severities:\n  P1:\n    deadline: {written}\n"
    problem = (
        "severities.P1.deadline: must be a duration such as 2h, 30m, 1d or 90s "
        f'(got "{written}"; write {meant})'
    )
    assert validated(text, capsys) == (1, f"{FILE}: {problem}\n")

    pushed(bot, text)
    run = invalid_run(bot)
    assert (run.conclusion, run.output["title"]) == ("failure", f"Invalid {FILE}: {problem}")

    # Written as the message says, the file is valid, and the run shows that deadline.
    fixed = f"severities:\n  P1:\n    deadline: {meant}\n"
    assert validated(fixed, capsys)[0] == 0
    pushed(bot, fixed, "Fix the deadline")
    rerun(bot, run)
    run = bot.policy_run(run.head_sha)
    assert run.output["summary"].startswith(f"**Severity P1**: merge within {meant} of opening")


def test_a_hotfix_changing_the_file_is_told_it_is_judged_by_the_base_and_what_its_file_does(
    bot: Bot,
) -> None:
    pushed(bot, "release: false\n")
    # The admin tries to drop the product manager's approval in the hotfix itself, and
    # mistypes a key while at it.
    loosened = (
        "release: false\nseverities:\n  P1:\n    approvals:\n"
        "      - {name: Engineering Lead, team: engineering-leads}\n    deadlin: 4h\n"
    )
    pull = bot.open_hotfix(files={FILE: loosened})
    bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    # Judged by the file on main: both groups are waited for.
    assert run.output["title"] == "Waiting for approval: Engineering Lead and Product Manager"
    problem = 'unknown key "deadlin" in severities.P1 (did you mean "deadline"?)'
    assert (
        f"Config: {FILE} on main\n\n"
        f"This pull request changes `{FILE}`, but is judged by the file on `main`: a pull "
        "request cannot change its own policy. As it leaves the file, the file cannot be "
        "used, and every pull request into `main` after its merge would fail on it:\n\n"
        f"- {problem}\n\n"
        "Fix it on `hotfix/fix-login` before the merge; `hotfix-bot config validate` checks "
        "it offline.\n\n| Rule |"
    ) in run.output["summary"]

    # The admin fixes the key on the branch as told: the change is valid, and said to apply
    # once merged.
    bot.repo.commit("hotfix/fix-login", {FILE: loosened.replace("deadlin:", "deadline:")})
    bot.pull_request(pull.number, "synchronize")
    run = bot.policy_run(bot.repo.pulls[pull.number].head_sha)
    assert run.output["title"] == "Waiting for approval: Engineering Lead and Product Manager"
    assert (
        f"Config: {FILE} on main\n\n"
        f"This pull request changes `{FILE}`, but is judged by the file on `main`: a pull "
        "request cannot change its own policy. Its change applies to the pull requests into "
        "`main` after its merge.\n\n| Rule |"
    ) in run.output["summary"]


NOT_A_HOTFIX = (
    "This pull request is not a hotfix: its head branch does not start with `hotfix/` and it "
    "has no `hotfix` label, so `.github/hotfix.yml` does not apply."
)


def edited_by_pull_request(bot: Bot, files: dict[str, str], base: str = "main") -> FakePull:
    """The usual way an admin edits the policy: a pull request of its own into `base`, no
    hotfix, from `policy/edit` committing `files`; evaluated once opened."""
    bot.repo.create_branch("policy/edit", base)
    bot.repo.commit("policy/edit", files, "Edit the hotfix policy", author="admin")
    pull = bot.repo.open_pull("policy/edit", base, title="Hotfix policy", author="admin")
    bot.pull_request(pull.number, "opened")
    return pull


def neutral_summary(bot: Bot, pull: FakePull) -> str:
    """The summary of `pull`'s run, as it now stands, which shows it is no hotfix."""
    run = bot.policy_run(bot.repo.pulls[pull.number].head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "neutral",
        "Not a hotfix pull request",
    )
    return str(run.output["summary"])


def test_a_regular_pull_request_changing_the_file_is_told_what_its_file_does_and_stays_neutral(
    bot: Bot,
) -> None:
    pushed(bot, "release: false\n")
    broken = "release: false\nseverities:\n  P1:\n    deadlin: 4h\n"
    pull = edited_by_pull_request(bot, {FILE: broken})

    # Merged as it is, the file would fail every pull request into main, hotfixes included.
    problem = 'unknown key "deadlin" in severities.P1 (did you mean "deadline"?)'
    assert neutral_summary(bot, pull) == (
        f"{NOT_A_HOTFIX}\n\nConfig: {FILE} on main\n\n"
        f"This pull request changes `{FILE}`, but is judged by the file on `main`: a pull "
        "request cannot change its own policy. As it leaves the file, the file cannot be "
        "used, and every pull request into `main` after its merge would fail on it:\n\n"
        f"- {problem}\n\n"
        "Fix it on `policy/edit` before the merge; `hotfix-bot config validate` checks it "
        "offline."
    )

    # Fixed on the branch as told: the change is said to apply once merged.
    bot.repo.commit("policy/edit", {FILE: broken.replace("deadlin:", "deadline:")}, "Fix")
    bot.pull_request(pull.number, "synchronize")
    assert neutral_summary(bot, pull) == (
        f"{NOT_A_HOTFIX}\n\nConfig: {FILE} on main\n\n"
        f"This pull request changes `{FILE}`, but is judged by the file on `main`: a pull "
        "request cannot change its own policy. Its change applies to the pull requests into "
        "`main` after its merge."
    )


def test_a_broken_file_into_another_branch_is_said_to_fail_the_pull_requests_into_it(
    bot: Bot,
) -> None:
    """A hotfix is judged by the file on its own base branch, the production one: a file
    broken on develop fails the pull requests into develop, not the hotfixes into main."""
    pushed(bot, "release: false\n")
    bot.repo.create_branch("develop", "main")
    pull = edited_by_pull_request(bot, {FILE: "release: maybe\n"}, base="develop")

    assert (
        f"Config: {FILE} on develop\n\n"
        f"This pull request changes `{FILE}`, but is judged by the file on `develop`: a pull "
        "request cannot change its own policy. As it leaves the file, the file cannot be "
        "used, and every pull request into `develop` after its merge would fail on it:\n\n"
        '- release: must be true or false (got "maybe")\n\n'
    ) in neutral_summary(bot, pull)


def first_evaluation(pull: FakePull, head: str) -> list[str]:
    """The requests of the first evaluation of `pull`, no hotfix, on its head commit `head`,
    the base's files read before and its head's config file the base's: those it made
    before the head's file was read."""
    return [
        f"GET /repos/acme/widgets/pulls/{pull.number}",
        f"GET /repos/acme/widgets/pulls/{pull.number}/reviews",
        "GET /repos/acme/widgets/git/trees/main",
        "GET /repos/acme/.github/contents/.github/hotfix.yml",
        f"GET /repos/acme/widgets/git/trees/{head}",
        f"GET /repos/acme/widgets/commits/{head}/check-runs",
        "POST /repos/acme/widgets/check-runs",
    ]


@pytest.mark.parametrize(
    ("files", "listed"),
    [
        ({"src/app.py": "fixed\n"}, []),
        ({".github/workflows/ci.yml": "on: push\n"}, [".github"]),
    ],
    ids=["outside .github", "beside the file"],
)
def test_a_regular_pull_request_leaving_the_file_as_it_is_has_no_note_and_reads_little_more(
    bot: Bot, files: dict[str, str], listed: list[str]
) -> None:
    """The head's file is read from its tree, read ahead already: a `.github` directory
    the same as the base's costs nothing, and one changed elsewhere its own listing."""
    pushed(bot, "release: false\n")
    edited_by_pull_request(bot, {"README.md": "warm-up\n"})  # the base's file read once
    bot.repo.create_branch("feature/dark-mode", "main")
    head = bot.repo.commit("feature/dark-mode", files, "Dark mode")
    pull = bot.repo.open_pull("feature/dark-mode", "main", title="Dark mode", author="dev")

    with bot.counting() as requests:
        bot.pull_request(pull.number, "opened")

    assert neutral_summary(bot, pull) == f"{NOT_A_HOTFIX}\n\nConfig: {FILE} on main"
    tree = bot.repo.objects.commits[head].tree
    listings = [f"GET /repos/acme/widgets/git/trees/{tree_sha(subtree(tree, d))}" for d in listed]
    # The listing of a changed `.github` directory: its blob of the file is the base's, read.
    assert sorted(f"{r.method} {r.path}" for r in requests) == sorted(
        [*first_evaluation(pull, head), *listings]
    )


@pytest.mark.parametrize(
    ("refused", "others", "logged"),
    [
        (
            True,
            0,
            "the compare is refused: GitHub answered 404 to GET "
            "/repos/acme/widgets/compare/main...{head}: Not Found",
        ),
        (False, 299, "the compare lists only the first files"),
    ],
    ids=["compare refused", "300 files"],
)
def test_a_change_of_the_file_github_cannot_show_is_not_noted(
    bot: Bot, caplog: pytest.LogCaptureFixture, refused: bool, others: int, logged: str
) -> None:
    """GitHub lists at most 300 files of a compare: past that, or when it refuses the
    compare, whether the pull request changes the file is unknown, and no note beats a
    wrong one."""
    pushed(bot, "release: false\n")
    files = {FILE: "release: false\nworkflow: github-flow\n"}
    files.update({f"src/module_{index}.py": "pass\n" for index in range(others)})
    pull = bot.open_hotfix(files=files)
    if refused:
        bot.fake.inject("GET", r"/compare/", status=404)

    with caplog.at_level(logging.INFO, logger="hotfix_bot"):
        bot.pull_request(pull.number, "opened")

    run = bot.policy_run(pull.head_sha)
    assert run.output["title"] == "Waiting for approval: Engineering Lead and Product Manager"
    assert "This pull request changes" not in run.output["summary"]
    logged = logged.format(head=pull.head_sha)
    assert f"{pull.head_sha}: no note on {FILE}, {logged}" in caplog.messages


BROKEN = "relase: false\n"
BROKEN_PROBLEM = 'unknown key "relase" at top level (did you mean "release"?)'


def failed_on_the_broken_file(bot: Bot, pull: FakePull, base: str = "main") -> str:
    """The summary of `pull`'s run, which failed on the file on `base` as `BROKEN` leaves
    it, its title as every pull request into `base` has it."""
    run = bot.policy_run(bot.repo.pulls[pull.number].head_sha)
    assert (run.status, run.conclusion, run.output["title"]) == (
        "completed",
        "failure",
        f"Invalid {FILE}: {BROKEN_PROBLEM}",
    )
    summary = str(run.output["summary"])
    heading = (
        f"`{FILE}` on the base branch `{base}` cannot be used, so no rule was checked:\n\n"
        f"- {BROKEN_PROBLEM}\n\nConfig: {FILE} on {base}\n\n"
    )
    assert summary.startswith(heading)
    return summary.removeprefix(heading)


def test_a_pull_request_fixing_the_broken_file_is_told_how_to_merge_it_and_the_hotfixes_then_pass(
    bot: Bot,
) -> None:
    pushed(bot, BROKEN)
    hotfix = bot.open_hotfix()
    bot.pull_request(hotfix.number, "opened")
    failed_on_the_broken_file(bot, hotfix)

    # The admin fixes the file the usual way, by a pull request into main.
    pull = edited_by_pull_request(bot, {FILE: "release: false\n"})
    assert failed_on_the_broken_file(bot, pull) == (
        f"This pull request fixes `{FILE}`: as it leaves the file, the config can be used. "
        "This check judges it by the file on `main` all the same (a pull request cannot "
        "change its own policy), so it cannot pass before the merge: where `hotfix-policy` is a "
        "required check on `main`, only someone allowed to bypass that requirement (as a "
        "repository admin may be) can merge it. Once merged, its file applies to the pull "
        "requests into `main`: the open hotfix pull requests into `main` are evaluated again "
        "at its merge, any other at its next event or when its check is re-run."
    )

    # As the run says: merged by an admin bypassing the requirement, and GitHub's push.
    before = bot.repo.branches["main"].sha
    bot.repo.merge_pull(pull.number, merged_by="admin")
    bot.pull_request(pull.number, "closed")
    bot.deliver("push", bot.fake.push_event(bot.repo, "refs/heads/main", before, sender="admin"))

    run = bot.policy_run(hotfix.head_sha)
    assert (run.status, run.output["title"]) == (
        "in_progress",
        "Waiting for approval: Engineering Lead and Product Manager",
    )
    bot.approve(hotfix.number, "lead", "pm")
    run = bot.policy_run(hotfix.head_sha)
    assert (run.conclusion, run.output["title"]) == ("success", "All 6 rules pass")


def test_a_pull_request_fixing_the_file_of_another_branch_is_told_to_re_run_the_checks(
    bot: Bot,
) -> None:
    """Only a change of the production branch's file has the open hotfixes evaluated
    again at its merge: on develop, each pull request waits for its next event."""
    bot.repo.create_branch("develop", "main")
    bot.repo.commit("develop", {FILE: BROKEN}, "The hotfix policy")
    pull = edited_by_pull_request(bot, {FILE: "release: false\n"}, base="develop")

    assert failed_on_the_broken_file(bot, pull, "develop").endswith(
        "Once merged, its file applies to the pull requests into `develop`: each is evaluated "
        "again at its next event, or when its check is re-run."
    )


def test_a_pull_request_changing_the_broken_file_into_another_broken_one_is_told_its_own_problems(
    bot: Bot,
) -> None:
    pushed(bot, BROKEN)
    pull = edited_by_pull_request(bot, {FILE: "release: maybe\n"})

    # Not the file on main to fix, which this very pull request changes, but its own.
    assert failed_on_the_broken_file(bot, pull) == (
        f"This pull request changes `{FILE}`, but as it leaves the file, the file cannot be "
        'used either:\n\n- release: must be true or false (got "maybe")\n\n'
        "Fix it on `policy/edit` before the merge; `hotfix-bot config validate` checks it "
        "offline."
    )


def test_a_pull_request_leaving_the_broken_file_as_it_is_is_told_to_fix_it_on_the_base_at_no_cost(
    bot: Bot,
) -> None:
    """The head's file is read from its tree, read ahead already, and its blob is the
    base's: no request more than the evaluation made without it."""
    pushed(bot, BROKEN)
    edited_by_pull_request(bot, {"README.md": "warm-up\n"})  # the base's file read once
    bot.repo.create_branch("feature/dark-mode", "main")
    head = bot.repo.commit("feature/dark-mode", {"src/app.py": "fixed\n"}, "Dark mode")
    pull = bot.repo.open_pull("feature/dark-mode", "main", title="Dark mode", author="dev")

    with bot.counting() as requests:
        bot.pull_request(pull.number, "opened")

    assert failed_on_the_broken_file(bot, pull) == (
        "Fix the file on `main` (a pull request cannot change its own policy), then re-run "
        "this check. `hotfix-bot config validate` checks a file offline."
    )
    assert sorted(f"{r.method} {r.path}" for r in requests) == sorted(first_evaluation(pull, head))


def test_a_command_refused_for_a_broken_file_is_carried_out_once_fixed_and_posted_again(
    bot: Bot,
) -> None:
    bot.fake.add_team("acme", "on-call-managers", ["oncall"])
    pushed(bot, "severities:\n  P0:\n  deadline: 2h\n")
    pull = bot.open_hotfix(labels=("hotfix", "P0"))
    bot.pull_request(pull.number, "opened")

    def comment(body: str) -> int:
        posted = bot.repo.add_comment(pull.number, "oncall", body)
        bot.deliver("issue_comment", bot.fake.issue_comment_event(bot.repo, posted.id))
        return posted.id

    first = comment("/hotfix break-glass checkout is down")
    [reply] = [c.body for c in bot.repo.comments.values() if f"reply to comment {first} " in c.body]
    assert (
        "@oncall, hotfix-bot did not carry this out: `.github/hotfix.yml` on `main` cannot be "
        'used: severities.deadline: must be a mapping of keys (got "2h"); deadline is a key of '
        "severities.NAME, not a NAME: indent it under the one it is for; once it is fixed "
        "there, post the command again, in a new comment.\n\n"
    ) in reply

    # As the reply says: the file fixed on main, the command posted again.
    pushed(bot, "severities:\n  P0:\n    deadline: 2h\n", "Indent the deadline")
    again = comment("/hotfix break-glass checkout is down")
    assert [r.content for r in bot.repo.reactions_to(again)] == ["+1"]
    run = bot.policy_run(pull.head_sha)
    assert (run.conclusion, run.output["title"]) == (
        "success",
        "Break-glass by @oncall: checkout is down",
    )


def test_a_regular_pull_request_lagging_a_change_of_the_file_asks_github_once_per_base(
    bot: Bot,
) -> None:
    """A branch cut before the file changed on main holds the old file, which its merge
    keeps: whether its own diff changes the file is asked once, and a later evaluation of
    the same head against the same base costs no compare."""
    pushed(bot, "release: false\n")
    bot.repo.create_branch("feature/dark-mode", "main")
    head = bot.repo.commit("feature/dark-mode", {"src/app.py": "fixed\n"}, "Dark mode")
    pushed(bot, "release: false\nworkflow: github-flow\n", "GitHub flow")
    pull = bot.repo.open_pull("feature/dark-mode", "main", title="Dark mode", author="dev")

    with bot.counting() as first:
        bot.pull_request(pull.number, "opened")
    with bot.counting() as second:
        bot.pull_request(pull.number, "edited")

    assert neutral_summary(bot, pull) == f"{NOT_A_HOTFIX}\n\nConfig: {FILE} on main"
    compare = f"GET /repos/acme/widgets/compare/main...{head}"
    assert [f"{r.method} {r.path}" for r in first].count(compare) == 1
    run = bot.policy_run(head)
    assert sorted(f"{r.method} {r.path}" for r in second) == sorted(
        [
            f"GET /repos/acme/widgets/pulls/{pull.number}",
            f"GET /repos/acme/widgets/pulls/{pull.number}/reviews",
            "GET /repos/acme/widgets/git/trees/main",
            "GET /repos/acme/.github/contents/.github/hotfix.yml",
            f"PATCH /repos/acme/widgets/check-runs/{run.id}",
        ]
    )


def test_a_compare_github_refuses_for_good_is_not_asked_again_for_the_same_head_and_base(
    bot: Bot,
) -> None:
    pushed(bot, "release: false\n")
    bot.repo.create_branch("feature/dark-mode", "main")
    head = bot.repo.commit("feature/dark-mode", {"src/app.py": "fixed\n"}, "Dark mode")
    pushed(bot, "release: false\nworkflow: github-flow\n", "GitHub flow")
    pull = bot.repo.open_pull("feature/dark-mode", "main", title="Dark mode", author="dev")
    bot.fake.inject("GET", r"/compare/", status=403, times=None)

    bot.pull_request(pull.number, "opened")
    bot.pull_request(pull.number, "edited")

    assert neutral_summary(bot, pull) == f"{NOT_A_HOTFIX}\n\nConfig: {FILE} on main"
    assert len(bot.fake.requests_to("GET", f"/repos/acme/widgets/compare/main...{head}")) == 1


def test_a_regular_pull_request_whose_head_github_refuses_to_read_has_no_note_and_stays_neutral(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """The note is no part of the verdict: a head tree GitHub refuses for good leaves it out
    rather than failing the run of a pull request that is no hotfix."""
    pushed(bot, "release: false\n")
    bot.repo.create_branch("feature/dark-mode", "main")
    head = bot.repo.commit("feature/dark-mode", {FILE: "release: true\n"}, "Release")
    pull = bot.repo.open_pull("feature/dark-mode", "main", title="Dark mode", author="dev")
    bot.fake.inject("GET", rf"/git/trees/{head}$", status=403, times=None)

    with caplog.at_level(logging.INFO, logger="hotfix_bot"):
        bot.pull_request(pull.number, "opened")

    assert neutral_summary(bot, pull) == f"{NOT_A_HOTFIX}\n\nConfig: {FILE} on main"
    refused = f"GitHub answered 403 to GET /repos/acme/widgets/git/trees/{head}"
    assert any(
        message.startswith(f"{head}: no note on {FILE}, its head is refused: {refused}")
        for message in caplog.messages
    ), caplog.messages
