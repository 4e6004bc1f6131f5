"""The GitHub client: one token per installation, which errors may pass, shared pool."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import RequestError, RequestFailed
from hypothesis import given, settings
from hypothesis import strategies as st

from app.github.client import (
    GitHubApp,
    InstallationSuspended,
    MeteredTransport,
    classify,
    describe,
    error_message,
    retry_after_seconds,
    says_suspended,
    timestamp,
)

BASE = "http://github.test"


def token_answer(minutes: int) -> httpx.Response:
    expires = (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return httpx.Response(201, json={"token": "ghs_secret_token", "expires_at": expires})


def test_many_deliveries_at_once_mint_one_token(private_key_pem: str) -> None:
    async def scenario() -> int:
        github = GitHubApp(1, private_key_pem, BASE)
        try:
            await asyncio.gather(*(github.installation(5) for _ in range(20)))
            await github.installation(5)
        finally:
            await github.aclose()
        return github.tokens_minted

    with respx.mock:
        mint = respx.post(f"{BASE}/app/installations/5/access_tokens").mock(
            return_value=token_answer(60)
        )
        assert asyncio.run(scenario()) == 1
        assert mint.call_count == 1
        assert mint.calls[0].request.headers["authorization"].startswith("Bearer ey")


def test_a_token_close_to_expiry_is_replaced(private_key_pem: str) -> None:
    async def scenario() -> int:
        github = GitHubApp(1, private_key_pem, BASE)
        try:
            await github.installation(5)
            await github.installation(5)
        finally:
            await github.aclose()
        return github.tokens_minted

    with respx.mock:
        respx.post(f"{BASE}/app/installations/5/access_tokens").mock(return_value=token_answer(4))
        assert asyncio.run(scenario()) == 2


def failure(
    status: int,
    headers: dict[str, str] | list[tuple[bytes, bytes]] | None = None,
    body: object = None,
    credential: str = "t",
) -> Exception:
    """The exception githubkit raises for an answer, captured through a real request made
    with the installation token `credential`; `headers` as text, or as bytes on the wire."""

    async def request() -> Exception:
        client = GitHub(
            TokenAuthStrategy(credential),
            base_url=BASE,
            auto_retry=False,
            http_cache=False,
            async_transport=MeteredTransport(),  # as the App's clients have it
        )
        try:
            await client.arequest("GET", "/repos/a/b")
        except Exception as error:
            return error
        raise AssertionError("no error")

    with respx.mock:
        respx.get(f"{BASE}/repos/a/b").mock(
            return_value=httpx.Response(status, headers=headers or {}, json=body or {})
        )
        return asyncio.run(request())


@pytest.mark.parametrize(
    ("status", "headers", "transient", "wait"),
    [
        (500, {}, True, None),
        (502, {}, True, None),
        (503, {"retry-after": "7"}, True, 7.0),
        (429, {"retry-after": "1"}, True, 1.0),
        (429, {}, True, 60.0),  # GitHub: "wait for at least one minute"
        (403, {"retry-after": "30"}, True, 30.0),
        (404, {}, False, None),
        (422, {}, False, None),
        (403, {}, False, None),
        (401, {}, True, None),
    ],
)
def test_which_answers_may_pass(
    status: int, headers: dict[str, str], transient: bool, wait: float | None
) -> None:
    verdict = classify(failure(status, headers))
    assert (verdict.transient, verdict.wait) == (transient, wait)


# 403s that say "suspended": only in GitHub's words for it, the installation's suspension.
SUSPENDED_ANSWERS = [
    ("This installation has been suspended", True),
    ("THIS INSTALLATION HAS BEEN SUSPENDED", True),
    ("Sorry. This installation owned by acme is suspended.", True),
    ("Sorry. Your account was suspended.", False),  # a suspended user's own account
]


@pytest.mark.parametrize(("message", "installation_suspended"), SUSPENDED_ANSWERS)
def test_only_githubs_words_for_it_say_the_installation_is_suspended(
    message: str, installation_suspended: bool
) -> None:
    """A request refused with GitHub's words for the installation's suspension, in any case,
    is that suspension; another 403 that says "suspended" is not."""
    assert says_suspended(failure(403, body={"message": message})) is installation_suspended
    assert not says_suspended(failure(404, body={"message": message}))


@pytest.mark.parametrize(("message", "installation_suspended"), SUSPENDED_ANSWERS)
def test_a_token_refused_is_the_installations_suspension_only_in_githubs_words_for_it(
    private_key_pem: str, message: str, installation_suspended: bool
) -> None:
    async def scenario() -> Exception:
        github = GitHubApp(1, private_key_pem, BASE)
        try:
            await github.installation(5)
        except Exception as error:
            return error
        finally:
            await github.aclose()
        raise AssertionError("a token was minted")

    with respx.mock:
        respx.post(f"{BASE}/app/installations/5/access_tokens").mock(
            return_value=httpx.Response(403, json={"message": message})
        )
        refused = asyncio.run(scenario())

    assert isinstance(refused, InstallationSuspended) is installation_suspended
    assert isinstance(refused, RequestFailed) is not installation_suspended


def test_a_primary_rate_limit_waits_until_the_reset() -> None:
    reset = int(datetime.now(UTC).timestamp()) + 120
    error = failure(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    verdict = classify(error)
    assert verdict.transient
    assert verdict.wait is not None and 100 < verdict.wait <= 121


def test_a_rate_limit_naming_only_its_reset_waits_until_then() -> None:
    """Without x-ratelimit-remaining, a rate limit's reset time is still its wait; with
    some left (a secondary limit), GitHub asks for a minute."""
    reset = int(datetime.now(UTC).timestamp()) + 120
    for status, message in ((429, "Too Many Requests"), (403, "API rate limit exceeded")):
        verdict = classify(failure(status, {"x-ratelimit-reset": str(reset)}, {"message": message}))
        assert verdict.transient
        assert verdict.wait is not None and 100 < verdict.wait <= 121
    left = {"x-ratelimit-reset": str(reset), "x-ratelimit-remaining": "4000"}
    assert classify(failure(429, left)).wait == 60.0
    past = {"x-ratelimit-reset": str(reset - 600)}
    assert classify(failure(429, past)).wait == 60.0  # not at once, eight times over


def test_a_retry_after_given_as_a_date_is_a_wait_in_seconds() -> None:
    later = datetime.now(UTC) + timedelta(seconds=90)
    date = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    verdict = classify(failure(429, {"retry-after": date}))
    assert verdict.transient
    assert verdict.wait is not None and 85 <= verdict.wait <= 91
    past = classify(failure(503, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert (past.transient, past.wait) == (True, 0.0)
    garbled = classify(failure(429, {"retry-after": "soon"}))
    assert (garbled.transient, garbled.wait) == (True, 60.0)


def test_a_wait_over_15_minutes_is_not_retried_in_line_and_says_until_when() -> None:
    now = datetime(2026, 12, 4, 20, 30, 30, tzinfo=UTC).timestamp()
    in_line = classify(failure(429, {"retry-after": "900"}), now)
    assert (in_line.retriable, in_line.long_wait(now)) == (True, None)
    too_long = classify(failure(429, {"retry-after": "901"}), now)
    assert too_long.retriable is False
    assert str(too_long.long_wait(now)) == "GitHub asked to wait until 2026-12-04 20:46 UTC (16m)"
    unavailable = classify(failure(503, {"retry-after": "7200"}), now).long_wait(now)
    assert unavailable is not None and not unavailable.rate_limited


def test_a_rate_limit_reset_is_measured_from_the_time_given() -> None:
    """Also when githubkit raises RateLimitExceeded, which measures it on its own clock."""
    now = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    used_up = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 9000)}
    verdict = classify(failure(403, used_up, {"message": "API rate limit exceeded"}), now)
    assert (verdict.transient, verdict.wait) == (True, 9000.0)
    assert str(verdict.long_wait(now)) == "GitHub asked to wait until 2030-01-01 02:30 UTC (2h30m)"


def test_network_errors_may_pass() -> None:
    assert classify(httpx.ConnectError("refused")).transient
    assert classify(httpx.ReadTimeout("slow")).transient
    assert not classify(KeyError("head")).transient


def test_an_error_is_described_in_one_line_with_githubs_message() -> None:
    error = failure(404, body={"message": "Not Found"})
    assert isinstance(error, RequestFailed)
    assert describe(error) == "GitHub answered 404 to GET /repos/a/b: Not Found"


NO_COMMITS = "No commits between develop and backmerge/v1.2.4"


VALIDATION_FAILED = "Validation Failed"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        pytest.param({"message": "Not Found"}, "Not Found", id="no errors"),
        pytest.param(
            {"message": VALIDATION_FAILED, "errors": []}, VALIDATION_FAILED, id="none listed"
        ),
        pytest.param(
            {
                "message": VALIDATION_FAILED,
                "errors": [{"resource": "PullRequest", "code": "custom", "message": NO_COMMITS}],
            },
            f"Validation Failed: {NO_COMMITS}",
            id="an entry with a message",
        ),
        pytest.param(
            {
                "message": VALIDATION_FAILED,
                "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}],
            },
            "Validation Failed: tag_name already_exists (Release)",
            id="an entry without a message",
        ),
        pytest.param(
            {"message": VALIDATION_FAILED, "errors": [{"resource": "Issue", "code": "missing"}]},
            "Validation Failed: missing (Issue)",
            id="an entry naming no field",
        ),
        pytest.param(
            {"message": VALIDATION_FAILED, "errors": ["head sha can't be blank", "base is bad"]},
            "Validation Failed: head sha can't be blank; base is bad",
            id="entries of text",
        ),
        pytest.param(
            {"message": "Invalid request.\n\n", "errors": ["nil is not an object."]},
            "Invalid request. nil is not an object.",
            id="a message that ends a sentence",
        ),
        pytest.param({"errors": [NO_COMMITS]}, NO_COMMITS, id="no message"),
        pytest.param(
            {"message": "Reference already exists", "errors": ["Reference already exists"] * 2},
            "Reference already exists",
            id="what the message says already",
        ),
        pytest.param(
            {
                "message": VALIDATION_FAILED,
                "errors": ["a  reason\nover lines", "a reason over lines"],
            },
            "Validation Failed: a reason over lines",
            id="one line",
        ),
        pytest.param(
            {
                "message": VALIDATION_FAILED,
                "errors": [None, 7, ["x"], {}, {"resource": "Release"}, {"code": 5, "message": 5}],
            },
            VALIDATION_FAILED,
            id="entries of other types",
        ),
        pytest.param(
            {"message": VALIDATION_FAILED, "errors": "not a list"},
            VALIDATION_FAILED,
            id="errors not a list",
        ),
        pytest.param({"message": 422, "errors": {"message": NO_COMMITS}}, "", id="no text"),
        pytest.param([VALIDATION_FAILED], "", id="not an object"),
    ],
)
def test_githubs_error_answer_is_quoted_with_the_details_of_its_errors(
    body: object, said: str
) -> None:
    error = failure(422, body=body)
    assert isinstance(error, RequestFailed)
    assert error_message(error) == said


def test_the_details_of_an_error_answer_are_bounded() -> None:
    """One entry per field, each quoting what was refused, is cut short, the message kept."""
    entries = [f"labels/{index} is too long ({'x' * 40})" for index in range(20)]
    error = failure(422, body={"message": "Validation Failed", "errors": entries})
    assert isinstance(error, RequestFailed)
    said = error_message(error)
    assert said.startswith(f"Validation Failed: {entries[0]}; {entries[1]}; ")
    assert len(said) == len("Validation Failed: ") + 300
    assert said.endswith("…")


def test_a_credential_in_the_details_of_an_error_answer_is_hidden() -> None:
    """The request's own token, and anything of a token's form, wherever the answer quotes it."""
    token = "ghs_" + "own0" * 9
    other = "github_pat_" + "other0" * 6
    body = {
        "message": "Validation Failed",
        "errors": [f"Bad credentials: token {token}", {"field": "auth", "code": other}],
    }
    error = failure(422, body=body, credential=token)
    assert isinstance(error, RequestFailed)
    assert error_message(error) == "Validation Failed: Bad credentials: token ***; auth ***"
    assert describe(error) == (
        "GitHub answered 422 to GET /repos/a/b: Validation Failed: Bad credentials: token ***; "
        "auth ***"
    )


def test_github_not_reached_is_described_with_where_it_was_looked_for_and_why(
    private_key_pem: str,
) -> None:
    """A GITHUB_API_URL mistyped, or a network that cannot reach it: the host and the
    reason tell which."""
    base = "https://github.acme.invalid/api/v3"

    async def scenario() -> str:
        github = GitHubApp(1, private_key_pem, base)
        try:
            await github.installation(5)
        except Exception as error:
            return describe(error)
        finally:
            await github.aclose()
        raise AssertionError("reached")

    with respx.mock:
        respx.post(f"{base}/app/installations/5/access_tokens").mock(
            side_effect=httpx.ConnectError("[Errno -2] Name or service not known")
        )
        assert asyncio.run(scenario()) == (
            "could not reach GitHub at github.acme.invalid: ConnectError "
            "([Errno -2] Name or service not known)"
        )


def test_github_enterprise_server_is_reached_under_its_api_prefix(private_key_pem: str) -> None:
    base = "https://ghe.example.com/api/v3"

    async def scenario() -> object:
        github = GitHubApp(1, private_key_pem, base)
        try:
            client = await github.installation(5)
            return await client.get_json("/repos/acme/widgets")
        finally:
            await github.aclose()

    with respx.mock:
        respx.post(f"{base}/app/installations/5/access_tokens").mock(return_value=token_answer(60))
        repo = respx.get(f"{base}/repos/acme/widgets").mock(
            return_value=httpx.Response(200, json={"full_name": "acme/widgets"})
        )
        assert asyncio.run(scenario()) == {"full_name": "acme/widgets"}
        assert repo.calls[0].request.headers["authorization"] == "token ghs_secret_token"


def test_an_immutable_answer_asked_for_while_it_is_fetched_is_fetched_once(
    private_key_pem: str,
) -> None:
    """Two reads of one blob side by side make one request; the one that asked first being
    cancelled (a read ahead nobody needed) leaves the other its answer."""
    path = "/repos/acme/widgets/git/blobs/abc"
    answered = asyncio.Event()
    asked: list[httpx.Request] = []

    async def blob(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        await answered.wait()
        return httpx.Response(200, json={"sha": "abc", "content": ""})

    async def scenario() -> object:
        github = GitHubApp(1, private_key_pem, BASE)
        try:
            client = await github.installation(5)
            first = asyncio.create_task(client.get_immutable(path))
            await asyncio.sleep(0.01)  # its request is under way
            second = asyncio.create_task(client.get_immutable(path))
            await asyncio.sleep(0.01)
            first.cancel()
            answered.set()
            return await second
        finally:
            await github.aclose()

    with respx.mock:
        respx.post(f"{BASE}/app/installations/5/access_tokens").mock(return_value=token_answer(60))
        respx.get(f"{BASE}{path}").mock(side_effect=blob)
        assert asyncio.run(scenario()) == {"sha": "abc", "content": ""}
        assert len(asked) == 1


# What a header or a payload's time may hold: digits Python reads as such but HTTP does not
# (`²`), numbers longer than any, dates with and without their offset.
HEADER_WORDS = ["1", "0", "60", "\u00b2", "\u0661", "9" * 5000, " ", "-", "+", "e", ".", "Z"]
HEADER_WORDS += ["Wed, 21 Oct 2015 07:28:00 GMT", "2026-11-27", "T15:28:00", "+00:00", "GMT"]
header_texts = st.lists(st.sampled_from(HEADER_WORDS) | st.text(max_size=4), max_size=4).map(
    "".join
)


@settings(max_examples=300, deadline=None, database=None)
@given(header_texts)
def test_any_retry_after_is_a_wait_of_whole_seconds_or_none(header: str) -> None:
    seconds = retry_after_seconds(header)
    assert seconds is None or (type(seconds) is int and seconds >= 0)


@settings(max_examples=300, deadline=None, database=None)
@given(header_texts)
def test_any_time_in_a_payload_is_one_with_its_offset_or_none(text: str) -> None:
    moment = timestamp(text)
    assert moment is None or moment.tzinfo is not None


@pytest.mark.parametrize("number", ["\u00b2", "9" * 5000])
def test_a_header_number_python_cannot_read_is_none(number: str) -> None:
    """Python reads `²` as a digit, and refuses a number of more than 4,300 digits."""
    names = (b"retry-after", b"x-ratelimit-remaining", b"x-ratelimit-reset")
    verdict = classify(failure(429, [(name, number.encode("latin-1")) for name in names]))
    assert (verdict.transient, verdict.wait) == (True, 60.0)
    assert retry_after_seconds(number) is None


def test_a_time_without_its_offset_is_none() -> None:
    assert timestamp("2026-11-27T15:28:00") is None
    assert timestamp("2026-11-27T15:28:00Z") == datetime(2026, 11, 27, 15, 28, tzinfo=UTC)


def test_the_client_without_a_token_sends_nothing(private_key_pem: str) -> None:
    """A handler routed `without_github` that asked GitHub something would be answered as
    anyone: the request fails instead, and nothing reaches GitHub."""

    async def scenario() -> None:
        github = GitHubApp(1, private_key_pem, BASE)
        try:
            client = github.without_token(5)
            with pytest.raises(
                RequestError, match="routed `without_github` asked GitHub"
            ) as raised:
                await client.get_json("/repos/acme/widgets")
            # A mistake in hotfix-bot: failed at once, not tried again as a network error.
            assert not classify(raised.value).transient
        finally:
            await github.aclose()

    with respx.mock:
        asked = respx.get(f"{BASE}/repos/acme/widgets").mock(return_value=httpx.Response(200))
        asyncio.run(scenario())
        assert asked.call_count == 0
