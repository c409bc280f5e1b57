"""The sample-ratio-mismatch check behaves as gbstats' ``check_srm`` and agrees with scipy.

gbstats' test suite has no case for ``check_srm`` (``gbstats/utils.py``), so its documented
behaviour is checked directly (zero-weight arms left out of the statistic, ``arms - 1``
degrees of freedom, a p-value of 1 with no units), the statistic against
``scipy.stats.chisquare``, and the p-value against a published example.
"""

from __future__ import annotations

import pytest

from furima.exceptions import ExperimentConfigError, ExperimentDataError
from furima.experiments._srm import srm_check


def test_matches_scipy_chisquare() -> None:
    from scipy.stats import chisquare

    observed, weights = [5030, 4880, 10190], [0.25, 0.25, 0.5]
    check = srm_check(observed, weights)
    total = sum(observed)
    reference = chisquare(observed, [w * total for w in weights])
    assert check.chi2 == pytest.approx(reference.statistic, rel=1e-12)
    assert check.p_value == pytest.approx(reference.pvalue, rel=1e-12)
    assert check.expected == pytest.approx([5025.0, 5025.0, 10050.0])
    assert check.ok


def test_published_mismatch_is_flagged() -> None:
    # Kohavi, Tang & Xu, "Trustworthy Online Controlled Experiments" (2020), ch. 3:
    # 821,588 control vs 815,482 treatment users on a 50/50 design, p-value about 1.8e-6.
    check = srm_check([821_588, 815_482])
    assert f"{check.p_value:.1e}" == "1.8e-06"
    assert not check.ok
    assert check.message.startswith("sample-ratio mismatch (p = 1.82e-06 < 0.001)")


def test_weights_on_any_scale() -> None:
    assert srm_check([100, 300], [1, 3]).chi2 == 0
    assert srm_check([100, 300], [0.25, 0.75]).p_value == 1.0


def test_zero_weight_arms_are_left_out_but_stray_units_fail() -> None:
    # gbstats' check_srm skips arms of zero weight in the statistic; dof stays arms - 1
    from scipy.stats import chi2

    check = srm_check([480, 520, 0], [0.5, 0.5, 0])
    assert check.chi2 == pytest.approx(2 * 20**2 / 500)
    assert check.p_value == pytest.approx(chi2.sf(check.chi2, 2))
    assert check.ok
    stray = srm_check([480, 520, 7], [0.5, 0.5, 0])
    assert not stray.ok
    assert "zero weight but received units" in stray.message


def test_no_units_yet_gives_p_one() -> None:
    check = srm_check([0, 0])
    assert (check.p_value, check.chi2, check.ok) == (1.0, 0.0, True)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ExperimentDataError, match="2 arms were observed but 3 weights"):
        srm_check([10, 12], [1, 1, 1])
    with pytest.raises(ExperimentDataError, match="non-negative whole numbers"):
        srm_check([10, -1])
    with pytest.raises(ExperimentDataError, match="non-negative whole numbers"):
        srm_check([10.5, 3])  # type: ignore[list-item]
    with pytest.raises(ExperimentConfigError, match="at least two arms"):
        srm_check([10])
    with pytest.raises(ExperimentConfigError, match="not all zero"):
        srm_check([10, 10], [0, 0])


def test_to_dict_is_plain_data() -> None:
    data = srm_check([50, 50]).to_dict()
    assert data["observed"] == [50, 50] and data["ok"] is True
