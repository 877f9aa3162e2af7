"""How results are shown to people: the poll chart, the CRM CSV, Dagster UI previews, the demo summary.

Nothing here decides anything; every function takes a table the rules or the storage produced.
"""
