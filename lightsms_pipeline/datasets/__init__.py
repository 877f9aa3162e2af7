"""The downstream datasets built from stored partitions, one module per domain.

Between `storage` and `rules` on the data path: each function reads the columns (and rows, by a
Parquet filter) its rule needs, calls the pure rule, and writes the result atomically. The
assets, the demo and the benchmarks all go through here.
"""
