"""Benchmarks of framefarm's hot paths: scripts that print a table and write JSON."""
