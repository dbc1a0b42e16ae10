"""The benchmark's MLflow metric keys: report labels made into names MLflow accepts."""

import pytest
from mlflow.utils.validation import _validate_metric_name

from atu_pipeline.reporting.benchmark import metric_name


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        ("atu (never tuned on)", "test/forget/fb", "benchmark/atu_never_tuned_on/test/forget/fb"),
        ("atu+kl", "ratio:forget", "benchmark/atu_kl/ratio_forget"),
        ("before", "before:mia/fm_loss", "benchmark/before/before_mia/fm_loss"),
    ],
)
def test_report_labels_become_metric_names_mlflow_accepts(row, column, expected):
    name = metric_name("benchmark", row, column)
    assert name == expected
    _validate_metric_name(name)  # raises on a name MLflow refuses
    with pytest.raises(Exception, match="Names may only contain"):
        _validate_metric_name(f"benchmark/{row}/{column}".replace(":", "_") + " (x)")
