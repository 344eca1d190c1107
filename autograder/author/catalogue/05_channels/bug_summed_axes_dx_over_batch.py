"""Check of understanding: says dX sums over the batch (like dW), not over the filters."""

EXPECTED_FAILURES = ["test_understanding_sums"]


def summed_axes(gradient):
    return {"dx": ("N", "HO", "WO"), "dw": ("N", "HO", "WO"), "db": ("N", "HO", "WO")}[gradient]
