"""Dataset building: task views, filters, dedup, splits, statistics and the dataset card."""
