"""The round plots read what the round table holds: τ and the share of positions above it."""

import pandas as pd
import pytest

from atu_pipeline.reporting.rounds import plot_similarities


def test_the_similarity_plot_shows_tau_and_the_share_above_it_per_round():
    scores = pd.DataFrame(
        {"round": [0, 1, 2], "tau": [None, 0.3, 0.1], "above_tau_share": [None, 0.9, 0.4]}
    )
    figure = plot_similarities({"before": [0.2, 0.3, 0.4], "after": [0.0, 0.1, 0.2]}, scores)
    histogram, binding, share = figure.axes
    assert list(binding.lines[0].get_ydata()) == [0.3, 0.1]
    assert list(share.lines[0].get_ydata()) == [0.9, 0.4]
    assert len(histogram.patches) == 100  # two histograms of 50 bins


def test_the_similarity_plot_names_a_missing_column():
    with pytest.raises(KeyError, match="above_tau_share"):
        plot_similarities(
            {"before": [0.1], "after": [0.1]}, pd.DataFrame({"round": [1], "tau": [0.1]})
        )
