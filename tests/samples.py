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
