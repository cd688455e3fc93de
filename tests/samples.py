"""Small records the tests write to disk: a Kalix protocol page with one §."""

TEXT = """Kommunstyrelsen

§ 225 Dnr 2023-00513

Fördelning av kommunstyrelsens internbudget 2024

Kommunstyrelsens beslut
Kommunstyrelsen fastställer fördelningen av internbudgeten för år 2024.

Beskrivning av ärendet
Budgeten i Kalix kommun fördelas på avdelningar för äldreomsorg, skolskjuts och färjeläget.
Ärendet har beretts av ekonomichefen Åsa Öberg.
"""


def personnummer(yymmdd: str, serial: str) -> str:
    """A valid personnummer (Luhn check digit) for tests: `yymmdd`-`serial` + the check digit."""
    digits = [int(d) for d in yymmdd + serial]
    total = sum(sum(divmod(d * (2 if i % 2 == 0 else 1), 10)) for i, d in enumerate(digits))
    return f"{yymmdd}-{serial}{(10 - total % 10) % 10}"
