"""Protokollsök: search and cited answers over Swedish municipal council records."""
