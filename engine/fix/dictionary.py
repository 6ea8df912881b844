"""Which tags FIX 4.4 defines for each message type the gateway reads: a tag defined in
FIX 4.4 but not for the message it came in is a session Reject 373=2.

Written out from QuickFIX's FIX44.xml (components and repeating groups expanded; the
standard header and trailer allowed in every message), as ranges of tag numbers.
User-defined tags (5000-9999, 20000-39999) are allowed in any message: clients put their
algorithm parameters there (the session's tag mapping). Message types not listed here
are not checked field by field (the application answers them 35=j 380=3).
"""

from __future__ import annotations

_RANGES: dict[str, str] = {
    "header": (
        "8-10 34-35 43 49-50 52 56-57 89-91 93 97 115-116 122 128-129 142-145 212-213 347 369 "
        "627-630 "
    ),
    "0": ("112 "),
    "1": ("112 "),
    "2": ("7 16 "),
    "3": ("45 58 354-355 371-373 "),
    "4": ("36 123 "),
    "5": ("58 354-355 "),
    "A": ("95-96 98 108 141 372 383-385 464 553-554 789 "),
    "D": (
        "1 11-13 15 18 21-23 38 40 44 48 54-55 58-60 63-65 70 75 77-81 99-100 106-107 110-111 "
        "114 117 120-121 126 140 152 167-168 192-193 200-203 206-207 210-211 218 220-229 "
        "231-236 239-247 255-256 305-313 315-318 336 348-351 354-355 362-365 376-377 386 "
        "388-389 423 427 432 435-436 447-448 452-463 467-472 479-481 494 497 513 516 523-526 "
        "528-529 538-539 541-545 581-583 589-595 625 635 640 660-663 667 691 696-699 701 711 "
        "736 761-763 775 788 802-805 810 835-838 840-844 846-849 854 864-868 873-879 882-889 "
        "898 913-919 941 947 "
    ),
    "F": (
        "1 11 22 37-38 41 48 54-55 58 60 65-66 106-107 152 167 200-202 206-207 223-228 231 "
        "239-247 255-256 305-313 315-318 348-351 354-355 362-365 376 435-436 447-448 452-463 "
        "468-472 516 523 526 541-543 581 583 586 592-595 660 667 691 711 762-763 788 802-803 "
        "810 864-868 873-879 882-889 898 913-919 941 947 "
    ),
    "G": (
        "1 11-13 15 18 21-22 37-38 40-41 44 48 54-55 58-60 63-66 70 75 77-80 99-100 106-107 "
        "110-111 114 120-121 126 152 167-168 192-193 200-203 206-207 210-211 218 220-229 231 "
        "235-236 239-247 255-256 305-313 315-318 336 348-351 354-355 362-365 376-377 386 "
        "388-389 423 427 432 435-436 447-448 452-463 467-472 479-481 494 497 513 516 523-526 "
        "528-529 538-539 541-545 581-583 586 589-595 625 635 640 660-663 667 691 696-699 701 "
        "711 736 761-763 775 788 802-805 810 835-838 840-844 846-849 854 864-868 873-879 "
        "882-889 898 913-919 941 947 "
    ),
    "H": (
        "1 11 22 37 48 54-55 65 106-107 167 200-202 206-207 223-228 231 239-247 255-256 "
        "305-313 315-318 348-351 362-365 435-436 447-448 452-463 470-472 523 526 541-543 583 "
        "592-595 660 667 691 711 762-763 788 790 802-803 810 864-868 873-879 882-889 898 "
        "913-919 941 947 "
    ),
}


def _tags(ranges: str) -> frozenset[int]:
    tags: set[int] = set()
    for part in ranges.split():
        low, _, high = part.partition("-")
        tags.update(range(int(low), int(high or low) + 1))
    return frozenset(tags)


_HEADER = _tags(_RANGES.pop("header"))
FIELDS: dict[str, frozenset[int]] = {kind: _HEADER | _tags(r) for kind, r in _RANGES.items()}


def allowed(msg_type: str, tag: int) -> bool:
    """False only for a FIX 4.4 tag that ``msg_type`` (one listed here) does not define."""
    tags = FIELDS.get(msg_type)
    return tags is None or tag in tags or tag >= 5_000
