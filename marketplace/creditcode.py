"""统一社会信用代码 (unified social credit code) per GB 32100-2015.

An 18-character code::

    9  1  320583  MA1XXXXXX  Y
    |  |  |       |          `-- check character over the first 17 (mod 31)
    |  |  |       `------------- 9-character organisation code (GB 11714, own check digit)
    |  |  `--------------------- 6-digit administrative region code (GB/T 2260)
    |  `------------------------ organisation type (1 = enterprise for dept 9)
    `--------------------------- registration department (9 = market regulation)

Pure Python, no dependencies. ``validate`` returns ``None`` for a valid code or a short English
reason code (``"length"``, ``"charset"``, ``"check"``) for the web layer to translate.
"""

from __future__ import annotations

import random

#: The 31 characters allowed (no I, O, S, V, Z), in value order.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

#: GB 11714 organisation code: 8 body characters weighted, check = 11 - sum mod 11.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

LENGTH = 18


def normalize(code: str | None) -> str:
    """Strip surrounding whitespace (and inner spaces) and upper-case."""
    if code is None:
        return ""
    return "".join(code.split()).upper()


def check_character(first17: str) -> str:
    """The check character (position 18) for the first 17 characters."""
    if len(first17) != LENGTH - 1:
        raise ValueError("need exactly 17 characters")
    try:
        total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not allowed") from None
    return CHARSET[(31 - total % 31) % 31]


def validate(code: str | None) -> str | None:
    """``None`` when ``code`` is a valid credit code, else ``"length"``, ``"charset"`` or
    ``"check"``. The code is checked as given; call :func:`normalize` first for user input."""
    if code is None or len(code) != LENGTH:
        return "length"
    if any(ch not in _VALUE for ch in code):
        return "charset"
    if check_character(code[:17]) != code[17]:
        return "check"
    return None


def is_valid(code: str | None) -> bool:
    return validate(code) is None


def region_digits(code: str) -> str:
    """Positions 3–8: the GB/T 2260 code of the region whose authority registered the code
    (often a city's, e.g. ``320500``, or a former county's)."""
    return code[2:8]


def _org_char_value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    return ord(ch) - ord("A") + 10


def org_check_digit(body8: str) -> str:
    """The GB 11714 check digit ('0'-'9' or 'X') for an 8-character organisation code body."""
    if len(body8) != 8:
        raise ValueError("need exactly 8 characters")
    total = sum(_org_char_value(ch) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    if c == 11:
        return "0"
    if c == 10:
        return "X"
    return str(c)


# Letters usable in a generated organisation code body: allowed in both standards.
_ORG_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def generate(rng: random.Random, region_code: str) -> str:
    """A valid credit code for an enterprise (department 9, type 1) registered in ``region_code``.

    About half look like pre-2015 codes (8-digit organisation body), the rest like the newer
    ``MA…`` bodies. Deterministic for a given ``rng`` state.
    """
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError("region_code must be 6 digits")
    if rng.random() < 0.5:
        body = "".join(rng.choice("0123456789") for _ in range(8))
        if body[0] == "0":
            body = str(rng.randint(1, 9)) + body[1:]
    else:
        body = "MA" + rng.choice("0123456789") + "".join(rng.choice(_ORG_BODY) for _ in range(5))
    first17 = "91" + region_code + body + org_check_digit(body)
    return first17 + check_character(first17)
