"""pytest configuration shared by the unit tests and nbval's notebook runs."""


def pytest_collectstart(collector):
    """Never compare stderr in notebooks: TensorFlow and Python warnings land there unpredictably."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
