"""A file as the app read it from GitHub, for the rules to judge."""

import codecs
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnreadableText:
    """A file that exists but cannot be read as text (too large, not UTF-8), and why."""

    problem: str  # "is not UTF-8 text": follows the file's path in a sentence


# A file as the app read it: its text, why it is unreadable, or None when there is none.
FileText = str | UnreadableText | None

# The config and version files are a few KB; a larger file is refused unread, so no blob of
# megabytes is downloaded, held and parsed on the event loop, and `hotfix-bot config
# validate` refuses what the check run would.
MAX_FILE_BYTES = 256 * 1024


def too_large(size: int) -> UnreadableText | None:
    """Why a file of `size` bytes is not read; None when it is read."""
    if size > MAX_FILE_BYTES:
        return UnreadableText(
            f"is {size:,} bytes, more than the {MAX_FILE_BYTES // 1024} KiB hotfix-bot reads"
        )
    return None


def decoded(content: bytes) -> str | UnreadableText:
    """A file's bytes as text, or why they are none and what to do."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        # What Windows PowerShell's `>` and Notepad's "Unicode" write.
        if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            # UTF-32-LE's byte order mark begins as UTF-16-LE's does.
            encoding = "UTF-32" if content.startswith(codecs.BOM_UTF32_LE) else "UTF-16"
            return UnreadableText(f"is {encoding} text, not UTF-8: save it as UTF-8")
        line = content.count(b"\n", 0, error.start) + 1
        return UnreadableText(
            f"is not UTF-8 text (byte {error.start + 1}, on line {line}, cannot be read): "
            "save it as UTF-8"
        )
