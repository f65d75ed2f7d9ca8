"""Segments: static lists and dynamic rules (compiled to SQL), the rule form and the log of
who an audience segment enrolled. Sits just above the platform; pages live in customers."""
