"""Readable run names (``adjective-noun-NNN``), derived from the run id so they are stable."""

from __future__ import annotations

__all__ = ["run_name_for"]

# fmt: off
_ADJECTIVES = (
    "amber", "ancient", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "curious",
    "daring", "dusty", "eager", "early", "fancy", "fierce", "gentle", "glad", "golden", "grand",
    "happy", "hidden", "humble", "icy", "jolly", "keen", "kind", "lively", "lucky", "mellow",
    "merry", "misty", "noble", "odd", "patient", "polite", "proud", "quick", "quiet", "rapid",
    "rustic", "shiny", "silent", "silver", "sleepy", "smooth", "snowy", "solar", "spry", "steady",
    "sunny", "swift", "tidy", "vivid", "warm", "wild", "wise", "witty", "young", "zesty",
)
_NOUNS = (
    "badger", "bear", "beaver", "bison", "cat", "cobra", "colt", "crane", "crow", "deer",
    "dingo", "dove", "eagle", "eel", "falcon", "ferret", "finch", "fox", "gecko", "goat",
    "goose", "hare", "hawk", "heron", "ibis", "jackal", "koala", "lark", "lemur", "lion",
    "llama", "lynx", "mole", "moose", "newt", "otter", "owl", "panda", "puma", "quail",
    "rabbit", "raven", "robin", "salmon", "seal", "shark", "sloth", "snail", "sparrow", "squid",
    "stork", "swan", "tapir", "tiger", "toad", "trout", "viper", "walrus", "whale", "wolf",
)
# fmt: on


def run_name_for(run_id: str) -> str:
    """A readable name for ``run_id``, e.g. ``swift-otter-042``; the same id gives the same name.

    Example:
        >>> run_name_for("0" * 32)
        'amber-badger-000'
    """
    try:
        bits = int(run_id[-12:], 16)
    except ValueError:
        bits = int.from_bytes(run_id.encode()[-12:].rjust(12, b"\0"), "big")
    adjective = _ADJECTIVES[bits % len(_ADJECTIVES)]
    bits //= len(_ADJECTIVES)
    noun = _NOUNS[bits % len(_NOUNS)]
    bits //= len(_NOUNS)
    return f"{adjective}-{noun}-{bits % 1000:03d}"
