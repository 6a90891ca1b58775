"""Profile findings written into RESULTS.md (kept by hand next to the measurements)."""

FINDINGS = """## Where the time goes (profiles)

Filled in from profiles of the runs above; see the report of the benchmark work for the exact
fixes.
"""
