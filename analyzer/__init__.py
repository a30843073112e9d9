"""analyzer: batch post-mortem analysis of finished physical-design studies."""

__version__ = "0.1.0"
