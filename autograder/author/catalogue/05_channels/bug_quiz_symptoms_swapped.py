"""Quiz: takes the averaged batch for the channel-0 bug and back (both are dW errors)."""

EXPECTED_FAILURES = ["test_quiz_symptoms"]


def name_the_bug(symptom):
    return {"A": "batch_mean", "B": "overwrite", "C": "channel0"}[symptom]
