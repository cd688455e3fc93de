"""Answer kinds: which chunks hold an amount or a date, and which questions ask for one."""

from __future__ import annotations

import numpy as np
import pytest

from protokollsok.indexes.answers import FILE, AnswerKinds

TEXTS = [
    "Ett resultat som innebär en negativ budgetavvikelse med 2,1 mkr prognostiseras.",  # amount
    "Taxan antas och gäller från och med 2025-04-01.",  # date
    "Riktlinjer för försäljning av kommunal mark gäller fr o m 20250401.",  # compact date
    "Kommunstyrelsen sammanträder måndagen den 15 december.",  # date in words
    "Motion ko på rot 240206.pdf",  # YYMMDD
    "Bidraget är 20 024 kr och beviljas den 1:e juni.",  # both
    "Kommunstyrelsen beslutar att godkänna informationen.",  # neither
    "Paragraferna 16-47 justeras av ordföranden; 123456 är inget datum.",  # neither
]


@pytest.fixture
def kinds() -> AnswerKinds:
    return AnswerKinds.build(TEXTS)


@pytest.mark.parametrize(
    "question, rows",
    [
        ("Hur mycket väntas verksamheten gå back?", [0, 5]),
        ("Vad kostar kopiorna?", [0, 5]),
        ("När börjar taxan gälla?", [1, 2, 3, 4, 5]),
        ("Vilket datum har motionen?", [1, 2, 3, 4, 5]),
        ("Hur mycket, och från när?", [0, 1, 2, 3, 4, 5]),
        ("Vem justerar protokollet?", []),
    ],
)
def test_rows_holding_the_kind_asked_for(kinds, question, rows):
    holds = kinds.holds(np.arange(len(TEXTS)), kinds.asked(question))
    assert np.flatnonzero(holds).tolist() == rows


def test_round_trip_and_a_missing_file_says_what_to_do(kinds, tmp_path):
    kinds.save(tmp_path)
    assert np.array_equal(AnswerKinds.load(tmp_path).masks, kinds.masks)
    (tmp_path / FILE).unlink()
    with pytest.raises(FileNotFoundError, match="protokollsok ingest"):
        AnswerKinds.load(tmp_path)
