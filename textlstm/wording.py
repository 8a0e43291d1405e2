"""How counts read in messages: ``counted(1, "row")`` -> ``"1 row"``, ``counted(10662, "row")`` -> ``"10,662 rows"``."""


def counted(amount, noun, plural=None):
    """``amount`` with thousands separators and ``noun``, plural unless ``amount`` is 1 (``plural`` or noun + "s")."""
    return f"{amount:,} {noun if amount == 1 else plural or noun + 's'}"
