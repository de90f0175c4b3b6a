"""The import pipeline: open, sniff, detect, map, parse, validate, stage and write analytics rows.

pandas stays inside this package (and the metrics engine). The public entry points are the
service functions of analytics.services; this package is their engine.
"""
