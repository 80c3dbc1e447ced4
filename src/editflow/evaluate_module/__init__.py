"""A local Hugging Face `evaluate` module wrapping editflow.metrics: `evaluate.load(MODULE_DIR)`."""
from pathlib import Path

MODULE_DIR = str(Path(__file__).resolve().parent)
