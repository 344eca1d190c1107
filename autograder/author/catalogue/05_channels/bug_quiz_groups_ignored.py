"""Quiz: counts every filter as seeing all C channels, whatever the groups."""

EXPECTED_FAILURES = ["test_quiz_parameters"]


def parameter_count(C, F, KH, KW, groups=1, bias=True):
    return F * C * KH * KW + (F if bias else 0)
