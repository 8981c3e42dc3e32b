"""dcbench: a benchmark suite for dataset condensation (gradient matching and friends)."""

__version__ = "0.1.0"
