"""Render and export jobs: requests checked, queued, run in worker processes, kept on disk (docs/jobs.md)."""
