"""editflow: git history to models that edit code."""
__version__ = "0.1.0"
