"""The Parquet dataset: its layout, atomic writes, pruned reads and the kept per-day extracts."""
